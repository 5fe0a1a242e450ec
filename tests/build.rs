//! Generates the test agent's schema, a schema of conditional commands
//! and, when `QAPI_CORPUS` points at the shared corpus, code from QEMU's QMP schemas (cfg `qemu_schemas`): the
//! types of several releases for the client against a real QEMU, and a
//! small QMP server's worth of QEMU 7.2's for the replay against it.

use std::path::{Path, PathBuf};

/// The releases whose QMP types the client test reads QEMU 7.2 with, and
/// the files they are generated into.
const CLIENT_RELEASES: [(&str, &str); 5] = [
    ("qemu-2.12.0", "qmp_2_12"),
    ("qemu-4.2.0", "qmp_4_2"),
    ("qemu-7.2.0", "qmp_7_2"),
    ("qemu-9.1.0", "qmp_9_1"),
    ("qemu-10.0.13", "qmp_10_0"),
];

/// The commands of the QMP server replayed against QEMU 7.2.
const QMP_SERVER_COMMANDS: [&str; 9] = [
    "qmp_capabilities",
    "query-commands",
    "query-qmp-schema",
    "query-status",
    "query-name",
    "query-uuid",
    "query-version",
    "stop",
    "cont",
];

fn qmp_schema(release: &Path) -> PathBuf {
    let modern = release.join("qapi/qapi-schema.json");
    if modern.exists() {
        modern
    } else {
        release.join("qapi-schema.json")
    }
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(e) = qapi_codegen::Builder::new(dir.join("schemas/agent.json")).generate() {
        panic!("{e}");
    }
    let conditional = qapi_codegen::Builder::new(dir.join("schemas/conditional.json"))
        .cfg("CONFIG_POSIX", "unix")
        .cfg("CONFIG_WIN32", "windows")
        .generate();
    if let Err(e) = conditional {
        panic!("{e}");
    }
    println!("cargo::rustc-check-cfg=cfg(qemu_schemas)");
    println!("cargo::rerun-if-env-changed=QAPI_CORPUS");
    let Some(corpus) = std::env::var_os("QAPI_CORPUS").map(PathBuf::from) else {
        return;
    };
    if !corpus.join("schemas/qemu-7.2.0").exists() {
        return;
    }
    for (release, file) in CLIENT_RELEASES {
        // A client talks to QEMU builds it does not know: every condition
        // holds, so every type is there.
        let generated =
            qapi_codegen::Builder::new(qmp_schema(&corpus.join("schemas").join(release)))
                .compat(true)
                .warnings(false)
                .cfg_default(true)
                .out_file(out.join(format!("{file}.rs")))
                .generate();
        if let Err(e) = generated {
            panic!("{release}: {e}");
        }
    }
    let generated = qapi_codegen::Builder::new(qmp_schema(&corpus.join("schemas/qemu-7.2.0")))
        .compat(true)
        .warnings(false)
        .cfg_default(true)
        .commands(QMP_SERVER_COMMANDS)
        .events(["STOP", "RESUME"])
        .out_file(out.join("qmp72_server.rs"))
        .generate();
    if let Err(e) = generated {
        panic!("{e}");
    }
    println!("cargo::rustc-cfg=qemu_schemas");
}
