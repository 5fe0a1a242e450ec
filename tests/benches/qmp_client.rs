//! Our async QMP client against python's `qemu.qmp` (from PyPI), side by
//! side in one run, on the same peer: `query-status` round trips per
//! second, one call after the other and 100 in flight at once, against a
//! QMP server of ours (generated from QEMU 7.2's schema) and against QEMU
//! 7.2 itself (whose monitor takes about 250 µs a call, so that both
//! clients mostly wait for it).  Prints both rates and the ratio (goal: at
//! least 10x), then criterion's measurement of our client.  Needs
//! `QAPI_CORPUS` when built, `pip install qemu.qmp` and, for the QEMU
//! half, `qemu-system-x86_64`; says what it skips.

use criterion::{criterion_group, criterion_main, Criterion};

#[cfg(qemu_schemas)]
mod qmp {
    #![allow(dead_code)]
    include!(concat!(env!("OUT_DIR"), "/qmp_7_2.rs"));
}

/// Calls in the side-by-side run.
#[cfg(qemu_schemas)]
const CALLS: usize = 3000;

/// Rates of both clients against the QMP server at `socket`, printed as
/// `peer`; then criterion's measurement of ours.
#[cfg(qemu_schemas)]
fn side_by_side(c: &mut Criterion, peer: &str, socket: &std::path::Path, python: &std::path::Path) {
    use std::time::Instant;

    use qapi_runtime::client::Client;

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python/qmp_rate.py");
    // QEMU's monitor serves one client at a time: python first, then us.
    let python_rate = |mode: &str| -> f64 {
        let out = std::process::Command::new(python)
            .arg(script)
            .arg(socket)
            .arg(CALLS.to_string())
            .arg(mode)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a rate")
    };
    let python_serial = python_rate("serial");
    let python_concurrent = python_rate("concurrent");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = std::sync::Arc::new(rt.block_on(Client::connect_qmp(socket)).expect("connect"));
    let status = || client.execute(qmp::commands::QueryStatus {});
    let serial = || {
        rt.block_on(async {
            for _ in 0..CALLS {
                status().await.expect("query-status");
            }
        })
    };
    let concurrent = || {
        rt.block_on(async {
            for _ in 0..CALLS / 100 {
                let mut calls = tokio::task::JoinSet::new();
                for _ in 0..100 {
                    let client = std::sync::Arc::clone(&client);
                    calls.spawn(async move { client.execute(qmp::commands::QueryStatus {}).await });
                }
                while let Some(done) = calls.join_next().await {
                    done.expect("a call").expect("query-status");
                }
            }
        })
    };
    let rate = |run: &dyn Fn()| {
        run();
        let started = Instant::now();
        run();
        CALLS as f64 / started.elapsed().as_secs_f64()
    };
    let ours_serial = rate(&serial);
    let ours_concurrent = rate(&concurrent);
    println!(
        "{peer}: query-status round trips/s, one at a time: ours {ours_serial:.0}, qemu.qmp {python_serial:.0} ({:.1}x)",
        ours_serial / python_serial
    );
    println!(
        "{peer}: query-status round trips/s, 100 in flight: ours {ours_concurrent:.0}, qemu.qmp {python_concurrent:.0} ({:.1}x)",
        ours_concurrent / python_concurrent
    );
    let mut group = c.benchmark_group(format!("query-status against {peer}"));
    group.throughput(criterion::Throughput::Elements(1));
    group.bench_function("our async client, one at a time", |b| {
        b.iter(|| rt.block_on(status()).expect("query-status"))
    });
    group.finish();
}

#[cfg(qemu_schemas)]
fn versus_python(c: &mut Criterion) {
    let python = match qapi_test_support::python_module("qemu.qmp", "pip install qemu.qmp") {
        Ok(python) => python,
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (_server, socket) = qapi_tests::qmp72_server::serve(dir.path());
    side_by_side(c, "our QMP server", &socket, &python);
    match qapi_tests::Qemu::program() {
        Ok(program) => {
            let qemu = qapi_tests::Qemu::start(&program, &["-S"]).expect("start QEMU");
            side_by_side(c, "QEMU 7.2", &qemu.socket, &python);
        }
        Err(e) => println!("skipped against QEMU: {e}"),
    }
}

#[cfg(not(qemu_schemas))]
fn versus_python(_: &mut Criterion) {
    println!("skipped: QAPI_CORPUS was not set when the benchmarks were built");
}

criterion_group!(benches, versus_python);
criterion_main!(benches);
