//! The same QMP session, byte for byte, from a real QEMU 7.2 and from a
//! small server of ours generated from a selection of QEMU 7.2's schema:
//! greeting, negotiation, commands, events, errors of every kind.  Values
//! that differ by nature are masked (versions, timestamps, command lists);
//! line endings and the order of events and replies are compared as they
//! are.
//!
//! Needs `qemu-system-x86_64` (Debian's `qemu-system-x86`) and, when the
//! tests are built, `QAPI_CORPUS` (for QEMU 7.2's schema).

use qapi_test_support::Suite;

#[cfg(qemu_schemas)]
mod replay {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;
    use std::path::Path;
    use std::time::Duration;

    use qapi_tests::{qmp72_server, Qemu};

    /// What the client sends, step by step.  Each step is followed by a
    /// marker request whose reply (with id `mark-N`) ends the step.
    const STEPS: &[&[u8]] = &[
        br#"{"execute":"query-status"}"#,
        br#"{"execute":"qmp_capabilities","arguments":{"enable":["bogus"]}}"#,
        br#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":1}"#,
        br#"{"execute":"qmp_capabilities"}"#,
        br#"{"execute":"query-status","id":"a"}"#,
        br#"{"execute":"cont","id":2}"#,
        br#"{"execute":"query-status","id":3}"#,
        br#"{"execute":"stop","id":[1,2]}"#,
        br#"{"execute":"stop","id":4}"#,
        br#"{"execute":"query-name"}"#,
        br#"{"execute":"query-uuid","id":{"x":1,"b":[true,null]}}"#,
        br#"{"execute":"nope","id":5}"#,
        br#"{"execute":"query-status","arguments":{"x":1},"id":6}"#,
        br#"{"execute":"query-status","arguments":{"b":1,"a":2,"c":3}}"#,
        br#"{"execute":"stop","arguments":[]}"#,
        br#"{"execute":1}"#,
        br#"[1,2]"#,
        br#"{"id":7}"#,
        br#"{"execute":"query-status","foo":1,"bar":2}"#,
        br#"{"exec-oob":"query-status","id":8}"#,
        br#"{"execute":"query-status","exec-oob":"query-name"}"#,
        br#"{"execute": foo}"#,
        br#"{'execute':'query-name','id':'single'}"#,
        br#"{"execute":"query-name","id":"\u00e9\u20ac\ud83d\ude00"}"#,
        br#"{"execute":"query-name","id":1.5e300}"#,
        br#"{"execute":"query-commands","id":10}"#,
        br#"{"execute":"query-qmp-schema","id":11}"#,
        br#"{"execute":"query-version"}"#,
        br#"{"execute":"cont","id":"c"}{"execute":"query-status","id":"s"}{"execute":"stop","id":"t"}"#,
        b"{\"execute\":\"query-name\",\"id\":\xff}",
        br#"{"execute":"query-name","id":12}   "#,
    ];

    /// One peer's whole session: every line it wrote, in order.
    fn session(socket: &Path) -> Vec<String> {
        let stream = UnixStream::connect(socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut lines = Vec::new();
        let mut line = || {
            let mut bytes = Vec::new();
            reader.read_until(b'\n', &mut bytes).unwrap();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        lines.push(line());
        for (n, step) in STEPS.iter().enumerate() {
            writer.write_all(step).unwrap();
            let marker = format!(r#"{{"execute":"query-name","id":"mark-{n}"}}"#);
            writer.write_all(marker.as_bytes()).unwrap();
            lines.push(format!("--- step {n}: {}\n", String::from_utf8_lossy(step)));
            loop {
                let l = line();
                assert!(!l.is_empty(), "the peer closed the connection");
                let done = l.contains(&format!("\"id\": \"mark-{n}\""));
                lines.push(l);
                if done {
                    break;
                }
            }
        }
        lines
    }

    /// Replaces what differs by nature with placeholders.
    fn mask(line: &str) -> String {
        let mut out = line.to_owned();
        if let Some(start) = out.find("{\"seconds\": ") {
            let end = out[start..].find('}').map_or(out.len(), |e| start + e + 1);
            out.replace_range(start..end, "{TIMESTAMP}");
        }
        if let Some(start) = out.find("\"qemu\": {") {
            let end = out[start..].find('}').map_or(out.len(), |e| start + e + 1);
            out.replace_range(start..end, "\"qemu\": {VERSION}");
        }
        if let Some(start) = out.find("\"package\": \"") {
            let from = start + "\"package\": \"".len();
            let end = out[from..].find('"').map_or(out.len(), |e| from + e);
            out.replace_range(from..end, "PACKAGE");
        }
        if out.starts_with("{\"return\": [") {
            let end = out.rfind("], \"id\"").unwrap_or(out.len());
            out.replace_range("{\"return\": [".len()..end, "LIST");
        }
        out
    }

    pub fn replay(program: std::path::PathBuf) {
        let qemu = Qemu::start(&program, &["-S"]).expect("start QEMU");
        let dir = tempfile::tempdir().unwrap();
        let (_rt, ours) = qmp72_server::serve(dir.path());
        let theirs: Vec<String> = session(&qemu.socket).iter().map(|l| mask(l)).collect();
        let mine: Vec<String> = session(&ours).iter().map(|l| mask(l)).collect();
        let mut equal = 0;
        let mut differences = Vec::new();
        for (q, o) in theirs.iter().zip(&mine) {
            if q == o {
                equal += 1;
            } else {
                differences.push(format!("QEMU: {q:?}\nours: {o:?}"));
            }
        }
        eprintln!(
            "{equal} of {} lines byte-equal after masking ({} steps)",
            theirs.len(),
            STEPS.len()
        );
        assert_eq!(theirs.len(), mine.len(), "{theirs:#?}\n{mine:#?}");
        assert!(differences.is_empty(), "{}", differences.join("\n\n"));
    }
}

fn main() {
    let mut suite = Suite::new();
    #[cfg(qemu_schemas)]
    suite.needs(
        "a_qmp_session_is_byte_equal_to_qemu_schemas",
        qapi_tests::Qemu::program(),
        replay::replay,
    );
    #[cfg(not(qemu_schemas))]
    suite.needs(
        "a_qmp_session_is_byte_equal_to_qemu_schemas",
        Err::<(), _>(qapi_test_support::Missing::corpus(
            "QAPI_CORPUS was not set when the tests were built",
        )),
        |()| {},
    );
    suite.run();
}
