//! The `pragma` directive: schema-wide settings.

use crate::diagnostic::{Diagnostic, Location};
use crate::syntax::{Value, ValueKind};

/// The schema-wide settings made by `{ 'pragma': { ... } }` directives.
/// One set serves the whole schema, included files too; a later setting
/// replaces an earlier one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pragma {
    /// `doc-required`: every definition needs a documentation comment.
    pub doc_required: bool,
    /// `command-name-exceptions`: commands whose names may use `_`.
    pub command_name_exceptions: Vec<String>,
    /// `command-returns-exceptions`: commands that may return non-objects;
    /// `None` when no such pragma was given.
    pub command_returns_exceptions: Option<Vec<String>>,
    /// `documentation-exceptions`: definitions whose members may lack
    /// documentation.
    pub documentation_exceptions: Vec<String>,
    /// `member-name-exceptions`: types whose members may use upper case
    /// and `_`.
    pub member_name_exceptions: Vec<String>,
    /// `command-features`: the feature groups used for command policy (an
    /// extension of this toolchain; QEMU 10 does not know it), with the
    /// value's location.
    pub command_features: Option<(Vec<String>, Location)>,
}

impl Pragma {
    /// Applies one `name: value` setting.  `compat` also accepts the names
    /// older QEMU releases used.
    pub(crate) fn apply(
        &mut self,
        name: &str,
        value: &Value,
        location: &Location,
        compat: bool,
    ) -> Result<(), Diagnostic> {
        let strings = || -> Result<Vec<String>, Diagnostic> {
            let list = value
                .as_array()
                .filter(|items| items.iter().all(|v| matches!(v.kind, ValueKind::Str(_))));
            match list {
                Some(items) => Ok(items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()),
                None => Err(Diagnostic::error(
                    location.clone(),
                    format!("pragma {name} must be a list of strings"),
                )),
            }
        };
        match name {
            "doc-required" => {
                self.doc_required = value.as_bool().ok_or_else(|| {
                    Diagnostic::error(location.clone(), "pragma 'doc-required' must be boolean")
                })?;
            }
            "command-name-exceptions" => self.command_name_exceptions = strings()?,
            "command-returns-exceptions" => self.command_returns_exceptions = Some(strings()?),
            "documentation-exceptions" => self.documentation_exceptions = strings()?,
            "member-name-exceptions" => self.member_name_exceptions = strings()?,
            "command-features" => {
                let mut loc = location.clone();
                loc.span = value.span;
                self.command_features = Some((strings()?, loc));
            }
            // QEMU 2.x to 5.x spellings.
            "returns-whitelist" if compat => self.command_returns_exceptions = Some(strings()?),
            "name-case-whitelist" if compat => {
                let names = strings()?;
                self.command_name_exceptions = names.clone();
                self.member_name_exceptions = names;
            }
            _ => {
                return Err(Diagnostic::error(
                    location.clone(),
                    format!("unknown pragma '{name}'"),
                ))
            }
        }
        Ok(())
    }
}
