//! qga-agent against qemu-ga 10.0.13 where an agent runs: inside a guest
//! (Debian's kernel and busybox under TCG, see
//! `qapi_test_support::guest`), reached over virtio-serial.  `guest-ping`
//! round trips one at a time, then each agent's resident memory in the
//! guest (printed; criterion does not measure memory).  Needs
//! `qemu-system-x86_64`, Debian's package tools and `QAPI_CORPUS`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::Duration;

use common::port::Port;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qapi_test_support::guest::{Boot, ImageBuilder, Packages};

const OURS: &str = "/usr/sbin/qga-agent";
const QEMU_GA: &str = "/usr/bin/qemu-ga";

fn in_guest(c: &mut Criterion) {
    let Ok(qemu_ga) = qapi_test_support::corpus_file("peers/qemu-ga-10.0.13") else {
        eprintln!("skipped: QAPI_CORPUS is not set (qemu-ga 10.0.13 is compared with)");
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-cache");
    let image = (|| {
        let packages = Packages::fetch(&cache)?;
        let mut image = ImageBuilder::new(&packages)?;
        image.program(&common::qga_agent(), OURS)?;
        image.program(&qemu_ga, QEMU_GA)?;
        image.write(dir.path())
    })();
    let image = match image {
        Ok(image) => image,
        Err(e) => {
            eprintln!("skipped: cannot build the guest: {e}");
            return;
        }
    };
    let mut group = c.benchmark_group("guest-ping round trip over virtio-serial");
    group.throughput(Throughput::Elements(1));
    let mut memory = Vec::new();
    for (name, agent, process) in [
        ("qga-agent", OURS, "qga-agent"),
        ("qemu-ga 10.0.13", QEMU_GA, "qemu-ga"),
    ] {
        let vm_dir = dir.path().join(process);
        std::fs::create_dir_all(&vm_dir).expect("a directory per guest");
        let _vm = Boot::new(&image, agent)
            .start(&vm_dir)
            .expect("the guest boots");
        let mut port = Port::open(&_vm.socket);
        port.sync(Duration::from_secs(60));
        group.bench_function(name, |b| {
            b.iter(|| port.call_ok(r#"{"execute":"guest-ping"}"#))
        });
        let script = format!("grep VmRSS /proc/$(pidof {process})/status");
        let (_, rss) = port.exec(&["/bin/sh", "-c", &script]);
        memory.push(format!(
            "resident memory in the guest: {name} {}",
            rss.trim()
        ));
    }
    group.finish();
    for line in memory {
        println!("{line}");
    }
}

criterion_group!(benches, in_guest);
criterion_main!(benches);
