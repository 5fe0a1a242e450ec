//! The agent's policy, through its own dispatcher with a recording
//! backend: for every combination of `-u`, `-e`, `-i` (with and without
//! `-b`/`-a` lists, frozen and not), what `guest-info` reports as enabled
//! is exactly what runs; `--confidential` refuses every untagged command;
//! the frozen state survives a restart through the state directory.

use std::collections::BTreeMap;
use std::sync::Arc;

// qemu-ga's switches, which the agent turns into rules.
use qapi_runtime::policy::qga::Flags as Policy;
use qapi_runtime::Dispatcher;
use qga_agent::system::Recorder;
use qga_agent::{dispatcher, Agent};
use serde_json::{json, Value};

fn agent(
    policy: Policy,
    statedir: Option<&std::path::Path>,
) -> (tempfile::TempDir, Arc<Dispatcher<Agent>>) {
    let homes = tempfile::tempdir().unwrap();
    let agent = Agent::new(Box::new(Recorder::new(homes.path())), statedir).unwrap();
    let policy = policy.policy(qga_agent::qga::Feature::NAMES.iter().copied());
    (homes, dispatcher(policy, agent).unwrap())
}

fn call(d: &Dispatcher<Agent>, name: &str) -> Value {
    d.dispatch_blocking(json!({ "execute": name }), false)
        .unwrap_or(json!({"return": "no reply"}))
}

