//! The printer that lays out generated code changes only whitespace: for
//! every schema of this crate's and the parser's suites (and QEMU's QMP
//! schema, with `QAPI_CORPUS`), the laid-out file reads back as exactly the
//! tokens of the unformatted one (doc comments as the `#[doc]` attributes
//! they are, a `///` line each where the generator makes one attribute of
//! several lines; a trailing comma added to a list broken over lines
//! aside).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{TokenStream, TokenTree};
use qapi_codegen::{generate, Options};
use qapi_parser::{load_schema, ParseOptions};

/// A string literal's value (plain or raw), or its text.
fn literal_value(text: &str) -> String {
    if let Some(raw) = text.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        return raw[hashes + 1..raw.len() - hashes - 1].to_owned();
    }
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(body) => body
            .replace("\\\"", "\"")
            .replace("\\'", "'")
            .replace("\\\\", "\\"),
        None => text.to_owned(),
    }
}

/// The tokens as a flat list of comparable words.
fn words(tokens: TokenStream, out: &mut Vec<String>) {
    for tt in tokens {
        match tt {
            TokenTree::Group(g) => {
                out.push(format!("{:?}", g.delimiter()));
                words(g.stream(), out);
                out.push("end".into());
            }
            TokenTree::Ident(i) => out.push(i.to_string()),
            TokenTree::Punct(p) => out.push(p.as_char().to_string()),
            TokenTree::Literal(l) => out.push(literal_value(&l.to_string())),
        }
    }
}

/// `words` with each run of doc attributes (`#`, `Bracket`, `doc`, `=`,
/// text, `end`) as one `doc` word and the lines' texts joined.
fn merge_docs(words: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut in_docs = false;
    let mut i = 0;
    while i < words.len() {
        let attr = words.get(i..i + 6);
        if let Some([hash, bracket, doc, eq, text, end]) = attr {
            if hash == "#" && bracket == "Bracket" && doc == "doc" && eq == "=" && end == "end" {
                match out.last_mut() {
                    Some(last) if in_docs => {
                        last.push('\n');
                        last.push_str(text);
                    }
                    _ => out.push(format!("doc {text}")),
                }
                in_docs = true;
                i += 6;
                continue;
            }
        }
        in_docs = false;
        out.push(words[i].clone());
        i += 1;
    }
    out
}

fn same_tokens_both_ways(path: &Path, compat: bool) {
    let schema = load_schema(path, ParseOptions { compat })
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = |format| {
        let options = Options {
            format,
            ..Options::default()
        };
        let code = generate(&schema, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .code;
        let tokens = TokenStream::from_str(&code)
            .unwrap_or_else(|e| panic!("{} (format {format}): {e}", path.display()));
        let mut out = Vec::new();
        words(tokens, &mut out);
        let out = merge_docs(out);
        // A trailing comma the printer adds to a broken list means nothing.
        let ends: Vec<bool> = out
            .windows(2)
            .map(|w| w[0] == "," && w[1] == "end")
            .collect();
        out.into_iter()
            .enumerate()
            .filter(|(i, _)| !ends.get(*i).copied().unwrap_or(false))
            .map(|(_, w)| w)
            .collect::<Vec<String>>()
    };
    let (laid_out, plain) = (text(true), text(false));
    if let Some(i) = (0..laid_out.len().max(plain.len())).find(|&i| laid_out.get(i) != plain.get(i))
    {
        let from = i.saturating_sub(8);
        panic!(
            "{}: the layout changed the tokens at {i}:\n laid out: {:?}\n plain:    {:?}",
            path.display(),
            &laid_out[from..(i + 8).min(laid_out.len())],
            &plain[from..(i + 8).min(plain.len())]
        );
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("schema folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

fn our_schemas() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for (dir, compat) in [
        (here.join("tests/schemas"), false),
        (here.join("../qapi-parser/tests/schemas"), false),
        (here.join("../qapi-parser/tests/schemas-compat"), true),
    ] {
        for path in json_files(&dir) {
            if load_schema(&path, ParseOptions { compat }).is_ok() {
                same_tokens_both_ways(&path, compat);
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "{checked} schemas");
}

fn qemu_qmp_schema(corpus: PathBuf) {
    let qmp = corpus.join("schemas/qemu-10.0.13/qapi/qapi-schema.json");
    same_tokens_both_ways(&qmp, false);
}

fn main() {
    let mut suite = qapi_test_support::Suite::new();
    suite.test("layout changes only whitespace: our schemas", our_schemas);
    suite.needs(
        "layout changes only whitespace: QEMU 10.0.13's QMP schema",
        qapi_test_support::corpus(),
        qemu_qmp_schema,
    );
    suite.run();
}
