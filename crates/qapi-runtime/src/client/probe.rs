//! What a peer supports, from its `query-qmp-schema`.

use std::collections::HashMap;

use serde_json::Value;

use super::error::ClientError;
use crate::{Command, Event};

/// What a peer supports, from its `query-qmp-schema`: the questions a
/// management tool asks before using a command, an argument, an enum
/// value, a union branch or a feature.
///
/// Type names in introspection are masked (numbers), so types are reached
/// from commands and events, as libvirt reaches them.  Two forms:
///
/// - typed, from the generated code:
///   `caps.command::<commands::BlockdevAdd>().arg_type().variant("file").member("aio").has_value(BlockdevAioOptions::IoUring)`;
/// - libvirt's query strings: `caps.query("blockdev-add/arg-type/+file/aio/^io_uring")`.
///   After the command or event name, each part is `arg-type` or
///   `ret-type`; `name` (a member; arrays and alternates are looked
///   through); `*name` (a member that must be optional); `+case` (a union
///   branch); and last, `^value` (an enum value) or `$feature` (a feature
///   of what was reached).
#[derive(Clone, Debug, Default)]
pub struct Capabilities {
    entries: HashMap<String, Value>,
}

impl Capabilities {
    /// Indexes the answer to `query-qmp-schema`.
    pub fn new(introspection: Value) -> Result<Self, ClientError> {
        let Value::Array(entries) = introspection else {
            return Err(ClientError::Protocol(
                "query-qmp-schema did not answer with an array".to_owned(),
            ));
        };
        let entries = entries
            .into_iter()
            .filter_map(|e| Some((e.get("name")?.as_str()?.to_owned(), e)))
            .collect();
        Ok(Capabilities { entries })
    }

    fn entry(&self, name: &str) -> Option<&Value> {
        self.entries.get(name)
    }

    fn meta_named(&self, name: &str, meta: &str) -> Option<&Value> {
        self.entry(name)
            .filter(|e| e.get("meta-type").and_then(Value::as_str) == Some(meta))
    }

    /// Whether the peer has the command `name`.
    pub fn has_command(&self, name: &str) -> bool {
        self.meta_named(name, "command").is_some()
    }

    /// Whether the peer has the event `name`.
    pub fn has_event(&self, name: &str) -> bool {
        self.meta_named(name, "event").is_some()
    }

    /// Where a question about command `C` starts.
    pub fn command<C: Command>(&self) -> Probe<'_> {
        self.named(C::NAME, "command")
    }

    /// Where a question about event `E` starts.
    pub fn event<E: Event>(&self) -> Probe<'_> {
        self.named(E::NAME, "event")
    }

    /// Where a question about the command or event `name` starts.
    pub fn named<'c>(&'c self, name: &str, meta: &str) -> Probe<'c> {
        Probe {
            caps: self,
            at: self
                .meta_named(name, meta)
                .map(Place::top)
                .into_iter()
                .collect(),
        }
    }

    /// Answers a question in libvirt's syntax (see [`Capabilities`]);
    /// `false` for a malformed one.
    pub fn query(&self, path: &str) -> bool {
        let mut parts = path.split('/');
        let Some(first) = parts.next() else {
            return false;
        };
        let mut probe = Probe {
            caps: self,
            at: self
                .entry(first)
                .filter(|e| {
                    matches!(
                        e.get("meta-type").and_then(Value::as_str),
                        Some("command" | "event")
                    )
                })
                .map(Place::top)
                .into_iter()
                .collect(),
        };
        let parts: Vec<&str> = parts.collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            probe = match part.as_bytes().first() {
                Some(b'^') if last => return probe.has_value(&part[1..]),
                Some(b'$') if last => return probe.has_feature(&part[1..]),
                Some(b'^' | b'$') | None => return false,
                Some(b'+') => probe.variant(&part[1..]),
                Some(b'*') => probe.optional_member(&part[1..]),
                _ if *part == "arg-type" => probe.arg_type(),
                _ if *part == "ret-type" => probe.ret_type(),
                _ => probe.member(part),
            };
        }
        probe.exists()
    }
}

