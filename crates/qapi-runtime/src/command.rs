//! What generated commands and events implement.

use serde::de::DeserializeOwned;
use serde::ser::SerializeMap;
use serde::Serialize;

use serde_json::Value;

use crate::de::{Decode, DecodeError, DecodeMembers, Members, Mode};
use crate::ser::SerializeFields;
use crate::FeatureSet;

/// The static description of a command: everything dispatch and policy
/// need to know without the command's types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommandInfo {
    /// The name on the wire, e.g. `guest-sync`.
    pub name: &'static str,
    /// The command's features (including `command-features` groups).
    pub features: FeatureSet,
    /// `false` if the command sends no reply on success.
    pub success_response: bool,
    /// The command may run out of band.
    pub allow_oob: bool,
    /// The command may run before the machine is initialised.
    pub allow_preconfig: bool,
    /// The command runs in a coroutine.
    pub coroutine: bool,
    /// The arguments are one value of a named type.
    pub boxed: bool,
    /// `false` for `'gen': false`: no handler is generated or expected.
    pub gen: bool,
}

impl CommandInfo {
    /// A command as most are: it replies on success, runs in band, takes
    /// its arguments member by member and has a generated handler.
    ///
    /// ```
    /// use qapi_runtime::{CommandInfo, FeatureSet};
    /// let info = CommandInfo::new("guest-ping", FeatureSet::EMPTY);
    /// assert!(info.success_response && !info.allow_oob);
    /// ```
    pub const fn new(name: &'static str, features: FeatureSet) -> CommandInfo {
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
}

/// A command: its value is the command's arguments.
pub trait Command: Serialize + DeserializeOwned + Decode {
    /// What the command returns on success.
    type Returns: Serialize + DeserializeOwned + Decode;
    /// The command's description.
    const INFO: CommandInfo;
    /// The name on the wire.
    const NAME: &'static str = Self::INFO.name;
}

/// An event: its value is the event's data.
pub trait Event: Serialize + DeserializeOwned + Decode {
    /// The name on the wire, e.g. `SHUTDOWN`.
    const NAME: &'static str;
    /// The event's features.
    const FEATURES: FeatureSet;

    /// The event from its message's `data`, read in `mode`; an event sent
    /// without `data` reads as `{}`.
    fn from_data(data: Option<Value>, mode: Mode) -> Result<Self, DecodeError> {
        Self::decode_as(
            data.unwrap_or_else(|| Value::Object(Default::default())),
            mode,
        )
    }
}

/// The events of a schema as one type: the generated `Event` enum, which
/// a client reads events into.
pub trait Events: Sized + Send + 'static {
    /// The event named `name` with `data` (`None` for an event without
    /// data), read in `mode`.  An event the schema does not know is kept
    /// as it came ([`UnrecognizedEvent`]).
    fn decode_event(name: &str, data: Option<Value>, mode: Mode) -> Result<Self, DecodeError>;

    /// The event's name on the wire.
    fn name(&self) -> &str;
}

/// An event the schema does not know (a newer peer's), as it came.
#[derive(Clone, Debug, PartialEq)]
pub struct UnrecognizedEvent {
    /// Its name.
    pub name: String,
    /// Its data, if it had any.
    pub data: Option<Value>,
}

/// Something that wants a command type chosen at run time by name; see
/// the generated `visit_command`.
pub trait CommandVisitor {
    /// What the visit produces.
    type Output;
    /// Called with the command type.
    fn visit<C: Command>(self) -> Self::Output;
}

/// The JSON object `{}`: what a command without a return type returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Empty {}

impl SerializeFields for Empty {
    fn serialize_fields<M: SerializeMap>(&self, _map: &mut M) -> Result<(), M::Error> {
        Ok(())
    }
}

impl DecodeMembers for Empty {
    fn decode_members(_members: &mut Members) -> Result<Self, DecodeError> {
        Ok(Empty {})
    }
}

crate::impl_object!(Empty);

#[cfg(test)]
mod tests {
    use super::Empty;

    #[test]
    fn empty_is_an_empty_object() {
        assert_eq!(serde_json::to_string(&Empty {}).unwrap(), "{}");
        assert_eq!(serde_json::from_str::<Empty>("{}").unwrap(), Empty {});
        let e = serde_json::from_str::<Empty>("{\"a\": 1}").unwrap_err();
        assert_eq!(e.to_string(), "Parameter 'a' is unexpected");
        assert!(serde_json::from_str::<Empty>("[]").is_err());
    }
}
