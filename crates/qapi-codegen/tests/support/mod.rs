//! A scratch crate that includes generated code for several schemas, one

// Each test crate that includes this module uses a part of it.
#![allow(dead_code)]
//! module each, and the cargo runs that judge it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use qapi_codegen::{generate, Options};
use qapi_parser::{load_schema, ParseOptions};

/// A schema to compile: a module name and the path.
pub struct Case {
    pub module: String,
    pub path: PathBuf,
    pub compat: bool,
    /// Also include it in the crate's binary `in-binary` (private
    /// modules, where nothing unused may warn).
    pub in_binary: bool,
}

/// Where scratch crates build: kept between runs (under the workspace's
/// target folder) so that dependencies are built once.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/generated-code-tests")
}

/// Writes a crate with one module per case; returns its folder and the
/// custom cfg names it uses.
pub fn write_crate(name: &str, cases: &[Case]) -> (PathBuf, BTreeSet<String>) {
    let dir = target_dir().join(name);
    let _ = std::fs::remove_dir_all(dir.join("src"));
    let _ = std::fs::remove_dir_all(dir.join("tests"));
    let src = dir.join("src");
    std::fs::create_dir_all(&src).expect("create crate folder");
    let mut lib =
        String::from("//! Generated code under test.\n#![deny(warnings)]\n#![deny(clippy::all)]\n");
    let mut binary = String::from(
        "//! Generated code in a binary crate: private, mostly unused, and\n\
         //! still without a warning.\n#![deny(warnings)]\n",
    );
    let mut cfgs = BTreeSet::new();
    for case in cases {
        let schema = load_schema(
            &case.path,
            ParseOptions {
                compat: case.compat,
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.path.display()));
        let generated = generate(
            &schema,
            &Options {
                format: true,
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.path.display()));
        std::fs::write(src.join(format!("{}.rs", case.module)), generated.code)
            .expect("write module");
        cfgs.extend(generated.custom_cfgs);
        lib.push_str(&format!(
            "/// Generated from `{}`.\npub mod {} {{\n    include!(\"{}.rs\");\n}}\n",
            case.path.file_name().unwrap_or_default().to_string_lossy(),
            case.module,
            case.module
        ));
        if case.in_binary {
            binary.push_str(&format!(
                "mod {} {{\n    include!(\"../{}.rs\");\n}}\n",
                case.module, case.module
            ));
        }
    }
    std::fs::write(src.join("lib.rs"), lib).expect("write lib.rs");
    if cases.iter().any(|c| c.in_binary) {
        binary.push_str("\nfn main() {}\n");
        std::fs::create_dir_all(src.join("bin")).expect("create src/bin");
        std::fs::write(src.join("bin/in-binary.rs"), binary).expect("write the binary");
    }
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../qapi-runtime");
    let check_cfg: Vec<String> = cfgs.iter().map(|c| format!("'cfg({c})'")).collect();
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nqapi-runtime = {{ path = {:?} }}\n\n\
         [lints.rust]\nunexpected_cfgs = {{ level = \"deny\", check-cfg = [{}] }}\n\n[workspace]\n",
        runtime.canonicalize().unwrap_or(runtime),
        check_cfg.join(", ")
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write Cargo.toml");
    (dir, cfgs)
}

/// Runs `cargo SUBCOMMAND` in the crate; panics with the output if it
/// fails.  `cfgs` are passed as `--cfg` to rustc (and rustdoc).
pub fn cargo(dir: &Path, args: &[&str], cfgs: &BTreeSet<String>) {
    let flags: Vec<String> = cfgs.iter().map(|c| format!("--cfg {c}")).collect();
    let flags = flags.join(" ");
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir().join("target"))
        .env("RUSTFLAGS", &flags)
        .env("RUSTDOCFLAGS", format!("-D warnings {flags}"))
        .env_remove("CARGO_MAKEFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {} failed in {}:\n{}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
