//! Generates the agent's types, commands and dispatch tables from
//! `schema/qga.json`.

fn main() {
    if let Err(e) = qapi_codegen::Builder::new("schema/qga.json").generate() {
        panic!("{e}");
    }
}
