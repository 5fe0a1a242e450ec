//! The policy decision for one command.  Target: under 5 ns.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use qapi_runtime::policy::{decide, qga, Listed};
use qapi_runtime::FeatureSet;

fn benches(c: &mut Criterion) {
    let features = [
        "deprecated",
        "unstable",
        "fs-frozen",
        "confidential",
        "unrestricted",
        "user-auth",
    ];
    let policy = qga::Flags {
        confidential: true,
        no_unrestricted: true,
        no_user_auth: true,
        ..qga::Flags::default()
    }
    .policy(features);
    // guest-ping: fs-frozen + confidential; guest-exec: unrestricted.
    let ping = FeatureSet::from_bits(0b1100);
    let exec = FeatureSet::from_bits(0b1_0000);
    for (name, features) in [("enabled", ping), ("refused", exec)] {
        c.bench_function(&format!("policy decide ({name})"), |b| {
            b.iter(|| {
                decide(
                    black_box(features),
                    black_box(Listed::default()),
                    black_box(false),
                    black_box(&policy.rules),
                )
            })
        });
    }
}

criterion_group!(policy, benches);
criterion_main!(policy);
