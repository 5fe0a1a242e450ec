//! The handler manifest: what `qapi-macros` needs to know about the
//! generated commands to check handler functions at compile time.
//!
//! It is JSON written next to the generated code (`STEM.handlers.json`):
//!
//! ```json
//! { "schema": "qga.json",
//!   "commands": [
//!     { "name": "guest-sync", "path": "commands::GuestSync", "gen": true,
//!       "boxed": false, "arguments": "fields",
//!       "members": [ { "name": "id", "field": "id", "type": "i64", "optional": false } ] } ] }
//! ```
//!
//! `arguments` says how the command's struct holds its members: `fields`
//! (inline members), `newtype` (one field, a named struct whose members are
//! listed), `opaque` (one field, a union or alternate: no members to match
//! by name) or `none`.  `cfg`, for a command under a condition, is the cfg
//! predicate it is compiled under (`target_os = "linux"`).

use proc_macro2::TokenStream;
use qapi_parser::model::{EntityId, EntityKind};
use serde_json::{json, Value};

use super::{From, Gen};

/// The manifest of every generated command, as JSON text.
pub(crate) fn manifest(g: &Gen<'_>) -> Result<String, String> {
    let commands = g
        .commands
        .iter()
        .map(|&id| command(g, id))
        .collect::<Result<Vec<Value>, String>>()?;
    let schema = g
        .schema
        .sources
        .files()
        .next()
        .map(|(_, f)| f.name.rsplit('/').next().unwrap_or(&f.name).to_owned())
        .unwrap_or_default();
    let manifest = json!({ "schema": schema, "commands": commands });
    serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())
}

fn command(g: &Gen<'_>, id: EntityId) -> Result<Value, String> {
    let e = g.entity(id);
    let EntityKind::Command(c) = &e.kind else {
        return Err(format!("{} is not a command", e.name));
    };
    let (arguments, members) = match c.arg_type {
        None => ("none", Vec::new()),
        Some(arg) if g.entity(arg).name == "q_empty" => ("none", Vec::new()),
        Some(arg) => {
            let implicit = g.entity(arg).is_implicit();
            let plain_struct =
                matches!(&g.entity(arg).kind, EntityKind::Object(o) if o.union.is_none());
            let kind = match (implicit, plain_struct) {
                (true, _) => "fields",
                (false, true) => "newtype",
                (false, false) => "opaque",
            };
            let members = if kind == "opaque" {
                Vec::new()
            } else {
                let list = g.schema.members(arg);
                let fields = g.fields(arg, &list, id, From::Root)?;
                list.iter()
                    .zip(fields)
                    .map(|(m, f)| {
                        json!({
                            "name": m.name,
                            "field": f.name,
                            "type": type_text(&g.member_type(arg, m, From::Root)),
                            "optional": m.optional,
                        })
                    })
                    .collect()
            };
            (kind, members)
        }
    };
    let cfg = match g.live_condition(&e.ifcond) {
        Some(_) => Value::String(g.cfg_predicate(&e.ifcond)?.to_string()),
        None => Value::Null,
    };
    Ok(json!({
        "name": e.name,
        "path": format!("{}::{}", super::commands::MODULE.0, g.command_names[&id]),
        "gen": c.gen,
        "boxed": c.boxed,
        "arguments": arguments,
        "members": members,
        "cfg": cfg,
    }))
}

/// A type as a reader writes it: `Option<Vec<String>>`, not the
/// fully qualified tokens.
fn type_text(ty: &TokenStream) -> String {
    let text: String = ty.to_string().chars().filter(|c| *c != ' ').collect();
    [
        "::std::option::",
        "::std::string::",
        "::std::vec::",
        "::std::boxed::",
    ]
    .iter()
    .fold(text, |t, prefix| t.replace(prefix, ""))
}
