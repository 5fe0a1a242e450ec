//! Generates the client's types from `schema/qmp.json`.
//!
//! QEMU's schema guards much of itself with build conditions
//! (`CONFIG_KVM`, `TARGET_I386`...).  A client talks to QEMU builds it does
//! not know, so it keeps every type: conditions default to true.  (A
//! program that should only know what its own platform has would map them
//! with `.cfg("CONFIG_KVM", r#"target_os = "linux""#)` instead.)

fn main() {
    let generated = qapi_codegen::Builder::new("schema/qmp.json")
        .cfg_default(true)
        .generate();
    if let Err(e) = generated {
        panic!("{e}");
    }
}