/// A place in a peer's schema, reached step by step; a step that does not
/// exist leads nowhere, and every question about nowhere is answered no.
#[derive(Clone, Debug)]
pub struct Probe<'c> {
    caps: &'c Capabilities,
    /// The types reached (several through an alternate), each with the
    /// member that led there (whose features count as its own).
    at: Vec<Place<'c>>,
}

/// A type reached, and the member that led there.
#[derive(Clone, Copy, Debug)]
struct Place<'c> {
    entry: &'c Value,
    member: Option<&'c Value>,
}

impl<'c> Place<'c> {
    fn top(entry: &'c Value) -> Self {
        Place {
            entry,
            member: None,
        }
    }
}

impl<'c> Probe<'c> {
    /// Whether the place exists.
    pub fn exists(&self) -> bool {
        !self.at.is_empty()
    }

    /// Takes one step from every place: `f` gives the type name it leads
    /// to and the member it went through.
    fn step(self, f: impl Fn(&'c Value) -> Option<(&'c str, Option<&'c Value>)>) -> Probe<'c> {
        let caps = self.caps;
        let at = self
            .at
            .into_iter()
            .filter_map(|place| f(place.entry))
            .flat_map(|(ty, member)| {
                caps.look_through(ty)
                    .into_iter()
                    .map(move |entry| Place { entry, member })
            })
            .collect();
        Probe { caps, at }
    }

    /// The type named by `key` of a command or event.
    fn referenced(self, key: &'static str) -> Probe<'c> {
        self.step(|e| Some((e.get(key)?.as_str()?, None)))
    }

    /// A command's or event's arguments.
    pub fn arg_type(self) -> Probe<'c> {
        self.referenced("arg-type")
    }

    /// A command's return type.
    pub fn ret_type(self) -> Probe<'c> {
        self.referenced("ret-type")
    }

    /// The member `name` of an object.
    pub fn member(self, name: &str) -> Probe<'c> {
        self.members(name, false)
    }

    /// The member `name` of an object, which must be optional.
    pub fn optional_member(self, name: &str) -> Probe<'c> {
        self.members(name, true)
    }

    fn members(self, name: &str, optional: bool) -> Probe<'c> {
        self.step(|e| {
            let member = e
                .get("members")?
                .as_array()?
                .iter()
                .find(|m| m.get("name").and_then(Value::as_str) == Some(name))
                .filter(|m| !optional || m.get("default").is_some())?;
            Some((member.get("type")?.as_str()?, Some(member)))
        })
    }

    /// The branch `case` of a union.
    pub fn variant(self, case: &str) -> Probe<'c> {
        self.step(|e| {
            let variant = e
                .get("variants")?
                .as_array()?
                .iter()
                .find(|v| v.get("case").and_then(Value::as_str) == Some(case))?;
            Some((variant.get("type")?.as_str()?, None))
        })
    }

    /// Whether an enum reached has `value` (a generated enum's value, or
    /// its wire name).
    pub fn has_value(&self, value: impl AsRef<str>) -> bool {
        let value = value.as_ref();
        self.at.iter().map(|p| p.entry).any(|e| {
            let in_values = e
                .get("values")
                .and_then(Value::as_array)
                .is_some_and(|vs| vs.iter().any(|v| v.as_str() == Some(value)));
            let in_members = e.get("meta-type").and_then(Value::as_str) == Some("enum")
                && e.get("members")
                    .and_then(Value::as_array)
                    .is_some_and(|ms| {
                        ms.iter()
                            .any(|m| m.get("name").and_then(Value::as_str) == Some(value))
                    });
            in_values || in_members
        })
    }

    /// Whether what was reached (or the member that led there) has
    /// `feature` (a generated `Feature`, or its name).
    pub fn has_feature(&self, feature: impl AsRef<str>) -> bool {
        let feature = feature.as_ref();
        let has = |e: &Value| {
            e.get("features")
                .and_then(Value::as_array)
                .is_some_and(|fs| fs.iter().any(|f| f.as_str() == Some(feature)))
        };
        self.at
            .iter()
            .any(|p| has(p.entry) || p.member.is_some_and(has))
    }
}

