//! Generated code compiles without warnings (rustc with `deny(warnings)`,
//! clippy with `-D warnings`, rustdoc with `-D warnings`) for this crate's
//! test schemas, every valid schema of `qapi-parser`'s suite, and, with
//! `QAPI_CORPUS`, QEMU's schemas of every release and its big test schema.
//! Each crate is checked with no condition set and with every condition
//! set, so that both sides of each `#[cfg]` are compiled, and its code is
//! also included in a binary, privately and mostly unused (our schemas and
//! QEMU 10.0.13's), with no `allow` in the including crate.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use qapi_parser::ParseOptions;
use support::{cargo, write_crate, Case};

fn module_name(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn judge(name: &str, cases: &[Case]) -> PathBuf {
    let (dir, cfgs) = write_crate(name, cases);
    let none = BTreeSet::new();
    let clippy = ["clippy", "--all-targets", "--quiet", "--", "-D", "warnings"];
    cargo(&dir, &clippy, &none);
    cargo(&dir, &clippy, &cfgs);
    cargo(&dir, &["doc", "--no-deps", "--quiet"], &none);
    dir
}

fn own_schemas_compile_cleanly() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cases = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(here.join("tests/schemas"))
        .expect("schemas")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    paths.push(here.join("../../examples/schemas/demo.json"));
    // Every valid schema of the parser's own suite.
    let parser_cases = here.join("../qapi-parser/tests/schemas");
    let mut more: Vec<PathBuf> = std::fs::read_dir(parser_cases)
        .expect("parser schemas")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| qapi_parser::load_schema(p, Default::default()).is_ok())
        .collect();
    paths.append(&mut more);
    paths.sort();
    for path in paths {
        cases.push(Case {
            module: format!("m_{}", module_name(&path)),
            path,
            compat: false,
            in_binary: true,
        });
    }
    // And every valid one of its `--compat` suite: old spellings.
    let compat_cases = here.join("../qapi-parser/tests/schemas-compat");
    let compat = ParseOptions { compat: true };
    let mut compat_paths: Vec<PathBuf> = std::fs::read_dir(compat_cases)
        .expect("parser compat schemas")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| qapi_parser::load_schema(p, compat).is_ok())
        .collect();
    compat_paths.sort();
    for path in compat_paths {
        cases.push(Case {
            module: format!("c_{}", module_name(&path)),
            path,
            compat: true,
            in_binary: true,
        });
    }
    assert!(cases.len() > 40, "{} cases", cases.len());
    let dir = judge("own_schemas", &cases);
    // The generated code's behaviour on the wire: tests/behaviour/wire.rs
    // runs as an integration test of the scratch crate.
    let tests = dir.join("tests");
    std::fs::create_dir_all(&tests).expect("tests folder");
    std::fs::copy(here.join("tests/behaviour/wire.rs"), tests.join("wire.rs"))
        .expect("copy wire.rs");
    cargo(
        &dir,
        &["test", "--quiet", "--test", "wire"],
        &BTreeSet::new(),
    );
}

/// QEMU's schemas of every release, in one crate (one crate per release
/// would build the dependencies once per release).
fn qemu_schemas_compile_cleanly(corpus: PathBuf) {
    let mut cases = vec![Case {
        module: "qapi_schema_test".into(),
        path: corpus.join("qapi-conformance/cases/qapi-schema-test.json"),
        compat: false,
        in_binary: false,
    }];
    let mut releases: Vec<String> = std::fs::read_dir(corpus.join("schemas"))
        .expect("the corpus has schemas/")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("qemu-"))
        .collect();
    releases.sort();
    assert!(releases.len() >= 5, "releases: {releases:?}");
    for release in &releases {
        let dir = corpus.join("schemas").join(release);
        let qmp = [
            dir.join("qapi/qapi-schema.json"),
            dir.join("qapi-schema.json"),
        ]
        .into_iter()
        .find(|p| p.exists())
        .expect("a QMP schema");
        let tag = release.replace(['-', '.'], "_");
        // The newest release also goes into a binary, where unused code
        // would warn.
        let in_binary = release == "qemu-10.0.13";
        cases.push(Case {
            module: format!("{tag}_qmp"),
            path: qmp,
            compat: true,
            in_binary,
        });
        cases.push(Case {
            module: format!("{tag}_qga"),
            path: dir.join("qga/qapi-schema.json"),
            compat: true,
            in_binary,
        });
    }
    judge("qemu_schemas", &cases);
}

fn main() {
    let mut suite = qapi_test_support::Suite::new();
    suite.test("own schemas compile cleanly", own_schemas_compile_cleanly);
    suite.needs(
        "QEMU's schemas of every release compile cleanly",
        qapi_test_support::corpus(),
        qemu_schemas_compile_cleanly,
    );
    suite.run();
}
