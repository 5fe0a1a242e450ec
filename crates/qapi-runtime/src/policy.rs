//! Command policy: which commands a deployment lets run, and why not.
//!
//! A deployment chooses feature *groups* rather than command names (the
//! features a schema declares with the `command-features` pragma): a
//! command added in a later release carries the groups it belongs to, so a
//! rule that admits only one group keeps refusing it until someone tags
//! it.  A [`Policy`] holds two name lists and a list of [`Rule`]s; for a
//! command C, in order:
//!
//! 1. C's name is in the block list: disabled.
//! 2. C's name is in the allow list: enabled (a name beats a group).
//! 3. The allow list is not empty: disabled (an allow list denies the rest).
//! 4. Each rule in turn: a [`RuleKind::Require`] rule disables C unless C
//!    carries one of its groups (default deny, as qemu-ga's
//!    `--confidential`); a [`RuleKind::Deny`] rule disables C if C carries
//!    one of its groups (as `--no-unrestricted`).  The first rule that
//!    disables C is the reason.
//! 5. Otherwise enabled.
//!
//! [`decide`] is that function; it is pure, and the lists are matched
//! against command names once, when a policy is applied to a command
//! table.  A [`Gate`] adds a rule that depends on the moment: while its
//! state is on, only commands carrying one of its groups run (as
//! `fs-frozen` while file systems are frozen).
//!
//! Every refusal says which rule refused, in the words the program gave
//! the rule.  [`qga`] is qemu-ga's vocabulary (`-b`, `-a`, `-i`, `-u`,
//! `-e` and the frozen state) built from these parts.
//!
//! ```
//! use qapi_runtime::policy::{Policy, Rule};
//! use qapi_runtime::FeatureSet;
//!
//! // Feature numbers come from the generated `Feature` enum
//! // (`Feature::Debug.set()`); here, by hand.
//! let debug = FeatureSet::from_bits(1 << 2);
//! let policy = Policy::default().rule(Rule::deny(debug, "debugging commands are off"));
//! ```

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::{CommandInfo, FeatureSet};

/// What a rule does with the groups it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// Only commands carrying one of the groups run.
    Require,
    /// Commands carrying one of the groups do not run.
    Deny,
}

/// A rule over feature groups, with the words a refusal by it gives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Require or deny.
    pub kind: RuleKind,
    /// The groups.
    pub groups: FeatureSet,
    /// Why a command this rule refuses is refused, e.g. `blocked by
    /// --no-debug`.
    pub reason: Cow<'static, str>,
}

impl Rule {
    /// Only commands carrying one of `groups` run (an empty set refuses
    /// every command).
    pub fn require(groups: impl Into<FeatureSet>, reason: impl Into<Cow<'static, str>>) -> Rule {
        Rule {
            kind: RuleKind::Require,
            groups: groups.into(),
            reason: reason.into(),
        }
    }

    /// Commands carrying one of `groups` do not run.
    pub fn deny(groups: impl Into<FeatureSet>, reason: impl Into<Cow<'static, str>>) -> Rule {
        Rule {
            kind: RuleKind::Deny,
            groups: groups.into(),
            reason: reason.into(),
        }
    }

    /// Whether this rule lets a command with `features` run.
    #[inline]
    pub fn admits(&self, features: FeatureSet) -> bool {
        match self.kind {
            RuleKind::Require => features.intersects(self.groups),
            RuleKind::Deny => !features.intersects(self.groups),
        }
    }
}

/// What a deployment chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Command names that never run.
    pub block: BTreeSet<String>,
    /// If not empty, only these names run.
    pub allow: BTreeSet<String>,
    /// The rules over groups, in order.
    pub rules: Vec<Rule>,
    /// Why a command of the block list is refused.
    pub blocked_reason: Cow<'static, str>,
    /// Why a command missing from the allow list is refused.
    pub not_allowed_reason: Cow<'static, str>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            block: BTreeSet::new(),
            allow: BTreeSet::new(),
            rules: Vec::new(),
            blocked_reason: Cow::Borrowed("named in the block list"),
            not_allowed_reason: Cow::Borrowed("not in the allow list"),
        }
    }
}

