//! QEMU's real schemas (from `$QAPI_CORPUS/schemas`) parse with all their
//! includes, and every release checks under `--compat`.
//!
//! The counts were cross-checked with an independent tokenizer.  Without
//! `QAPI_CORPUS` these tests say so and pass without checking anything.

use std::path::PathBuf;

use qapi_parser::{load_schema, parse_file, ParseOptions};

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("QAPI_CORPUS") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("QAPI_CORPUS is not set: skipping tests on QEMU's schemas");
            None
        }
    }
}

/// (schema, definitions, include directives, doc blocks, files read)
const QEMU_10_SCHEMAS: [(&str, usize, usize, usize, usize); 4] = [
    ("qemu-9.1.0/qapi/qapi-schema.json", 974, 64, 1017, 42),
    ("qemu-9.1.0/qga/qapi-schema.json", 89, 0, 91, 1),
    ("qemu-10.0.13/qapi/qapi-schema.json", 994, 65, 1038, 43),
    ("qemu-10.0.13/qga/qapi-schema.json", 91, 0, 92, 1),
];

#[test]
fn schemas_accepted_by_qemu_10_parse_completely() {
    let Some(corpus) = corpus() else { return };
    for (schema, definitions, includes, docs, files) in QEMU_10_SCHEMAS {
        let path = corpus.join("schemas").join(schema);
        let parsed =
            parse_file(&path, ParseOptions::default()).unwrap_or_else(|e| panic!("{schema}: {e}"));
        assert_eq!(
            parsed.definition_count(),
            definitions,
            "{schema}: definitions"
        );
        assert_eq!(
            parsed.items.len() - definitions,
            includes,
            "{schema}: includes"
        );
        assert_eq!(parsed.docs.len(), docs, "{schema}: doc blocks");
        assert_eq!(parsed.sources.files().count(), files, "{schema}: files");
    }
}

/// Every release's QMP and QGA schema, with whether QEMU 10's generator
/// accepts it.
fn releases(corpus: &std::path::Path) -> Vec<(PathBuf, bool)> {
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

#[test]
fn every_release_checks_with_compat() {
    let Some(corpus) = corpus() else { return };
    let releases = releases(&corpus);
    assert!(
        releases.len() >= 10,
        "expected QMP and QGA schemas of 5 releases"
    );
    for (path, _) in releases {
        let schema = load_schema(&path, ParseOptions { compat: true })
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(schema.commands().count() > 20, "{}", path.display());
    }
}

#[test]
fn without_compat_the_verdict_is_qemu_10s() {
    let Some(corpus) = corpus() else { return };
    for (path, accepted) in releases(&corpus) {
        let result = load_schema(&path, ParseOptions::default());
        assert_eq!(
            result.is_ok(),
            accepted,
            "{}: {:?}",
            path.display(),
            result.err().map(|e| e.to_string())
        );
    }
}
