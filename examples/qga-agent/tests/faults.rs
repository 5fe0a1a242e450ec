//! The agent under faults a deployment meets, over real sockets: out of
//! file descriptors, a large reply on a connection that stays open,
//! clients that stall halfway through a huge request.  The agent stays up,
//! keeps serving, and its memory stays bounded.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::{qga_agent, start, start_limited, Conn, Running};

/// A connection that only pings.
fn ping(agent: &Running) -> Result<(), String> {
    let stream = UnixStream::connect(&agent.socket).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    (&stream)
        .write_all(br#"{"execute":"guest-ping"}"#)
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    if line == "{\"return\": {}}\n" {
        Ok(())
    } else {
        Err(line)
    }
}

#[test]
fn out_of_descriptors_the_agent_refuses_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut agent = start_limited(&qga_agent(), dir.path(), "agent", &[], Some(256));
    // A client that opens files and never closes them takes every
    // descriptor the agent has.
    let mut hog = Conn::open(&agent);
    let mut handles = Vec::new();
    loop {
        let reply = hog.call(r#"{"execute":"guest-file-open","arguments":{"path":"/dev/null"}}"#);
        match reply["return"].as_i64() {
            Some(h) => handles.push(h),
            None => {
                // The last descriptor goes to the file or to saving the
                // handle counter (qemu-ga's text then).
                let desc = reply["error"]["desc"].as_str().unwrap_or_default();
                assert!(
                    desc.contains("Too many open files")
                        || desc == "failed to commit persistent state to disk",
                    "{reply}"
                );
                break;
            }
        }
        assert!(handles.len() < 1000, "the limit did not hold");
    }
    // More clients than the agent has descriptors for: each is told or
    // served; none hangs, and the agent stays up.
    let mut clients = Vec::new();
    let mut refused = 0;
    for _ in 0..300 {
        let stream = UnixStream::connect(&agent.socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut line = String::new();
        if BufReader::new(&stream).read_line(&mut line).is_ok() && line.contains("error") {
            refused += 1;
        }
        clients.push(stream);
    }
    assert!(refused > 0, "no client was told why it is not served");
    assert!(agent.alive(), "the agent exited");
    drop(clients);
    for h in handles {
        hog.call(&format!(
            r#"{{"execute":"guest-file-close","arguments":{{"handle":{h}}}}}"#
        ));
    }
    // Descriptors back: a new client is served.
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(e) = ping(&agent) {
        assert!(Instant::now() < deadline, "not served again: {e}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(agent.alive());
}

#[test]
fn more_idle_connections_than_descriptors_do_not_end_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let mut agent = start_limited(&qga_agent(), dir.path(), "agent", &[], Some(256));
    let idle: Vec<UnixStream> = (0..400)
        .map(|_| UnixStream::connect(&agent.socket).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    assert!(agent.alive(), "the agent exited");
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(e) = ping(&agent) {
        assert!(Instant::now() < deadline, "not served again: {e}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn memory_returns_after_a_large_reply_on_an_open_connection() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start(&qga_agent(), dir.path(), "agent", &[]);
    ping(&agent).unwrap();
    let idle = agent.rss_kib();
    // 30 MB read: a 40 MB reply (base64).
    let file = dir.path().join("big");
    std::fs::write(&file, vec![b'x'; 30_000_000]).unwrap();
    let mut conn = Conn::open(&agent);
    let open = conn.call(&format!(
        r#"{{"execute":"guest-file-open","arguments":{{"path":"{}"}}}}"#,
        file.display()
    ));
    let handle = open["return"].as_i64().expect("a handle");
    let read = conn.call(&format!(
        r#"{{"execute":"guest-file-read","arguments":{{"handle":{handle},"count":30000000}}}}"#
    ));
    assert_eq!(read["return"]["count"], 30_000_000);
    let bound = 3 * idle + 8 * 1024;
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut now = agent.rss_kib();
    while now > bound && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        now = agent.rss_kib();
    }
    eprintln!(
        "resident memory: idle {idle} KiB, after the 40 MB reply {now} KiB (bound {bound} KiB)"
    );
    assert!(now <= bound, "{now} KiB > {bound} KiB");
    // The connection is still open and served.
    conn.call(r#"{"execute":"guest-ping"}"#);
}

#[test]
fn clients_stalled_halfway_through_huge_requests_hold_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start(&qga_agent(), dir.path(), "agent", &[]);
    ping(&agent).unwrap();
    let idle = agent.rss_kib();
    // Eight clients each send half of a 32 MiB string and stall.
    let half = vec![b'a'; 16 << 20];
    let stalled: Vec<std::thread::JoinHandle<UnixStream>> = (0..8)
        .map(|_| {
            let mut stream = UnixStream::connect(&agent.socket).unwrap();
            let half = half.clone();
            std::thread::spawn(move || {
                stream
                    .write_all(br#"{"execute":"guest-sync","arguments":{"id":1,"pad":""#)
                    .unwrap();
                // Unread, the rest stays in the socket buffers.
                stream
                    .set_write_timeout(Some(Duration::from_secs(3)))
                    .unwrap();
                let _ = stream.write_all(&half);
                stream
            })
        })
        .collect();
    // Meanwhile other clients are answered at once.
    for _ in 0..20 {
        let started = Instant::now();
        ping(&agent).unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    let stalled: Vec<UnixStream> = stalled.into_iter().map(|t| t.join().unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let held = agent.rss_kib();
    // The documented bound: 64 KiB per connection on its own, one request
    // of up to 64 MiB at a time beyond that.
    let bound = idle + 8 * 64 + 64 * 1024 + 8 * 1024;
    eprintln!(
        "resident memory: idle {idle} KiB, with 8 stalled clients {held} KiB (bound {bound} KiB)"
    );
    assert!(held <= bound, "{held} KiB > {bound} KiB");
    ping(&agent).unwrap();
    drop(stalled);
}

#[test]
fn a_fifo_read_answers_at_once_and_stalls_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start(&qga_agent(), dir.path(), "agent", &[]);
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path in the test's directory.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut reader = Conn::open(&agent);
    let handle = reader.call(&format!(
        r#"{{"execute":"guest-file-open","arguments":{{"path":"{}","mode":"r+"}}}}"#,
        fifo.display()
    ))["return"]
        .as_i64()
        .expect("a handle");
    let started = Instant::now();
    let reply = reader.call(&format!(
        r#"{{"execute":"guest-file-read","arguments":{{"handle":{handle}}}}}"#
    ));
    assert_eq!(
        reply["error"]["desc"], "failed to read file: Resource temporarily unavailable",
        "{reply}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    ping(&agent).expect("another client is served");
}

#[test]
fn daemonized_files_are_the_agents_alone_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let pidfile = dir.path().join("agent.pid");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let mut command = std::process::Command::new(qga_agent());
    command
        .args(["-d", "-m", "unix-listen", "-p"])
        .arg(&socket)
        .arg("-t")
        .arg(&state)
        .arg("-f")
        .arg(&pidfile);
    // SAFETY: umask is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    assert!(command.status().unwrap().success(), "the agent daemonizes");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(socket.exists() && pidfile.exists()) {
        assert!(Instant::now() < deadline, "no socket or pid file");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let (socket_mode, pid_mode) = (mode(&socket), mode(&pidfile));
    // SAFETY: kill sends SIGTERM to the daemon this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!((socket_mode, pid_mode), (0o700, 0o600), "as qemu-ga's");
}

#[test]
fn a_program_that_cannot_start_is_an_error_never_a_stuck_entry() {
    let dir = tempfile::tempdir().unwrap();
    let agent = start_limited(&qga_agent(), dir.path(), "agent", &[], Some(64));
    let mut conn = Conn::open(&agent);
    // Take every descriptor the agent has: a program with its output
    // captured needs pipes it cannot get.
    let mut handles = Vec::new();
    loop {
        let reply = conn.call(r#"{"execute":"guest-file-open","arguments":{"path":"/dev/null"}}"#);
        match reply["return"].as_i64() {
            Some(h) => handles.push(h),
            None => break,
        }
        assert!(handles.len() < 100, "the limit did not hold");
    }
    let exec = r#"{"execute":"guest-exec","arguments":{"path":"/bin/true","capture-output":true}}"#;
    let reply = conn.call(exec);
    let desc = reply["error"]["desc"].as_str().unwrap_or_default();
    assert!(
        desc.contains("Too many open files"),
        "an error reply: {reply}"
    );
    // With descriptors back, programs run and are reported as exited.
    for h in handles.drain(..8) {
        conn.call(&format!(
            r#"{{"execute":"guest-file-close","arguments":{{"handle":{h}}}}}"#
        ));
    }
    let pid = conn.call(exec)["return"]["pid"].as_i64().expect("a pid");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = conn.call(&format!(
            r#"{{"execute":"guest-exec-status","arguments":{{"pid":{pid}}}}}"#
        ));
        if status["return"]["exited"] == serde_json::json!(true) {
            assert_eq!(status["return"]["exitcode"], 0);
            break;
        }
        assert!(Instant::now() < deadline, "never reported as exited");
        std::thread::sleep(Duration::from_millis(20));
    }
}
