//! The generated code for this crate's test schemas, snapshotted: any
//! change to the shape of the output shows up in review.

use qapi_codegen::{generate, CfgValue, Options, Selection};
use qapi_parser::load_schema;

fn generated(path: &std::path::Path, options: &Options) -> String {
    let schema = load_schema(path, Default::default()).unwrap_or_else(|e| panic!("{e}"));
    generate(&schema, options)
        .unwrap_or_else(|e| panic!("{e}"))
        .code
}

fn formatted() -> Options {
    Options {
        format: true,
        ..Options::default()
    }
}

/// The handler manifest `qapi-macros` reads: every command's Rust path,
/// `gen`/`boxed`, how the arguments are held, and each member's field
/// name and type.
#[test]
fn handler_manifest() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/commands.json");
    let schema = load_schema(&path, Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let generated = generate(&schema, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!(generated.handlers);
}

#[test]
fn generated_code() {
    insta::glob!("schemas/*.json", |path| {
        insta::assert_snapshot!(generated(path, &formatted()));
    });
}

#[test]
fn mapped_conditions_and_custom_cfgs() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/conditions.json");
    let schema = load_schema(&path, Default::default()).expect("valid");
    let mut options = formatted();
    options.cfg.insert(
        "CONFIG_LINUX",
        CfgValue::Predicate("target_os = \"linux\"".into()),
    );
    options
        .cfg
        .insert("CONFIG_WIN32", CfgValue::Predicate("windows".into()));
    options.cfg.insert("CONFIG_POSIX", CfgValue::True);
    let out = generate(&schema, &options).expect("generates");
    assert!(
        out.code.contains("#[cfg(target_os = \"linux\")]"),
        "{}",
        out.code
    );
    assert!(
        out.code
            .contains("#[cfg(all(all(), target_os = \"linux\"))]"),
        "{}",
        out.code
    );
    assert!(out.code.contains("#[cfg(not(windows))]"), "{}", out.code);
    // What a condition mapped to true guards (the event HOST_CHANGED)
    // carries no attribute at all.
    assert!(!out.code.contains("#[cfg(all())]"), "{}", out.code);
    assert!(out.custom_cfgs.is_empty(), "{:?}", out.custom_cfgs);

    let unmapped = generate(&schema, &formatted()).expect("generates");
    let names: Vec<_> = unmapped.custom_cfgs.iter().map(String::as_str).collect();
    assert_eq!(names, ["CONFIG_LINUX", "CONFIG_POSIX", "CONFIG_WIN32"]);
}

#[test]
fn selection_keeps_exactly_the_reachable_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/commands.json");
    let schema = load_schema(&path, Default::default()).expect("valid");
    let options = Options {
        selection: Selection::Only {
            commands: vec!["query-info".into()],
            events: vec!["MOOD_CHANGED".into()],
        },
        ..formatted()
    };
    let code = generate(&schema, &options).expect("generates").code;
    for present in [
        "pub struct Args",
        "pub struct Info",
        "pub enum Mood",
        "pub struct QueryInfo",
        "pub struct MoodChanged",
    ] {
        assert!(code.contains(present), "missing {present}");
    }
    for absent in ["pub struct Ping", "pub struct Echo", "pub struct Shutdown"] {
        assert!(!code.contains(absent), "unexpected {absent}");
    }
    let bad = Options {
        selection: Selection::Only {
            commands: vec!["no-such-command".into()],
            events: vec![],
        },
        ..formatted()
    };
    assert_eq!(
        generate(&schema, &bad).unwrap_err(),
        "the schema has no command 'no-such-command'"
    );
}