/// Why a command is disabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Named in the block list.
    BlockList,
    /// An allow list is in force and does not name it.
    NotInAllowList,
    /// The policy's rule of this number refuses it.
    Rule(usize),
    /// The gate of this number is closed and the command lacks its groups
    /// (set by the dispatcher; [`decide`] never returns it).
    Gate(usize),
    /// No handler is registered for the command (set by the dispatcher).
    NotImplemented,
}

/// A command's place in the name lists, found once per command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Listed {
    /// Named in the block list.
    pub blocked: bool,
    /// Named in the allow list.
    pub allowed: bool,
}

/// Decides one command's fate: `Ok` if enabled, or why not.
#[inline]
pub fn decide(
    features: FeatureSet,
    listed: Listed,
    allow_list: bool,
    rules: &[Rule],
) -> Result<(), Reason> {
    if listed.blocked {
        return Err(Reason::BlockList);
    }
    if listed.allowed {
        return Ok(());
    }
    if allow_list {
        return Err(Reason::NotInAllowList);
    }
    match rules.iter().position(|r| !r.admits(features)) {
        Some(i) => Err(Reason::Rule(i)),
        None => Ok(()),
    }
}

impl Policy {
    /// Adds `rule` after the others.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Blocks `names`.
    pub fn block<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.block.extend(names.into_iter().map(Into::into));
        self
    }

    /// Allows only `names` (and what others allow by name).
    pub fn allow<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.allow.extend(names.into_iter().map(Into::into));
        self
    }

    /// Where `name` stands in the lists.
    pub fn listed(&self, name: &str) -> Listed {
        Listed {
            blocked: self.block.contains(name),
            allowed: self.allow.contains(name),
        }
    }

    /// The fate of a command with `features` named `name`.
    pub fn decide(&self, name: &str, features: FeatureSet) -> Result<(), Reason> {
        decide(
            features,
            self.listed(name),
            !self.allow.is_empty(),
            &self.rules,
        )
    }

    /// Names in the lists that are not commands of `table`: worth a
    /// warning, since a misspelt name silently blocks or allows nothing.
    pub fn unknown_names<'p>(&'p self, table: &[&CommandInfo]) -> Vec<&'p str> {
        self.block
            .iter()
            .chain(&self.allow)
            .filter(|n| !table.iter().any(|c| c.name == n.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// The fate of every command of `table`, in order.
    pub fn apply(&self, table: &[&CommandInfo]) -> Vec<Result<(), Reason>> {
        table
            .iter()
            .map(|c| self.decide(c.name, c.features))
            .collect()
    }

    /// The words for `reason` (a gate's are the gate's).
    pub fn explain<'a>(&'a self, reason: Reason, gates: &'a [Gate]) -> &'a str {
        match reason {
            Reason::BlockList => &self.blocked_reason,
            Reason::NotInAllowList => &self.not_allowed_reason,
            Reason::Rule(i) => self.rules.get(i).map_or("refused by a rule", |r| &r.reason),
            Reason::Gate(i) => gates.get(i).map_or("refused by a gate", |g| &g.reason),
            Reason::NotImplemented => "not implemented by this server",
        }
    }
}

/// A state of the program that narrows what runs while it holds (shared
/// between the dispatcher and the handlers that enter and leave it).
#[derive(Clone, Debug, Default)]
pub struct GateState(Arc<AtomicBool>);

impl GateState {
    /// Whether the state holds (the gate is closed).
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Enters (`true`) or leaves the state.
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::SeqCst);
    }
}

/// While its state holds, only commands carrying one of `groups` run.
#[derive(Clone, Debug)]
pub struct Gate {
    /// The groups that may run while the state holds.
    pub groups: FeatureSet,
    /// Why a command is refused then.
    pub reason: Cow<'static, str>,
    /// The state.
    pub state: GateState,
}

impl Gate {
    /// A gate letting only `groups` through while `state` holds.
    pub fn new(
        groups: impl Into<FeatureSet>,
        reason: impl Into<Cow<'static, str>>,
        state: GateState,
    ) -> Gate {
        Gate {
            groups: groups.into(),
            reason: reason.into(),
            state,
        }
    }

    /// Whether a command with `features` runs now.
    #[inline]
    pub fn admits(&self, features: FeatureSet) -> bool {
        !self.state.get() || features.intersects(self.groups)
    }
}

