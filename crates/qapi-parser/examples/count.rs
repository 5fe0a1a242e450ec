//! Prints how many top-level items a schema has: `count SCHEMA`.
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: count SCHEMA");
        std::process::exit(2);
    };
    match qapi_parser::parse_file(&path, Default::default()) {
        Ok(p) => {
            let includes = p.items.len() - p.definition_count();
            println!(
                "{path}: {} definitions, {} includes, {} doc blocks, {} files",
                p.definition_count(),
                includes,
                p.docs.len(),
                p.sources.files().count()
            );
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
