//! Behaviour of generated code, built from this crate's test schemas
//! (`m_types`, `m_commands`, `m_conditions`): the JSON it reads and writes.

use qapi_runtime::__private::serde_json::{self, json, Value};
use qapi_runtime::{Command, CommandVisitor, Event as _};

use own_schemas::m_commands as c;
use own_schemas::m_types as t;

fn round_trip<T>(value: Value) -> T
where
    T: qapi_runtime::__private::serde::Serialize + qapi_runtime::__private::serde::de::DeserializeOwned,
{
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"));
    assert_eq!(serde_json::to_value(&typed).unwrap(), value);
    typed
}

#[test]
fn structs_omit_absent_optionals_and_reject_unknown_members() {
    let b: t::Derived = round_trip(json!({"id": 1, "extra": true}));
    assert_eq!(b.label, None);
    let b: t::Derived = round_trip(json!({"id": 1, "label": "x", "extra": false}));
    assert_eq!(b.label.as_deref(), Some("x"));
    let err = serde_json::from_value::<t::Derived>(json!({"id": 1, "extra": true, "bogus": 0})).unwrap_err();
    assert_eq!(err.to_string(), "Parameter 'bogus' is unexpected");
    let err = serde_json::from_value::<t::Derived>(json!({"extra": true})).unwrap_err();
    assert_eq!(err.to_string(), "Parameter 'id' is missing");
    let err = serde_json::from_value::<t::Derived>(json!({"id": "1", "extra": true})).unwrap_err();
    assert_eq!(err.to_string(), "Invalid parameter type for 'id', expected: integer");
    let err = serde_json::from_value::<t::Derived>(json!([1])).unwrap_err();
    assert_eq!(err.to_string(), "Invalid parameter type for '<anonymous>', expected: object");
}

