//! `-m isa-serial`: the agent puts the port in raw mode as qemu-ga does, so
//! that the host reads replies only (a terminal's default echo would send
//! it its own requests back, and its output processing would turn `\n`
//! into `\r\n`).  A pseudo-terminal stands in for the serial port; the
//! same port under qemu-ga 10.0.13 ends up with the same settings.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use qapi_test_support::{corpus_file, Suite};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcgetattr, InputModes, LocalModes, SpecialCodeIndex, Termios};

/// A pseudo-terminal: the master end (the host's side) and the slave's
/// path (the port the agent opens).
struct Pty {
    master: OwnedFd,
    slave: PathBuf,
}

impl Pty {
    fn open() -> Pty {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("ptsname");
        let slave = PathBuf::from(name.to_string_lossy().into_owned());
        Pty { master, slave }
    }

    /// The settings of the port, as the agent left them.
    fn settings(&self) -> Termios {
        use std::os::unix::fs::OpenOptionsExt;
        let port = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&self.slave)
            .expect("open the port");
        tcgetattr(&port).expect("tcgetattr")
    }
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary` on the port and waits until the port is raw.
fn start(binary: &Path, pty: &Pty, state: &Path) -> Agent {
    let agent = Agent(
        Command::new(binary)
            .args(["-m", "isa-serial", "-p"])
            .arg(&pty.slave)
            .arg("-t")
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display())),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while pty.settings().local_modes.contains(LocalModes::ICANON) {
        assert!(
            Instant::now() < deadline,
            "{} left the port in canonical mode",
            binary.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    agent
}

/// What matters of a port's settings, comparable.
fn raw_settings(t: &Termios) -> (u64, u64, u64, u8, u8, u32) {
    (
        t.input_modes.bits() as u64,
        t.output_modes.bits() as u64,
        t.local_modes.bits() as u64,
        t.special_codes[SpecialCodeIndex::VMIN],
        t.special_codes[SpecialCodeIndex::VTIME],
        t.output_speed(),
    )
}

fn our_agent_is_raw() {
    let pty = Pty::open();
    let before = pty.settings();
    assert!(
        before.local_modes.contains(LocalModes::ECHO),
        "a fresh terminal echoes"
    );
    let state = tempfile::tempdir().unwrap();
    let _agent = start(
        Path::new(env!("CARGO_BIN_EXE_qga-agent")),
        &pty,
        state.path(),
    );
    let after = pty.settings();
    assert_eq!(after.local_modes, LocalModes::empty());
    assert!(after.output_modes.is_empty());
    assert!(!after
        .input_modes
        .intersects(InputModes::ICRNL | InputModes::IXON | InputModes::ISTRIP));
    assert_eq!(after.special_codes[SpecialCodeIndex::VMIN], 1);
    assert_eq!(after.special_codes[SpecialCodeIndex::VTIME], 0);
    assert_eq!(after.output_speed(), 38400);

    // The host reads the reply alone, with qemu-ga's `\n`; a carriage
    // return in the request reaches the agent as it is (JSON whitespace).
    let mut master = std::fs::File::from(pty.master.try_clone().unwrap());
    master
        .write_all(b"{\"execute\":\"guest-sync\",\"arguments\":{\"id\":7}}\r")
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let mut reader = master.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.ends_with(b"\n") {
                let _ = tx.send(got.clone());
            }
        }
    });
    let reply = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a reply on the port");
    assert_eq!(String::from_utf8_lossy(&reply), "{\"return\": 7}\n");
}

fn same_settings_as_qemu_ga(qemu_ga: PathBuf) {
    let state = tempfile::tempdir().unwrap();
    let theirs = {
        let pty = Pty::open();
        let _agent = start(&qemu_ga, &pty, state.path());
        raw_settings(&pty.settings())
    };
    let ours = {
        let pty = Pty::open();
        let _agent = start(
            Path::new(env!("CARGO_BIN_EXE_qga-agent")),
            &pty,
            state.path(),
        );
        raw_settings(&pty.settings())
    };
    assert_eq!(
        ours, theirs,
        "(input, output, local modes, VMIN, VTIME, speed)"
    );
}

fn main() {
    let mut suite = Suite::new();
    suite.test(
        "isa-serial: the port is raw and carries replies only",
        our_agent_is_raw,
    );
    suite.needs(
        "isa-serial: the port's settings are qemu-ga 10.0.13's",
        corpus_file("peers/qemu-ga-10.0.13"),
        same_settings_as_qemu_ga,
    );
    suite.run();
}
