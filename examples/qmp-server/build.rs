//! Generates the server's types, commands, events and introspection data
//! from `schema/qmp.json`.

fn main() {
    if let Err(e) = qapi_codegen::Builder::new("schema/qmp.json").generate() {
        panic!("{e}");
    }
}
