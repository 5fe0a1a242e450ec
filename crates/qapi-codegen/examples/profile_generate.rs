//! Generates code for a schema several times, for profiling:
//! `profile_generate SCHEMA [N] [--no-format]`.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: profile_generate SCHEMA [N] [--no-format]");
        std::process::exit(2);
    };
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let options = qapi_codegen::Options {
        format: !args.iter().any(|a| a == "--no-format"),
        ..Default::default()
    };
    let schema = match qapi_parser::load_schema(path, Default::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    for _ in 0..n {
        match qapi_codegen::generate(&schema, &options) {
            Ok(g) => drop(std::hint::black_box(g)),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
}
