//! A build script that uses the `Builder` compiles no command-line parser:
//! clap belongs to the `qapi-gen` binary's crate only.

use std::process::Command;

#[test]
fn the_builder_pulls_in_no_clap() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "qapi-codegen",
            "-e",
            "normal,build",
        ])
        .args(["--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("proc-macro2"), "{tree}");
    let clap: Vec<&str> = tree.lines().filter(|l| l.starts_with("clap")).collect();
    assert!(clap.is_empty(), "qapi-codegen depends on {clap:?}");
}
