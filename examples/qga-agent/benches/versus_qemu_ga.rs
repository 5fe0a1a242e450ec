//! qga-agent against qemu-ga (Debian's 7.2 and, with `QAPI_CORPUS`, the
//! corpus's 10.0.13) on the same machine in the same run, over Unix
//! sockets: `guest-ping` round trips one at a time, 100 pipelined in one
//! write, and 500 clients at once (each connects, pings and leaves); then
//! each agent's resident memory and what an idle connection costs ours
//! (printed; criterion does not measure memory).

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

/// Clients at once in the concurrent run.
const CLIENTS: usize = 500;

/// `CLIENTS` clients at once, each connecting, pinging once and leaving;
/// a connection refused for a full backlog is tried again.
async fn many_clients(socket: &std::path::Path) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let socket = socket.to_path_buf();
        clients.spawn(async move {
            let stream = loop {
                match tokio::net::UnixStream::connect(&socket).await {
                    Ok(s) => break s,
                    Err(_) => tokio::time::sleep(std::time::Duration::from_micros(200)).await,
                }
            };
            let (reader, mut writer) = stream.into_split();
            writer.write_all(PING).await.expect("request sent");
            let mut line = String::new();
            tokio::io::BufReader::new(reader)
                .read_line(&mut line)
                .await
                .expect("a reply");
            assert_eq!(line, "{\"return\": {}}\n");
        });
    }
    while let Some(done) = clients.join_next().await {
        done.expect("a client finished");
    }
}

/// What each idle connection costs our agent, in bytes: resident memory
/// with `n` idle connections open, less before, over `n`.
fn idle_connection_cost(agent: &common::Running, n: usize) -> u64 {
    let mut probe = Client::new(agent);
    probe.ping();
    let before = agent.rss_kib();
    let idle: Vec<UnixStream> = (0..n)
        .map(|_| UnixStream::connect(&agent.socket).expect("agent is listening"))
        .collect();
    // Every connection accepted and served: a ping behind them answers.
    probe.ping();
    std::thread::sleep(std::time::Duration::from_millis(200));
    probe.ping();
    let after = agent.rss_kib();
    drop(idle);
    (after.saturating_sub(before) * 1024) / n as u64
}

fn versus(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut agents = vec![(
        "qga-agent",
        common::start(
            &common::qga_agent(),
            dir.path(),
            "qga-agent",
            &["--max-connections", "1000"],
        ),
    )];
    if let Some(qemu_ga) = common::qemu_ga() {
        agents.push((
            "qemu-ga 7.2",
            common::start(&qemu_ga, dir.path(), "qemu-ga-7.2", &[]),
        ));
    }
    if let Ok(qemu_ga) = qapi_test_support::corpus_file("peers/qemu-ga-10.0.13") {
        agents.push((
            "qemu-ga 10.0.13",
            common::start(&qemu_ga, dir.path(), "qemu-ga-10.0.13", &[]),
        ));
    }
    // Memory is read once the agents have settled: the clients' last
    // connections closed and seen closed.
    let report = |when: &str| {
        std::thread::sleep(std::time::Duration::from_millis(300));
        for (name, agent) in &agents {
            println!("resident memory {when}: {name} {} KiB", agent.rss_kib());
        }
    };
    report("at the start");
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
    report("after one client's runs");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut group = c.benchmark_group("500 clients at once, one ping each");
    group.throughput(Throughput::Elements(CLIENTS as u64));
    group.sample_size(20);
    for (name, agent) in &agents {
        group.bench_function(*name, |b| {
            b.iter(|| runtime.block_on(many_clients(&agent.socket)))
        });
    }
    group.finish();
    report("after the runs of 500 clients");
    println!(
        "idle connection: qga-agent {} bytes each (900 open)",
        idle_connection_cost(&agents[0].1, 900)
    );
}

criterion_group!(benches, versus);
criterion_main!(benches);
