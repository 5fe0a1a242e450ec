//! Starting agents on Unix sockets in a temporary directory and talking
//! to them line by line.

#![allow(dead_code)]

pub mod port;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running agent process, killed when dropped.
pub struct Running {
    child: Child,
    /// Its socket.
    pub socket: PathBuf,
}

impl Running {
    /// The process's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the agent runs");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Starts `command` (an agent listening on `socket`) and waits until
    /// it accepts connections.
    pub fn spawn(mut command: Command, socket: PathBuf) -> Running {
        let child = command.spawn().expect("the agent starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "the agent did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Running { child, socket }
    }

    /// How many threads the process has.
    pub fn threads(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the agent runs");
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("Threads in /proc/PID/status")
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real qemu-ga, if installed (`QAPI_REQUIRE_QEMU=1` makes its absence
/// a failure, as in CI).
pub fn qemu_ga() -> Option<PathBuf> {
    let found = [
        "/usr/bin/qemu-ga",
        "/usr/sbin/qemu-ga",
        "/usr/local/bin/qemu-ga",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("QAPI_REQUIRE_QEMU").is_none(),
            "QAPI_REQUIRE_QEMU is set but qemu-ga is not installed (apt-get install qemu-guest-agent)"
        );
        eprintln!("skipped: qemu-ga is not installed (apt-get install qemu-guest-agent)");
    }
    found
}

/// Our agent's binary.
pub fn qga_agent() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_qga-agent"))
}

/// Starts `binary` listening on `DIR/NAME.sock` with state in
/// `DIR/NAME-state`, plus `extra` options.
pub fn start(binary: &Path, dir: &Path, name: &str, extra: &[&str]) -> Running {
    start_limited(binary, dir, name, extra, None)
}

/// [`start`], with at most `max_fds` open descriptors if given.
pub fn start_limited(
    binary: &Path,
    dir: &Path,
    name: &str,
    extra: &[&str],
    max_fds: Option<u64>,
) -> Running {
    use std::os::unix::process::CommandExt;
    let socket = dir.join(format!("{name}.sock"));
    let state = dir.join(format!("{name}-state"));
    std::fs::create_dir_all(&state).unwrap();
    let mut command = Command::new(binary);
    command
        .args(["-m", "unix-listen", "-p"])
        .arg(&socket)
        .arg("-t")
        .arg(&state)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(max) = max_fds {
        let limit = libc::rlimit {
            rlim_cur: max,
            rlim_max: max,
        };
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&socket).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} did not start",
            binary.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Running { child, socket }
}

/// One connection.
pub struct Conn {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_sync: i64,
}

impl Conn {
    /// Connects to `agent`.
    pub fn open(agent: &Running) -> Conn {
        let stream = UnixStream::connect(&agent.socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            next_sync: 900_000,
        }
    }

    /// Sends `bytes` and returns every line the agent answers before the
    /// answer to a marker sent after them: the answer to `bytes`, however
    /// many lines (or none) it is.  The marker is a command no agent has,
    /// named uniquely, so it is answered whatever the policy disables.
    pub fn exchange(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.next_sync += 1;
        let name = format!("qga-test-marker-{}", self.next_sync);
        let marker = format!(r#"{{"execute":"{name}"}}"#);
        self.writer.write_all(bytes).unwrap();
        self.writer.write_all(marker.as_bytes()).unwrap();
        let answer = format!("The command {name} has not been found");
        let mut lines = Vec::new();
        loop {
            let mut line = Vec::new();
            self.reader.read_until(b'\n', &mut line).unwrap();
            assert!(!line.is_empty(), "the agent closed the connection");
            if String::from_utf8_lossy(&line).contains(&answer) {
                return lines;
            }
            lines.push(line);
        }
    }

    /// The one reply to `request`, as JSON.
    pub fn call(&mut self, request: &str) -> Value {
        let lines = self.exchange(request.as_bytes());
        assert_eq!(lines.len(), 1, "{request}: {lines:?}");
        serde_json::from_slice(lines[0].strip_prefix(b"\xff").unwrap_or(&lines[0])).unwrap()
    }
}
