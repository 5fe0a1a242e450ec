//! Generates the test agent's schema and, when `QAPI_CORPUS` points at the
//! shared corpus, QEMU 7.2's QMP schema (cfg `qemu_7_2`) for the tests
//! against a real QEMU.

use std::path::PathBuf;

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

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(e) = qapi_codegen::Builder::new(dir.join("schemas/agent.json")).generate() {
        panic!("{e}");
    }
    println!("cargo::rerun-if-env-changed=QAPI_CORPUS");
    let Some(corpus) = std::env::var_os("QAPI_CORPUS") else {
        return;
    };
    let schema = PathBuf::from(corpus).join("schemas/qemu-7.2.0/qapi/qapi-schema.json");
    if !schema.exists() {
        return;
    }
    let generated = qapi_codegen::Builder::new(&schema)
        .compat(true)
        // QEMU 7.2's documentation gaps are known; keep the build quiet.
        .warnings(false)
        .out_file(out.join("qmp72.rs"))
        .generate();
    if let Err(e) = generated {
        panic!("{e}");
    }
    // A small QMP server's worth of it, for the replay against QEMU.
    let generated = qapi_codegen::Builder::new(&schema)
        .compat(true)
        .warnings(false)
        .commands(QMP_SERVER_COMMANDS)
        .events(["STOP", "RESUME"])
        .out_file(out.join("qmp72_server.rs"))
        .generate();
    if let Err(e) = generated {
        panic!("{e}");
    }
    println!("cargo::rustc-cfg=qemu_7_2");
}
