//! Dispatching requests from bytes to reply bytes through a QGA session
//! (issue 5: `guest-ping` under 2 µs), with handlers from `#[handlers]`
//! (the test agent) and the same handlers written by hand against
//! `DispatcherBuilder` (issue 6: the macro costs nothing measurable).

use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use qapi_runtime::json::Limits;
use qapi_runtime::policy::{CompatPolicy, Policy};
use qapi_runtime::server::session::{Protocol, Session};
use qapi_runtime::{Dispatcher, Empty};
use qapi_tests::agent::{commands as c, SCHEMA};

const PING: &[u8] = br#"{"execute":"guest-ping"}"#;
const SYNC: &[u8] = br#"{"execute":"guest-sync","arguments":{"id":12345},"id":7}"#;

/// `guest-ping` and `guest-sync` registered with closures, as one would
/// without the macro.
fn hand_written() -> Arc<Dispatcher<()>> {
    let dispatcher = Dispatcher::builder(SCHEMA)
        .handle::<c::GuestPing, _>(|_, _| Ok(Empty {}))
        .handle::<c::GuestSync, _>(|_, args| Ok(args.id))
        .build(())
        .expect("both commands are in the schema");
    Arc::new(dispatcher)
}

fn bench_session<S: Send + Sync + 'static>(
    c: &mut Criterion,
    label: &str,
    dispatcher: Arc<Dispatcher<S>>,
) {
    let mut session = Session::new(dispatcher, Protocol::Qga, Limits::default());
    let mut out = Vec::with_capacity(64);
    c.bench_function(&format!("guest-ping bytes to reply bytes ({label})"), |b| {
        b.iter(|| {
            out.clear();
            session.feed_blocking(black_box(PING), &mut out);
            assert_eq!(out, b"{\"return\": {}}\n");
        })
    });
    c.bench_function(&format!("guest-sync with id ({label})"), |b| {
        b.iter(|| {
            out.clear();
            session.feed_blocking(black_box(SYNC), &mut out);
            assert_eq!(out, b"{\"return\": 12345, \"id\": 7}\n");
        })
    });
}

fn dispatch(c: &mut Criterion) {
    let annotated = qapi_tests::agent(Policy::default(), CompatPolicy::default());
    bench_session(c, "#[handlers]", annotated);
    bench_session(c, "hand-written", hand_written());
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
