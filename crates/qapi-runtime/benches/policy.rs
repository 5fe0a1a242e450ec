//! The policy decision for one command.  Target: under 5 ns.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use qapi_runtime::policy::{decide, Groups, Listed, Policy};
use qapi_runtime::FeatureSet;

fn benches(c: &mut Criterion) {
    let groups = Groups::from_feature_names([
        "deprecated",
        "unstable",
        "fs-frozen",
        "confidential",
        "unrestricted",
        "user-auth",
    ]);
    let policy = Policy {
        confidential: true,
        no_unrestricted: true,
        no_user_auth: true,
        ..Policy::default()
    };
    let flags = policy.flags(&groups);
    // guest-ping: fs-frozen + confidential; guest-exec: unrestricted.
    let ping = FeatureSet::from_bits(0b1100);
    let exec = FeatureSet::from_bits(0b1_0000);
    c.bench_function("policy decide (enabled)", |b| {
        b.iter(|| {
            decide(
                black_box(ping),
                black_box(Listed::default()),
                black_box(&flags),
            )
        })
    });
    c.bench_function("policy decide (refused)", |b| {
        b.iter(|| {
            decide(
                black_box(exec),
                black_box(Listed::default()),
                black_box(&flags),
            )
        })
    });
}

criterion_group!(policy, benches);
criterion_main!(policy);