impl Capabilities {
    /// The entries a value of type `name` may be: the type itself, an
    /// array's element, each branch of an alternate.
    fn look_through(&self, name: &str) -> Vec<&Value> {
        let Some(entry) = self.entry(name) else {
            return Vec::new();
        };
        match entry.get("meta-type").and_then(Value::as_str) {
            Some("array") => entry
                .get("element-type")
                .and_then(Value::as_str)
                .map(|t| self.look_through(t))
                .unwrap_or_default(),
            Some("alternate") => entry
                .get("members")
                .and_then(Value::as_array)
                .map(|ms| {
                    ms.iter()
                        .filter_map(|m| m.get("type").and_then(Value::as_str))
                        .flat_map(|t| self.look_through(t))
                        .collect()
                })
                .unwrap_or_default(),
            _ => vec![entry],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A schema shaped as QEMU introspects its own, type names masked.
    fn caps() -> Capabilities {
        Capabilities::new(json!([
            {"name": "blockdev-add", "meta-type": "command", "arg-type": "0", "ret-type": "1",
             "features": ["unstable-x"]},
            {"name": "SHUTDOWN", "meta-type": "event", "arg-type": "5"},
            {"name": "0", "meta-type": "object",
             "members": [{"name": "driver", "type": "2"}, {"name": "node-name", "type": "str", "default": null}],
             "tag": "driver",
             "variants": [{"case": "file", "type": "3"}]},
            {"name": "1", "meta-type": "object", "members": []},
            {"name": "2", "meta-type": "enum", "values": ["file", "qcow2"],
             "members": [{"name": "file"}, {"name": "qcow2"}]},
            {"name": "3", "meta-type": "object",
             "members": [{"name": "aio", "type": "4", "default": null, "features": ["deprecated"]},
                         {"name": "filenames", "type": "[str]"}]},
            {"name": "4", "meta-type": "enum", "values": ["threads", "native", "io_uring"]},
            {"name": "5", "meta-type": "object", "members": [{"name": "reason", "type": "6"}]},
            {"name": "6", "meta-type": "alternate", "members": [{"type": "4"}, {"type": "str"}]},
            {"name": "[str]", "meta-type": "array", "element-type": "str"},
            {"name": "str", "meta-type": "builtin", "json-type": "string"}
        ]))
        .unwrap()
    }

    #[test]
    fn libvirt_style_queries() {
        let caps = caps();
        let cases = [
            ("blockdev-add", true),
            ("blockdev-del", false),
            ("blockdev-add/arg-type/driver", true),
            ("blockdev-add/arg-type/*node-name", true),
            ("blockdev-add/arg-type/*driver", false),
            ("blockdev-add/arg-type/driver/^qcow2", true),
            ("blockdev-add/arg-type/driver/^vmdk", false),
            ("blockdev-add/arg-type/+file/aio/^io_uring", true),
            ("blockdev-add/arg-type/+file/aio/^iouring", false),
            ("blockdev-add/arg-type/+nbd", false),
            ("blockdev-add/arg-type/+file/filenames", true),
            ("blockdev-add/$unstable-x", true),
            ("blockdev-add/arg-type/+file/aio/$deprecated", true),
            ("blockdev-add/arg-type/+file/filenames/$deprecated", false),
            ("blockdev-add/$deprecated", false),
            ("SHUTDOWN/arg-type/reason/^native", true),
            ("SHUTDOWN/ret-type", false),
            ("blockdev-add/^x/driver", false),
            ("", false),
        ];
        for (query, want) in cases {
            assert_eq!(caps.query(query), want, "{query}");
        }
    }

    #[test]
    fn typed_steps() {
        let caps = caps();
        let file = caps
            .named("blockdev-add", "command")
            .arg_type()
            .variant("file");
        assert!(file.clone().member("aio").has_value("native"));
        assert!(!file.clone().member("nope").exists());
        assert!(caps.has_command("blockdev-add") && !caps.has_command("SHUTDOWN"));
        assert!(caps.has_event("SHUTDOWN"));
        assert!(Capabilities::new(json!({})).is_err());
    }
}
