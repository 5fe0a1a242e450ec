//! Parsing and checking QEMU's full QMP schema.
//!
//! Targets (release mode, this project's 2-core machine): parse the QEMU
//! 10.0.13 QMP schema (about 740 KB in 40 files) under 15 ms; parse plus
//! check under 20 ms.  Needs `QAPI_CORPUS`; without it the benchmarks say
//! so and do nothing.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use qapi_parser::{check, parse_file, ParseOptions};

fn qmp_schema() -> Option<PathBuf> {
    let Some(corpus) = std::env::var_os("QAPI_CORPUS") else {
        eprintln!("QAPI_CORPUS is not set: skipping the QMP schema benchmarks");
        return None;
    };
    Some(PathBuf::from(corpus).join("schemas/qemu-10.0.13/qapi/qapi-schema.json"))
}

fn benches(c: &mut Criterion) {
    let Some(path) = qmp_schema() else {
        return;
    };
    let options = ParseOptions::default();
    c.bench_function("parse qemu-10.0.13 qmp", |b| {
        b.iter(|| parse_file(&path, options).expect("the schema parses"))
    });
    c.bench_function("parse+check qemu-10.0.13 qmp", |b| {
        b.iter(|| check(parse_file(&path, options).expect("parses")).expect("checks"))
    });
}

criterion_group!(parse, benches);
criterion_main!(parse);
