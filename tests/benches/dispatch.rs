//! Dispatching `{"execute":"guest-ping"}` from request bytes to reply
//! bytes through a QGA session (issue: under 2 µs).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use qapi_runtime::json::Limits;
use qapi_runtime::policy::{CompatPolicy, Policy};
use qapi_runtime::session::{Protocol, Session};

fn dispatch(c: &mut Criterion) {
    let dispatcher = qapi_tests::agent(Policy::default(), CompatPolicy::default());
    let mut session = Session::new(dispatcher, Protocol::Qga, Limits::default());
    let mut out = Vec::with_capacity(64);
    c.bench_function("guest-ping bytes to reply bytes", |b| {
        b.iter(|| {
            out.clear();
            session.feed_blocking(black_box(br#"{"execute":"guest-ping"}"#), &mut out);
            assert_eq!(out, b"{\"return\": {}}\n");
        })
    });
    c.bench_function("guest-sync with id", |b| {
        b.iter(|| {
            out.clear();
            session.feed_blocking(
                black_box(br#"{"execute":"guest-sync","arguments":{"id":12345},"id":7}"#),
                &mut out,
            );
        })
    });
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
