//! The build script's output is usable as an ordinary crate.

use demo_agent_types::{command_info, commands, Feature, FileWhence};
use qapi_runtime::Command;
use serde_json::json;

#[test]
fn commands_have_their_groups() {
    let info = commands::Sync::INFO;
    assert_eq!(info.name, "sync");
    assert!(info.features.contains(Feature::FsFrozen.index()));
    assert!(info.features.contains(Feature::Confidential.index()));
    assert!(!info.features.contains(Feature::Unrestricted.index()));
    assert_eq!(
        command_info("file-seek").map(|i| i.features),
        Some(Feature::Unrestricted.set())
    );
}

#[test]
fn arguments_and_returns_use_the_wire_format() {
    let seek: commands::FileSeek =
        serde_json::from_value(json!({"handle": 3, "offset": 10})).unwrap();
    assert_eq!(seek.whence, None);
    let seek = commands::FileSeek {
        whence: Some(FileWhence::End),
        ..seek
    };
    assert_eq!(
        serde_json::to_value(&seek).unwrap(),
        json!({"handle": 3, "offset": 10, "whence": "end"})
    );
    let ret: <commands::Sync as Command>::Returns = serde_json::from_value(json!(42)).unwrap();
    assert_eq!(ret, 42);
}
