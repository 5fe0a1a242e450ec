//! `qapi-gen generate` beside QEMU 10.0.13's own generator
//! (`qapi-gen.py -b`) on QEMU 10.0.13's QMP schema, each run as a process
//! writing its files into a fresh folder, in the same run.  Target: ours at
//! least 15 times faster.  Needs `QAPI_CORPUS` (the schema and the peer);
//! without it the benchmark says so and does nothing.  `benches/side-by-side`
//! is the same comparison as a script.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn run(command: &mut Command) {
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the generator starts");
    assert!(status.success(), "{command:?} failed");
}

fn benches(c: &mut Criterion) {
    let Some(corpus) = std::env::var_os("QAPI_CORPUS").map(PathBuf::from) else {
        eprintln!("QAPI_CORPUS is not set: skipping the comparison with QEMU's generator");
        return;
    };
    let schema = corpus.join("schemas/qemu-10.0.13/qapi/qapi-schema.json");
    let python = corpus.join("peers/qapi-gen-10.0.13/qapi-gen.py");
    let out = tempfile::tempdir().expect("temporary folder");
    let fresh = |name: &str| -> PathBuf {
        let dir = out.path().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        dir
    };
    let mut group = c.benchmark_group("generate qemu-10.0.13 qmp (process)");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("qapi-gen generate", |b| {
        b.iter(|| {
            let dir = fresh("ours");
            run(Command::new(env!("CARGO_BIN_EXE_qapi-gen"))
                .arg("generate")
                .arg(&schema)
                .arg("-o")
                .arg(&dir))
        })
    });
    if Path::new(&python).exists() {
        group.bench_function("qapi-gen.py -b (QEMU 10.0.13)", |b| {
            b.iter(|| {
                let dir = fresh("qemu");
                run(Command::new("python3")
                    .arg(&python)
                    .arg("-b")
                    .arg("-o")
                    .arg(&dir)
                    .arg(&schema))
            })
        });
    } else {
        eprintln!(
            "{} is missing: QEMU's generator not compared",
            python.display()
        );
    }
    group.finish();
}

criterion_group!(vs_qemu, benches);
criterion_main!(vs_qemu);
