//! Policy over any vocabulary of groups: over random group names, command
//! sets, tags, rules (require and deny), name lists and gates, the
//! dispatcher runs a handler exactly when a reference model (written over
//! names, not bits) says the command runs, and refuses it with the words
//! of the rule the model names.  qemu-ga's flags are one such vocabulary.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use qapi_runtime::policy::{group_named, qga, Gate, GateState, Policy, Rule};
use qapi_runtime::{CommandInfo, Dispatcher, FeatureSet, SchemaInfo};
use serde_json::{json, Value};

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A schema whose features are `deprecated`, `unstable`, then `groups`;
/// command `cI` carries the groups of `tags[I]`.
fn schema(groups: &[&'static str], tags: &[BTreeSet<usize>]) -> SchemaInfo {
    let features: Vec<&'static str> = ["deprecated", "unstable"]
        .into_iter()
        .chain(groups.iter().copied())
        .collect();
    let commands: Vec<&'static CommandInfo> = tags
        .iter()
        .enumerate()
        .map(|(i, tags)| {
            let bits = tags.iter().fold(0u64, |m, g| m | 1 << (g + 2));
            &*Box::leak(Box::new(CommandInfo::new(
                leak(format!("c{i}")),
                FeatureSet::from_bits(bits),
            )))
        })
        .collect();
    SchemaInfo {
        commands: Box::leak(commands.into_boxed_slice()),
        features: Box::leak(features.into_boxed_slice()),
        events: &[],
        introspection: &qapi_runtime::introspect::Json::Array(&[]),
    }
}

/// A dispatcher whose every command counts its runs.
fn dispatcher(
    schema: SchemaInfo,
    policy: Policy,
    gates: Vec<Gate>,
) -> (Dispatcher<()>, Arc<Vec<AtomicUsize>>) {
    let calls: Arc<Vec<AtomicUsize>> = Arc::new(
        schema
            .commands
            .iter()
            .map(|_| AtomicUsize::new(0))
            .collect(),
    );
    let mut builder = Dispatcher::builder(schema).policy(policy);
    for gate in gates {
        builder = builder.gate(gate);
    }
    for (i, c) in schema.commands.iter().enumerate() {
        let calls = Arc::clone(&calls);
        builder = builder.handle_raw(c.name, move |_, _| {
            calls[i].fetch_add(1, Ordering::SeqCst);
            Ok(json!({}))
        });
    }
    (builder.build(()).unwrap(), calls)
}

/// One rule of the model: its kind, the group names it names, its words.
#[derive(Clone, Debug)]
struct ModelRule {
    deny: bool,
    groups: BTreeSet<String>,
    reason: String,
}

/// Everything random about one case.
#[derive(Clone, Debug)]
struct Case {
    groups: Vec<&'static str>,
    tags: Vec<BTreeSet<usize>>,
    rules: Vec<ModelRule>,
    block: BTreeSet<String>,
    allow: BTreeSet<String>,
    gate: Option<(BTreeSet<String>, bool)>,
}

/// The reference: the rules of the module docs, over names.
fn model(case: &Case, command: usize) -> Result<(), String> {
    let name = format!("c{command}");
    let carried: BTreeSet<String> = case.tags[command]
        .iter()
        .map(|&g| case.groups[g].to_owned())
        .collect();
    if case.block.contains(&name) {
        return Err("named in the block list".into());
    }
    if !case.allow.contains(&name) {
        if !case.allow.is_empty() {
            return Err("not in the allow list".into());
        }
        for rule in &case.rules {
            let shares = !carried.is_disjoint(&rule.groups);
            if shares == rule.deny {
                return Err(rule.reason.clone());
            }
        }
    }
    match &case.gate {
        Some((groups, true)) if carried.is_disjoint(groups) => Err("the gate is closed".into()),
        _ => Ok(()),
    }
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (1..7usize, 1..10usize).prop_flat_map(|(n_groups, n_commands)| {
        let group_set = proptest::collection::btree_set(0..n_groups, 0..=n_groups);
        (
            proptest::collection::vec("[a-z]{1,8}", n_groups),
            proptest::collection::vec(group_set.clone(), n_commands),
            proptest::collection::vec((any::<bool>(), group_set.clone()), 0..4),
            proptest::collection::vec(0..4u8, n_commands),
            proptest::option::of((group_set, any::<bool>())),
        )
            .prop_map(move |(names, tags, rules, lists, gate)| {
                // Distinct names, made of random words.
                let groups: Vec<&'static str> = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| leak(format!("{n}-{i}")))
                    .collect();
                let names_of = |set: &BTreeSet<usize>| -> BTreeSet<String> {
                    set.iter().map(|&g| groups[g].to_owned()).collect()
                };
                let rules = rules
                    .iter()
                    .enumerate()
                    .map(|(i, (deny, set))| ModelRule {
                        deny: *deny,
                        groups: names_of(set),
                        reason: format!("refused by rule {i}"),
                    })
                    .collect();
                let pick = |bit: u8| {
                    lists
                        .iter()
                        .enumerate()
                        .filter(|(i, l)| *l & bit != 0 && (bit == 1 || i % 3 == 0))
                        .map(|(i, _)| format!("c{i}"))
                        .collect()
                };
                Case {
                    block: pick(1),
                    allow: pick(2),
                    gate: gate.map(|(set, on)| (names_of(&set), on)),
                    groups,
                    tags,
                    rules,
                }
            })
    })
}

/// The case as the runtime's types: rules built from the schema's
/// feature names, as a program builds them from its `Feature` values.
fn build(case: &Case, schema: &SchemaInfo) -> (Policy, Vec<Gate>) {
    let set_of = |names: &BTreeSet<String>| -> FeatureSet {
        names
            .iter()
            .map(|n| group_named(schema.features.iter().copied(), n))
            .collect()
    };
    let mut policy = Policy::default()
        .block(case.block.iter().cloned())
        .allow(case.allow.iter().cloned());
    for rule in &case.rules {
        let groups = set_of(&rule.groups);
        policy = policy.rule(if rule.deny {
            Rule::deny(groups, rule.reason.clone())
        } else {
            Rule::require(groups, rule.reason.clone())
        });
    }
    let gates = case
        .gate
        .iter()
        .map(|(names, on)| {
            let state = GateState::default();
            state.set(*on);
            Gate::new(set_of(names), "the gate is closed", state)
        })
        .collect();
    (policy, gates)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn handlers_run_exactly_when_the_model_says(case in case_strategy()) {
        let schema = schema(&case.groups, &case.tags);
        let (policy, gates) = build(&case, &schema);
        let (dispatcher, calls) = dispatcher(schema, policy, gates);
        for (i, c) in schema.commands.iter().enumerate() {
            let expected = model(&case, i);
            let reply = dispatcher
                .dispatch_blocking(json!({"execute": c.name}), false)
                .unwrap();
            let ran = calls[i].load(Ordering::SeqCst) == 1;
            prop_assert_eq!(ran, expected.is_ok(), "{} {}", c.name, reply);
            match &expected {
                Ok(()) => prop_assert_eq!(&reply, &json!({"return": {}})),
                Err(why) => {
                    prop_assert_eq!(&reply["error"]["class"], "CommandNotFound");
                    let desc = format!("Command {} has been disabled: {why}", c.name);
                    prop_assert_eq!(&reply["error"]["desc"], &Value::from(desc));
                }
            }
            let status = dispatcher.command(c.name).unwrap();
            prop_assert_eq!(status.enabled(), expected.is_ok());
        }
    }

    #[test]
    fn a_new_untagged_command_is_refused_under_confidential(
        tags in proptest::collection::vec(proptest::collection::btree_set(0..4usize, 0..4), 0..8),
    ) {
        // The schema of a later release: the same commands plus one without tags.
        let mut tags = tags;
        tags.push(BTreeSet::new());
        let groups = ["fs-frozen", "confidential", "unrestricted", "user-auth"];
        let schema = schema(&groups, &tags);
        let flags = qga::Flags { confidential: true, ..qga::Flags::default() };
        let policy = flags.policy(schema.features.iter().copied());
        let (dispatcher, calls) = dispatcher(schema, policy, Vec::new());
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
