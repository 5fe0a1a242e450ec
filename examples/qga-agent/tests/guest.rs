//! The agent where it is deployed: inside a VM (Debian's kernel and
//! busybox under `qemu-system-x86_64 -accel tcg`, see
//! `qapi_test_support::guest`), reached by the host over virtio-serial as
//! libvirt reaches it: `guest-sync-delimited` until it is up, then the
//! read-only commands, a file round trip, a program, policy flags on the
//! guest's command line, vsock inside the guest, and `guest-shutdown`
//! powering the VM off.  The same guest booted with qemu-ga 10.0.13 must
//! answer the same.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use common::port::Port;
use qapi_test_support::guest::{Boot, Image, ImageBuilder, Packages};
use qapi_test_support::{corpus_file, program, Missing, Suite};
use serde_json::{json, Value};

/// Where the agents live in the guest.
const OURS: &str = "/usr/sbin/qga-agent";
const QEMU_GA: &str = "/usr/bin/qemu-ga";
const VSOCK_CALL: &str = "/usr/bin/vsock_call";

/// The image every test boots, built once.
struct Guest {
    image: Image,
    with_qemu_ga: bool,
    _dir: tempfile::TempDir,
}

static GUEST: OnceLock<Result<Guest, String>> = OnceLock::new();

/// The example program that talks vsock, built by `cargo test` beside the
/// agent.
fn vsock_call() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_qga-agent"))
        .parent()
        .unwrap()
        .join("examples/vsock_call")
}

/// A copy of `binary` without debug information: the image stays small.
fn stripped(binary: &Path, dir: &Path) -> Result<PathBuf, String> {
    let out = dir.join(binary.file_name().unwrap());
    let status = std::process::Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&out)
        .arg(binary)
        .status()
        .map_err(|e| format!("strip: {e}"))?;
    if status.success() {
        Ok(out)
    } else {
        Err(format!("strip {} failed", binary.display()))
    }
}

fn build_guest() -> Result<Guest, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-cache");
    let packages = Packages::fetch(&cache)?;
    let mut image = ImageBuilder::new(&packages)?;
    image.program(&stripped(&common::qga_agent(), dir.path())?, OURS)?;
    image.program(&stripped(&vsock_call(), dir.path())?, VSOCK_CALL)?;
    let qemu_ga = corpus_file("peers/qemu-ga-10.0.13").ok();
    if let Some(q) = &qemu_ga {
        image.program(q, QEMU_GA)?;
    }
    Ok(Guest {
        image: image.write(dir.path())?,
        with_qemu_ga: qemu_ga.is_some(),
        _dir: dir,
    })
}

/// What the tests need: QEMU, the packages, the built image.
fn guest() -> Result<&'static Guest, Missing> {
    program("qemu-system-x86_64", "apt-get install qemu-system-x86")?;
    if !vsock_call().exists() {
        return Err(Missing::peer(
            "the vsock_call example is not built (cargo test builds it)",
        ));
    }
    GUEST
        .get_or_init(build_guest)
        .as_ref()
        .map_err(|e| Missing::peer(format!("cannot build the guest image: {e}")))
}

