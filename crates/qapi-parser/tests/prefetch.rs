//! Include files parsed ahead on a second thread (`parse_file`) give
//! exactly what reading them one by one gives (`parse_with`): the same
//! model, and the same first error wherever it is.

use std::path::Path;

use qapi_parser::{check, dump::dump, parse_file, parse_with, ErrorFormat, ParseOptions};

/// The outcome of reading `root` both ways: the dump or the error.
fn both_ways(root: &Path) -> (String, String) {
    let outcome = |parsed: Result<qapi_parser::ParsedSchema, qapi_parser::SchemaError>| match parsed
        .and_then(check)
    {
        Ok(schema) => dump(&schema),
        Err(e) => e.render(ErrorFormat::Qemu, false),
    };
    let name = root.to_string_lossy();
    let ahead = outcome(parse_file(root, ParseOptions::default()));
    let one_by_one = outcome(parse_with(&name, ParseOptions::default(), &|p: &Path| {
        std::fs::read_to_string(p)
    }));
    (ahead, one_by_one)
}

fn schema(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn includes(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{ 'include': 'part{i}.json' }}\n"))
        .collect()
}

#[test]
fn a_valid_schema_reads_the_same() {
    let parts: Vec<(String, String)> = (0..8)
        .map(|i| {
            (
                format!("part{i}.json"),
                format!(
                    "{{ 'struct': 'Struct{i}', 'data': {{ 'a{i}': 'int' }} }}\n\
                     {{ 'command': 'c{i}', 'data': 'Struct{i}' }}\n"
                ),
            )
        })
        .collect();
    let mut files: Vec<(&str, &str)> = parts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let root = includes(8);
    files.push(("root.json", &root));
    let dir = schema(&files);
    let (ahead, one_by_one) = both_ways(&dir.path().join("root.json"));
    assert!(ahead.contains("command c7"), "{ahead}");
    assert_eq!(ahead, one_by_one);
}

#[test]
fn errors_in_any_include_are_the_same() {
    let good = "{ 'enum': 'Enum', 'data': [ 'a' ] }\n";
    for bad in 0..4 {
        let mut parts: Vec<(String, String)> = (0..4)
            .map(|i| {
                (
                    format!("part{i}.json"),
                    good.replace("Enum", &format!("Enum{i}")),
                )
            })
            .collect();
        // A syntax error, a missing file, a semantic error, a nested
        // include of a missing file.
        match bad {
            0 => parts[0].1 = "{ 'enum': 'Enum0', 'data': [ 'a' ] \n".into(),
            1 => parts.remove(1).0.clear(),
            2 => parts[2].1 = "{ 'struct': 'S', 'data': { 'x': 'Nowhere' } }\n".into(),
            _ => parts[3].1 = "{ 'include': 'missing.json' }\n".into(),
        }
        let mut files: Vec<(&str, &str)> = parts
            .iter()
            .filter(|(n, _)| !n.is_empty())
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let root = includes(4);
        files.push(("root.json", &root));
        let dir = schema(&files);
        let (ahead, one_by_one) = both_ways(&dir.path().join("root.json"));
        assert!(ahead.contains(".json:"), "case {bad} is an error: {ahead}");
        assert_eq!(ahead, one_by_one, "case {bad}");
    }
}
