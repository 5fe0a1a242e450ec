//! Fuzzes reading and checking a schema: never a panic, and every error
//! points inside its file.  Run with `cargo +nightly fuzz run parse`.
#![no_main]

use std::io;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use qapi_parser::{check, parse_with, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(text).into_owned();
    // Files come from memory: the input itself, and one small include.
    let read = |p: &Path| -> io::Result<String> {
        match p.to_str() {
            Some("fuzz.json") => Ok(text.clone()),
            Some("inc.json") => Ok("{ 'enum': 'Colour', 'data': [ 'red' ] }\n".to_owned()),
            _ => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    };
    let options = ParseOptions { compat: flags & 1 == 1 };
    let (diagnostics, sources) = match parse_with("fuzz.json", options, &read) {
        Err(e) => (e.diagnostics, e.sources),
        Ok(parsed) => match check(parsed) {
            Ok(schema) => {
                let _ = qapi_parser::dump::dump(&schema);
                (schema.warnings, schema.sources)
            }
            Err(e) => (e.diagnostics, e.sources),
        },
    };
    for d in &diagnostics {
        if let Some(loc) = &d.location {
            let file = sources.file(loc.info.file);
            assert!(loc.info.line >= 1);
            assert!(loc.span.end as usize <= file.text.len());
        }
        let _ = d.render_qemu(&sources);
        let _ = d.render_human(&sources, false);
    }
});
