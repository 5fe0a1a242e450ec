//! A schema's own groups (`debug`, `read-only`, `runstate`: not qemu-ga's)
//! with every kind of rule: a deny rule (`--no-debug`), a require rule
//! (`--read-only`, default deny), a name list (`--block`) and a gate
//! (while the machine is paused), each refusal in this server's words.

use qapi_runtime::Dispatcher;
use qmp_server::{dispatcher, Machine, Switches};
use serde_json::{json, Value};

fn run(d: &Dispatcher<Machine>, name: &str, arguments: Value) -> Value {
    d.dispatch_blocking(json!({"execute": name, "arguments": arguments}), false)
        .expect("every command answers")
}

/// Why the policy refuses `name`, or `None` if it reaches the command
/// (which may still refuse its arguments).
fn refusal(d: &Dispatcher<Machine>, name: &str) -> Option<String> {
    let reply = run(d, name, json!({}));
    let error = reply.get("error")?;
    let prefix = format!("Command {name} has been disabled: ");
    let why = error["desc"].as_str()?.strip_prefix(&prefix)?;
    assert_eq!(error["class"], "CommandNotFound", "{reply}");
    Some(why.to_owned())
}

#[test]
fn deny_rule_over_the_debug_group() {
    let switches = Switches {
        no_debug: true,
        ..Switches::default()
    };
    let d = dispatcher(Machine::new(None), switches.policy()).unwrap();
    for name in ["x-debug-sleep", "x-query-busy"] {
        assert_eq!(
            refusal(&d, name).as_deref(),
            Some("blocked by --no-debug (feature 'debug')")
        );
    }
    assert_eq!(refusal(&d, "query-status"), None);
    assert_eq!(refusal(&d, "cont"), None);
}

#[test]
fn require_rule_admits_only_its_group() {
    let switches = Switches {
        read_only: true,
        ..Switches::default()
    };
    let d = dispatcher(Machine::new(None), switches.policy()).unwrap();
    for name in ["cont", "stop", "system_powerdown", "x-debug-sleep"] {
        assert_eq!(
            refusal(&d, name).as_deref(),
            Some("blocked by --read-only (it would change the machine)"),
            "{name}"
        );
    }
    for name in [
        "query-status",
        "query-version",
        "x-query-busy",
        "query-commands",
    ] {
        assert_eq!(refusal(&d, name), None, "{name}");
    }
    // query-commands lists what runs now.
    let listed = run(&d, "query-commands", json!({}));
    let names: Vec<&str> = listed["return"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"query-status") && !names.contains(&"cont"),
        "{names:?}"
    );
}

#[test]
fn names_and_rules_together() {
    let switches = Switches {
        block: vec!["query-name".into()],
        no_debug: true,
        read_only: true,
    };
    let d = dispatcher(Machine::new(None), switches.policy()).unwrap();
    assert_eq!(
        refusal(&d, "query-name").as_deref(),
        Some("blocked by --block")
    );
    // The first rule that refuses is the reason.
    assert_eq!(
        refusal(&d, "x-debug-sleep").as_deref(),
        Some("blocked by --no-debug (feature 'debug')")
    );
    // A misspelt name is an error, not a silent no-op.
    let typo = Switches {
        block: vec!["query-nmae".into()],
        ..Switches::default()
    };
    assert!(dispatcher(Machine::new(None), typo.policy()).is_err());
}

#[test]
fn a_gate_while_the_machine_is_paused() {
    let d = dispatcher(Machine::new(None), Switches::default().policy()).unwrap();
    run(&d, "cont", json!({}));
    assert_eq!(refusal(&d, "x-debug-sleep"), None);
    run(&d, "stop", json!({}));
    assert_eq!(
        refusal(&d, "system_powerdown").as_deref(),
        Some("not while the machine is paused")
    );
    assert_eq!(
        refusal(&d, "x-debug-sleep").as_deref(),
        Some("not while the machine is paused")
    );
    assert_eq!(refusal(&d, "query-status"), None);
    assert_eq!(refusal(&d, "cont"), None);
    // Resumed by cont: everything runs again.
    assert_eq!(refusal(&d, "system_powerdown"), None);
}
