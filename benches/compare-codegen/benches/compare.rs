//! Side by side: unformatted code generation for QEMU 10.0.13's QMP schema
//! by this project (parse, check, generate, write) and by arcnmx's
//! qapi-codegen 0.11 (parse, generate, write), both at opt-level 0.
//! Run with `QAPI_CORPUS=... cargo bench` in this folder.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};

fn benches(c: &mut Criterion) {
    let Some(corpus) = std::env::var_os("QAPI_CORPUS") else {
        eprintln!("QAPI_CORPUS is not set: nothing to compare");
        return;
    };
    let schema = PathBuf::from(corpus).join("schemas/qemu-10.0.13/qapi/qapi-schema.json");
    let out = tempdir();
    let mut group = c.benchmark_group("qmp 10.0.13, opt-level 0, unformatted");
    group.sample_size(10);
    group.bench_function("this project", |b| {
        b.iter(|| {
            let schema = qapi_parser::load_schema(&schema, Default::default()).expect("valid");
            let code = ours::generate(&schema, &ours::Options::default()).expect("generates").code;
            std::fs::write(out.join("ours.rs"), code).expect("write");
        })
    });
    group.bench_function("arcnmx qapi-codegen 0.11", |b| {
        // It takes the schema's folder (and reads `qapi-schema.json` there)
        // and an output file.
        let dir = schema.parent().expect("schema folder");
        b.iter(|| arcnmx::codegen(dir, out.join("arcnmx.rs"), "Command".into()).expect("generates"))
    });
    group.finish();
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("compare-codegen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

criterion_group!(compare, benches);
criterion_main!(compare);
