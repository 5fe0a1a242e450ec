//! The host's end of an agent's port (a virtio-serial port's chardev
//! socket): synced with `guest-sync-delimited` as libvirt syncs, then one
//! request at a time.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The host's end of an agent's virtio-serial port.
pub struct Port {
    /// The connection.
    pub stream: UnixStream,
    reader: BufReader<UnixStream>,
    next_id: i64,
}

impl Port {
    /// Connects to the port's socket.  QEMU creates the socket's file
    /// before it listens: connecting is retried for a while.
    pub fn open(socket: &Path) -> Port {
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() > deadline => panic!("QEMU's chardev socket: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        Port {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
            next_id: 4_000_000,
        }
    }

    /// Sends 0xFF and `guest-sync-delimited` until the agent answers the
    /// last one sent (it may not run yet, and requests sent before it did
    /// are answered late), skipping everything else.
    pub fn sync(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        while Instant::now() < deadline {
            self.next_id += 1;
            let id = self.next_id;
            let request =
                format!(r#"{{"execute":"guest-sync-delimited","arguments":{{"id":{id}}}}}"#);
            self.stream.write_all(b"\xff").unwrap();
            self.stream.write_all(request.as_bytes()).unwrap();
            let expected = format!("{{\"return\": {id}}}\n");
            loop {
                let mut line = Vec::new();
                if self.reader.read_until(b'\n', &mut line).is_err() || line.is_empty() {
                    break;
                }
                let after_delimiter = match line.iter().rposition(|&b| b == 0xff) {
                    Some(i) => &line[i + 1..],
                    None => &line[..],
                };
                if after_delimiter == expected.as_bytes() {
                    self.stream
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        .unwrap();
                    return;
                }
            }
        }
        panic!("the agent did not answer guest-sync-delimited");
    }

    /// Sends `request`; its reply.
    pub fn call(&mut self, request: &str) -> Value {
        self.stream.write_all(request.as_bytes()).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{request}: {e}: {line:?}"))
    }

    /// Sends `request`; what it returns (a failure panics).
    pub fn call_ok(&mut self, request: &str) -> Value {
        let reply = self.call(request);
        assert!(reply.get("return").is_some(), "{request}: {reply}");
        reply["return"].clone()
    }

    /// Runs `argv` with its output captured; its exit code and output.
    pub fn exec(&mut self, argv: &[&str]) -> (i64, String) {
        let request = json!({"execute": "guest-exec", "arguments": {
            "path": argv[0], "arg": &argv[1..], "capture-output": true}});
        let pid = self.call_ok(&request.to_string())["pid"].as_i64().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = self.call_ok(&format!(
                r#"{{"execute":"guest-exec-status","arguments":{{"pid":{pid}}}}}"#
            ));
            if status["exited"] == json!(true) {
                let out = status["out-data"].as_str().map(decode).unwrap_or_default();
                return (status["exitcode"].as_i64().unwrap_or(-1), out);
            }
            assert!(Instant::now() < deadline, "{argv:?} did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Base64 decoded, as text.
pub fn decode(b64: &str) -> String {
    let bytes: Vec<u8> = b64
        .bytes()
        .filter_map(|c| match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        })
        .collect();
    let out: Vec<u8> = bytes
        .chunks(4)
        .flat_map(|c| {
            let v = c.iter().fold(0u32, |acc, &d| acc << 6 | u32::from(d)) << (6 * (4 - c.len()));
            let n = c.len() * 3 / 4;
            v.to_be_bytes()[1..1 + n].to_vec()
        })
        .collect();
    String::from_utf8_lossy(&out).into_owned()
}
