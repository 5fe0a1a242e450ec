//! Command policy: which commands a deployment lets run, and why not.
//!
//! A deployment chooses feature groups rather than command names: a
//! command added in a later release carries the groups it belongs to, so
//! `--confidential` (default-deny) keeps blocking it until someone tags it.
//! The rules, in order, for a command C:
//!
//! 1. C's name is in the block list: disabled.
//! 2. C's name is in the allow list: enabled (a name beats a group).
//! 3. The allow list is not empty: disabled (an allow list denies the rest).
//! 4. `--confidential` and C lacks `confidential`: disabled.
//! 5. C carries a denied group (`--no-unrestricted`, `--no-user-auth`):
//!    disabled.
//! 6. Otherwise enabled.
//!
//! [`decide`] is that function.  The lists are matched against command
//! names once, when a [`Policy`] is applied to a command table; deciding is
//! then a few bit tests.

use std::collections::BTreeSet;
use std::fmt;

use crate::{CommandInfo, FeatureSet};

/// The feature numbers of the policy groups in one schema (absent groups
/// are `None`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    /// `fs-frozen`: may run while file systems are frozen.
    pub fs_frozen: Option<u32>,
    /// `confidential`: safe in a confidential VM.
    pub confidential: Option<u32>,
    /// `unrestricted`: unrestricted file access or command execution.
    pub unrestricted: Option<u32>,
    /// `user-auth`: changes user credentials.
    pub user_auth: Option<u32>,
}

impl Groups {
    /// Finds the groups among a schema's features, given in QEMU's
    /// numbering (the generated `Feature::ALL` names, in order).
    pub fn from_feature_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut groups = Groups::default();
        for (i, name) in names.into_iter().enumerate() {
            let slot = match name {
                "fs-frozen" => &mut groups.fs_frozen,
                "confidential" => &mut groups.confidential,
                "unrestricted" => &mut groups.unrestricted,
                "user-auth" => &mut groups.user_auth,
                _ => continue,
            };
            *slot = u32::try_from(i).ok();
        }
        groups
    }
}

/// What a deployment chose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// `-b/--block-rpcs`: command names that never run.
    pub block: BTreeSet<String>,
    /// `-a/--allow-rpcs`: if not empty, only these names run.
    pub allow: BTreeSet<String>,
    /// `-i/--confidential`: only commands tagged `confidential` run.
    pub confidential: bool,
    /// `-u/--no-unrestricted`: commands tagged `unrestricted` do not run.
    pub no_unrestricted: bool,
    /// `-e/--no-user-auth`: commands tagged `user-auth` do not run.
    pub no_user_auth: bool,
}

/// Why a command is disabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Named in the block list.
    BlockList,
    /// An allow list is in force and does not name it.
    NotInAllowList,
    /// `--confidential` is on and the command lacks `confidential`.
    NotConfidential,
    /// `--no-unrestricted` is on and the command carries `unrestricted`.
    Unrestricted,
    /// `--no-user-auth` is on and the command carries `user-auth`.
    UserAuth,
    /// File systems are frozen and the command lacks `fs-frozen`.
    Frozen,
    /// No handler is registered for the command (set by the dispatcher;
    /// [`decide`] never returns it).
    NotImplemented,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::BlockList => "blocked by --block-rpcs",
            Reason::NotInAllowList => "not in --allow-rpcs",
            Reason::NotConfidential => "blocked by --confidential (no feature 'confidential')",
            Reason::Unrestricted => "blocked by --no-unrestricted (feature 'unrestricted')",
            Reason::UserAuth => "blocked by --no-user-auth (feature 'user-auth')",
            Reason::Frozen => "not allowed while file systems are frozen (no feature 'fs-frozen')",
            Reason::NotImplemented => "not implemented by this server",
        })
    }
}

/// A command's place in the name lists, found once per command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Listed {
    /// Named in the block list.
    pub blocked: bool,
    /// Named in the allow list.
    pub allowed: bool,
}

