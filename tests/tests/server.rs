//! The server side over real sockets: QMP framing as QEMU's monitor writes
//! it, out-of-band commands overtaking in-band ones, QEMU's in-band queue,
//! events before the reply of the command that raised them, blocking
//! handlers off the reactor, the listeners (TCP, Unix with a mode) and
//! the connection limit.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use qapi_runtime::json::Limits;
use qapi_runtime::policy::{CompatPolicy, Policy};
use qapi_runtime::server::session::Greeting;
use qapi_runtime::server::{serve, Listener, ServerConfig, ServerLimits};
use qapi_tests::TestServer;
use serde_json::{json, Value};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The test agent served over QMP on a Unix socket, with its events.
struct QmpServer {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

fn qmp_server(limits: ServerLimits) -> QmpServer {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qmp.sock");
    let dispatcher = qapi_tests::agent(Policy::default(), CompatPolicy::default());
    let events = dispatcher.state().events.clone();
    let listener = {
        let _guard = rt.enter();
        Listener::bind_unix(&path, 0o600).unwrap()
    };
    let config = ServerConfig {
        limits,
        ..ServerConfig::qmp(Greeting {
            version: (7, 2, 0),
            package: "qapi-tests".to_owned(),
            oob: true,
        })
    };
    rt.spawn(serve(listener, dispatcher, config, Some(events)));
    QmpServer {
        path,
        _dir: dir,
        _rt: rt,
    }
}

/// A raw QMP connection: bytes out, `\r\n`-ended lines in.
struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    fn connect(path: &std::path::Path) -> Qmp {
        let stream = UnixStream::connect(path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Qmp {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    /// Connects and negotiates, with `oob` if asked.
    fn negotiated(path: &std::path::Path, oob: bool) -> Qmp {
        let mut qmp = Qmp::connect(path);
        assert!(qmp.message().get("QMP").is_some());
        let enable = if oob { json!(["oob"]) } else { json!([]) };
        qmp.send(&json!({"execute": "qmp_capabilities", "arguments": {"enable": enable}}));
        assert_eq!(qmp.message(), json!({"return": {}}));
        qmp
    }

    fn send(&mut self, request: &Value) {
        self.writer
            .write_all(request.to_string().as_bytes())
            .unwrap();
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// The next line, which must end with `\r\n`.
    fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
        assert!(
            line.ends_with(b"\r\n"),
            "not ended by \\r\\n: {:?}",
            String::from_utf8_lossy(&line)
        );
        line
    }

    fn message(&mut self) -> Value {
        serde_json::from_slice(&self.line()).unwrap()
    }
}

#[test]
fn qmp_messages_end_with_crlf_as_qemus_monitor_writes_them() {
    let server = qmp_server(ServerLimits::default());
    let mut qmp = Qmp::connect(&server.path);
    let greeting = qmp.line();
    assert_eq!(
        greeting,
        b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"qapi-tests\"}, \"capabilities\": [\"oob\"]}}\r\n"
    );
    qmp.send_raw(br#"{"execute":"guest-ping"}"#);
    assert_eq!(
        qmp.line(),
        b"{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities negotiation with 'qmp_capabilities'\"}}\r\n"
    );
    qmp.send_raw(br#"{"execute":"qmp_capabilities","id":1}"#);
    assert_eq!(qmp.line(), b"{\"return\": {}, \"id\": 1}\r\n");
    qmp.send_raw(br#"{"execute":"guest-emit","arguments":{"n":3},"id":2}"#);
    let event = qmp.line();
    assert!(
        event.starts_with(b"{\"timestamp\": {\"seconds\": ")
            && event.ends_with(b"\"event\": \"EMITTED\", \"data\": {\"n\": 3}}\r\n"),
        "{}",
        String::from_utf8_lossy(&event)
    );
    assert_eq!(qmp.line(), b"{\"return\": {}, \"id\": 2}\r\n");
}

#[test]
fn events_a_command_raises_precede_its_reply() {
    let server = qmp_server(ServerLimits::default());
    let mut qmp = Qmp::negotiated(&server.path, false);
    // Pipelined: each event comes right before the reply of its command.
    let mut batch = Vec::new();
    for n in 0..50 {
        batch.extend(
            json!({"execute": "guest-emit", "arguments": {"n": n}, "id": n})
                .to_string()
                .into_bytes(),
        );
    }
    qmp.send_raw(&batch);
    for n in 0..50 {
        let event = qmp.message();
        assert_eq!(event["event"], "EMITTED", "{event}");
        assert_eq!(event["data"]["n"], n);
        assert_eq!(qmp.message(), json!({"return": {}, "id": n}));
    }
}

#[test]
fn out_of_band_commands_overtake_in_band_ones() {
    let server = qmp_server(ServerLimits::default());
    for slow in ["guest-sleep", "guest-block"] {
        let mut qmp = Qmp::negotiated(&server.path, true);
        let started = Instant::now();
        qmp.send_raw(
            format!(
                r#"{{"execute":"{slow}","arguments":{{"ms":1000}},"id":"slow"}}{{"execute":"guest-ping","id":"queued"}}{{"exec-oob":"guest-oob","id":"oob"}}"#
            )
            .as_bytes(),
        );
        assert_eq!(qmp.message(), json!({"return": {}, "id": "oob"}));
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{slow}: the out-of-band reply took {:?}",
            started.elapsed()
        );
        assert_eq!(qmp.message(), json!({"return": {}, "id": "slow"}));
        assert!(started.elapsed() >= Duration::from_millis(1000));
        assert_eq!(qmp.message(), json!({"return": {}, "id": "queued"}));
    }
}

#[test]
fn without_the_capability_exec_oob_is_refused_at_once() {
    let server = qmp_server(ServerLimits::default());
    let mut qmp = Qmp::negotiated(&server.path, false);
    qmp.send_raw(
        br#"{"execute":"guest-sleep","arguments":{"ms":300},"id":1}{"exec-oob":"guest-oob","id":2}"#,
    );
    assert_eq!(
        qmp.message(),
        json!({"id": 2, "error": {"class": "GenericError", "desc": "QMP input member 'exec-oob' is unexpected"}})
    );
    assert_eq!(qmp.message(), json!({"return": {}, "id": 1}));
}

#[test]
fn a_full_in_band_queue_stops_reading_as_qemu_does() {
    let server = qmp_server(ServerLimits::default());
    let mut qmp = Qmp::negotiated(&server.path, true);
    // One running and eight waiting: the queue is full, so an out-of-band
    // command sent after them is not read until the queue drains.
    qmp.send(&json!({"execute": "guest-block", "arguments": {"ms": 600}, "id": "slow"}));
    std::thread::sleep(Duration::from_millis(100));
    let mut queued = Vec::new();
    for n in 0..8 {
        queued.extend(
            json!({"execute": "guest-ping", "id": n})
                .to_string()
                .into_bytes(),
        );
    }
    qmp.send_raw(&queued);
    std::thread::sleep(Duration::from_millis(100));
    qmp.send(&json!({"exec-oob": "guest-oob", "id": "oob"}));
    let ids: Vec<Value> = (0..10).map(|_| qmp.message()["id"].clone()).collect();
    let mut want = vec![json!("slow")];
    want.extend((0..8).map(|n| json!(n)));
    want.push(json!("oob"));
    assert_eq!(ids, want);
    // With room in the queue, the same command overtakes.
    qmp.send(&json!({"execute": "guest-block", "arguments": {"ms": 600}, "id": "slow"}));
    std::thread::sleep(Duration::from_millis(100));
    qmp.send(&json!({"exec-oob": "guest-oob", "id": "oob"}));
    assert_eq!(qmp.message()["id"], "oob");
    assert_eq!(qmp.message()["id"], "slow");
}

#[test]
fn a_blocked_handler_does_not_delay_other_connections() {
    let server = TestServer::start(
        qapi_tests::agent(Policy::default(), CompatPolicy::default()),
        Limits::default(),
    )
    .unwrap();
    let mut blocked = UnixStream::connect(server.path()).unwrap();
    blocked
        .write_all(br#"{"execute":"guest-block","arguments":{"ms":5000}}"#)
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut other = UnixStream::connect(server.path()).unwrap();
    let mut reader = BufReader::new(other.try_clone().unwrap());
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        other.write_all(br#"{"execute":"guest-ping"}"#).unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "{\"return\": {}}\n");
        worst = worst.max(started.elapsed());
    }
    assert!(worst < Duration::from_millis(50), "a ping took {worst:?}");
}

#[test]
fn tcp_listeners_serve_the_same_protocol() {
    let rt = runtime();
    let dispatcher = qapi_tests::agent(Policy::default(), CompatPolicy::default());
    let listener = rt.block_on(Listener::bind_tcp("127.0.0.1:0")).unwrap();
    let addr = listener.tcp_addr().unwrap();
    rt.spawn(serve(listener, dispatcher, ServerConfig::qga(), None));
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(br#"{"execute":"guest-sync","arguments":{"id":42}}"#)
        .unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    assert_eq!(line, "{\"return\": 42}\n");
}

#[test]
fn unix_sockets_get_their_mode_whatever_the_umask() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.sock");
    // SAFETY: umask only changes this process's default file mode; no
    // other test here checks the mode of what it creates.
    let old = unsafe { libc::umask(0) };
    let listener = {
        let _guard = rt.enter();
        Listener::bind_unix(&path, 0o600)
    };
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = listener.unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    // Nothing is left beside it, and a second bind finds the path taken.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
    let again = {
        let _guard = rt.enter();
        Listener::bind_unix(&path, 0o600)
    };
    assert_eq!(again.unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    drop(listener);
}

#[test]
fn connections_past_the_limit_are_told_and_closed() {
    let limits = ServerLimits {
        max_connections: 3,
        ..ServerLimits::default()
    };
    let server = qmp_server(limits);
    let held: Vec<Qmp> = (0..3)
        .map(|_| Qmp::negotiated(&server.path, false))
        .collect();
    let mut refused = Qmp::connect(&server.path);
    assert_eq!(
        refused.message(),
        json!({"error": {"class": "GenericError", "desc": "too many connections (the limit is 3)"}})
    );
    let mut rest = Vec::new();
    refused.reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    drop(held);
    // Once they are gone, connections are served again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut qmp = Qmp::connect(&server.path);
        if qmp.message().get("QMP").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "still refused");
        std::thread::sleep(Duration::from_millis(20));
    }
}