/// Boots the guest with `agent` and `args`; the VM and its port, synced.
fn boot(
    guest: &Guest,
    agent: &str,
    args: &[&str],
    vsock: Option<&str>,
) -> (tempfile::TempDir, qapi_test_support::guest::Vm, Port) {
    let dir = tempfile::tempdir().unwrap();
    let mut boot = Boot::new(&guest.image, agent).args(args);
    if let Some(v) = vsock {
        boot = boot.vsock(v);
    }
    let vm = boot.start(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut port = Port::open(&vm.socket);
    port.sync(Duration::from_secs(60));
    (dir, vm, port)
}

/// The requests whose answers the two agents must agree on.
const COMPARED: [&str; 13] = [
    r#"{"execute":"guest-ping"}"#,
    r#"{"execute":"guest-get-host-name"}"#,
    r#"{"execute":"guest-get-osinfo"}"#,
    r#"{"execute":"guest-get-vcpus"}"#,
    r#"{"execute":"guest-get-memory-block-info"}"#,
    r#"{"execute":"guest-get-fsinfo"}"#,
    r#"{"execute":"guest-get-disks"}"#,
    r#"{"execute":"guest-network-get-route"}"#,
    r#"{"execute":"guest-get-users"}"#,
    r#"{"execute":"guest-get-timezone"}"#,
    r#"{"execute":"guest-fsfreeze-status"}"#,
    r#"{"execute":"guest-file-open","arguments":{"path":"/nonexistent"}}"#,
    r#"{"execute":"guest-nope"}"#,
];

/// Counters move between the two boots: compared in shape.
const SHAPE_ONLY: [&str; 4] = [
    r#"{"execute":"guest-get-cpustats"}"#,
    r#"{"execute":"guest-get-diskstats"}"#,
    r#"{"execute":"guest-network-get-interfaces"}"#,
    r#"{"execute":"guest-get-memory-blocks"}"#,
];

fn numbers_masked(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Number(_) => *v = json!(0),
            Value::Array(a) => a.iter_mut().for_each(walk),
            Value::Object(o) => o.values_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

fn answers(port: &mut Port) -> Vec<Value> {
    let mut out: Vec<Value> = COMPARED.iter().map(|r| port.call(r)).collect();
    out.extend(SHAPE_ONLY.iter().map(|r| numbers_masked(port.call(r))));
    let mut info = port.call_ok(r#"{"execute":"guest-info"}"#);
    info["version"] = json!("masked");
    out.push(info);
    out
}

/// Our agent in the guest: up, the read-only commands, a file, a
/// program, shutdown.
fn ours_over_virtio_serial(guest: &Guest) {
    let (_dir, mut vm, mut port) = boot(guest, OURS, &[], None);
    let info = port.call_ok(r#"{"execute":"guest-info"}"#);
    let commands = info["supported_commands"].as_array().unwrap();
    assert_eq!(commands.len(), 43);
    assert!(
        commands.iter().all(|c| c["enabled"] == json!(true)),
        "{info}"
    );
    assert_eq!(
        port.call_ok(r#"{"execute":"guest-get-host-name"}"#)["host-name"],
        "qga-guest"
    );
    // Everything compared with qemu-ga answers, but the two errors.
    for request in COMPARED[..COMPARED.len() - 2].iter().chain(&SHAPE_ONLY) {
        port.call_ok(request);
    }
    let lo = port.call_ok(r#"{"execute":"guest-network-get-interfaces"}"#);
    assert_eq!(lo[0]["ip-addresses"][0]["ip-address"], "127.0.0.1", "{lo}");
    // A file under /tmp, there and back.
    let handle =
        port.call_ok(r#"{"execute":"guest-file-open","arguments":{"path":"/tmp/f","mode":"w+"}}"#);
    let write = format!(
        r#"{{"execute":"guest-file-write","arguments":{{"handle":{handle},"buf-b64":"aGVsbG8gZ3Vlc3QK"}}}}"#
    );
    assert_eq!(port.call_ok(&write)["count"], 12);
    port.call_ok(&format!(r#"{{"execute":"guest-file-seek","arguments":{{"handle":{handle},"offset":0,"whence":"set"}}}}"#));
    let read = port.call_ok(&format!(
        r#"{{"execute":"guest-file-read","arguments":{{"handle":{handle}}}}}"#
    ));
    assert_eq!(read["buf-b64"], "aGVsbG8gZ3Vlc3QK");
    port.call_ok(&format!(
        r#"{{"execute":"guest-file-close","arguments":{{"handle":{handle}}}}}"#
    ));
    assert_eq!(
        port.exec(&["/bin/cat", "/tmp/f"]),
        (0, "hello guest\n".to_owned())
    );
    // Powered off: no reply (success-response false), QEMU exits.
    port.stream
        .write_all(br#"{"execute":"guest-shutdown"}"#)
        .unwrap();
    assert!(
        vm.wait_poweroff(Duration::from_secs(30)),
        "the VM did not power off:\n{}",
        vm.console_text()
    );
}

/// Policy flags on the guest's command line.
fn confidential_in_a_guest(guest: &Guest) {
    let (_dir, _vm, mut port) = boot(guest, OURS, &["--confidential"], None);
    let reply = port.call(r#"{"execute":"guest-file-open","arguments":{"path":"/tmp/x"}}"#);
    assert_eq!(
        reply["error"]["desc"],
        "Command guest-file-open has been disabled: blocked by --confidential (no feature 'confidential')"
    );
    port.call_ok(r#"{"execute":"guest-get-vcpus"}"#);
}

/// vsock inside the guest, through the loopback transport.
fn vsock_in_a_guest(guest: &Guest) {
    let (_dir, _vm, mut port) = boot(guest, OURS, &[], Some("1:5000"));
    let (code, out) = port.exec(&[
        VSOCK_CALL,
        "1",
        "5000",
        r#"{"execute":"guest-ping"}"#,
        r#"{"execute":"guest-info"}"#,
    ]);
    assert_eq!(code, 0, "{out}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(r#"{"return": {}}"#));
    let info: Value = serde_json::from_str(lines.next().unwrap_or_default()).unwrap();
    assert_eq!(
        info["return"]["supported_commands"]
            .as_array()
            .unwrap()
            .len(),
        43
    );
}

/// The same guest with qemu-ga 10.0.13: the same answers.
fn same_as_qemu_ga(guest: &Guest) {
    assert!(
        guest.with_qemu_ga,
        "the image has qemu-ga when the corpus does"
    );
    let theirs = {
        let (_dir, _vm, mut port) = boot(guest, QEMU_GA, &[], None);
        answers(&mut port)
    };
    let ours = {
        let (_dir, _vm, mut port) = boot(guest, OURS, &[], None);
        answers(&mut port)
    };
    let labels = COMPARED.iter().chain(&SHAPE_ONLY).chain(&[r#"guest-info"#]);
    for ((label, a), b) in labels.zip(&theirs).zip(&ours) {
        assert_eq!(b, a, "{label} (left qga-agent, right qemu-ga)");
    }
}

fn main() {
    let mut suite = Suite::new();
    type Case = fn(&Guest);
    let cases: [(&str, Case); 3] = [
        (
            "qga-agent in a guest over virtio-serial",
            ours_over_virtio_serial,
        ),
        (
            "--confidential on the guest's command line",
            confidential_in_a_guest,
        ),
        ("vsock-listen inside the guest", vsock_in_a_guest),
    ];
    for (name, case) in cases {
        suite.needs_lazily(name, guest, case);
    }
    let with_qemu_ga = || {
        corpus_file("peers/qemu-ga-10.0.13")?;
        guest()
    };
    suite.needs_lazily(
        "qemu-ga 10.0.13 in the same guest answers the same",
        with_qemu_ga,
        same_as_qemu_ga,
    );
    suite.run();
}