/// The features named `name` among a schema's features (given in QEMU's
/// numbering, as the generated `Feature::NAMES`); empty if none is.
pub fn group_named<'a>(features: impl IntoIterator<Item = &'a str>, name: &str) -> FeatureSet {
    features
        .into_iter()
        .position(|f| f == name)
        .and_then(|i| u32::try_from(i).ok())
        .filter(|&i| i < 64)
        .map_or(FeatureSet::EMPTY, |i| FeatureSet::from_bits(1 << i))
}

/// qemu-ga's vocabulary as rules: its name lists (`-b`, `-a`), the groups
/// `confidential`, `unrestricted` and `user-auth` behind `-i`, `-u` and
/// `-e`, and the frozen state that only `fs-frozen` commands pass.
pub mod qga {
    use super::{group_named, Gate, GateState, Policy, Rule};
    use std::collections::BTreeSet;

    /// The switches of a qemu-ga-like command line.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Flags {
        /// `-b/--block-rpcs`.
        pub block: BTreeSet<String>,
        /// `-a/--allow-rpcs`.
        pub allow: BTreeSet<String>,
        /// `-i/--confidential`: only commands tagged `confidential` run.
        pub confidential: bool,
        /// `-u/--no-unrestricted`: commands tagged `unrestricted` do not.
        pub no_unrestricted: bool,
        /// `-e/--no-user-auth`: commands tagged `user-auth` do not.
        pub no_user_auth: bool,
    }

    impl Flags {
        /// The policy these flags mean for a schema with `features` (in
        /// QEMU's numbering).  Under `-i`, a schema without
        /// `confidential` refuses every command.
        pub fn policy<'a>(&self, features: impl IntoIterator<Item = &'a str> + Clone) -> Policy {
            let group = |name| group_named(features.clone(), name);
            let mut policy = Policy {
                block: self.block.clone(),
                allow: self.allow.clone(),
                blocked_reason: "blocked by --block-rpcs".into(),
                not_allowed_reason: "not in --allow-rpcs".into(),
                ..Policy::default()
            };
            if self.confidential {
                policy = policy.rule(Rule::require(
                    group("confidential"),
                    "blocked by --confidential (no feature 'confidential')",
                ));
            }
            if self.no_unrestricted {
                policy = policy.rule(Rule::deny(
                    group("unrestricted"),
                    "blocked by --no-unrestricted (feature 'unrestricted')",
                ));
            }
            if self.no_user_auth {
                policy = policy.rule(Rule::deny(
                    group("user-auth"),
                    "blocked by --no-user-auth (feature 'user-auth')",
                ));
            }
            policy
        }
    }

    /// The frozen state's gate for a schema with `features`: only
    /// `fs-frozen` commands run while `state` holds (none, in a schema
    /// without the group).
    pub fn frozen_gate<'a>(features: impl IntoIterator<Item = &'a str>, state: GateState) -> Gate {
        Gate::new(
            group_named(features, "fs-frozen"),
            "not allowed while file systems are frozen (no feature 'fs-frozen')",
            state,
        )
    }
}

/// What to do with input that uses a `deprecated` or `unstable` command,
/// as QEMU's `-compat deprecated-input=...,unstable-input=...`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InputPolicy {
    /// Run it (QEMU's default).
    #[default]
    Accept,
    /// Refuse it with `CommandNotFound`.
    Reject,
}

/// QEMU's compatibility policy for input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatPolicy {
    /// For commands with the `deprecated` feature.
    pub deprecated_input: InputPolicy,
    /// For commands with the `unstable` feature.
    pub unstable_input: InputPolicy,
}

