//! qga-agent against qemu-ga on the same machine in the same run, one
//! client over a Unix socket each: `guest-ping` round trips one at a time
//! and 100 pipelined in one write, then each agent's resident memory
//! (printed; criterion does not measure memory).  Issue 7's goal: at
//! least twice qemu-ga's rate, no more memory.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const PING: &[u8] = b"{\"execute\":\"guest-ping\"}";
const PIPELINE: usize = 100;

struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    line: Vec<u8>,
    batch: Vec<u8>,
}

impl Client {
    fn new(agent: &common::Running) -> Client {
        let stream = UnixStream::connect(&agent.socket).expect("agent is listening");
        Client {
            reader: BufReader::new(stream.try_clone().expect("socket clones")),
            writer: stream,
            line: Vec::new(),
            batch: PING.repeat(PIPELINE),
        }
    }

    fn answers(&mut self, n: usize) {
        for _ in 0..n {
            self.line.clear();
            self.reader
                .read_until(b'\n', &mut self.line)
                .expect("a reply");
            assert_eq!(self.line, b"{\"return\": {}}\n");
        }
    }

    fn ping(&mut self) {
        self.writer.write_all(PING).expect("request sent");
        self.answers(1);
    }

    fn pipelined(&mut self) {
        self.writer.write_all(&self.batch).expect("requests sent");
        self.answers(PIPELINE);
    }
}

/// Resident memory of the agent's process, in KiB.
fn rss_kib(socket: &std::path::Path) -> Option<u64> {
    // The process that has the socket open: found through its command line.
    let wanted = socket.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&wanted) {
            let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
            return status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
        }
    }
    None
}

fn versus(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut agents = vec![(
        "qga-agent",
        common::start(&common::qga_agent(), dir.path(), "qga-agent", &[]),
    )];
    if let Some(qemu_ga) = common::qemu_ga() {
        agents.push((
            "qemu-ga",
            common::start(&qemu_ga, dir.path(), "qemu-ga", &[]),
        ));
    }
    let mut group = c.benchmark_group("guest-ping round trip");
    group.throughput(Throughput::Elements(1));
    for (name, agent) in &agents {
        let mut client = Client::new(agent);
        group.bench_function(*name, |b| b.iter(|| client.ping()));
    }
    group.finish();
    let mut group = c.benchmark_group("guest-ping x100 pipelined");
    group.throughput(Throughput::Elements(PIPELINE as u64));
    for (name, agent) in &agents {
        let mut client = Client::new(agent);
        group.bench_function(*name, |b| b.iter(|| client.pipelined()));
    }
    group.finish();
    for (name, agent) in &agents {
        match rss_kib(&agent.socket) {
            Some(kib) => println!("resident memory after the runs: {name} {kib} KiB"),
            None => println!("resident memory: {name} not found"),
        }
    }
}

criterion_group!(benches, versus);
criterion_main!(benches);
