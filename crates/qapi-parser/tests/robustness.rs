//! Whatever the input, reading and checking a schema never panics, and
//! every error points at a real place in a real file.
//!
//! Inputs: random text, and random mutations of schemas (this crate's own
//! test schemas, plus QEMU's if `QAPI_CORPUS` is set).  Files are served
//! from memory, so a mutated `include` can only reach the known files.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use qapi_parser::{check, parse_with, Diagnostic, ParseOptions, SourceMap};

/// Checks that a diagnostic's location is inside its file.
fn assert_location_valid(diag: &Diagnostic, sources: &SourceMap) {
    let Some(loc) = &diag.location else {
        return;
    };
    let file = sources.file(loc.info.file);
    let lines = file.text.lines().count().max(1) as u32;
    assert!(
        loc.info.line >= 1 && loc.info.line <= lines,
        "line {} of {lines}: {}",
        loc.info.line,
        diag.message
    );
    assert!(loc.span.start <= loc.span.end, "span {:?}", loc.span);
    assert!(
        loc.span.end as usize <= file.text.len(),
        "span {:?} past {}",
        loc.span,
        file.text.len()
    );
    assert!(file.text.is_char_boundary(loc.span.start as usize));
    if let Some(col) = loc.column {
        assert!(col >= 1, "column {col}");
    }
    // Both renderings work.
    let _ = diag.render_qemu(sources);
    let _ = diag.render_human(sources, false);
}

/// Reads `root` from `files`, parses and checks it, and validates any error.
fn run(root: &str, files: &HashMap<PathBuf, String>, compat: bool) {
    let read = |p: &Path| -> io::Result<String> {
        files
            .get(p)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    };
    let options = ParseOptions { compat };
    match parse_with(root, options, &read) {
        Err(err) => {
            for d in &err.diagnostics {
                assert_location_valid(d, &err.sources);
            }
        }
        Ok(parsed) => match check(parsed) {
            Ok(schema) => {
                for w in &schema.warnings {
                    assert_location_valid(w, &schema.sources);
                }
                let _ = qapi_parser::dump::dump(&schema);
            }
            Err(err) => {
                for d in &err.diagnostics {
                    assert_location_valid(d, &err.sources);
                }
            }
        },
    }
}

/// The schemas mutations start from: this crate's test schemas, and QEMU's
/// QGA schemas when the corpus is available.
fn seeds() -> Vec<String> {
    let mut out = Vec::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            if let Ok(text) = std::fs::read_to_string(e.path()) {
                out.push(text);
            }
        }
    }
    if let Some(corpus) = std::env::var_os("QAPI_CORPUS") {
        for v in ["qemu-10.0.13", "qemu-7.2.0", "qemu-2.12.0"] {
            let p = PathBuf::from(&corpus)
                .join("schemas")
                .join(v)
                .join("qga/qapi-schema.json");
            if let Ok(text) = std::fs::read_to_string(p) {
                out.push(text);
            }
        }
    }
    out.sort();
    out
}

/// A schema file and the small include it may refer to.
fn files_with(root_text: String) -> HashMap<PathBuf, String> {
    let mut files = HashMap::new();
    files.insert(PathBuf::from("root.json"), root_text);
    files.insert(
        PathBuf::from("include/colours.json"),
        "{ 'enum': 'Colour', 'data': [ 'red' ] }\n".to_owned(),
    );
    files
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let piece = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(":".to_owned()),
        Just(",".to_owned()),
        Just("'".to_owned()),
        Just("\\".to_owned()),
        Just("#".to_owned()),
        Just("##\n".to_owned()),
        Just("\n".to_owned()),
        Just("\t".to_owned()),
        Just("@x:".to_owned()),
        Just("é".to_owned()),
        Just("'if': 'X'".to_owned()),
        Just("'base': 'Foo'".to_owned()),
        Just("'include': 'include/colours.json'".to_owned()),
        Just("'include': 'root.json'".to_owned()),
        "[a-zA-Z_*-]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), piece).prop_map(|(a, s)| Mutation::Insert(a, s)),
        (any::<usize>(), 0usize..60, any::<usize>())
            .prop_map(|(a, n, b)| Mutation::Duplicate(a, n, b)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        let len = chars.len().max(1);
        match m {
            Mutation::Delete(at, n) => {
                let start = at % len;
                let end = (start + n).min(chars.len());
                if start < end {
                    chars.drain(start..end);
                }
            }
            Mutation::Insert(at, s) => {
                let at = (at % (chars.len() + 1)).min(chars.len());
                chars.splice(at..at, s.chars());
            }
            Mutation::Duplicate(at, n, to) => {
                let start = at % len;
                let end = (start + n).min(chars.len());
                if start < end {
                    let piece: Vec<char> = chars[start..end].to_vec();
                    let to = to % (chars.len() + 1);
                    chars.splice(to..to, piece);
                }
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}", compat in any::<bool>()) {
        run("root.json", &files_with(text), compat);
    }

    #[test]
    fn random_schema_like_text_never_panics(
        text in "([{}\\[\\]:,' \n#@a-zA-Z*_-]|'[a-z]{1,6}'|##\n|# @a:\n){0,80}",
        compat in any::<bool>(),
    ) {
        run("root.json", &files_with(text), compat);
    }

    #[test]
    fn mutated_schemas_never_panic(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
        compat in any::<bool>(),
    ) {
        let seeds = seeds();
        prop_assume!(!seeds.is_empty());
        let text = apply(&seeds[seed.index(seeds.len())], &mutations);
        run("root.json", &files_with(text), compat);
    }
}
