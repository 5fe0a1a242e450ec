//! The agent at the system's limit on threads and processes: a
//! `guest-exec` whose supervisor thread or process cannot be started is
//! an error reply, every program that did start is reported as exited,
//! and file commands answer even when no thread can be started for them.  The limit (`RLIMIT_NPROC`) binds only users other than root,
//! so the agent runs as `nobody`: the test needs root to start it so.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{qga_agent, Conn, Running};
use qapi_test_support::{Missing, Suite};
use serde_json::json;

/// The uid and gid of `nobody` on Debian.
const NOBODY: u32 = 65534;

fn root() -> Result<(), Missing> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        Ok(())
    } else {
        Err(Missing::corpus(
            "not root: the thread limit binds only other users, and only root can start the agent as one",
        ))
    }
}

/// Runs the agent as `nobody` with at most `threads` threads and
/// processes for that user.
fn start_as_nobody(dir: &std::path::Path, threads: u64) -> Running {
    let socket = dir.join("agent.sock");
    let state = dir.join("state");
    std::fs::create_dir(&state).unwrap();
    for d in [dir, state.as_path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let limit = libc::rlimit {
        rlim_cur: threads,
        rlim_max: threads,
    };
    let mut command = Command::new(qga_agent());
    command
        .args(["-m", "unix-listen", "-p"])
        .arg(&socket)
        .arg("-t")
        .arg(&state)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setrlimit, setgid and setuid are async-signal-safe and
    // touch only the child.
    unsafe {
        command.pre_exec(move || {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(NOBODY) != 0
                || libc::setuid(NOBODY) != 0
                || libc::setrlimit(libc::RLIMIT_NPROC, &limit) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Running::spawn(command, socket)
}

fn exec_true(conn: &mut Conn) -> serde_json::Value {
    conn.call(r#"{"execute":"guest-exec","arguments":{"path":"/bin/true","capture-output":true}}"#)
}

fn wait_exited(conn: &mut Conn, pid: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = conn.call(&format!(
            r#"{{"execute":"guest-exec-status","arguments":{{"pid":{pid}}}}}"#
        ));
        if status["return"]["exited"] == json!(true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} never reported as exited"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// With room for the agent's threads and one more, a program cannot be
/// both supervised and started: every attempt is an error reply or a
/// program reported as exited, never one left running for ever.
fn at_the_thread_limit() {
    let dir = tempfile::tempdir().unwrap();
    // Count what the agent needs when idle and after a blocking command
    // (tokio's blocking pool), on a run without the limit to bite.
    let agent = start_as_nobody(dir.path(), 64);
    let mut conn = Conn::open(&agent);
    conn.call(r#"{"execute":"guest-file-open","arguments":{"path":"/dev/null"}}"#);
    let busy = agent.threads();
    drop(conn);
    drop(agent);
    for spare in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let agent = start_as_nobody(dir.path(), busy + spare);
        let mut conn = Conn::open(&agent);
        conn.call(r#"{"execute":"guest-file-open","arguments":{"path":"/dev/null"}}"#);
        let mut errors = 0;
        for _ in 0..5 {
            let reply = exec_true(&mut conn);
            match reply["return"]["pid"].as_i64() {
                Some(pid) => wait_exited(&mut conn, pid),
                None => {
                    let desc = reply["error"]["desc"].as_str().unwrap_or_default();
                    assert!(desc.contains("Resource temporarily unavailable"), "{reply}");
                    errors += 1;
                }
            }
        }
        if spare == 0 {
            assert_eq!(errors, 5, "no room for a supervisor: every attempt refused");
        }
        conn.call(r#"{"execute":"guest-ping"}"#);
    }
}

/// With no room for even the first thread of tokio's blocking pool (where
/// file commands run), file commands still answer, on the agent's own
/// thread, and the agent stays up.
fn no_room_for_the_blocking_pool() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_as_nobody(dir.path(), 64);
    let conn = Conn::open(&agent);
    drop(conn);
    let idle = agent.threads();
    drop(agent);
    let dir = tempfile::tempdir().unwrap();
    let mut agent = start_as_nobody(dir.path(), idle);
    let mut conn = Conn::open(&agent);
    let opened = conn.call(r#"{"execute":"guest-file-open","arguments":{"path":"/dev/null"}}"#);
    let handle = opened["return"]
        .as_i64()
        .unwrap_or_else(|| panic!("guest-file-open: {opened}"));
    let read = conn.call(&format!(
        r#"{{"execute":"guest-file-read","arguments":{{"handle":{handle}}}}}"#
    ));
    assert_eq!(read["return"]["eof"], json!(true), "{read}");
    assert_eq!(
        conn.call(r#"{"execute":"guest-ping"}"#),
        json!({"return": {}})
    );
    assert!(agent.alive(), "the agent ended");
}

fn main() {
    let mut suite = Suite::new();
    // One after the other: the limit counts every thread of `nobody`, so
    // two agents at once would eat into each other's room.
    suite.needs("at the thread and process limit", root(), |()| {
        no_room_for_the_blocking_pool();
        at_the_thread_limit();
    });
    suite.run();
}
