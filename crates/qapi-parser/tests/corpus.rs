//! QEMU's real schemas (from `$QAPI_CORPUS/schemas`) parse with all their
//! includes, and every release checks under `--compat`.
//!
//! The counts were cross-checked with an independent tokenizer.  One test
//! per schema file; without `QAPI_CORPUS` one ignored test says why.

use std::path::{Path, PathBuf};

use qapi_parser::{load_schema, parse_file, ParseOptions};
use qapi_test_support::Suite;

/// (schema, definitions, include directives, doc blocks, files read)
const QEMU_10_SCHEMAS: [(&str, usize, usize, usize, usize); 4] = [
    ("qemu-9.1.0/qapi/qapi-schema.json", 974, 64, 1017, 42),
    ("qemu-9.1.0/qga/qapi-schema.json", 89, 0, 91, 1),
    ("qemu-10.0.13/qapi/qapi-schema.json", 994, 65, 1038, 43),
    ("qemu-10.0.13/qga/qapi-schema.json", 91, 0, 92, 1),
];

/// One schema accepted by QEMU 10 parses with all its includes.
fn parses_completely(
    path: &Path,
    (definitions, includes, docs, files): (usize, usize, usize, usize),
) {
    let parsed = parse_file(path, ParseOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.definition_count(), definitions, "definitions");
    assert_eq!(parsed.items.len() - definitions, includes, "includes");
    assert_eq!(parsed.docs.len(), docs, "doc blocks");
    assert_eq!(parsed.sources.files().count(), files, "files");
}

/// Every release's QMP and QGA schema, with whether QEMU 10's generator
/// accepts it.
fn releases(corpus: &Path) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(corpus.join("schemas"))
        .expect("schemas folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        // QEMU 10's generator accepts the schemas of 9.1 and later.
        let version: Vec<u32> = name
            .trim_start_matches("qemu-")
            .split('.')
            .filter_map(|n| n.parse().ok())
            .collect();
        let accepted = version.as_slice() >= [9, 1].as_slice();
        for rel in [
            "qapi/qapi-schema.json",
            "qapi-schema.json",
            "qga/qapi-schema.json",
        ] {
            let path = dir.join(rel);
            if path.exists() {
                out.push((path, accepted));
            }
        }
    }
    out
}

/// A release checks under `--compat`.
fn checks_with_compat(path: &Path) {
    let schema = load_schema(path, ParseOptions { compat: true }).unwrap_or_else(|e| panic!("{e}"));
    assert!(schema.commands().count() > 20);
}

/// Without `--compat` a release is accepted exactly when QEMU 10's
/// generator accepts it.
fn verdict_is_qemu_10s(path: &Path, accepted: bool) {
    let result = load_schema(path, ParseOptions::default());
    assert_eq!(
        result.is_ok(),
        accepted,
        "{:?}",
        result.err().map(|e| e.to_string())
    );
}

fn main() {
    let mut suite = Suite::new();
    match qapi_test_support::corpus() {
        Ok(corpus) => {
            for (schema, definitions, includes, docs, files) in QEMU_10_SCHEMAS {
                let path = corpus.join("schemas").join(schema);
                suite.test(format!("{schema} parses completely"), move || {
                    parses_completely(&path, (definitions, includes, docs, files))
                });
            }
            let releases = releases(&corpus);
            assert!(
                releases.len() >= 10,
                "expected QMP and QGA schemas of 5 releases"
            );
            for (path, accepted) in releases {
                let name = path
                    .strip_prefix(corpus.join("schemas"))
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                let again = path.clone();
                suite.test(format!("{name} checks with --compat"), move || {
                    checks_with_compat(&again)
                });
                suite.test(format!("{name} without --compat: as QEMU 10"), move || {
                    verdict_is_qemu_10s(&path, accepted)
                });
            }
        }
        Err(missing) => suite.needs("QEMU's schemas", Err::<(), _>(missing), |()| {}),
    }
    suite.run();
}
