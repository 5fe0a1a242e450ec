//! Python's `qemu.qmp` (QEMU's own client library, from PyPI) drives the
//! example server: greeting and negotiation with `oob`, commands and
//! errors, events through its `EventListener`, an out-of-band command
//! overtaking a slow in-band one, `query-commands` and `query-qmp-schema`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qapi_test_support::{python_module, Suite};

/// The example server, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(socket: &Path) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_qmp-server"))
        .arg("--socket")
        .arg(socket)
        .stdin(Stdio::null())
        .spawn()
        .expect("start qmp-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "qmp-server did not listen");
        std::thread::sleep(Duration::from_millis(10));
    }
    Server(child)
}

fn python_drives_the_server(python: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("qmp.sock");
    let _server = start_server(&socket);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/qemu_qmp_session.py");
    let output = Command::new(python)
        .arg(script)
        .arg(&socket)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    assert!(
        output.status.success(),
        "qemu.qmp session failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ok: the out-of-band reply came first"));
}

fn main() {
    let mut suite = Suite::new();
    suite.needs(
        "python_qemu_qmp_drives_the_server",
        python_module("qemu.qmp", "pip install qemu.qmp"),
        python_drives_the_server,
    );
    suite.run();
}
