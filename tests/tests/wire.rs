//! The test agent over a real Unix socket: bad input of every kind gets
//! QEMU's answer or a clear error, and the server keeps serving.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use qapi_runtime::json::Limits;
use qapi_runtime::policy::{CompatPolicy, InputPolicy, Policy};
use qapi_tests::{agent, TestServer};
use serde_json::{json, Value};

fn server(policy: Policy) -> TestServer {
    TestServer::start(agent(policy, CompatPolicy::default()), Limits::default()).unwrap()
}

/// A raw connection: bytes out, reply lines in.
struct Conn {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Conn {
    fn open(server: &TestServer) -> Conn {
        let stream = UnixStream::connect(server.path()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn send(&mut self, bytes: &[u8]) -> &mut Self {
        self.writer.write_all(bytes).unwrap();
        self
    }

    /// The next reply line, raw (a 0xFF prefix included).
    fn raw_line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
        assert!(line.ends_with(b"\n"), "{}", String::from_utf8_lossy(&line));
        line
    }

    fn reply(&mut self) -> Value {
        serde_json::from_slice(&self.raw_line()).unwrap()
    }

    /// The `desc` of the next reply, which must be an error.
    fn error(&mut self) -> String {
        let reply = self.reply();
        reply["error"]["desc"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error: {reply}"))
            .to_owned()
    }

    fn ping(&mut self) {
        self.send(br#"{"execute":"guest-ping"}"#);
        assert_eq!(self.raw_line(), b"{\"return\": {}}\n");
    }
}

#[test]
fn requests_and_replies_are_byte_exact() {
    let server = server(Policy::default());
    let mut c = Conn::open(&server);
    c.send(br#"{"execute":"guest-sync","arguments":{"id":5},"id":{"z":1,"a":"\u00e9"}}"#);
    assert_eq!(
        c.raw_line(),
        b"{\"return\": 5, \"id\": {\"a\": \"\\u00E9\", \"z\": 1}}\n"
    );
    c.send(br#"{'execute':'guest-sync-delimited','arguments':{'id':7}}"#);
    assert_eq!(c.raw_line(), b"\xff{\"return\": 7}\n");
    c.send(br#"{"execute":"guest-nope","id":1}"#);
    assert_eq!(
        c.raw_line(),
        b"{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command guest-nope has not been found\"}}\n"
    );
}

#[test]
fn bad_json_and_bad_shapes() {
    let server = server(Policy::default());
    let mut c = Conn::open(&server);
    c.send(br#"{"execute": foo}"#);
    assert_eq!(c.error(), "JSON parse error, invalid keyword 'foo'");
    c.send(b"[1, 2]");
    assert_eq!(c.error(), "QMP input must be a JSON object");
    c.send(br#"{"execute":"guest-ping","foo":1}"#);
    assert_eq!(c.error(), "QMP input member 'foo' is unexpected");
    c.send(br#"{"exec-oob":"guest-oob"}"#);
    assert_eq!(c.error(), "QMP input member 'exec-oob' is unexpected");
    c.send(br#"{"execute":"guest-ping","arguments":[]}"#);
    assert_eq!(c.error(), "QMP input member 'arguments' must be an object");
    c.send(br#"{"id": 5}"#);
    let reply = c.reply();
    assert_eq!(reply["id"], 5);
    assert_eq!(reply["error"]["desc"], "QMP input lacks member 'execute'");
    c.ping();
}

#[test]
fn argument_errors_use_qemus_texts() {
    let server = server(Policy::default());
    let mut c = Conn::open(&server);
    let cases = [
        (
            json!({"execute": "guest-sync", "arguments": {}}),
            "Parameter 'id' is missing",
        ),
        (
            json!({"execute": "guest-sync", "arguments": {"id": "1"}}),
            "Invalid parameter type for 'id', expected: integer",
        ),
        (
            json!({"execute": "guest-sync", "arguments": {"id": 1, "x": 2, "y": 3}}),
            "Parameter 'y' is unexpected",
        ),
        (
            json!({"execute": "guest-exec", "arguments": {"path": "x", "arg": ["a", 1]}}),
            "Invalid parameter type for 'arg[1]', expected: string",
        ),
        (
            json!({"execute": "guest-set-vcpus", "arguments": {"vcpus": [{"online": true}]}}),
            "Parameter 'vcpus[0].logical-id' is missing",
        ),
        (
            json!({"execute": "guest-set-vcpus",
                   "arguments": {"vcpus": [{"logical-id": 1, "online": true, "zz": 1}]}}),
            "Parameter 'vcpus[0].zz' is unexpected",
        ),
        (
            json!({"execute": "guest-file-seek",
                   "arguments": {"handle": 1, "offset": 0, "whence": "bogus"}}),
            "Parameter 'whence' does not accept value 'bogus'",
        ),
        (
            json!({"execute": "guest-file-seek",
                   "arguments": {"handle": 1, "offset": 0, "whence": [1]}}),
            "Invalid parameter type for 'whence', expected: FileWhence",
        ),
        (
            json!({"execute": "guest-file-seek",
                   "arguments": {"handle": 1, "offset": 0, "whence": 5.5}}),
            "Invalid parameter type for 'whence', expected: integer",
        ),
        (
            json!({"execute": "guest-sleep", "arguments": {"ms": -1}}),
            "Parameter 'ms' expects uint32",
        ),
    ];
    for (request, desc) in cases {
        c.send(request.to_string().as_bytes());
        assert_eq!(c.error(), desc, "{request}");
    }
    // Argument errors are answered even for commands that are otherwise
    // silent.
    c.send(br#"{"execute":"guest-shutdown","arguments":{"mode":"off"}}"#);
    assert_eq!(c.error(), "Parameter 'mode' does not accept value 'off'");
}

#[test]
fn a_0xff_byte_resets_the_parser() {
    let server = server(Policy::default());
    let mut c = Conn::open(&server);
    c.send(b"{\"execute\":\"guest-p\xffing\"}");
    assert_eq!(c.error(), "JSON parse error, stray '\"guest-p\u{fffd}'");
    assert_eq!(c.error(), "JSON parse error, expecting value");
    c.send(b"\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":9}}");
    assert_eq!(c.error(), "JSON parse error, stray '\u{fffd}'");
    assert_eq!(c.raw_line(), b"\xff{\"return\": 9}\n");
}

#[test]
fn silent_commands_send_nothing() {
    let server = server(Policy::default());
    let mut c = Conn::open(&server);
    c.send(br#"{"execute":"guest-shutdown"}{"execute":"guest-sync","arguments":{"id":3}}"#);
    assert_eq!(c.reply(), json!({"return": 3}));
    let agent = server.dispatcher.state();
    assert_eq!(agent.shutdowns.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_client_leaving_mid_request_does_not_disturb_others() {
    let server = server(Policy::default());
    let mut other = Conn::open(&server);
    {
        let mut leaving = Conn::open(&server);
        leaving.send(br#"{"execute":"guest-sync","argum"#);
        other.ping();
    }
    other.ping();
    // A new connection starts with a fresh parser.
    Conn::open(&server).ping();
}

#[test]
fn twenty_thousand_pipelined_requests_in_one_write() {
    let server = server(Policy::default());
    let mut c = Conn::open(&server);
    let n = 20_000;
    let mut batch = Vec::new();
    for i in 0..n {
        write!(
            batch,
            r#"{{"execute":"guest-sync","arguments":{{"id":{i}}},"id":{i}}}"#
        )
        .unwrap();
    }
    // Write from another thread: the replies must be read while writing.
    let mut writer = c.writer.try_clone().unwrap();
    let sender = std::thread::spawn(move || writer.write_all(&batch).unwrap());
    for i in 0..n {
        assert_eq!(c.reply(), json!({"return": i, "id": i}));
    }
    sender.join().unwrap();
    c.ping();
}

#[test]
fn a_100_mb_request_is_refused_and_the_server_goes_on() {
    let server = server(Policy::default());
    let mut big = Conn::open(&server);
    let mut other = Conn::open(&server);
    let mut writer = big.writer.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        writer
            .write_all(br#"{"execute":"guest-sync","arguments":{"id":1,"pad":""#)
            .unwrap();
        let chunk = vec![b'A'; 1 << 20];
        for _ in 0..100 {
            writer.write_all(&chunk).unwrap();
        }
        writer.write_all(br#""}}"#).unwrap();
    });
    other.ping();
    assert_eq!(big.error(), "JSON token size limit exceeded");
    // As in QEMU, what follows the refused token is read afresh.
    assert_eq!(big.error(), "JSON parse error, expecting value");
    assert_eq!(big.error(), "JSON parse error, expecting value");
    sender.join().unwrap();
    big.ping();
    other.ping();
}

#[test]
fn nesting_and_token_limits_are_errors() {
    let limits = Limits {
        max_size: 1 << 20,
        max_tokens: 1000,
        max_depth: 16,
    };
    let server =
        TestServer::start(agent(Policy::default(), CompatPolicy::default()), limits).unwrap();
    let mut c = Conn::open(&server);
    let deep = format!("{}{}", "[".repeat(17), "]".repeat(17));
    c.send(deep.as_bytes());
    assert_eq!(c.error(), "JSON nesting depth limit exceeded");
    let mut c = Conn::open(&server);
    let long = format!("[{}1]", "1,".repeat(1000));
    c.send(long.as_bytes());
    assert_eq!(c.error(), "JSON token count limit exceeded");
}

#[test]
fn refusals_say_why() {
    let policy = qapi_runtime::policy::qga::Flags {
        no_unrestricted: true,
        block: ["guest-ping".to_owned()].into(),
        ..Default::default()
    }
    .policy(qapi_tests::agent::Feature::NAMES.iter().copied());
    let server = server(policy);
    let mut c = Conn::open(&server);
    let expect = [
        (
            "guest-exec",
            "Command guest-exec has been disabled: blocked by --no-unrestricted (feature 'unrestricted')",
        ),
        ("guest-ping", "Command guest-ping has been disabled: blocked by --block-rpcs"),
        (
            "guest-unimplemented",
            "Command guest-unimplemented has been disabled: not implemented by this server",
        ),
    ];
    for (command, desc) in expect {
        c.send(
            format!(r#"{{"execute":"{command}","arguments":{{"path":"/bin/true"}}}}"#).as_bytes(),
        );
        let reply = c.reply();
        assert_eq!(reply["error"]["class"], "CommandNotFound");
        assert_eq!(reply["error"]["desc"], desc);
    }
}

#[test]
fn frozen_file_systems_allow_only_fs_frozen_commands() {
    let server = server(Policy::default());
    let mut c = Conn::open(&server);
    c.send(br#"{"execute":"guest-fsfreeze-freeze"}"#);
    assert_eq!(c.reply(), json!({"return": 1}));
    c.send(br#"{"execute":"guest-set-vcpus","arguments":{"vcpus":[]}}"#);
    assert_eq!(
        c.error(),
        "Command guest-set-vcpus has been disabled: not allowed while file systems are frozen (no feature 'fs-frozen')"
    );
    c.send(br#"{"execute":"guest-info"}"#);
    let info = c.reply();
    let enabled = |name: &str| {
        info["return"]["supported_commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["enabled"].as_bool().unwrap())
    };
    assert_eq!(enabled("guest-set-vcpus"), Some(false));
    assert_eq!(enabled("guest-ping"), Some(true));
    c.send(br#"{"execute":"guest-fsfreeze-thaw"}"#);
    assert_eq!(c.reply(), json!({"return": 1}));
    c.send(br#"{"execute":"guest-set-vcpus","arguments":{"vcpus":[]}}"#);
    assert_eq!(c.reply(), json!({"return": 0}));
}

#[test]
fn compat_policy_rejects_deprecated_commands() {
    let compat = CompatPolicy {
        deprecated_input: InputPolicy::Reject,
        ..CompatPolicy::default()
    };
    let server = TestServer::start(agent(Policy::default(), compat), Limits::default()).unwrap();
    let mut c = Conn::open(&server);
    c.send(br#"{"execute":"guest-old"}"#);
    let reply = c.reply();
    assert_eq!(reply["error"]["class"], "CommandNotFound");
    assert_eq!(
        reply["error"]["desc"],
        "Deprecated command guest-old disabled by policy"
    );
}

#[test]
fn async_handlers_do_not_block_other_clients() {
    let server = server(Policy::default());
    let mut sleeper = Conn::open(&server);
    sleeper.send(br#"{"execute":"guest-sleep","arguments":{"ms":300},"id":"s"}"#);
    let start = std::time::Instant::now();
    Conn::open(&server).ping();
    assert!(start.elapsed() < Duration::from_millis(300));
    assert_eq!(sleeper.reply(), json!({"return": {}, "id": "s"}));
}

#[test]
fn the_peer_may_close_without_reading() {
    let server = server(Policy::default());
    {
        let mut rude = Conn::open(&server);
        // The server stops reading while its replies are not read, so the
        // write stalls: give up after a while, as a vanished peer would.
        rude.writer
            .set_write_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut flood = Vec::new();
        for _ in 0..50_000 {
            flood.extend_from_slice(br#"{"execute":"guest-ping"}"#);
        }
        let _ = rude.writer.write_all(&flood);
        let mut first = [0u8; 16];
        let _ = rude.reader.read(&mut first);
    }
    Conn::open(&server).ping();
}

/// The agent's handlers are `#[handlers]` functions: members by name
/// (optional ones absent or present), a boxed command's arguments whole,
/// and a `'gen': false` command registered by hand beside them.
#[test]
fn annotated_handlers_get_their_arguments() {
    let server = server(Policy::default());
    let mut c = Conn::open(&server);
    c.send(br#"{"execute":"guest-file-seek","arguments":{"handle":1,"offset":9,"whence":"cur"}}"#);
    assert_eq!(c.reply(), json!({"return": {"position": 9, "eof": false}}));
    c.send(br#"{"execute":"guest-seek-echo","arguments":{"position":3,"eof":true}}"#);
    assert_eq!(c.reply(), json!({"return": {"position": 3, "eof": true}}));
    c.send(br#"{"execute":"guest-set-vcpus","arguments":{"vcpus":[{"logical-id":0,"online":true},{"logical-id":1,"online":false,"can-offline":true}]}}"#);
    assert_eq!(c.reply(), json!({"return": 2}));
    c.send(br#"{"execute":"guest-raw","arguments":{"any":"thing","more":1}}"#);
    assert_eq!(c.reply(), json!({"return": {"any": "thing", "more": 1}}));
    c.send(br#"{"execute":"guest-seek-echo","arguments":{"position":3}}"#);
    assert_eq!(c.error(), "Parameter 'eof' is missing");
    assert_eq!(
        qapi_tests::handlers::COMMANDS.len(),
        17,
        "{:?}",
        qapi_tests::handlers::COMMANDS
    );
}
