//! The example server started by systemd's socket activation: it serves
//! the listening socket it inherits (`LISTEN_FDS`), as a unit with a
//! `.socket` twin would start it.  `systemd-socket-activate` plays
//! systemd.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qapi_test_support::{program, Suite};

/// The activated server, stopped when dropped.
struct Activated(Child);

impl Drop for Activated {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serves_an_inherited_socket(activate: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("activated.sock");
    let _server = Activated(
        Command::new(activate)
            .arg("-l")
            .arg(&socket)
            .arg(env!("CARGO_BIN_EXE_qmp-server"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start systemd-socket-activate"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        match UnixStream::connect(&socket) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "no socket: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("{\"QMP\": "), "{line}");
    (&stream)
        .write_all(br#"{"execute":"qmp_capabilities"}{"execute":"query-status"}"#)
        .unwrap();
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "{\"return\": {}}\r\n");
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert_eq!(
        line,
        "{\"return\": {\"status\": \"prelaunch\", \"running\": false}}\r\n"
    );
}

fn main() {
    let mut suite = Suite::new();
    suite.needs(
        "serves_a_socket_inherited_from_systemd",
        program("systemd-socket-activate", "apt-get install systemd"),
        serves_an_inherited_socket,
    );
    suite.run();
}