impl CompatPolicy {
    /// QEMU's refusal text for command `name` with `features`, if the
    /// policy refuses it (`deprecated` is feature 0, `unstable` 1).
    pub fn refusal(&self, name: &str, features: FeatureSet) -> Option<String> {
        if self.deprecated_input == InputPolicy::Reject && features.contains(0) {
            return Some(format!("Deprecated command {name} disabled by policy"));
        }
        if self.unstable_input == InputPolicy::Reject && features.contains(1) {
            return Some(format!("Unstable command {name} disabled by policy"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEATURES: [&str; 6] = [
        "deprecated",
        "unstable",
        "fs-frozen",
        "confidential",
        "unrestricted",
        "user-auth",
    ];
    const CONF: u32 = 3;
    const FROZEN: u32 = 2;
    const UNRES: u32 = 4;

    fn command(name: &'static str, features: FeatureSet) -> CommandInfo {
        CommandInfo::new(name, features)
    }

    fn set(bits: &[u32]) -> FeatureSet {
        bits.iter().map(|b| FeatureSet::from_bits(1 << b)).collect()
    }

    #[test]
    fn groups_are_found_by_name() {
        assert_eq!(group_named(FEATURES, "confidential"), set(&[CONF]));
        assert_eq!(group_named(FEATURES, "migration"), FeatureSet::EMPTY);
    }

    #[test]
    fn untagged_commands_are_refused_under_confidential() {
        let flags = qga::Flags {
            confidential: true,
            ..qga::Flags::default()
        };
        let p = flags.policy(FEATURES);
        let new_cmd = command("guest-new-in-next-release", FeatureSet::EMPTY);
        let tagged = command("guest-ping", set(&[CONF]));
        assert_eq!(
            p.apply(&[&new_cmd, &tagged]),
            [Err(Reason::Rule(0)), Ok(())]
        );
        assert_eq!(
            p.explain(Reason::Rule(0), &[]),
            "blocked by --confidential (no feature 'confidential')"
        );
        // A schema without the group refuses everything under -i.
        assert_eq!(
            flags.policy(["deprecated", "unstable"]).apply(&[&tagged]),
            [Err(Reason::Rule(0))]
        );
    }

    #[test]
    fn names_beat_groups_and_lists_are_checked() {
        let p = qga::Flags {
            no_unrestricted: true,
            ..qga::Flags::default()
        }
        .policy(FEATURES)
        .allow(["guest-exec"])
        .block(["guest-exce"]);
        let exec = command("guest-exec", set(&[UNRES]));
        assert_eq!(p.apply(&[&exec]), [Ok(())]);
        assert_eq!(p.unknown_names(&[&exec]), ["guest-exce"]);
        assert_eq!(p.explain(Reason::BlockList, &[]), "blocked by --block-rpcs");
    }

    #[test]
    fn the_first_refusing_rule_is_the_reason() {
        let (a, b) = (FeatureSet::from_bits(1), FeatureSet::from_bits(2));
        let p = Policy::default()
            .rule(Rule::deny(a, "no a"))
            .rule(Rule::require(b, "b only"));
        assert_eq!(p.decide("x", a), Err(Reason::Rule(0)));
        assert_eq!(p.decide("x", a | b), Err(Reason::Rule(0)));
        assert_eq!(p.decide("x", FeatureSet::EMPTY), Err(Reason::Rule(1)));
        assert_eq!(p.decide("x", b), Ok(()));
        assert_eq!(p.explain(Reason::Rule(1), &[]), "b only");
        assert_eq!(
            Policy::default().explain(Reason::NotInAllowList, &[]),
            "not in the allow list"
        );
    }

    #[test]
    fn compat_policy_refuses_as_qemu() {
        let both = FeatureSet::from_bits(0b11);
        assert_eq!(CompatPolicy::default().refusal("x", both), None);
        let reject = CompatPolicy {
            deprecated_input: InputPolicy::Reject,
            unstable_input: InputPolicy::Reject,
        };
        assert_eq!(
            reject.refusal("x", both).as_deref(),
            Some("Deprecated command x disabled by policy")
        );
        assert_eq!(
            reject.refusal("y", FeatureSet::from_bits(0b10)).as_deref(),
            Some("Unstable command y disabled by policy")
        );
        assert_eq!(reject.refusal("z", FeatureSet::from_bits(0b100)), None);
    }

    #[test]
    fn gates_narrow_while_their_state_holds() {
        let state = GateState::default();
        let gate = qga::frozen_gate(FEATURES, state.clone());
        assert!(gate.admits(set(&[CONF])));
        state.set(true);
        assert!(gate.admits(set(&[FROZEN])));
        assert!(!gate.admits(set(&[CONF])));
        // A schema without the group: nothing passes while frozen.
        let bare = qga::frozen_gate(["deprecated"], state);
        assert!(!bare.admits(set(&[FROZEN])));
    }
}
