//! qga-agent against QEMU's own agent: qemu-ga 10.0.13 (the corpus's
//! peer) and Debian's qemu-ga 7.2.  Both agents run side by side on Unix
//! sockets with the same options (the commands that would change this
//! machine blocked); every request goes to both and the answers are
//! compared: byte for byte where they should be equal, as JSON with
//! volatile values masked (counters, clocks, handles, pids) where they
//! cannot be.  Where this agent answers differently on purpose, only what
//! is meant to agree is compared, and the README lists the difference.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{qga_agent, start, Conn, Running};
use qapi_test_support::{corpus_file, program, Missing, Suite};
use serde_json::{json, Value};

/// The commands that would change this machine: blocked in both agents.
const HARMFUL: [&str; 11] = [
    "guest-fsfreeze-freeze",
    "guest-fsfreeze-freeze-list",
    "guest-fstrim",
    "guest-shutdown",
    "guest-suspend-disk",
    "guest-suspend-ram",
    "guest-suspend-hybrid",
    "guest-set-time",
    "guest-set-vcpus",
    "guest-set-memory-blocks",
    "guest-set-user-password",
];

/// How two answers must agree.
#[derive(Clone, Copy, Debug)]
enum Compare {
    /// Byte for byte.
    Exact,
    /// As JSON, with every member of these names (at any depth) masked.
    Masked(&'static [&'static str]),
    /// As JSON, with every number masked: counters that move.
    Shape,
    /// Both refuse a disabled command: `CommandNotFound`, "Command X has
    /// been disabled" (the reason after it is this agent's own).
    Disabled,
    /// Both fail with the same error class (the text differs on purpose).
    SameClass,
}

/// Replaces members named in `keys` (or every number, with `None`) by 0.
fn mask(value: &mut Value, keys: Option<&[&str]>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if keys.is_some_and(|keys| keys.contains(&k.as_str())) {
                    *v = json!(0);
                } else {
                    mask(v, keys);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask(v, keys)),
        Value::Number(_) if keys.is_none() => *value = json!(0),
        _ => {}
    }
}

fn parse(lines: &[Vec<u8>]) -> Value {
    assert_eq!(lines.len(), 1, "one reply expected: {lines:?}");
    let line = lines[0].strip_prefix(b"\xff").unwrap_or(&lines[0]);
    serde_json::from_slice(line)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(line)))
}

fn text(lines: &[Vec<u8>]) -> String {
    lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect()
}

/// The reference agent and this one, started with the same options.
struct Pair {
    dir: tempfile::TempDir,
    reference: PathBuf,
    agents: Vec<Running>,
    conns: Vec<Conn>,
    compared: usize,
}

impl Drop for Pair {
    fn drop(&mut self) {
        eprintln!("{} requests compared", self.compared);
    }
}

impl Pair {
    fn start(reference: &Path, options: &[&str]) -> Pair {
        let dir = tempfile::tempdir().unwrap();
        let mut pair = Pair {
            dir,
            reference: reference.to_path_buf(),
            agents: Vec::new(),
            conns: Vec::new(),
            compared: 0,
        };
        pair.restart(options);
        pair
    }

    /// (Re)starts both agents, each with its own state directory kept
    /// across restarts.
    fn restart(&mut self, options: &[&str]) {
        self.conns.clear();
        self.agents.clear();
        self.agents = vec![
            start(&self.reference, self.dir.path(), "reference", options),
            start(&qga_agent(), self.dir.path(), "ours", options),
        ];
        self.conns = self.agents.iter().map(Conn::open).collect();
    }

    fn state_dir(&self, which: usize) -> PathBuf {
        self.dir.path().join(if which == 0 {
            "reference-state"
        } else {
            "ours-state"
        })
    }

