//! What each condition left as a custom cfg hides: the count of items it
//! guards, for the `Builder`'s warning.

use std::collections::BTreeMap;

use qapi_parser::model::{EntityKind, IfCond};

use super::Gen;

/// The items one condition guards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hidden {
    /// Commands.
    pub commands: usize,
    /// Events.
    pub events: usize,
    /// Types.
    pub types: usize,
    /// Members, enum values and branches.
    pub members: usize,
}

impl std::fmt::Display for Hidden {
    /// `24 commands, 3 types and 5 members` (what is not zero).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            (self.commands, "command"),
            (self.events, "event"),
            (self.types, "type"),
            (self.members, "member"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
        .collect();
        match parts.as_slice() {
            [] => f.write_str("nothing"),
            [one] => f.write_str(one),
            [rest @ .., last] => write!(f, "{} and {last}", rest.join(", ")),
        }
    }
}

fn names(cond: &IfCond, out: &mut Vec<String>) {
    match cond {
        IfCond::Name(n) => out.push(n.clone()),
        IfCond::All(ops) | IfCond::Any(ops) => ops.iter().for_each(|o| names(o, out)),
        IfCond::Not(op) => names(op, out),
    }
}

impl Gen<'_> {
    /// Every condition name the generated code leaves as a custom cfg,
    /// with what it guards among the items generated.
    pub fn unmapped_conditions(&self) -> BTreeMap<String, Hidden> {
        let mut report: BTreeMap<String, Hidden> = BTreeMap::new();
        let mut count = |cond: &Option<IfCond>, bump: fn(&mut Hidden)| {
            let Some(cond) = cond else { return };
            let mut found = Vec::new();
            names(cond, &mut found);
            found.sort();
            found.dedup();
            for n in found.into_iter().filter(|n| self.cfg.is_unmapped(n)) {
                bump(report.entry(n).or_default());
            }
        };
        for &id in &self.commands {
            count(&self.entity(id).ifcond, |h| h.commands += 1);
        }
        for &id in &self.events {
            count(&self.entity(id).ifcond, |h| h.events += 1);
        }
        // Arguments and event data written inline, whose types are not
        // generated on their own.
        let inline_args = self.commands.iter().chain(&self.events).filter_map(|&id| {
            let arg = match &self.entity(id).kind {
                EntityKind::Command(c) => c.arg_type,
                EntityKind::Event(e) => e.arg_type,
                _ => None,
            }?;
            self.entity(arg).is_implicit().then_some(arg)
        });
        for arg in inline_args {
            for m in self.schema.members(arg) {
                count(&m.ifcond, |h| h.members += 1);
            }
        }
        for &id in &self.types {
            let e = self.entity(id);
            count(&e.ifcond, |h| h.types += 1);
            let member_conds: Vec<&Option<IfCond>> = match &e.kind {
                EntityKind::Enum(en) => en.values.iter().map(|v| &v.ifcond).collect(),
                EntityKind::Object(o) => o
                    .local_members
                    .iter()
                    .map(|m| &m.ifcond)
                    .chain(
                        o.union
                            .iter()
                            .flat_map(|u| u.branches.iter().map(|b| &b.ifcond)),
                    )
                    .collect(),
                EntityKind::Alternate(a) => a.branches.iter().map(|b| &b.ifcond).collect(),
                _ => Vec::new(),
            };
            for cond in member_conds {
                count(cond, |h| h.members += 1);
            }
        }
        report
    }
}
