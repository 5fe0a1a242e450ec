//! Parses (and with `--check`, checks) a schema many times, for
//! profiling: `profile_parse [--check] SCHEMA [N]`.
fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.first().is_some_and(|a| a == "--check");
    if check {
        args.remove(0);
    }
    let Some(path) = args.first().cloned() else {
        eprintln!("usage: profile_parse [--check] SCHEMA [N]");
        std::process::exit(2);
    };
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    for _ in 0..n {
        let parsed = match qapi_parser::parse_file(&path, Default::default()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        if check {
            match qapi_parser::check(parsed) {
                Ok(s) => drop(std::hint::black_box(s)),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        } else {
            drop(std::hint::black_box(parsed));
        }
    }
}