/// `guest-info`'s view: name → enabled.
fn reported(d: &Dispatcher<Agent>) -> BTreeMap<String, bool> {
    let info = call(d, "guest-info");
    info["return"]["supported_commands"]
        .as_array()
        .unwrap_or_else(|| panic!("guest-info failed: {info}"))
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["enabled"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Whether `name` runs: sent without arguments, a disabled command is
/// refused before its arguments are looked at.
fn runs(d: &Dispatcher<Agent>, name: &str) -> bool {
    let reply = call(d, name);
    let refused = reply["error"]["desc"]
        .as_str()
        .is_some_and(|t| t.starts_with(&format!("Command {name} has been disabled")));
    if refused {
        assert_eq!(reply["error"]["class"], "CommandNotFound", "{reply}");
    }
    !refused
}

fn check(policy: &Policy, frozen: bool) {
    let names: Vec<String> = reported(&agent(Policy::default(), None).1)
        .into_keys()
        .collect();
    for name in &names {
        // A fresh agent per command: running one (freeze) changes the rest.
        let (_homes, d) = agent(policy.clone(), None);
        if frozen {
            call(&d, "guest-fsfreeze-freeze");
            assert!(d.state().is_frozen());
        }
        let view = reported(&d);
        if view.contains_key("guest-info") && !view["guest-info"] {
            continue;
        }
        assert_eq!(
            runs(&d, name),
            view[name],
            "{name} under {policy:?}, frozen={frozen}: guest-info says {}",
            view[name]
        );
    }
}

#[test]
fn guest_info_reports_exactly_what_runs_for_every_flag_combination() {
    let lists: [(&[&str], &[&str]); 3] = [
        (&[], &[]),
        (&["guest-get-osinfo", "guest-exec"], &[]),
        (
            &[],
            &[
                "guest-info",
                "guest-file-open",
                "guest-get-users",
                "guest-ping",
            ],
        ),
    ];
    for bits in 0..8 {
        for (block, allow) in lists {
            let policy = Policy {
                no_unrestricted: bits & 1 != 0,
                no_user_auth: bits & 2 != 0,
                confidential: bits & 4 != 0,
                block: block.iter().map(|s| s.to_string()).collect(),
                allow: allow.iter().map(|s| s.to_string()).collect(),
            };
            check(&policy, false);
        }
    }
    check(&Policy::default(), true);
    check(
        &Policy {
            confidential: true,
            ..Policy::default()
        },
        true,
    );
}

#[test]
fn confidential_refuses_every_command_without_the_tag() {
    let (_homes, d) = agent(
        Policy {
            confidential: true,
            ..Policy::default()
        },
        None,
    );
    let untagged: Vec<&str> = qga_agent::qga::COMMANDS
        .iter()
        .filter(|c| {
            !c.features
                .contains(qga_agent::qga::Feature::Confidential as u32)
        })
        .map(|c| c.name)
        .collect();
    assert!(untagged.contains(&"guest-file-open") && untagged.contains(&"guest-get-users"));
    for name in untagged {
        let reply = call(&d, name);
        let desc = reply["error"]["desc"].as_str().unwrap_or_default();
        assert_eq!(
            desc,
            format!("Command {name} has been disabled: blocked by --confidential (no feature 'confidential')"),
            "{reply}"
        );
    }
}

#[test]
fn groups_block_their_commands_with_reasons() {
    let (_homes, d) = agent(
        Policy {
            no_unrestricted: true,
            no_user_auth: true,
            ..Policy::default()
        },
        None,
    );
    for name in ["guest-file-open", "guest-exec", "guest-exec-status"] {
        assert_eq!(
            call(&d, name)["error"]["desc"],
            format!("Command {name} has been disabled: blocked by --no-unrestricted (feature 'unrestricted')")
        );
    }
    for name in ["guest-set-user-password", "guest-ssh-add-authorized-keys"] {
        assert_eq!(
            call(&d, name)["error"]["desc"],
            format!(
                "Command {name} has been disabled: blocked by --no-user-auth (feature 'user-auth')"
            )
        );
    }
}

#[test]
fn frozen_state_survives_a_restart() {
    let statedir = tempfile::tempdir().unwrap();
    let (_h, d) = agent(Policy::default(), Some(statedir.path()));
    assert_eq!(call(&d, "guest-fsfreeze-freeze"), json!({"return": 1}));
    assert!(statedir.path().join(qga_agent::FROZEN_FILE).exists());
    drop(d);
    // A new agent on the same state directory starts frozen: only the
    // fs-frozen commands run.
    let (_h, d) = agent(Policy::default(), Some(statedir.path()));
    assert_eq!(
        call(&d, "guest-fsfreeze-status"),
        json!({"return": "frozen"})
    );
    let enabled: Vec<String> = reported(&d)
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        enabled,
        [
            "guest-fsfreeze-status",
            "guest-fsfreeze-thaw",
            "guest-info",
            "guest-ping",
            "guest-sync",
            "guest-sync-delimited"
        ]
    );
    // The backend of the new agent froze nothing itself; a real one
    // counts what the kernel had frozen.
    assert_eq!(call(&d, "guest-fsfreeze-thaw"), json!({"return": 0}));
    assert!(!statedir.path().join(qga_agent::FROZEN_FILE).exists());
    assert_eq!(
        call(&d, "guest-fsfreeze-status"),
        json!({"return": "thawed"})
    );
}

#[test]
fn harmful_commands_reach_only_the_backend() {
    let homes = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::new(homes.path()));
    let d = dispatcher(
        qapi_runtime::policy::Policy::default(),
        Agent::new(Box::new(recorder.clone()), None).unwrap(),
    )
    .unwrap();
    let run = |request: Value| d.dispatch_blocking(request, false);
    assert_eq!(
        run(json!({"execute": "guest-shutdown", "arguments": {"mode": "reboot"}})),
        None
    );
    // success-response false silences success only, as in QEMU.
    assert_eq!(
        run(json!({"execute": "guest-shutdown", "arguments": {"mode": "sideways"}})),
        Some(
            json!({"error": {"class": "GenericError", "desc": "mode is invalid (valid values are: halt|powerdown|reboot"}})
        )
    );
    assert_eq!(
        run(
            json!({"execute": "guest-set-user-password", "arguments": {"username": "alice", "password": "c2VjcmV0", "crypted": false}})
        ),
        Some(json!({"return": {}}))
    );
    for (password, error) in [
        ("c2Vj\ncmV0", None),
        (
            "bGluZQpicmVhaw==",
            Some("forbidden characters in raw password"),
        ),
        ("c2VjcmV0!", Some("Base64 data contains invalid characters")),
    ] {
        let reply = run(
            json!({"execute": "guest-set-user-password", "arguments": {"username": "alice", "password": password, "crypted": true}}),
        );
        match error {
            None => assert_eq!(reply, Some(json!({"return": {}}))),
            Some(e) => assert_eq!(reply.unwrap()["error"]["desc"], e),
        }
    }
    assert_eq!(
        run(
            json!({"execute": "guest-set-user-password", "arguments": {"username": "a:b", "password": "eA==", "crypted": false}})
        )
        .unwrap()["error"]["desc"],
        "forbidden characters in username"
    );
    assert_eq!(
        run(
            json!({"execute": "guest-fsfreeze-freeze-list", "arguments": {"mountpoints": ["/a", "/b"]}})
        ),
        Some(json!({"return": 2}))
    );
    run(json!({"execute": "guest-fsfreeze-thaw"}));
    // The clock: a time is checked before anything changes.
    assert_eq!(
        run(
            json!({"execute": "guest-set-time", "arguments": {"time": 1_700_000_000_000_000_000i64}})
        ),
        Some(json!({"return": {}}))
    );
    assert_eq!(
        run(json!({"execute": "guest-set-time"})),
        Some(json!({"return": {}}))
    );
    assert_eq!(
        run(json!({"execute": "guest-set-time", "arguments": {"time": -5_000_000_000_000_000_000i64}}))
            .unwrap()["error"]["desc"],
        "Invalid time: Invalid argument"
    );
    assert_eq!(
        run(json!({"execute": "guest-set-time", "arguments": {"time": 4_000_000_000_000_000_000i64}}))
            .unwrap()["error"]["desc"],
        "Invalid time: Invalid argument"
    );
    // Suspend answers only when it fails.
    for mode in ["disk", "ram", "hybrid"] {
        assert_eq!(
            run(json!({"execute": format!("guest-suspend-{mode}")})),
            None
        );
    }
    assert_eq!(
        run(json!({"execute": "guest-fstrim", "arguments": {"minimum": 4096}})),
        Some(json!({"return": {"paths": []}}))
    );
    assert_eq!(
        *recorder.calls.lock().unwrap(),
        [
            "shutdown Reboot",
            "password alice crypted=false",
            "password alice crypted=true",
            "freeze /a,/b",
            "thaw",
            "set-time Some(1700000000000000000)",
            "set-time None",
            "suspend Disk",
            "suspend Ram",
            "suspend Hybrid",
            "fstrim Some(4096)",
        ]
    );
    // Authorized keys live under the recorder's home directories.
    std::fs::create_dir(homes.path().join("bob")).unwrap();
    let keys = |k: &[&str]| json!(k);
    run(
        json!({"execute": "guest-ssh-add-authorized-keys", "arguments": {"username": "bob", "keys": keys(&["ssh-ed25519 AAAA bob@a", "ssh-rsa BBBB bob@b"])}}),
    );
    run(
        json!({"execute": "guest-ssh-remove-authorized-keys", "arguments": {"username": "bob", "keys": keys(&["ssh-rsa BBBB bob@b"])}}),
    );
    assert_eq!(
        run(json!({"execute": "guest-ssh-get-authorized-keys", "arguments": {"username": "bob"}})),
        Some(json!({"return": {"keys": ["ssh-ed25519 AAAA bob@a"]}}))
    );
    assert_eq!(
        std::fs::read_to_string(homes.path().join("bob/.ssh/authorized_keys")).unwrap(),
        "ssh-ed25519 AAAA bob@a"
    );
}

