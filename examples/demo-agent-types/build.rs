//! Generates the demo schema's types: this is all a crate needs.

fn main() {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/demo.json");
    if let Err(e) = qapi_codegen::Builder::new(schema).generate() {
        // Schema errors come with source snippets, as rustc's do.
        panic!("{e}");
    }
}