/// The policy reduced to bits: what [`decide`] reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// An allow list is in force.
    pub allow_list: bool,
    /// The `confidential` feature, when `--confidential` is on.
    pub require: FeatureSet,
    /// The groups denied by `--no-unrestricted` and `--no-user-auth`.
    pub deny_unrestricted: FeatureSet,
    /// See [`Flags::deny_unrestricted`].
    pub deny_user_auth: FeatureSet,
}

/// Decides one command's fate: `Ok` if enabled, or why not.
#[inline]
pub fn decide(features: FeatureSet, listed: Listed, flags: &Flags) -> Result<(), Reason> {
    if listed.blocked {
        return Err(Reason::BlockList);
    }
    if listed.allowed {
        return Ok(());
    }
    if flags.allow_list {
        return Err(Reason::NotInAllowList);
    }
    if !features.contains_all(flags.require) {
        return Err(Reason::NotConfidential);
    }
    if features.intersects(flags.deny_unrestricted) {
        return Err(Reason::Unrestricted);
    }
    if features.intersects(flags.deny_user_auth) {
        return Err(Reason::UserAuth);
    }
    Ok(())
}

fn bit(index: Option<u32>) -> FeatureSet {
    index.map_or(FeatureSet::EMPTY, |i| FeatureSet::from_bits(1 << i))
}

impl Policy {
    /// The bits [`decide`] reads, for a schema with these groups.  A
    /// schema without `confidential` has nothing to allow under
    /// `--confidential`: every command is then refused.
    pub fn flags(&self, groups: &Groups) -> Flags {
        let require = match (self.confidential, groups.confidential) {
            (false, _) => FeatureSet::EMPTY,
            (true, Some(i)) => FeatureSet::from_bits(1 << i),
            // No command can carry a feature the schema lacks.
            (true, None) => FeatureSet::from_bits(u64::MAX),
        };
        Flags {
            allow_list: !self.allow.is_empty(),
            require,
            deny_unrestricted: if self.no_unrestricted {
                bit(groups.unrestricted)
            } else {
                FeatureSet::EMPTY
            },
            deny_user_auth: if self.no_user_auth {
                bit(groups.user_auth)
            } else {
                FeatureSet::EMPTY
            },
        }
    }

