//! The `qapi-gen` command line: exit codes, output formats, and QEMU's
//! conformance cases run exactly as QEMU's test harness runs them.

use std::path::Path;
use std::process::{Command, Output};

use qapi_test_support::Suite;

fn qapi_gen(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qapi-gen"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("qapi-gen runs")
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write schema");
}

fn exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "good.json",
        "{ 'enum': 'Colour', 'data': [ 'red' ] }\n",
    );
    write(
        dir.path(),
        "bad.json",
        "{ 'enum': 'Colour', 'data': [ 42 ] }\n",
    );
    let ok = qapi_gen(dir.path(), &["check", "good.json"]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(ok.stdout.is_empty() && ok.stderr.is_empty());

    let bad = qapi_gen(dir.path(), &["check", "--error-format", "qemu", "bad.json"]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr),
        "bad.json:1:31: stray '42'\n"
    );

    let missing = qapi_gen(
        dir.path(),
        &["check", "--error-format", "qemu", "nope.json"],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "can't read schema file 'nope.json': No such file or directory\n"
    );

    let usage = qapi_gen(
        dir.path(),
        &["check", "--error-format", "fancy", "good.json"],
    );
    assert_eq!(usage.status.code(), Some(2));
    let no_command = qapi_gen(dir.path(), &[]);
    assert_eq!(no_command.status.code(), Some(2));
}

fn human_errors_show_the_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "bad.json",
        "{ 'struct': 'Point',\n  'data': { 'x': 'Nowhere' } }\n",
    );
    let out = qapi_gen(dir.path(), &["check", "bad.json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: member 'x' uses unknown type 'Nowhere'"),
        "{err}"
    );
    assert!(err.contains("bad.json:2:13"), "{err}");
    assert!(err.contains("'x': 'Nowhere'"), "{err}");
    assert!(err.contains("in struct 'Point'"), "{err}");
}

fn dump_prints_the_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "s.json",
        "{ 'command': 'go', 'data': { 'speed': 'int' } }\n",
    );
    let out = qapi_gen(dir.path(), &["dump", "s.json"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("module ./builtin\n"), "{text}");
    assert!(
        text.contains(
            "module s.json\nobject q_obj_go-arg\n    member speed: int optional=False\n\
             command go q_obj_go-arg -> None\n"
        ),
        "{text}"
    );
}

fn compat_warnings_do_not_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "old.json",
        "{ 'pragma': { 'doc-required': true } }\n{ 'command': 'legacy_cmd' }\n",
    );
    let strict = qapi_gen(dir.path(), &["check", "--error-format", "qemu", "old.json"]);
    assert_eq!(strict.status.code(), Some(1));
    let compat = qapi_gen(
        dir.path(),
        &["check", "--compat", "--error-format", "qemu", "old.json"],
    );
    assert_eq!(compat.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&compat.stderr),
        "old.json: In command 'legacy_cmd':\nold.json:2: warning: documentation comment required\n"
    );
}

/// The conformance cases of QEMU's test suite in the corpus: each name
/// with an `.err` file.
fn conformance_cases(corpus: &Path) -> Vec<String> {
    let cases = corpus.join("qapi-conformance/cases");
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| {
                    e.file_name()
                        .to_str()?
                        .strip_suffix(".err")
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// One case: `qapi-gen dump --error-format qemu NAME.json`, run in the
/// cases folder, prints exactly `NAME.out` and `NAME.err` and exits 0 for
/// a valid schema, 1 for an invalid one.
fn conformance_case(cases: &Path, name: &str) {
    let read = |ext: &str| {
        std::fs::read_to_string(cases.join(format!("{name}.{ext}"))).unwrap_or_default()
    };
    let (expected_err, expected_out) = (read("err"), read("out"));
    let out = qapi_gen(
        cases,
        &["dump", "--error-format", "qemu", &format!("{name}.json")],
    );
    let expected_code = if expected_err.is_empty() { 0 } else { 1 };
    assert_eq!(String::from_utf8_lossy(&out.stderr), expected_err, "stderr");
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected_out, "stdout");
    assert_eq!(out.status.code(), Some(expected_code), "exit status");
}

fn builder_reports_what_it_read_and_which_cfgs_it_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "inc.json",
        "{ 'enum': 'Colour', 'data': [ 'red' ] }\n",
    );
    write(
        dir.path(),
        "root.json",
        "{ 'include': 'inc.json' }\n{ 'command': 'paint', 'data': { 'c': 'Colour' }, 'if': 'CONFIG_PAINT' }\n\
         { 'command': 'wash', 'if': 'CONFIG_LINUX' }\n",
    );
    let out = qapi_codegen::Builder::new(dir.path().join("root.json"))
        .out_file(dir.path().join("out/root.rs"))
        .cfg("CONFIG_LINUX", "target_os = \"linux\"")
        .cargo_instructions(false)
        .generate()
        .expect("generates");
    assert!(out.path.exists());
    let names: Vec<String> = out
        .files_read
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["root.json", "inc.json"]);
    assert_eq!(out.custom_cfgs, ["CONFIG_PAINT"]);
    let code = std::fs::read_to_string(&out.path).unwrap();
    assert!(code.contains("#[cfg(target_os = \"linux\")]"));

    write(
        dir.path(),
        "bad.json",
        "{ 'command': 'x', 'data': 'Nowhere' }\n",
    );
    let err = qapi_codegen::Builder::new(dir.path().join("bad.json"))
        .out_file(dir.path().join("out/bad.rs"))
        .cargo_instructions(false)
        .generate()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("error: command's 'data' uses unknown type 'Nowhere'"),
        "{text}"
    );
    assert!(text.contains("^^^^^^^^^"), "{text}");
}

