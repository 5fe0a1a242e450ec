//! Compile errors of `#[handlers]`: one case per mistake, each with the
//! compiler's output checked in beside it (`tests/ui/*.stderr`).  Run with
//! `TRYBUILD=overwrite` to accept new output after reading it.

#[test]
fn compile_errors() {
    // The cases are built as a crate of their own, without this crate's
    // build script: point the macro at the manifest generated for this
    // crate, and leave out the optional QEMU schema, which they do not use.
    // This test is alone in its binary, so changing the environment races
    // with nothing.
    std::env::set_var("OUT_DIR", env!("OUT_DIR"));
    std::env::remove_var("QAPI_CORPUS");
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
