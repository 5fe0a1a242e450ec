//! The user's attributes on generated types and fields, and the Builder's
//! messages for mistakes in its options: a name the schema lacks (with
//! the closest one suggested), an attribute that does not parse.

use std::path::Path;

const SCHEMA: &str = "
{ 'enum': 'Colour', 'data': [ 'red', 'green' ] }
{ 'struct': 'Paint', 'data': { 'colour': 'Colour', '*litres': 'int' } }
{ 'command': 'mix', 'data': { 'paint': 'Paint' }, 'returns': 'Paint' }
{ 'event': 'MIXED', 'data': { 'paint': 'Paint' } }
";

fn builder(dir: &Path) -> qapi_codegen::Builder {
    let schema = dir.join("paint.json");
    std::fs::write(&schema, SCHEMA).unwrap();
    qapi_codegen::Builder::new(&schema)
        .out_file(dir.join("paint.rs"))
        .cargo_instructions(false)
}

#[test]
fn attributes_reach_the_items_they_name() {
    let dir = tempfile::tempdir().unwrap();
    builder(dir.path())
        .type_attribute("Paint", "#[derive(Eq)] #[doc(alias = \"pigment\")]")
        .type_attribute("*", "#[must_use]")
        .field_attribute("Paint.litres", "#[doc(alias = \"volume\")]")
        .generate()
        .unwrap();
    let code = std::fs::read_to_string(dir.path().join("paint.rs")).unwrap();
    let before = |item: &str| {
        let at = code
            .find(item)
            .unwrap_or_else(|| panic!("{item} not in the code"));
        code[..at]
            .rsplit("\n\n")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let paint = before("pub struct Paint {");
    assert!(
        paint.contains("#[derive(Eq)]") && paint.contains("#[doc(alias = \"pigment\")]"),
        "{paint}"
    );
    assert!(paint.contains("#[must_use]"), "{paint}");
    assert!(before("pub enum Colour {").contains("#[must_use]"));
    let field = before("pub litres:");
    assert!(field.contains("#[doc(alias = \"volume\")]"), "{field}");
}

#[test]
fn mistakes_in_the_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let error = |b: qapi_codegen::Builder| b.generate().unwrap_err().to_string();
    let messages = [
        error(builder(dir.path()).type_attribute("Pain", "#[derive(Eq)]")),
        error(builder(dir.path()).type_attribute("Paint", "derive(Eq)")),
        error(builder(dir.path()).field_attribute("Paint.liters", "#[doc = \"x\"]")),
        error(builder(dir.path()).field_attribute("Paint", "#[doc = \"x\"]")),
        error(builder(dir.path()).commands(["mixx"])),
        error(builder(dir.path()).commands(["mix"]).events(["MIX"])),
        error(builder(dir.path()).cfg("CONFIG_LINUX", "target_os == \"linux\"")),
    ];
    insta::assert_snapshot!(messages.join("\n"));
}
