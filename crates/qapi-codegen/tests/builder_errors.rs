//! What a build script shows when generation fails: `fn main() ->
//! Result<(), qapi_codegen::Error>` prints the error's `Debug`, which must
//! read as the diagnostic itself (source excerpt, line breaks), not as an
//! escaped one-line struct.

#[test]
fn debug_reads_like_display() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("bad.json");
    std::fs::write(&schema, "{ 'enum': 'Colour', 'data': [ 42 ] }\n").unwrap();
    let err = qapi_codegen::Builder::new(&schema)
        .out_file(dir.path().join("out.rs"))
        .cargo_instructions(false)
        .generate()
        .unwrap_err();
    let debug = format!("{err:?}");
    assert_eq!(debug, err.to_string());
    assert!(debug.starts_with("invalid QAPI schema:\n"), "{debug}");
    assert!(debug.contains("bad.json:1:31"), "{debug}");
    assert!(
        !debug.contains("Schema(") && !debug.contains("\\n"),
        "{debug}"
    );
}
