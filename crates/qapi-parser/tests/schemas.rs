//! The project's own schema cases: every file in `tests/schemas/` (and,
//! read with `--compat`, in `tests/schemas-compat/`) is parsed and
//! checked, and the result is compared with its snapshot: the dump for a
//! valid schema, the error in both renderings for an invalid one.
//! Helper files that cases include live in `include/` subfolders.

use std::path::Path;

use qapi_parser::{dump::dump, load_schema, ErrorFormat, ParseOptions};

/// What `qapi-gen dump` would print, with the case's folder removed from
/// file names as QEMU's test harness does.
fn outcome(path: &Path, options: ParseOptions) -> String {
    let mut out = String::new();
    match load_schema(path, options) {
        Ok(schema) => {
            for w in &schema.warnings {
                out.push_str(&w.render_qemu(&schema.sources));
                out.push('\n');
            }
            out.push_str(&dump(&schema));
        }
        Err(err) => {
            out.push_str("error (qemu format):\n");
            out.push_str(&err.render(ErrorFormat::Qemu, false));
            out.push_str("\nerror (human format):\n");
            out.push_str(&err.render(ErrorFormat::Human, false));
        }
    }
    let dir = path.parent().expect("a case is in a folder").display();
    out.replace(&format!("{dir}/"), "")
}

#[test]
fn schemas() {
    insta::glob!("schemas/*.json", |path| {
        insta::assert_snapshot!(outcome(path, ParseOptions::default()));
    });
}

#[test]
fn schemas_compat() {
    insta::glob!("schemas-compat/*.json", |path| {
        insta::assert_snapshot!(outcome(path, ParseOptions { compat: true }));
    });
}
