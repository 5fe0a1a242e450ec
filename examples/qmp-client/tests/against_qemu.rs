//! Runs the example against a real QEMU (Debian's `qemu-system-x86`) and
//! checks what it says.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qapi_test_support::{program, Suite};

struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn talks_to_qemu(qemu: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("qmp.sock");
    let _qemu = Qemu(
        Command::new(qemu)
            .args([
                "-S",
                "-machine",
                "pc",
                "-accel",
                "tcg",
                "-m",
                "64",
                "-nodefaults",
                "-display",
                "none",
                "-qmp",
            ])
            .arg(format!("unix:{},server=on,wait=off", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start QEMU"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "QEMU did not open its QMP socket"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = Command::new(env!("CARGO_BIN_EXE_qmp-client"))
        .arg(&socket)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "connected to QEMU 7.",
        "out-of-band execution: true",
        "run state: prelaunch (a value this client's schema does not list)",
        "event RESUME at ",
        "event STOP at ",
        "event RESET at ",
        "(not in this client's schema)",
        "error: no-such-command: CommandNotFound: The command no-such-command has not been found",
        "kvm: present",
        "supports query-status/ret-type/singlestep: true",
        "supports query-cpus: false",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }
}

fn main() {
    let mut suite = Suite::new();
    suite.needs(
        "the_example_talks_to_qemu",
        program("qemu-system-x86_64", "apt-get install qemu-system-x86"),
        talks_to_qemu,
    );
    suite.run();
}
