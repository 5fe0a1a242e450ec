//! Code generation for QEMU 10.0.13's full QMP schema: parse, check,
//! generate and format.  Target: under 150 ms in release mode.  Needs
//! `QAPI_CORPUS`; without it the benchmark says so and does nothing.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use qapi_codegen::{generate, Options};
use qapi_parser::{load_schema, ParseOptions};

fn benches(c: &mut Criterion) {
    let Some(corpus) = std::env::var_os("QAPI_CORPUS") else {
        eprintln!("QAPI_CORPUS is not set: skipping the code generation benchmarks");
        return;
    };
    let path = PathBuf::from(corpus).join("schemas/qemu-10.0.13/qapi/qapi-schema.json");
    let mut group = c.benchmark_group("generate qemu-10.0.13 qmp");
    group.sample_size(20);
    for (name, format) in [
        ("parse+check+generate+format", true),
        ("parse+check+generate", false),
    ] {
        let options = Options {
            format,
            ..Options::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let schema = load_schema(&path, ParseOptions::default()).expect("valid schema");
                generate(&schema, &options).expect("generates")
            })
        });
    }
    group.finish();
}

criterion_group!(generate_benches, benches);
criterion_main!(generate_benches);