#[test]
fn cpus_and_memory_blocks_switch_in_the_backends_sysfs() {
    let dir = tempfile::tempdir().unwrap();
    let cpu = dir.path().join("sys/devices/system/cpu/cpu1");
    std::fs::create_dir_all(&cpu).unwrap();
    std::fs::write(cpu.join("online"), "1\n").unwrap();
    let block = dir.path().join("sys/devices/system/memory/memory4");
    std::fs::create_dir_all(&block).unwrap();
    std::fs::write(block.join("state"), "online\n").unwrap();
    let d = dispatcher(
        qapi_runtime::policy::Policy::default(),
        Agent::new(Box::new(Recorder::new(dir.path())), None).unwrap(),
    )
    .unwrap();
    let run = |request: Value| d.dispatch_blocking(request, false).unwrap();
    assert_eq!(
        run(
            json!({"execute": "guest-set-vcpus", "arguments": {"vcpus": [{"logical-id": 1, "online": false}]}})
        ),
        json!({"return": 1})
    );
    assert_eq!(std::fs::read_to_string(cpu.join("online")).unwrap(), "0\n");
    assert_eq!(
        run(json!({"execute": "guest-get-vcpus"})),
        json!({"return": [{"logical-id": 1, "online": false, "can-offline": true}]})
    );
    assert_eq!(
        run(
            json!({"execute": "guest-set-memory-blocks", "arguments": {"mem-blks": [{"phys-index": 4, "online": false}, {"phys-index": 5, "online": true}]}})
        ),
        json!({"return": [
            {"phys-index": 4, "response": "success"},
            {"phys-index": 5, "response": "not-found", "error-code": 2}
        ]})
    );
    assert!(std::fs::read_to_string(block.join("state"))
        .unwrap()
        .starts_with("offline"));
}