    /// Sends `request` to both and checks the answers agree as `how` says.
    fn check(&mut self, request: &str, how: Compare) {
        self.compared += 1;
        let answers: Vec<Vec<Vec<u8>>> = self
            .conns
            .iter_mut()
            .map(|c| c.exchange(request.as_bytes()))
            .collect();
        let (theirs, ours) = (&answers[0], &answers[1]);
        let context = || {
            format!(
                "{request}\n  qemu-ga:   {}  qga-agent: {}",
                text(theirs),
                text(ours)
            )
        };
        match how {
            Compare::Exact => assert!(theirs == ours, "answers differ: {}", context()),
            Compare::Masked(keys) => {
                let (mut a, mut b) = (parse(theirs), parse(ours));
                mask(&mut a, Some(keys));
                mask(&mut b, Some(keys));
                assert!(a == b, "answers differ: {}", context());
            }
            Compare::Shape => {
                let (mut a, mut b) = (parse(theirs), parse(ours));
                mask(&mut a, None);
                mask(&mut b, None);
                assert!(a == b, "answers differ in shape: {}", context());
            }
            Compare::Disabled => {
                let name = serde_json::from_str::<Value>(request).unwrap()["execute"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                for reply in [parse(theirs), parse(ours)] {
                    assert_eq!(reply["error"]["class"], "CommandNotFound", "{}", context());
                    let desc = reply["error"]["desc"].as_str().unwrap_or_default();
                    assert!(
                        desc.starts_with(&format!("Command {name} has been disabled")),
                        "{}",
                        context()
                    );
                }
            }
            Compare::SameClass => {
                let (a, b) = (parse(theirs), parse(ours));
                assert!(a["error"]["class"].is_string(), "{}", context());
                assert_eq!(a["error"]["class"], b["error"]["class"], "{}", context());
            }
        }
    }

    /// Runs `steps` on each agent in a directory of its own and compares
    /// the transcripts.  In a step, `{DIR}` is that directory, `{H}` the
    /// handle of the last `guest-file-open`, `{PID}` the pid of the last
    /// `guest-exec`; a step `wait` polls `guest-exec-status` until the
    /// program has exited.  Answers are compared with the directory,
    /// handles and pids replaced by those names.
    fn scenario(&mut self, name: &str, prepare: impl Fn(&Path), steps: &[&str]) {
        self.compared += steps.len();
        let transcripts: Vec<Vec<String>> = (0..2)
            .map(|i| {
                let dir = self.dir.path().join(format!("{name}-{i}"));
                std::fs::create_dir_all(&dir).unwrap();
                prepare(&dir);
                let dir_text = dir.display().to_string();
                let (mut handle, mut pid) = (String::from("-1"), String::from("-1"));
                let conn = &mut self.conns[i];
                let mut transcript = Vec::new();
                for step in steps {
                    let reply = if *step == "wait" {
                        let request = format!(
                            r#"{{"execute":"guest-exec-status","arguments":{{"pid":{pid}}}}}"#
                        );
                        let mut tries = 0;
                        loop {
                            let reply = text(&conn.exchange(request.as_bytes()));
                            if !reply.contains("\"exited\": false") || tries > 500 {
                                break reply;
                            }
                            tries += 1;
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    } else {
                        let request = step
                            .replace("{DIR}", &dir_text)
                            .replace("{H}", &handle)
                            .replace("{PID}", &pid);
                        text(&conn.exchange(request.as_bytes()))
                    };
                    if step.contains("\"guest-file-open\"") && reply.starts_with("{\"return\": ") {
                        handle = reply["{\"return\": ".len()..]
                            .trim_end()
                            .trim_end_matches('}')
                            .to_owned();
                    }
                    if step.contains("\"guest-exec\"") && reply.contains("\"pid\": ") {
                        let at = reply.find("\"pid\": ").unwrap() + 7;
                        pid = reply[at..]
                            .chars()
                            .take_while(char::is_ascii_digit)
                            .collect();
                    }
                    // qemu-ga 10 garbles the pid of one text ("PID ld does
                    // not exist"); this agent names it (README).
                    let mut normal = reply
                        .replace(&dir_text, "{DIR}")
                        .replace("PID ld does", "PID {PID} does")
                        .replace(&format!("PID {pid} does"), "PID {PID} does");
                    for (value, placeholder) in [(&handle, "{H}"), (&pid, "{PID}")] {
                        if value != "-1" && !value.is_empty() {
                            normal =
                                normal.replace(&format!(": {value}"), &format!(": {placeholder}"));
                            normal =
                                normal.replace(&format!("'{value}'"), &format!("'{placeholder}'"));
                        }
                    }
                    transcript.push(format!("{step}\n  -> {normal}"));
                }
                transcript
            })
            .collect();
        for (theirs, ours) in transcripts[0].iter().zip(&transcripts[1]) {
            assert_eq!(ours, theirs, "{name}: left qga-agent, right qemu-ga");
        }
    }
}

/// Options both agents get: the commands that change the machine blocked.
fn blocked() -> String {
    HARMFUL.join(",")
}

fn qemu_ga_10() -> Result<PathBuf, Missing> {
    corpus_file("peers/qemu-ga-10.0.13")
}

fn qemu_ga_72() -> Result<PathBuf, Missing> {
    program("/usr/sbin/qemu-ga", "apt-get install qemu-guest-agent")
}

/// The protocol: requests that are not commands, unknown commands,
/// argument errors, sync.
fn protocol(reference: &Path) {
    let mut pair = Pair::start(reference, &["-b", &blocked()]);
    for request in [
        r#"{"execute":"guest-ping"}"#,
        r#"{"execute":"guest-sync","arguments":{"id":1234}}"#,
        r#"{"execute":"guest-sync-delimited","arguments":{"id":99}}"#,
        r#"{"execute":"guest-ping","id":"abc"}"#,
        r#"{"execute":"guest-ping","id":{"nested":[1,2]}}"#,
        r#"{"execute":"guest-nope"}"#,
        r#"{"execute":"guest-get-devices"}"#,
        r#"{"execute":"guest-sync","arguments":{"id":"x"}}"#,
        r#"{"execute":"guest-sync"}"#,
        r#"{"execute":"guest-sync","arguments":{"id":1,"extra":2}}"#,
        r#"{"execute":"guest-ping","arguments":[]}"#,
        r#"{"execute":1}"#,
        r#"{"execute":"guest-ping","unknown":1}"#,
        r#"[1, 2]"#,
        r#""just a string""#,
        r#"{"arguments":{}}"#,
        r#"{"execute":"guest-ping",}"#,
        r#"{"execute": "guest-ping", "arguments": {"a": 1}}"#,
        r#"{"execute":"guest-sync","arguments":{"id":9223372036854775807}}"#,
        r#"{"execute":"guest-sync","arguments":{"id":-1}}"#,
        r#"{"execute":"guest-sync","arguments":{"id":1.5}}"#,
    ] {
        pair.check(request, Compare::Exact);
    }
    for name in HARMFUL {
        pair.check(&format!(r#"{{"execute":"{name}"}}"#), Compare::Disabled);
    }
}

/// Every read-only command of qemu-ga 10.0, on this machine.
fn read_only(reference: &Path) {
    let mut pair = Pair::start(reference, &["-b", &blocked()]);
    let exact = [
        "guest-get-vcpus",
        "guest-get-memory-blocks",
        "guest-get-memory-block-info",
        "guest-network-get-route",
        "guest-get-disks",
        "guest-get-osinfo",
        "guest-get-host-name",
        "guest-get-timezone",
        "guest-get-users",
        "guest-fsfreeze-status",
        "guest-fsfreeze-thaw",
    ];
    for name in exact {
        pair.check(&format!(r#"{{"execute":"{name}"}}"#), Compare::Exact);
    }
    // Usage moves as other tests write files.
    pair.check(
        r#"{"execute":"guest-get-fsinfo"}"#,
        Compare::Masked(&["used-bytes", "total-bytes"]),
    );
    pair.check(r#"{"execute":"guest-info"}"#, Compare::Masked(&["version"]));
    for name in [
        "guest-get-time",
        "guest-get-load",
        "guest-get-cpustats",
        "guest-get-diskstats",
        "guest-network-get-interfaces",
    ] {
        pair.check(&format!(r#"{{"execute":"{name}"}}"#), Compare::Shape);
    }
}

/// The JSON types a type of the introspection accepts.
fn json_types(schema: &[Value], name: &str) -> Vec<String> {
    let Some(entry) = schema.iter().find(|e| e["name"] == name) else {
        return Vec::new();
    };
    match entry["meta-type"].as_str().unwrap_or_default() {
        "builtin" => vec![entry["json-type"].as_str().unwrap_or_default().to_owned()],
        "enum" => vec!["string".to_owned()],
        "array" => vec!["array".to_owned()],
        "object" => vec!["object".to_owned()],
        "alternate" => entry["members"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|m| json_types(schema, m["type"].as_str().unwrap_or_default()))
            .collect(),
        _ => Vec::new(),
    }
}

/// A value of a JSON type `accepted` does not include.
fn wrong_value(accepted: &[String]) -> Value {
    let has = |t: &str| accepted.iter().any(|a| a == t);
    if !has("boolean") {
        json!(true)
    } else if !has("string") {
        json!("wrong")
    } else if !has("int") && !has("number") {
        json!(7)
    } else {
        json!([])
    }
}

/// Argument validation of every command, cases made from the schema:
/// wrong types member by member, missing members, unknown members,
/// arguments that are not an object.
fn arguments(reference: &Path) {
    let mut pair = Pair::start(reference, &["-b", &blocked()]);
    let schema = serde_json::to_value(qga_agent::qga::SCHEMA.introspection).unwrap();
    let schema = schema.as_array().unwrap();
    let mut cases = 0;
    for command in schema.iter().filter(|e| e["meta-type"] == "command") {
        let name = command["name"].as_str().unwrap();
        if HARMFUL.contains(&name) {
            pair.check(
                &format!(r#"{{"execute":"{name}","arguments":{{"nope":1}}}}"#),
                Compare::Disabled,
            );
            continue;
        }
        let members: Vec<Value> = schema
            .iter()
            .find(|e| e["name"] == command["arg-type"])
            .and_then(|t| t["members"].as_array().cloned())
            .unwrap_or_default();
        let required = members.iter().any(|m| m.get("default").is_none());
        let mut requests = vec![format!(r#"{{"execute":"{name}","arguments":[]}}"#)];
        if required {
            requests.push(format!(r#"{{"execute":"{name}"}}"#));
            requests.push(format!(r#"{{"execute":"{name}","arguments":{{}}}}"#));
        }
        // Unknown members are looked at last: only reachable (and then
        // harmless) when nothing is required.
        if !required {
            requests.push(format!(
                r#"{{"execute":"{name}","arguments":{{"nope":1}}}}"#
            ));
        }
        for m in &members {
            let accepted = json_types(schema, m["type"].as_str().unwrap());
            let args = json!({ m["name"].as_str().unwrap(): wrong_value(&accepted) });
            requests.push(format!(r#"{{"execute":"{name}","arguments":{args}}}"#));
        }
        for request in requests {
            pair.check(&request, Compare::Exact);
            cases += 1;
        }
    }
    assert!(cases > 100, "only {cases} cases");
}

/// The files of `guest-file-*`: modes, creation, base64, counts, seeking,
/// handles, FIFOs, directories, symbolic links.
fn files(reference: &Path) {
    let mut pair = Pair::start(reference, &["-b", &blocked()]);
    let open = |path: &str, mode: &str| {
        format!(
            r#"{{"execute":"guest-file-open","arguments":{{"path":"{{DIR}}/{path}","mode":"{mode}"}}}}"#
        )
    };
    let write = |b64: &str| {
        format!(
            r#"{{"execute":"guest-file-write","arguments":{{"handle":{{H}},"buf-b64":"{b64}"}}}}"#
        )
    };
    let read = |count: &str| match count {
        "" => r#"{"execute":"guest-file-read","arguments":{"handle":{H}}}"#.to_owned(),
        c => {
            format!(r#"{{"execute":"guest-file-read","arguments":{{"handle":{{H}},"count":{c}}}}}"#)
        }
    };
    let seek = |offset: i64, whence: &str| {
        format!(
            r#"{{"execute":"guest-file-seek","arguments":{{"handle":{{H}},"offset":{offset},"whence":{whence}}}}}"#
        )
    };
    let close = r#"{"execute":"guest-file-close","arguments":{"handle":{H}}}"#.to_owned();
    let flush = r#"{"execute":"guest-file-flush","arguments":{"handle":{H}}}"#.to_owned();
    let mut steps: Vec<String> = vec![
        open("rw", "w+"),
        write("aGVsbG8gd29ybGQ="),
        format!(
            r#"{{"execute":"guest-file-write","arguments":{{"handle":{{H}},"buf-b64":"aGk=","count":3}}}}"#
        ),
        format!(
            r#"{{"execute":"guest-file-write","arguments":{{"handle":{{H}},"buf-b64":"aGk=","count":-1}}}}"#
        ),
        format!(
            r#"{{"execute":"guest-file-write","arguments":{{"handle":{{H}},"buf-b64":"aGk=","count":1}}}}"#
        ),
        write("aGVs\\nbG8="),
        write("aGVsbG8=\\n"),
        write("aGVs bG8="),
        write("aGVs\\r\\nbG8="),
        write("aGVs=bG8="),
        write("aGVsbG8"),
        write("a"),
        write(""),
        write("===="),
        write("*"),
        seek(0, "\"set\""),
        read("100"),
        read("0"),
        read("-1"),
        read("50331649"),
        read(""),
        seek(-5, "2"),
        read(""),
        seek(2, "\"cur\""),
        seek(-1, "0"),
        seek(0, "7"),
        seek(0, "\"end\""),
        flush.clone(),
        close.clone(),
        close.clone(),
        read(""),
        flush.clone(),
        r#"{"execute":"guest-file-seek","arguments":{"handle":424242,"offset":0,"whence":9}}"#
            .to_owned(),
        // Reading at the end: the count, then eof.
        open("rw", "r"),
        read("19"),
        read("19"),
        close.clone(),
        // Not readable, not writable.
        open("append", "a"),
        write("eA=="),
        read(""),
        close.clone(),
        open("rw", "r"),
        write("eA=="),
        close.clone(),
        // Only fopen's modes; a refused mode creates nothing.
    ];
    for mode in ["rw", "br", "r+b+", "x", "wx", "rt", "", "W", "r "] {
        steps.push(open("refused", mode));
    }
    steps.push(open("refused", "r"));
    for mode in [
        "r", "rb", "w", "wb", "a", "ab", "r+", "rb+", "r+b", "w+", "wb+", "w+b", "a+", "ab+", "a+b",
    ] {
        steps.push(open("modes", mode));
        steps.push(close.clone());
    }
    steps.extend([
        open("nowhere/x", "r"),
        open("nowhere/x", "w"),
        open("dangling", "w"),
        open("dangling", "r"),
        open("subdir", "r"),
        read(""),
        close.clone(),
        open("subdir", "w"),
        open("fifo", "r+"),
        read(""),
        write("eA=="),
        close.clone(),
    ]);
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    pair.scenario(
        "files",
        |dir| {
            std::os::unix::fs::symlink(dir.join("nowhere-target"), dir.join("dangling")).unwrap();
            std::fs::create_dir(dir.join("subdir")).unwrap();
            let fifo = std::ffi::CString::new(dir.join("fifo").to_str().unwrap()).unwrap();
            // SAFETY: mkfifo on a path in the test's directory.
            assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        },
        &steps,
    );
    // What was created: the same files, with the same permissions.
    let listing = |i: usize| {
        use std::os::unix::fs::MetadataExt;
        let dir = pair.dir.path().join(format!("files-{i}"));
        let mut entries: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| {
                let meta = std::fs::symlink_metadata(e.path()).unwrap();
                format!(
                    "{} {:o} {}",
                    e.file_name().to_string_lossy(),
                    meta.mode(),
                    meta.len()
                )
            })
            .collect();
        entries.sort();
        entries
    };
    assert_eq!(
        listing(1),
        listing(0),
        "files left (left qga-agent, right qemu-ga)"
    );
}

/// Programs of `guest-exec`: output capture modes, input, exit codes,
/// signals, the environment, `PATH`, scripts without `#!`, what a child
/// inherits.
fn programs(reference: &Path) {
    let mut pair = Pair::start(reference, &["-b", &blocked()]);
    let exec = |args: &str| format!(r#"{{"execute":"guest-exec","arguments":{args}}}"#);
    let steps = [
        exec(r#"{"path":"/bin/echo","arg":["hello","exec"],"capture-output":true}"#),
        "wait".to_owned(),
        r#"{"execute":"guest-exec-status","arguments":{"pid":{PID}}}"#.to_owned(),
        exec(r#"{"path":"echo","arg":["found in PATH"],"capture-output":true}"#),
        "wait".to_owned(),
        exec(
            r#"{"path":"sh","arg":["-c","echo out; echo err >&2; exit 3"],"capture-output":"separated"}"#,
        ),
        "wait".to_owned(),
        exec(r#"{"path":"sh","arg":["-c","echo out; echo err >&2"],"capture-output":"merged"}"#),
        "wait".to_owned(),
        exec(r#"{"path":"sh","arg":["-c","echo out; echo err >&2"],"capture-output":"stdout"}"#),
        "wait".to_owned(),
        exec(r#"{"path":"sh","arg":["-c","echo out"],"capture-output":"none"}"#),
        "wait".to_owned(),
        exec(r#"{"path":"sh","arg":["-c","echo out"],"capture-output":false}"#),
        "wait".to_owned(),
        exec(r#"{"path":"sh","arg":["-c","kill -TERM $$"]}"#),
        "wait".to_owned(),
        exec(r#"{"path":"cat","input-data":"not base64!","capture-output":true}"#),
        exec(
            r#"{"path":"/usr/bin/env","env":["B=2","A=1","NOEQUALS","A=3"],"capture-output":true}"#,
        ),
        "wait".to_owned(),
        exec(r#"{"path":"env","env":["PATH=/nonexistent"],"capture-output":true}"#),
        exec(r#"{"path":"printenv","env":[],"capture-output":true}"#),
        "wait".to_owned(),
        exec(r#"{"path":"{DIR}/script","capture-output":true}"#),
        "wait".to_owned(),
        exec(r#"{"path":"{DIR}/not-executable"}"#),
        exec(r#"{"path":"/nonexistent/program"}"#),
        exec(r#"{"path":"{DIR}"}"#),
        exec(
            r#"{"path":"sh","arg":["-c","grep -E '^Sig(Ign|Blk)' /proc/self/status"],"capture-output":true}"#,
        ),
        "wait".to_owned(),
    ];
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    pair.scenario(
        "exec",
        |dir| {
            use std::os::unix::fs::PermissionsExt;
            let script = dir.join("script");
            std::fs::write(&script, "echo from a script without a shebang\n").unwrap();
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::write(dir.join("not-executable"), "echo no\n").unwrap();
        },
        &steps,
    );
    // What a program inherits: descriptors 0-2 and nothing else.  (After a
    // guest-exec capturing standard output alone, qemu-ga 10.0.13's
    // children lack descriptor 0: not compared.)
    let ours = &mut pair.conns[1];
    let started = ours.call(
        r#"{"execute":"guest-exec","arguments":{"path":"sh","arg":["-c","ls /proc/self/fd"],"capture-output":true}}"#,
    );
    let pid = started["return"]["pid"].as_i64().expect("a pid");
    let status = (0..500)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(10));
            ours.call(&format!(
                r#"{{"execute":"guest-exec-status","arguments":{{"pid":{pid}}}}}"#
            ))
        })
        .find(|s| s["return"]["exited"] == json!(true))
        .expect("the program is reported as exited");
    // ls's own descriptor for the directory is the fourth.
    assert_eq!(status["return"]["out-data"], "MAoxCjIKMwo=", "{status}");
    // Input: qemu-ga 10.0.13 gives the program a standard input it cannot
    // read ("cat: -: Bad file descriptor"); this agent gives it the data
    // (README).
    let ours = &mut pair.conns[1];
    let started = ours.call(
        r#"{"execute":"guest-exec","arguments":{"path":"cat","input-data":"aW5wdXQgZGF0YQo=","capture-output":true}}"#,
    );
    let pid = started["return"]["pid"].as_i64().expect("a pid");
    let status = (0..500)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(10));
            ours.call(&format!(
                r#"{{"execute":"guest-exec-status","arguments":{{"pid":{pid}}}}}"#
            ))
        })
        .find(|s| s["return"]["exited"] == json!(true))
        .expect("the program is reported as exited");
    assert_eq!(status["return"]["out-data"], "aW5wdXQgZGF0YQo=", "{status}");
    // Standard error alone: qemu-ga 10.0.13 never reports such a program
    // as exited (it waits for the standard output it did not capture);
    // this agent does (README).
    let ours = &mut pair.conns[1];
    let started = ours.call(
        r#"{"execute":"guest-exec","arguments":{"path":"sh","arg":["-c","echo out; echo err >&2"],"capture-output":"stderr"}}"#,
    );
    let pid = started["return"]["pid"].as_i64().expect("a pid");
    let status = (0..500)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(10));
            ours.call(&format!(
                r#"{{"execute":"guest-exec-status","arguments":{{"pid":{pid}}}}}"#
            ))
        })
        .find(|s| s["return"]["exited"] == json!(true))
        .expect("the program is reported as exited");
    assert_eq!(status["return"]["err-data"], "ZXJyCg==");
    assert!(status["return"].get("out-data").is_none(), "{status}");
    // A pid never started: qemu-ga 10's text is garbled ("PID ld does
    // not exist"); ours names the pid.  The class agrees.
    pair.check(
        r#"{"execute":"guest-exec-status","arguments":{"pid":-5}}"#,
        Compare::SameClass,
    );
}

/// `guest-ssh-*` without touching a real user's keys: key checks, users
/// that do not exist, root's keys read.
fn ssh(reference: &Path) {
    let mut pair = Pair::start(reference, &["-b", &blocked()]);
    for request in [
        r#"{"execute":"guest-ssh-get-authorized-keys","arguments":{"username":"no-such-user-here"}}"#,
        r#"{"execute":"guest-ssh-get-authorized-keys","arguments":{"username":""}}"#,
        r#"{"execute":"guest-ssh-get-authorized-keys","arguments":{"username":"root"}}"#,
        r##"{"execute":"guest-ssh-add-authorized-keys","arguments":{"username":"root","keys":["# comment"]}}"##,
        r#"{"execute":"guest-ssh-add-authorized-keys","arguments":{"username":"root","keys":["ok","two\nlines"]}}"#,
        r##"{"execute":"guest-ssh-remove-authorized-keys","arguments":{"username":"root","keys":["#x"]}}"##,
        r#"{"execute":"guest-ssh-add-authorized-keys","arguments":{"username":"no-such-user-here","keys":["k"]}}"#,
        r#"{"execute":"guest-ssh-remove-authorized-keys","arguments":{"username":"no-such-user-here","keys":[]}}"#,
    ] {
        pair.check(request, Compare::Exact);
    }
}

/// File handles go on across restarts, and across agents: one agent
/// carries on from the state the other left.
fn restarts(reference: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let open = r#"{"execute":"guest-file-open","arguments":{"path":"/dev/null"}}"#;
    let mut handles = Vec::new();
    for binary in [
        reference.to_path_buf(),
        qga_agent(),
        reference.to_path_buf(),
        qga_agent(),
    ] {
        // The same name: the same state directory, `DIR/agent-state`.
        let agent = start(&binary, dir.path(), "agent", &[]);
        let mut conn = Conn::open(&agent);
        for _ in 0..2 {
            handles.push(conn.call(open)["return"].as_i64().expect("a handle"));
        }
        drop(conn);
        drop(agent);
        let _ = std::fs::remove_file(dir.path().join("agent.sock"));
    }
    let expected: Vec<i64> = (0..8).map(|i| handles[0] + i).collect();
    assert_eq!(
        handles, expected,
        "handles across restarts (qemu-ga, ours, qemu-ga, ours)"
    );
}

/// The lists of `-b` and `-a`, with names of commands this agent does not
/// have (Windows-only ones): what runs, as guest-info reports it.
fn policy(reference: &Path) {
    for options in [
        [
            "-a",
            "guest-ping,guest-info,guest-get-devices,guest-file-open",
        ],
        ["-b", "guest-get-devices,guest-exec,guest-file-open"],
        ["-a", "guest-get-devices"],
    ] {
        let mut pair = Pair::start(reference, &options);
        // Why a command is disabled is worded differently (README).
        pair.check(
            r#"{"execute":"guest-info"}"#,
            Compare::Masked(&["version", "desc"]),
        );
        pair.check(
            r#"{"execute":"guest-file-open","arguments":{"path":"/dev/null"}}"#,
            Compare::Masked(&["return", "desc"]),
        );
        pair.check(
            r#"{"execute":"guest-exec-status","arguments":{"pid":1}}"#,
            Compare::Masked(&["desc"]),
        );
    }
}

/// A state directory whose frozen marker says the last run left file
/// systems frozen: both start frozen (only the freeze-safe commands
/// run); a thaw ends it and removes the marker.
fn frozen_at_start(reference: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let mut pair = Pair {
        dir,
        reference: reference.to_path_buf(),
        agents: Vec::new(),
        conns: Vec::new(),
        compared: 0,
    };
    for i in 0..2 {
        let state = pair.state_dir(i);
        std::fs::create_dir_all(&state).unwrap();
        std::fs::write(state.join(qga_agent::FROZEN_FILE), "").unwrap();
    }
    pair.restart(&["-b", &blocked()]);
    pair.check(r#"{"execute":"guest-fsfreeze-status"}"#, Compare::Exact);
    pair.check(r#"{"execute":"guest-info"}"#, Compare::Masked(&["version"]));
    pair.check(r#"{"execute":"guest-get-osinfo"}"#, Compare::Disabled);
    pair.check(
        r#"{"execute":"guest-file-open","arguments":{"path":"/dev/null"}}"#,
        Compare::Disabled,
    );
    pair.check(r#"{"execute":"guest-fsfreeze-thaw"}"#, Compare::Exact);
    pair.check(r#"{"execute":"guest-fsfreeze-status"}"#, Compare::Exact);
    pair.check(r#"{"execute":"guest-get-osinfo"}"#, Compare::Exact);
    for i in 0..2 {
        assert!(
            !pair.state_dir(i).join(qga_agent::FROZEN_FILE).exists(),
            "agent {i}"
        );
    }
}

fn main() {
    let mut suite = Suite::new();
    type Case = fn(&Path);
    let against_10: [(&str, Case); 8] = [
        ("protocol and errors", protocol),
        ("every read-only command", read_only),
        ("argument validation of every command", arguments),
        ("files", files),
        ("programs", programs),
        ("ssh keys and users", ssh),
        ("handles across restarts and agents", restarts),
        ("policy lists", policy),
    ];
    for (name, case) in against_10 {
        suite.needs(format!("qemu-ga 10.0.13: {name}"), qemu_ga_10(), move |p| {
            case(&p)
        });
    }
    suite.needs(
        "qemu-ga 10.0.13: frozen state left by the last run",
        qemu_ga_10(),
        |p| frozen_at_start(&p),
    );
    // Debian's 7.2: what has not changed since.
    let against_72: [(&str, Case); 3] = [
        ("protocol and errors", protocol_72),
        ("files", files),
        ("handles across restarts and agents", restarts),
    ];
    for (name, case) in against_72 {
        suite.needs(format!("qemu-ga 7.2: {name}"), qemu_ga_72(), move |p| {
            case(&p)
        });
    }
    suite.run();
}

/// [`protocol`] less what 7.2 answers differently: commands it lacks.
fn protocol_72(reference: &Path) {
    let mut pair = Pair::start(reference, &["-b", "guest-get-time"]);
    for request in [
        r#"{"execute":"guest-ping"}"#,
        r#"{"execute":"guest-sync","arguments":{"id":1234}}"#,
        r#"{"execute":"guest-sync-delimited","arguments":{"id":99}}"#,
        r#"{"execute":"guest-ping","id":"abc"}"#,
        r#"{"execute":"guest-nope"}"#,
        r#"{"execute":"guest-sync","arguments":{"id":"x"}}"#,
        r#"{"execute":"guest-sync"}"#,
        r#"{"execute":"guest-sync","arguments":{"id":1,"extra":2}}"#,
        r#"[1, 2]"#,
        r#"{"arguments":{}}"#,
        r#"{"execute":"guest-ping",}"#,
        r#"{"execute": "guest-ping", "arguments": {"a": 1}}"#,
    ] {
        pair.check(request, Compare::Exact);
    }
    pair.check(r#"{"execute":"guest-get-time"}"#, Compare::Disabled);
}
