//! The dispatcher runs a handler if and only if the policy function
//! enables the command, over random command sets, feature tags, policies
//! and frozen states.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use qapi_runtime::policy::{decide, frozen_gate, Groups, Policy};
use qapi_runtime::server::dispatch::FrozenState;
use qapi_runtime::{CommandInfo, Dispatcher, FeatureSet, SchemaInfo};
use serde_json::{json, Value};

/// Features in QEMU's numbering: the four groups after the two specials.
const FEATURES: &[&str] = &[
    "deprecated",
    "unstable",
    "fs-frozen",
    "confidential",
    "unrestricted",
    "user-auth",
];

fn info(name: &'static str, features: u64) -> &'static CommandInfo {
    Box::leak(Box::new(CommandInfo {
        name,
        features: FeatureSet::from_bits(features),
        success_response: true,
        allow_oob: false,
        allow_preconfig: false,
        coroutine: false,
        boxed: false,
        gen: true,
    }))
}

/// A schema of `tags.len()` commands `c0`, `c1`, ... with these feature
/// bits (over the four groups).
fn schema(tags: &[u64]) -> SchemaInfo {
    let commands: Vec<&'static CommandInfo> = tags
        .iter()
        .enumerate()
        .map(|(i, &bits)| info(Box::leak(format!("c{i}").into_boxed_str()), bits << 2))
        .collect();
    SchemaInfo {
        commands: Box::leak(commands.into_boxed_slice()),
        features: FEATURES,
        events: &[],
        introspection: &qapi_runtime::introspect::Json::Array(&[]),
    }
}

fn dispatcher(
    schema: SchemaInfo,
    policy: Policy,
    frozen: FrozenState,
) -> (Dispatcher<()>, Arc<Vec<AtomicUsize>>) {
    let calls: Arc<Vec<AtomicUsize>> = Arc::new(
        schema
            .commands
            .iter()
            .map(|_| AtomicUsize::new(0))
            .collect(),
    );
    let mut builder = Dispatcher::builder(schema)
        .policy(policy)
        .frozen_state(frozen);
    for (i, c) in schema.commands.iter().enumerate() {
        let calls = Arc::clone(&calls);
        builder = builder.handle_raw(c.name, move |_, _| {
            calls[i].fetch_add(1, Ordering::SeqCst);
            Ok(json!({}))
        });
    }
    (builder.build(()).unwrap(), calls)
}

fn policy_strategy(n: usize) -> impl Strategy<Value = Policy> {
    (
        proptest::collection::vec(0..4u8, n),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            move |(lists, confidential, no_unrestricted, no_user_auth)| {
                let mut policy = Policy {
                    confidential,
                    no_unrestricted,
                    no_user_auth,
                    ..Policy::default()
                };
                for (i, l) in lists.iter().enumerate() {
                    if l & 1 != 0 {
                        policy.block.insert(format!("c{i}"));
                    }
                    if l & 2 != 0 && i % 3 == 0 {
                        policy.allow.insert(format!("c{i}"));
                    }
                }
                policy
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn handlers_run_exactly_when_the_policy_enables_them(
        (tags, policy) in proptest::collection::vec(0..16u64, 1..12)
            .prop_flat_map(|tags| { let n = tags.len(); (Just(tags), policy_strategy(n)) }),
        frozen in any::<bool>(),
    ) {
        let schema = schema(&tags);
        let state = FrozenState::default();
        state.set(frozen);
        let (dispatcher, calls) = dispatcher(schema, policy.clone(), state);
        let groups = Groups::from_feature_names(FEATURES.iter().copied());
        let flags = policy.flags(&groups);
        for (i, c) in schema.commands.iter().enumerate() {
            let expected = decide(c.features, policy.listed(c.name), &flags)
                .and_then(|()| frozen_gate(c.features, frozen, &groups));
            let reply = dispatcher
                .dispatch_blocking(json!({"execute": c.name}), false)
                .unwrap();
            let ran = calls[i].load(Ordering::SeqCst) == 1;
            prop_assert_eq!(ran, expected.is_ok(), "{} {:?}", c.name, reply);
            match expected {
                Ok(()) => prop_assert_eq!(&reply, &json!({"return": {}})),
                Err(reason) => {
                    prop_assert_eq!(&reply["error"]["class"], "CommandNotFound");
                    let desc = format!("Command {} has been disabled: {reason}", c.name);
                    prop_assert_eq!(&reply["error"]["desc"], &Value::from(desc));
                }
            }
            let listed = dispatcher.command(c.name).unwrap();
            prop_assert_eq!(listed.disabled, expected.err());
        }
    }

    #[test]
    fn a_new_untagged_command_is_refused_under_confidential(
        tags in proptest::collection::vec(0..16u64, 0..8),
    ) {
        // The schema of a later release: the same commands plus one without tags.
        let mut tags = tags;
        tags.push(0);
        let schema = schema(&tags);
        let policy = Policy { confidential: true, ..Policy::default() };
        let (dispatcher, calls) = dispatcher(schema, policy, FrozenState::default());
        let new = schema.commands.last().unwrap();
        let reply = dispatcher.dispatch_blocking(json!({"execute": new.name}), false).unwrap();
        prop_assert_eq!(
            &reply["error"]["desc"],
            &Value::from(format!(
                "Command {} has been disabled: blocked by --confidential (no feature 'confidential')",
                new.name
            ))
        );
        prop_assert_eq!(calls.last().unwrap().load(Ordering::SeqCst), 0);
    }
}