    /// Where `name` stands in the lists.
    pub fn listed(&self, name: &str) -> Listed {
        Listed {
            blocked: self.block.contains(name),
            allowed: self.allow.contains(name),
        }
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
    pub fn apply(&self, table: &[&CommandInfo], groups: &Groups) -> Vec<Result<(), Reason>> {
        let flags = self.flags(groups);
        table
            .iter()
            .map(|c| decide(c.features, self.listed(c.name), &flags))
            .collect()
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

/// The state gate at dispatch: while file systems are frozen only commands
/// tagged `fs-frozen` run.
#[inline]
pub fn frozen_gate(features: FeatureSet, frozen: bool, groups: &Groups) -> Result<(), Reason> {
    // A schema without `fs-frozen` lets nothing run while frozen.
    let tagged = groups.fs_frozen.is_some_and(|i| features.contains(i));
    if frozen && !tagged {
        return Err(Reason::Frozen);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: u32 = 3;
    const FROZEN: u32 = 2;
    const UNRES: u32 = 4;
    const AUTH: u32 = 5;

    fn groups() -> Groups {
        Groups::from_feature_names([
            "deprecated",
            "unstable",
            "fs-frozen",
            "confidential",
            "unrestricted",
            "user-auth",
        ])
    }

    fn command(name: &'static str, features: FeatureSet) -> CommandInfo {
        CommandInfo {
            name,
            features,
            success_response: true,
            allow_oob: false,
            allow_preconfig: false,
            coroutine: false,
            boxed: false,
            gen: true,
        }
    }

    fn set(bits: &[u32]) -> FeatureSet {
        FeatureSet::from_bits(bits.iter().fold(0, |m, b| m | (1 << b)))
    }

    #[test]
    fn groups_are_found_by_name() {
        assert_eq!(
            groups(),
            Groups {
                fs_frozen: Some(FROZEN),
                confidential: Some(CONF),
                unrestricted: Some(UNRES),
                user_auth: Some(AUTH),
            }
        );
        assert_eq!(
            Groups::from_feature_names(["deprecated"]),
            Groups::default()
        );
    }

    /// The rules, written out again as a table-free reference.
    fn reference(
        features: FeatureSet,
        listed: Listed,
        p: &Policy,
        g: &Groups,
    ) -> Result<(), Reason> {
        let has = |i: Option<u32>| i.is_some_and(|i| features.contains(i));
        if listed.blocked {
            Err(Reason::BlockList)
        } else if listed.allowed {
            Ok(())
        } else if !p.allow.is_empty() {
            Err(Reason::NotInAllowList)
        } else if p.confidential && !has(g.confidential) {
            Err(Reason::NotConfidential)
        } else if p.no_unrestricted && has(g.unrestricted) {
            Err(Reason::Unrestricted)
        } else if p.no_user_auth && has(g.user_auth) {
            Err(Reason::UserAuth)
        } else {
            Ok(())
        }
    }

    /// Every combination of switches, list membership and group tags.
    #[test]
    fn exhaustive_against_the_rules() {
        let g = groups();
        for switches in 0..32u32 {
            let mut p = Policy {
                confidential: switches & 1 != 0,
                no_unrestricted: switches & 2 != 0,
                no_user_auth: switches & 4 != 0,
                ..Policy::default()
            };
            if switches & 8 != 0 {
                p.allow.insert("other".into());
            }
            if switches & 16 != 0 {
                p.block.insert("other-blocked".into());
            }
            let flags = p.flags(&g);
            for tags in 0..16u32 {
                let features = set(&[CONF, FROZEN, UNRES, AUTH]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| tags & (1 << i) != 0)
                    .map(|(_, b)| *b)
                    .collect::<Vec<_>>());
                for (blocked, allowed) in
                    [(false, false), (true, false), (false, true), (true, true)]
                {
                    let listed = Listed { blocked, allowed };
                    assert_eq!(
                        decide(features, listed, &flags),
                        reference(features, listed, &p, &g),
                        "switches {switches:05b} tags {tags:04b} listed {listed:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn untagged_commands_are_refused_under_confidential() {
        let p = Policy {
            confidential: true,
            ..Policy::default()
        };
        let new_cmd = command("guest-new-in-next-release", FeatureSet::EMPTY);
        let tagged = command("guest-ping", set(&[CONF]));
        assert_eq!(
            p.apply(&[&new_cmd, &tagged], &groups()),
            [Err(Reason::NotConfidential), Ok(())]
        );
        // A schema without the group refuses everything under --confidential.
        assert_eq!(
            p.apply(&[&tagged], &Groups::default()),
            [Err(Reason::NotConfidential)]
        );
    }

    #[test]
    fn names_beat_groups_and_lists_are_checked() {
        let mut p = Policy {
            no_unrestricted: true,
            ..Policy::default()
        };
        p.allow.insert("guest-exec".into());
        p.block.insert("guest-exce".into());
        let exec = command("guest-exec", set(&[UNRES]));
        assert_eq!(p.apply(&[&exec], &groups()), [Ok(())]);
        assert_eq!(p.unknown_names(&[&exec]), ["guest-exce"]);
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
    fn frozen_gate() {
        let g = groups();
        assert_eq!(super::frozen_gate(set(&[FROZEN]), true, &g), Ok(()));
        assert_eq!(
            super::frozen_gate(set(&[CONF]), true, &g),
            Err(Reason::Frozen)
        );
        assert_eq!(super::frozen_gate(FeatureSet::EMPTY, false, &g), Ok(()));
        assert_eq!(
            super::frozen_gate(set(&[FROZEN]), true, &Groups::default()),
            Err(Reason::Frozen)
        );
    }

    #[test]
    fn reasons_say_why() {
        assert_eq!(
            format!("Command guest-exec has been disabled: {}", Reason::Unrestricted),
            "Command guest-exec has been disabled: blocked by --no-unrestricted (feature 'unrestricted')"
        );
    }
}
