//! qga-agent against the real qemu-ga (Debian's `qemu-guest-agent`), both
//! started with the same options on Unix sockets: the same requests must
//! get the same answers, compared as JSON after masking what differs by
//! nature (file handles, pids).  Where this agent answers differently on
//! purpose (why a command is disabled), only the stable part is compared;
//! the README lists those differences.

mod common;

use common::{qemu_ga, qga_agent, start, Conn};
use serde_json::{json, Value};

/// Options both agents get: one command blocked by name.
const OPTIONS: &[&str] = &["-b", "guest-get-time"];

fn both() -> Option<(tempfile::TempDir, [common::Running; 2])> {
    let reference = qemu_ga()?;
    let dir = tempfile::tempdir().unwrap();
    let theirs = start(&reference, dir.path(), "qemu-ga", OPTIONS);
    let ours = start(&qga_agent(), dir.path(), "qga-agent", OPTIONS);
    Some((dir, [theirs, ours]))
}

/// Replaces `value[key]` by 0 if present: for handles and pids.
fn mask(mut v: Value, pointer: &str) -> Value {
    if let Some(x) = v.pointer_mut(pointer) {
        *x = json!(0);
    }
    v
}

#[test]
fn same_requests_get_the_same_answers() {
    let Some((dir, agents)) = both() else { return };
    let mut conns: Vec<Conn> = agents.iter().map(Conn::open).collect();
    // Byte for byte: simple commands, unknown commands, argument errors,
    // malformed input.
    let exact: &[&[u8]] = &[
        br#"{"execute":"guest-ping"}"#,
        br#"{"execute":"guest-sync","arguments":{"id":1234}}"#,
        br#"{"execute":"guest-sync-delimited","arguments":{"id":99}}"#,
        br#"{"execute":"guest-ping","id":"abc"}"#,
        br#"{"execute":"guest-nope"}"#,
        br#"{"execute":"guest-sync","arguments":{"id":"x"}}"#,
        br#"{"execute":"guest-sync"}"#,
        br#"{"execute":"guest-sync","arguments":{"id":1,"extra":2}}"#,
        br#"{"execute":"guest-file-open","arguments":{"path":1}}"#,
        br#"{"execute":"guest-file-read","arguments":{"handle":424242}}"#,
        br#"{"execute":"guest-exec-status","arguments":{"pid":-5}}"#,
        br#"{"execute":"guest-file-open","arguments":{"path":"/nonexistent/x","mode":"r"}}"#,
        br#"[1, 2]"#,
        br#"{"arguments":{}}"#,
        br#"{"execute":"guest-ping",}"#,
        br#"{"execute": "guest-ping", "arguments": {"a": 1}}"#,
    ];
    for request in exact {
        let a = conns[0].exchange(request);
        let b = conns[1].exchange(request);
        assert_eq!(
            b.iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect::<Vec<_>>(),
            a.iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect::<Vec<_>>(),
            "answers to {} differ (left: qga-agent, right: qemu-ga)",
            String::from_utf8_lossy(request)
        );
    }

    // A blocked command: same class, and both say it has been disabled
    // (qga-agent also says by what).
    let blocked = conns
        .iter_mut()
        .map(|c| c.call(r#"{"execute":"guest-get-time"}"#));
    for reply in blocked {
        assert_eq!(reply["error"]["class"], "CommandNotFound", "{reply}");
        let desc = reply["error"]["desc"].as_str().unwrap();
        assert!(
            desc.starts_with("Command guest-get-time has been disabled"),
            "{desc}"
        );
    }

    // A file on each side: open, write, seek, read, close.
    let answers: Vec<Vec<Value>> = conns
        .iter_mut()
        .enumerate()
        .map(|(i, c)| {
            let path = dir.path().join(format!("file-{i}"));
            let open = c.call(&format!(
                r#"{{"execute":"guest-file-open","arguments":{{"path":"{}","mode":"w+"}}}}"#,
                path.display()
            ));
            let handle = open["return"].as_i64().expect("a handle");
            let steps = [
                format!(r#"{{"execute":"guest-file-write","arguments":{{"handle":{handle},"buf-b64":"aGVsbG8gd29ybGQ="}}}}"#),
                format!(r#"{{"execute":"guest-file-seek","arguments":{{"handle":{handle},"offset":0,"whence":"set"}}}}"#),
                format!(r#"{{"execute":"guest-file-read","arguments":{{"handle":{handle},"count":100}}}}"#),
                format!(r#"{{"execute":"guest-file-seek","arguments":{{"handle":{handle},"offset":-5,"whence":2}}}}"#),
                format!(r#"{{"execute":"guest-file-read","arguments":{{"handle":{handle}}}}}"#),
                format!(r#"{{"execute":"guest-file-flush","arguments":{{"handle":{handle}}}}}"#),
                format!(r#"{{"execute":"guest-file-read","arguments":{{"handle":{handle},"count":-1}}}}"#),
                format!(r#"{{"execute":"guest-file-close","arguments":{{"handle":{handle}}}}}"#),
                format!(r#"{{"execute":"guest-file-close","arguments":{{"handle":{handle}}}}}"#),
            ];
            let mut out = vec![mask(open, "/return")];
            for step in steps {
                let reply = c.call(&step);
                // Texts that name the handle are compared with it masked.
                let text = reply.to_string().replace(&handle.to_string(), "HANDLE");
                out.push(serde_json::from_str(&text).unwrap());
            }
            assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
            out
        })
        .collect();
    assert_eq!(
        answers[1], answers[0],
        "file answers (left: qga-agent, right: qemu-ga)"
    );

    // A program: guest-exec, then guest-exec-status until it has exited.
    let answers: Vec<Vec<Value>> = conns
        .iter_mut()
        .map(|c| {
            let started = c.call(
                r#"{"execute":"guest-exec","arguments":{"path":"/bin/echo","arg":["hello","exec"],"capture-output":true}}"#,
            );
            let pid = started["return"]["pid"].as_i64().expect("a pid");
            let status = loop {
                let s = c.call(&format!(
                    r#"{{"execute":"guest-exec-status","arguments":{{"pid":{pid}}}}}"#
                ));
                if s["return"]["exited"] == json!(true) {
                    break s;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            };
            let gone = c.call(&format!(
                r#"{{"execute":"guest-exec-status","arguments":{{"pid":{pid}}}}}"#
            ));
            vec![mask(started, "/return/pid"), status, gone]
        })
        .collect();
    assert_eq!(
        answers[1], answers[0],
        "exec answers (left: qga-agent, right: qemu-ga)"
    );
    assert_eq!(answers[0][1]["return"]["out-data"], "aGVsbG8gZXhlYwo=");
}
