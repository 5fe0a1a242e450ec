//! The handler manifest `qapi_codegen::Builder` writes beside the
//! generated code (`$OUT_DIR/STEM.handlers.json`).

use std::path::PathBuf;

use serde_json::Value;
use syn::LitStr;

/// The generated commands of one schema.
pub struct Manifest {
    /// The schema's file name, for messages.
    pub schema: String,
    /// Every generated command, in schema order.
    pub commands: Vec<CommandEntry>,
}

/// One generated command.
pub struct CommandEntry {
    /// The name on the wire.
    pub name: String,
    /// The command's struct, relative to the generated module
    /// (`commands::GuestSync`).
    pub path: String,
    /// `false` for `'gen': false`.
    pub gen: bool,
    /// The arguments are one value of a named type (`'boxed': true`).
    pub boxed: bool,
    /// How the struct holds the arguments.
    pub arguments: Arguments,
    /// The members a handler can take by name.
    pub members: Vec<MemberEntry>,
    /// The cfg predicate the command is compiled under, if it has a
    /// condition.
    pub cfg: Option<String>,
}

/// How a command's struct holds its arguments.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Arguments {
    /// No arguments.
    None,
    /// One field per member.
    Fields,
    /// One field, a named struct with the members.
    Newtype,
    /// One field, a union or alternate.
    Opaque,
}

/// One member of a command's arguments.
pub struct MemberEntry {
    /// The Rust field name.
    pub field: String,
    /// The field's type, as a reader writes it.
    pub ty: String,
}

impl Manifest {
    /// Reads the manifest that `schema` names: a stem, looked up in
    /// `$OUT_DIR`, or a path to the manifest relative to the crate.
    pub fn load(schema: &LitStr) -> syn::Result<Manifest> {
        let value = schema.value();
        let path = if value.contains('/') || value.ends_with(".json") {
            let base = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
            base.unwrap_or_default().join(&value)
        } else {
            let Some(dir) = std::env::var_os("OUT_DIR") else {
                return Err(syn::Error::new(
                    schema.span(),
                    "OUT_DIR is not set: generate the schema in build.rs with qapi_codegen::Builder",
                ));
            };
            PathBuf::from(dir).join(format!("{value}.handlers.json"))
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            syn::Error::new(
                schema.span(),
                format!(
                    "cannot read {}: {e}; qapi_codegen::Builder writes it for a schema named `{value}.json`",
                    path.display()
                ),
            )
        })?;
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| syn::Error::new(schema.span(), format!("{}: {e}", path.display())))?;
        Self::from_json(&json).ok_or_else(|| {
            syn::Error::new(
                schema.span(),
                format!(
                    "{} is not a handler manifest of this version of qapi-codegen",
                    path.display()
                ),
            )
        })
    }

    fn from_json(json: &Value) -> Option<Manifest> {
        let commands = json
            .get("commands")?
            .as_array()?
            .iter()
            .map(CommandEntry::from_json)
            .collect::<Option<Vec<_>>>()?;
        Some(Manifest {
            schema: json.get("schema")?.as_str()?.to_owned(),
            commands,
        })
    }

    /// The command named `name`.
    pub fn command(&self, name: &str) -> Option<&CommandEntry> {
        self.commands.iter().find(|c| c.name == name)
    }
}

impl CommandEntry {
    fn from_json(json: &Value) -> Option<CommandEntry> {
        let text = |key: &str| json.get(key)?.as_str().map(str::to_owned);
        let flag = |key: &str| json.get(key)?.as_bool();
        let arguments = match json.get("arguments")?.as_str()? {
            "none" => Arguments::None,
            "fields" => Arguments::Fields,
            "newtype" => Arguments::Newtype,
            "opaque" => Arguments::Opaque,
            _ => return None,
        };
        let members = json
            .get("members")?
            .as_array()?
            .iter()
            .map(|m| {
                Some(MemberEntry {
                    field: m.get("field")?.as_str()?.to_owned(),
                    ty: m.get("type")?.as_str()?.to_owned(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(CommandEntry {
            name: text("name")?,
            path: text("path")?,
            gen: flag("gen")?,
            boxed: flag("boxed")?,
            arguments,
            members,
            cfg: json.get("cfg").and_then(Value::as_str).map(str::to_owned),
        })
    }

    /// Whether handlers must take the arguments whole.
    pub fn whole_only(&self) -> bool {
        self.boxed || self.arguments == Arguments::Opaque
    }
}