#[test]
fn a_freeze_that_froze_nothing_leaves_the_agent_thawed() {
    let statedir = tempfile::tempdir().unwrap();
    let (_h, d) = agent(Policy::default(), Some(statedir.path()));
    assert_eq!(
        d.dispatch_blocking(
            json!({"execute": "guest-fsfreeze-freeze-list", "arguments": {"mountpoints": []}}),
            false
        ),
        Some(json!({"return": 0}))
    );
    assert_eq!(
        call(&d, "guest-fsfreeze-status"),
        json!({"return": "thawed"})
    );
    assert!(!statedir.path().join(qga_agent::FROZEN_FILE).exists());
    assert!(runs(&d, "guest-get-osinfo"));
}

#[test]
fn an_unwritable_frozen_marker_changes_nothing_the_host_sees() {
    let statedir = tempfile::tempdir().unwrap();
    let (_h, d) = agent(Policy::default(), Some(statedir.path()));
    // A directory where the marker goes: it can be neither written nor
    // removed.
    let marker = statedir.path().join(qga_agent::FROZEN_FILE);
    std::fs::create_dir(&marker).unwrap();
    std::fs::write(marker.join("keep"), "").unwrap();
    assert_eq!(call(&d, "guest-fsfreeze-freeze"), json!({"return": 1}));
    assert_eq!(
        call(&d, "guest-fsfreeze-status"),
        json!({"return": "frozen"})
    );
    assert!(!runs(&d, "guest-get-osinfo"));
    assert_eq!(call(&d, "guest-fsfreeze-thaw"), json!({"return": 1}));
    assert_eq!(
        call(&d, "guest-fsfreeze-status"),
        json!({"return": "thawed"})
    );
    assert!(runs(&d, "guest-get-osinfo"));
}

#[test]
fn every_read_only_command_answers() {
    let (_h, d) = agent(Policy::default(), None);
    for name in [
        "guest-get-time",
        "guest-get-host-name",
        "guest-get-osinfo",
        "guest-get-timezone",
        "guest-get-users",
        "guest-get-load",
        "guest-get-cpustats",
        "guest-get-diskstats",
        "guest-network-get-interfaces",
        "guest-network-get-route",
        "guest-get-fsinfo",
        "guest-get-disks",
        "guest-fsfreeze-status",
    ] {
        let reply = call(&d, name);
        assert!(reply.get("return").is_some(), "{name}: {reply}");
    }
    let lo = call(&d, "guest-network-get-interfaces");
    assert!(
        lo["return"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "lo"),
        "{lo}"
    );
}