#[test]
fn keywords_and_awkward_names_keep_their_wire_names() {
    let names = json!({"type": "t", "self": 1, "Self": 2, "crate": 3, "super": 4, "in": 5, "fn": 6,
        "match": 7, "CamelCase": 8, "x-experimental": 9, "__com.example_vendor": 10});
    let n: t::Names = round_trip(names);
    assert_eq!((n.r#type.as_str(), n.self_, n.self_2, n.r#in), ("t", 1, 2, 5));
}

#[test]
fn enums_are_strings() {
    assert_eq!(serde_json::to_value(t::Colour::Blue).unwrap(), json!("blue"));
    assert_eq!(t::Speed::from_name("2_5x"), Some(t::Speed::V2_5x));
    assert_eq!(t::Speed::FastForward.to_string(), "fast-forward");
    let err = serde_json::from_value::<t::Colour>(json!("mauve")).unwrap_err().to_string();
    assert_eq!(err, "Parameter 'null' does not accept value 'mauve'");
    let err = serde_json::from_value::<t::Colour>(json!(1)).unwrap_err().to_string();
    assert_eq!(err, "Invalid parameter type for '<anonymous>', expected: string");
    assert_eq!(t::Colour::ALL.len(), 3);
}

#[test]
fn unions_are_flat_with_the_discriminator_from_the_branch() {
    let s: t::Shape = round_trip(json!({"kind": "circle", "name": "c", "radius": 1.5}));
    assert_eq!(s.kind.kind(), t::ShapeKind::Circle);
    assert!(matches!(s.kind, t::ShapeBranch::Circle(t::Circle { radius }) if radius == 1.5));
    let dot: t::Shape = round_trip(json!({"kind": "dot"}));
    assert_eq!(dot.kind, t::ShapeBranch::Dot);
    // A member of another branch is unknown here.
    let err = |v: Value| serde_json::from_value::<t::Shape>(v).unwrap_err().to_string();
    assert_eq!(err(json!({"kind": "circle", "radius": 1, "side": 2})), "Parameter 'side' is unexpected");
    assert_eq!(err(json!({"kind": "dot", "radius": 1})), "Parameter 'radius' is unexpected");
    assert_eq!(err(json!({"kind": "hexagon"})), "Parameter 'kind' does not accept value 'hexagon'");
    assert_eq!(err(json!({"name": "c"})), "Parameter 'kind' is missing");
    assert_eq!(err(json!({"kind": "circle"})), "Parameter 'radius' is missing");
    // A named base, and a union as a branch.
    let _: t::Painted = round_trip(json!({"kind": "circle", "colour": "red", "radius": 2.0}));
    let _: t::Nested = round_trip(json!({"outer": "circle", "kind": "square", "side": 3.0}));
}

#[test]
fn alternates_choose_by_json_type() {
    assert_eq!(round_trip::<t::Setting>(json!("green")), t::Setting::Mode(t::Colour::Green));
    assert_eq!(round_trip::<t::Setting>(json!(7)), t::Setting::Level(7));
    assert_eq!(round_trip::<t::Setting>(json!(true)), t::Setting::On(true));
    assert_eq!(round_trip::<t::Setting>(json!(null)), t::Setting::None(()));
    assert_eq!(round_trip::<t::Setting>(json!([1, 2])), t::Setting::List(vec![1, 2]));
    let _: t::Setting = round_trip(json!({"id": 1}));
    // A number picks the integer branch, which then refuses 1.5, as in QEMU.
    let err = serde_json::from_value::<t::Setting>(json!(1.5)).unwrap_err().to_string();
    assert_eq!(err, "Invalid parameter type for '<anonymous>', expected: integer");
    let err = serde_json::from_value::<t::StrOrNumber>(json!(true)).unwrap_err().to_string();
    assert_eq!(err, "Invalid parameter type for 'null', expected: StrOrNumber");
}

#[test]
fn recursive_types_are_boxed_and_round_trip() {
    let tree = json!({"value": 1, "left": {"value": 2, "children": []},
                      "children": [{"value": 3, "children": []}]});
    let t: t::Tree = round_trip(tree);
    assert_eq!(t.left.as_ref().map(|l| l.value), Some(2));
    let expr = json!({"kind": "add", "left": {"kind": "lit", "value": 1},
                      "right": {"kind": "neg", "operand": {"kind": "lit", "value": 2}}});
    let _: t::Expr = round_trip(expr);
    let _: t::Add = round_trip(json!({"left": {"kind": "lit", "value": 1}, "right": 5}));
}

#[test]
fn commands_carry_their_description() {
    assert_eq!(c::commands::Echo::NAME, "echo");
    let info = c::commands::FireAndForget::INFO;
    assert!(!info.success_response && info.allow_oob && info.allow_preconfig && info.gen);
    assert!(!c::commands::Raw::INFO.gen && c::commands::Raw::INFO.coroutine);
    let echo: c::commands::Echo = round_trip(json!({"value": 3}));
    assert_eq!(echo.value, 3);
    let _: c::commands::Ping = round_trip(json!({}));
    let err = serde_json::from_value::<c::commands::Ping>(json!({"x": 1})).unwrap_err();
    assert_eq!(err.to_string(), "Parameter 'x' is unexpected");
    let boxed: c::commands::Boxed = round_trip(json!({"a": 1}));
    assert_eq!(boxed.0.a, 1);
    let empty: qapi_runtime::Empty = round_trip(json!({}));
    assert_eq!(empty, qapi_runtime::Empty {});
}

#[test]
fn feature_sets_and_groups() {
    use c::Feature;
    assert_eq!(Feature::ALL[0], Feature::Deprecated);
    assert_eq!(Feature::ALL[1], Feature::Unstable);
    assert_eq!(Feature::GROUPS, &[Feature::Safe, Feature::Unrestricted]);
    let info = c::commands::FireAndForget::INFO;
    for f in [Feature::Deprecated, Feature::Unstable, Feature::Unrestricted] {
        assert!(info.features.contains(f.index()), "{f:?}");
    }
    assert!(!info.features.contains(Feature::Safe.index()));
    assert_eq!(Feature::from_name("safe"), Some(Feature::Safe));
    #[allow(deprecated)]
    let grumpy = c::Mood::Grumpy;
    assert!(grumpy.features().contains(Feature::Deprecated.index()));
    assert!(c::Mood::Happy.features().is_empty());
}

#[test]
fn dispatch_table() {
    let names: Vec<&str> = c::COMMANDS.iter().map(|i| i.name).collect();
    assert_eq!(names[..3], ["ping", "echo", "query-info"]);
    assert_eq!(c::command_info("list-names").map(|i| i.name), Some("list-names"));
    assert!(c::command_info("nope").is_none());
    for info in c::COMMANDS {
        assert_eq!(c::command_info(info.name), Some(*info));
    }
    struct Name;
    impl CommandVisitor for Name {
        type Output = &'static str;
        fn visit<C: Command>(self) -> &'static str {
            C::NAME
        }
    }
    assert_eq!(c::visit_command("echo", Name), Some("echo"));
    assert_eq!(c::visit_command("nope", Name), None);
}

#[test]
fn gen_false_commands_keep_extra_arguments() {
    let raw = json!({"anything": [1, 2], "goes": "here"});
    let r: c::commands::Raw = round_trip(raw);
    assert_eq!(r.extra.len(), 2);
}

#[test]
fn events() {
    assert_eq!(c::events::MoodChanged::NAME, "MOOD_CHANGED");
    use qapi_runtime::de::Mode;
    use qapi_runtime::Events;
    let e = c::Event::decode_event("MOOD_CHANGED", Some(json!({"mood": "happy"})), Mode::Strict).unwrap();
    assert_eq!(e.name(), "MOOD_CHANGED");
    assert_eq!(e.data().unwrap(), json!({"mood": "happy"}));
    let unknown = c::Event::decode_event("NOPE", None, Mode::Strict).unwrap();
    assert!(matches!(&unknown, c::Event::Unrecognized(e) if e.name == "NOPE" && e.data.is_none()));
    assert!(c::Event::decode_event("SHUTDOWN", Some(json!({"x": 1})), Mode::Strict).is_err());
    assert!(c::Event::decode_event("SHUTDOWN", Some(json!({"x": 1})), Mode::Tolerant).is_ok());
    assert_eq!(c::EVENTS, &["SHUTDOWN", "MOOD_CHANGED", "INFO_CHANGED"]);
}

#[test]
fn introspection_follows_qemu() {
    let info = c::introspection::SCHEMA_INFO.to_value();
    let entries = info.as_array().unwrap();
    // Commands and events first, in schema order.
    let first: Vec<&str> = entries.iter().take(3).map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(first, ["ping", "echo", "query-info"]);
    let echo = &entries[1];
    assert_eq!(echo["arg-type"], "1");
    assert_eq!(echo["ret-type"], "int");
    let ping = &entries[0];
    assert_eq!(ping["arg-type"], ping["ret-type"], "both are the empty object");
    assert_eq!(ping["features"], json!(["safe"]));
    let fire = entries.iter().find(|e| e["name"] == "fire-and-forget").unwrap();
    assert_eq!(fire["allow-oob"], true);
    // Types follow, names masked, integers shown as int, optionals with a default.
    let args = entries.iter().find(|e| e["name"] == echo["arg-type"]).unwrap();
    assert_eq!(args["meta-type"], "object");
    assert_eq!(args["members"], json!([{"name": "value", "type": "int"}]));
    let list = entries.iter().find(|e| e["meta-type"] == "array").unwrap();
    assert!(list["name"].as_str().unwrap().starts_with('['));
    let opt = entries
        .iter()
        .filter(|e| e["meta-type"] == "object")
        .flat_map(|e| e["members"].as_array().unwrap())
        .find(|m| m["name"] == "b")
        .unwrap();
    assert_eq!(opt["default"], Value::Null);
    assert!(entries.iter().any(|e| e["meta-type"] == "builtin" && e["name"] == "int" && e["json-type"] == "int"));
}

#[test]
fn conditions_prune_items() {
    use own_schemas::m_conditions as k;
    let names: Vec<&str> = k::COMMANDS.iter().map(|i| i.name).collect();
    // No condition is set in this build.
    assert_eq!(names, ["query-host", "set-host"]);
    assert_eq!(k::Platform::ALL, &[k::Platform::Posix]);
    let host: k::Host = round_trip(json!({"name": "h"}));
    assert_eq!(host.name, "h");
    assert!(serde_json::from_value::<k::Host>(json!({"name": "h", "kernel": "6.1"})).is_err());
    let err = serde_json::from_value::<k::OsInfo>(json!({"platform": "posix"}));
    assert!(err.is_ok());
}

#[test]
fn member_feature_sets() {
    let old = c::commands::OldArgs::MEMBER_FEATURES;
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].0, "old");
    assert!(old[0].1.contains(c::Feature::Deprecated.index()));
}

