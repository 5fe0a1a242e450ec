//! The systemd units and udev rule a distribution would install
//! (`systemd/`): `systemd-analyze verify` finds nothing to say about
//! them, exactly one of the two units runs on any machine, the rule
//! starts both (their conditions choose), and the agent takes the command
//! lines they give it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use qapi_test_support::{program, Suite};

fn unit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd")
}

const UNITS: [&str; 2] = ["qga-agent.service", "qga-agent-confidential.service"];

fn read(name: &str) -> String {
    std::fs::read_to_string(unit_dir().join(name)).unwrap()
}

/// The value of `key=` in a unit (the last one).
fn value<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

fn verify(analyze: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let agent = common::qga_agent();
    let files: Vec<PathBuf> = UNITS
        .iter()
        .map(|name| {
            // The installed path becomes the agent just built.
            let text = read(name).replace("/usr/sbin/qga-agent", agent.to_str().unwrap());
            let file = dir.path().join(name);
            std::fs::write(&file, text).unwrap();
            file
        })
        .collect();
    let out = Command::new(analyze)
        .arg("verify")
        .args(&files)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
}

fn exactly_one_runs() {
    let (plain, confidential) = (read(UNITS[0]), read(UNITS[1]));
    assert_eq!(value(&plain, "ConditionSecurity"), ["!cvm"]);
    assert_eq!(value(&confidential, "ConditionSecurity"), ["cvm"]);
    let exec = |unit: &str| {
        value(unit, "ExecStart")[0]
            .trim_start_matches('-')
            .to_owned()
    };
    assert_eq!(exec(&plain), "/usr/sbin/qga-agent");
    assert_eq!(exec(&confidential), "/usr/sbin/qga-agent --confidential");
    // Both follow the port's device.
    for unit in [&plain, &confidential] {
        let device = "dev-virtio\\x2dports-org.qemu.guest_agent.0.device";
        assert_eq!(value(unit, "BindsTo"), [device]);
        assert_eq!(value(unit, "After"), [device]);
    }
    // The rule wants both, for the port qemu-ga's rule matches.
    let rule = read("60-qga-agent.rules").replace("\\\n", " ");
    let rule = rule.lines().find(|l| !l.starts_with('#')).unwrap();
    assert!(rule.contains(r#"SUBSYSTEM=="virtio-ports""#), "{rule}");
    assert!(
        rule.contains(r#"ATTR{name}=="org.qemu.guest_agent.0""#),
        "{rule}"
    );
    assert!(
        rule.contains(r#"ENV{SYSTEMD_WANTS}="qga-agent.service qga-agent-confidential.service""#),
        "{rule}"
    );
    // The agent takes the confidential unit's options.
    let out = Command::new(common::qga_agent())
        .args(["--confidential", "-D", "-t", "/tmp"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\nconfidential=true\n"));
}

fn main() {
    let mut suite = Suite::new();
    suite.test("exactly one unit runs on any machine", exactly_one_runs);
    suite.needs(
        "systemd-analyze verify finds nothing",
        program("systemd-analyze", "apt-get install systemd"),
        verify,
    );
    suite.run();
}