fn generate_writes_the_code_a_build_script_gets() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "s.json",
        "{ 'command': 'go', 'data': { 'speed': 'int' }, 'if': 'CONFIG_FAST' }\n{ 'command': 'stop' }\n",
    );
    let out = qapi_gen(
        dir.path(),
        &[
            "generate",
            "s.json",
            "-o",
            "out",
            "--cfg",
            "CONFIG_FAST=target_os = \"linux\"",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "out/s.rs");
    let code = std::fs::read_to_string(dir.path().join("out/s.rs")).expect("written");
    assert!(code.starts_with("// @generated"));
    assert!(code.contains("#[cfg(target_os = \"linux\")]"));
    assert!(code.contains("pub struct Go {"));

    let only = qapi_gen(
        dir.path(),
        &["generate", "s.json", "-o", "only", "--commands", "stop"],
    );
    assert_eq!(only.status.code(), Some(0));
    let code = std::fs::read_to_string(dir.path().join("only/s.rs")).expect("written");
    assert!(code.contains("pub struct Stop {}") && !code.contains("pub struct Go"));

    let unknown = qapi_gen(
        dir.path(),
        &["generate", "s.json", "-o", "x", "--commands", "nope"],
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("the schema has no command 'nope'"));

    let bad_cfg = qapi_gen(
        dir.path(),
        &["generate", "s.json", "-o", "x", "--cfg", "CONFIG_FAST"],
    );
    assert_eq!(bad_cfg.status.code(), Some(2));

    write(
        dir.path(),
        "bad.json",
        "{ 'command': 'go', 'data': 'Nowhere' }\n",
    );
    let invalid = qapi_gen(dir.path(), &["generate", "bad.json", "-o", "x"]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("uses unknown type 'Nowhere'"));
}

/// The README's first command.
fn readme_quick_start_dumps_the_demo_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = qapi_gen(&root, &["dump", "examples/schemas/demo.json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("command sync q_obj_sync-arg -> int"),
        "{text}"
    );
    assert!(text.contains("    feature fs-frozen"), "{text}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn main() {
    let mut suite = Suite::new();
    suite.test("exit_codes", exit_codes);
    suite.test("human_errors_show_the_source", human_errors_show_the_source);
    suite.test("dump_prints_the_model", dump_prints_the_model);
    suite.test("compat_warnings_do_not_fail", compat_warnings_do_not_fail);
    suite.test(
        "builder_reports_what_it_read_and_which_cfgs_it_left",
        builder_reports_what_it_read_and_which_cfgs_it_left,
    );
    suite.test(
        "generate_writes_the_code_a_build_script_gets",
        generate_writes_the_code_a_build_script_gets,
    );
    suite.test(
        "readme_quick_start_dumps_the_demo_schema",
        readme_quick_start_dumps_the_demo_schema,
    );
    // QEMU's own conformance cases, one test each.
    match qapi_test_support::corpus() {
        Ok(corpus) => {
            let names = conformance_cases(&corpus);
            assert!(
                names.len() >= 138,
                "expected at least 138 cases, found {}",
                names.len()
            );
            let cases = corpus.join("qapi-conformance/cases");
            for name in names {
                let cases = cases.clone();
                suite.test(format!("conformance case {name}"), move || {
                    conformance_case(&cases, &name)
                });
            }
        }
        Err(missing) => suite.needs("QEMU's conformance cases", Err::<(), _>(missing), |()| {}),
    }
    suite.run();
}
