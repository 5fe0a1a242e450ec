//! The JSON examples in the documentation of QEMU 10.0.13's schemas (the
//! `->` and `<-` lines) read into the generated types and write back as
//! equal JSON: command arguments, return values and events.
//!
//! The examples are extracted here, the generated code is built into a
//! scratch crate with a small checker program, and the program's verdict
//! on each example is collected: one test per example.  Needs
//! `QAPI_CORPUS` (without it, one ignored test says so).

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use qapi_parser::{load_schema, ParseOptions};
use qapi_test_support::Suite;
use serde_json::{json, Value};

/// One example: what it is, the name it concerns, and the JSON.
#[derive(Debug)]
struct Example {
    kind: &'static str,
    name: String,
    json: Value,
}

/// The JSON text starting at `lines[i]` (after `->`/`<-`), up to where
/// brackets balance.
fn json_text(lines: &[&str], i: usize) -> (String, usize) {
    let mut text = String::new();
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    let mut j = i;
    while j < lines.len() {
        let line = if j == i {
            &lines[j].trim_start()[2..]
        } else {
            lines[j]
        };
        text.push_str(line);
        text.push('\n');
        for c in line.chars() {
            match (in_string, escaped, c) {
                (true, true, _) => escaped = false,
                (true, false, '\\') => escaped = true,
                (true, false, '"') => in_string = false,
                (false, _, '"') => in_string = true,
                (false, _, '{' | '[') => depth += 1,
                (false, _, '}' | ']') => depth -= 1,
                _ => {}
            }
        }
        j += 1;
        if depth <= 0 {
            break;
        }
    }
    (text, j)
}

/// Every example of the schema: (examples found, examples that are JSON
/// and concern a command's arguments or return value or an event).
fn examples(path: &std::path::Path) -> (usize, Vec<Example>) {
    let schema = load_schema(path, ParseOptions::default()).expect("valid schema");
    let mut found = 0;
    let mut out = Vec::new();
    for doc in &schema.docs {
        let text: String = doc
            .all_sections()
            .map(|s| format!("{}\n", s.text))
            .collect();
        let lines: Vec<&str> = text.lines().collect();
        let mut last_command: Option<String> = None;
        let mut i = 0;
        while i < lines.len() {
            let t = lines[i].trim_start();
            if !(t.starts_with("->") || t.starts_with("<-")) {
                i += 1;
                continue;
            }
            found += 1;
            let request = t.starts_with("->");
            let (json_text, next) = json_text(&lines, i);
            i = next;
            let Ok(value) = serde_json::from_str::<Value>(&json_text) else {
                continue;
            };
            if request {
                if let Some(name) = value.get("execute").and_then(Value::as_str) {
                    last_command = Some(name.to_owned());
                    let args = value.get("arguments").cloned().unwrap_or_else(|| json!({}));
                    out.push(Example {
                        kind: "arguments",
                        name: name.to_owned(),
                        json: args,
                    });
                }
            } else if let Some(name) = value.get("event").and_then(Value::as_str) {
                let data = value.get("data").cloned().unwrap_or_else(|| json!({}));
                out.push(Example {
                    kind: "event",
                    name: name.to_owned(),
                    json: data,
                });
            } else if let (Some(ret), Some(name)) = (value.get("return"), &last_command) {
                out.push(Example {
                    kind: "return",
                    name: name.clone(),
                    json: ret.clone(),
                });
            }
        }
    }
    (found, out)
}

const CHECKER: &str = r#"
use std::io::Read;
use qapi_runtime::__private::serde_json::{self, Value};
use qapi_runtime::{Command, CommandVisitor};

/// Equal JSON, numbers compared by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

struct Check(&'static str, Value);

impl CommandVisitor for Check {
    type Output = Result<(), String>;
    fn visit<C: Command>(self) -> Result<(), String> {
        let back = if self.0 == "arguments" {
            let c: C = serde_json::from_value(self.1.clone()).map_err(|e| e.to_string())?;
            serde_json::to_value(&c).map_err(|e| e.to_string())?
        } else {
            let r: C::Returns = serde_json::from_value(self.1.clone()).map_err(|e| e.to_string())?;
            serde_json::to_value(&r).map_err(|e| e.to_string())?
        };
        if same(&back, &self.1) { Ok(()) } else { Err(format!("wrote back {back}")) }
    }
}

fn check(schema: &str, kind: &'static str, name: &str, json: Value) -> Result<(), String> {
    macro_rules! with {
        ($m:ident) => {
            if kind == "event" {
                use qapi_runtime::Events;
                let mode = qapi_runtime::de::Mode::Strict;
                match qmp_roundtrip::$m::Event::decode_event(name, Some(json.clone()), mode) {
                    Ok(qmp_roundtrip::$m::Event::Unrecognized(_)) => Err("no such event".into()),
                    Ok(e) => {
                        let back = e.data().map_err(|e| e.to_string())?;
                        if same(&back, &json) { Ok(()) } else { Err(format!("wrote back {back}")) }
                    }
                    Err(e) => Err(e.to_string()),
                }
            } else {
                qmp_roundtrip::$m::visit_command(name, Check(kind, json))
                    .unwrap_or_else(|| Err("no such command".into()))
            }
        };
    }
    if schema == "qmp" { with!(qmp) } else { with!(qga) }
}

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).expect("stdin");
    let cases: Vec<Value> = serde_json::from_str(&input).expect("cases");
    let mut results = Vec::new();
    for case in cases {
        let kind: &'static str = match case["kind"].as_str() {
            Some("arguments") => "arguments",
            Some("return") => "return",
            _ => "event",
        };
        let name = case["name"].as_str().unwrap_or_default();
        let r = check(case["schema"].as_str().unwrap_or_default(), kind, name, case["json"].clone());
        results.push(match r {
            Ok(()) => Value::Null,
            Err(e) => Value::String(e),
        });
    }
    println!("{}", Value::Array(results));
}
"#;