mod received {
    //! What a client receives (`m_received`): read tolerantly by default in
    //! a client, strictly by a server.

    use own_schemas::m_received as r;
    use qapi_runtime::__private::serde_json::{self, json};
    use qapi_runtime::de::{Decode, DecodeErrorKind, Mode, Unrecognized};
    use qapi_runtime::Events;

    #[test]
    fn unknown_members_are_ignored_and_unknown_values_kept() {
        let from_newer_peer = json!({"status": "migrating", "name": "vm", "added-later": 1,
                                     "flags": ["running", "postmigrate"]});
        let info = r::Info::decode_as(from_newer_peer.clone(), Mode::Tolerant).unwrap();
        assert_eq!(info.status, r::Status::Unrecognized2("migrating".to_owned()));
        assert_eq!(info.status.as_str(), "migrating");
        assert_eq!(
            info.flags.as_deref(),
            Some(&[r::Status::Running, r::Status::Unrecognized2("postmigrate".to_owned())][..])
        );
        // Written back as it came, less what the schema does not list.
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({"status": "migrating", "name": "vm", "flags": ["running", "postmigrate"]})
        );
        // A server reads the same strictly.
        let err = r::Info::decode(from_newer_peer).unwrap_err();
        assert_eq!(err.to_string(), "Parameter 'status' does not accept value 'migrating'");
        let err = r::Info::decode(json!({"status": "running", "added-later": 1})).unwrap_err();
        assert_eq!(err.to_string(), "Parameter 'added-later' is unexpected");
    }

    #[test]
    fn a_required_member_is_still_required_with_its_path() {
        let err = r::Info::decode_as(json!({"flags": []}), Mode::Tolerant).unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::Missing);
        assert_eq!(err.path(), "status");
        let err = <Vec<r::Device>>::decode_as(json!([{"id": "a", "kind": "net"}]), Mode::Tolerant)
            .unwrap_err();
        assert_eq!((err.kind(), err.path()), (&DecodeErrorKind::Missing, "[0].mac"));
    }

    #[test]
    fn an_unknown_union_branch_keeps_its_members() {
        let gpu = json!({"kind": "gpu", "id": "d0", "vram": 64});
        let device = r::Device::decode_as(gpu.clone(), Mode::Tolerant).unwrap();
        assert_eq!(device.id, "d0");
        let r::DeviceBranch::Unrecognized(Unrecognized { tag, members }) = &device.kind else {
            panic!("{device:?}");
        };
        assert_eq!((tag.as_str(), members["vram"].as_i64()), ("gpu", Some(64)));
        assert_eq!(device.kind.kind(), r::DevKind::Unrecognized("gpu".to_owned()));
        assert_eq!(serde_json::to_value(&device).unwrap(), gpu);
        // A known branch with a member added later.
        let net = json!({"kind": "net", "id": "n0", "mac": "52:54:00:12:34:56", "queues": 4});
        let device = r::Device::decode_as(net, Mode::Tolerant).unwrap();
        assert!(matches!(device.kind, r::DeviceBranch::Net(r::NetInfo { mtu: None, .. })));
        assert!(r::Device::decode(json!({"kind": "gpu", "id": "d0"})).is_err());
    }

    #[test]
    fn enums_only_sent_in_arguments_stay_closed() {
        // `Mode` is never received: exhaustive, `Copy`, and strict even
        // when read tolerantly (there is no place to keep an unknown value).
        let mode: r::Mode = r::Mode::Fast;
        let copy = mode;
        assert_eq!(mode, copy);
        let err = r::Mode::decode_as(json!("medium"), Mode::Tolerant).unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::BadValue("medium".to_owned()));
    }

    #[test]
    fn events_decode_with_or_without_data_and_unknown_ones_are_kept() {
        let changed = r::Event::decode_event(
            "STATUS_CHANGED",
            Some(json!({"status": "paused", "since": 3})),
            Mode::Tolerant,
        )
        .unwrap();
        assert!(matches!(&changed, r::Event::StatusChanged(e) if e.status == r::Status::Paused));
        assert_eq!(changed.name(), "STATUS_CHANGED");
        let pinged = r::Event::decode_event("PINGED", None, Mode::Strict).unwrap();
        assert_eq!(pinged.name(), "PINGED");
        assert_eq!(pinged.data().unwrap(), json!({}));
        let newer = r::Event::decode_event("BLOCK_JOB_READY", Some(json!({"device": "x"})), Mode::Tolerant)
            .unwrap();
        assert_eq!(newer.name(), "BLOCK_JOB_READY");
        assert_eq!(newer.data().unwrap(), json!({"device": "x"}));
        let err = r::Event::decode_event("STATUS_CHANGED", Some(json!({})), Mode::Tolerant).unwrap_err();
        assert_eq!((err.kind(), err.path()), (&DecodeErrorKind::Missing, "status"));
    }

    #[test]
    fn optional_members_have_a_short_way_in() {
        let options = r::Options {
            verbose: Some(true),
            ..r::Options::default()
        };
        assert_eq!(serde_json::to_value(&options).unwrap(), json!({"verbose": true}));
        let info = r::Info {
            name: Some("vm".to_owned()),
            ..r::Info::new(r::Status::Running)
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({"status": "running", "name": "vm"})
        );
    }
}