/// Examples in QEMU 10.0.13's documentation that do not match its own
/// schema, so that no faithful type can read them: (kind, name, why).
const QEMU_DOC_ERRORS: &[(&str, &str, &str)] = &[
    (
        "return",
        "query-block",
        "omits the required member 'active' (added in 10.0)",
    ),
    (
        "return",
        "query-named-block-nodes",
        "omits the required member 'active'",
    ),
    (
        "return",
        "query-migrate",
        "omits the required member 'dirty-pages-rate' of 'ram'",
    ),
    (
        "arguments",
        "migrate",
        "gives the uint64 'offset' as the string \"0x1000\"",
    ),
    (
        "arguments",
        "set-vcpu-dirty-limit",
        "omits the required member 'dirty-rate'",
    ),
    (
        "return",
        "trace-event-get-state",
        "has the member 'vcpu', removed from TraceEventInfo",
    ),
    (
        "arguments",
        "dumpdtb",
        "omits the required member 'filename'",
    ),
    (
        "return",
        "query-iothreads",
        "omits the required member 'poll-max-ns'",
    ),
    (
        "event",
        "RTC_CHANGE",
        "omits the required member 'qom-path'",
    ),
    (
        "return",
        "query-sev",
        "omits the required member 'sev-type'",
    ),
    (
        "return",
        "query-sgx-capabilities",
        "omits the required member 'sections'",
    ),
    (
        "return",
        "query-pci",
        "omits the required member 'irq_pin' of devices",
    ),
    (
        "return",
        "x-query-virtio-status",
        "omits the required member 'disable-legacy-check'",
    ),
];

/// The verdict of the checker on every example, in order: `None` when
/// it round-trips, the error otherwise.  Built and run once.
fn verdicts(corpus: &Path, all: &[(&'static str, Example)]) -> Vec<Option<String>> {
    let dir = corpus.join("schemas/qemu-10.0.13");
    let cases = [
        support::Case {
            module: "qmp".into(),
            path: dir.join("qapi/qapi-schema.json"),
            compat: false,
            in_binary: false,
        },
        support::Case {
            module: "qga".into(),
            path: dir.join("qga/qapi-schema.json"),
            compat: false,
            in_binary: false,
        },
    ];
    let (crate_dir, cfgs) = support::write_crate("qmp_roundtrip", &cases);
    std::fs::create_dir_all(crate_dir.join("src/bin")).expect("bin folder");
    std::fs::write(crate_dir.join("src/bin/check.rs"), CHECKER).expect("checker");
    let input: Vec<Value> = all
        .iter()
        .map(|(tag, e)| json!({ "schema": tag, "kind": e.kind, "name": e.name, "json": e.json }))
        .collect();
    // Every condition set, so that conditional commands exist.
    support::cargo(&crate_dir, &["build", "--quiet", "--bin", "check"], &cfgs);
    let exe = support::target_dir().join("target/debug/check");
    let mut child = Command::new(exe)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("checker runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(Value::Array(input).to_string().as_bytes())
            .expect("write cases");
    }
    let out = child.wait_with_output().expect("checker output");
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("checker verdicts");
    results
        .iter()
        .map(|r| r.as_str().map(str::to_owned))
        .collect()
}

type Examples = Arc<Vec<(&'static str, Example)>>;

fn main() {
    let mut suite = Suite::new();
    let corpus = match qapi_test_support::corpus() {
        Ok(corpus) => corpus,
        Err(missing) => {
            suite.needs(
                "QEMU 10.0.13's documentation examples",
                Err::<(), _>(missing),
                |()| {},
            );
            suite.run();
        }
    };
    let dir = corpus.join("schemas/qemu-10.0.13");
    let mut all = Vec::new();
    let mut found = 0;
    for (tag, path) in [
        ("qmp", dir.join("qapi/qapi-schema.json")),
        ("qga", dir.join("qga/qapi-schema.json")),
    ] {
        let (n, examples) = examples(&path);
        found += n;
        all.extend(examples.into_iter().map(|e| (tag, e)));
    }
    println!(
        "examples: {found} found, {} in JSON about arguments, returns or events",
        all.len()
    );
    assert!(all.len() > 400, "too few examples: {}", all.len());
    let all: Examples = Arc::new(all);
    let results: Arc<OnceLock<Vec<Option<String>>>> = Arc::new(OnceLock::new());
    for i in 0..all.len() {
        let (all, results, corpus) = (Arc::clone(&all), Arc::clone(&results), corpus.clone());
        let (tag, e) = &all[i];
        let name = format!("{tag} {} {} (example {i})", e.kind, e.name);
        suite.test(name, move || {
            let verdict = &results.get_or_init(|| verdicts(&corpus, &all))[i];
            let (tag, e) = &all[i];
            let known = QEMU_DOC_ERRORS
                .iter()
                .find(|(k, n, _)| *k == e.kind && *n == e.name);
            match (verdict, known) {
                (None, _) => {}
                (Some(err), Some((_, _, why))) => {
                    println!(
                        "known QEMU documentation error ({why}): {tag} {} {}: {err}",
                        e.kind, e.name
                    );
                }
                (Some(err), None) => panic!("{err}\n    {}", e.json),
            }
        });
    }
    suite.run();
}
