//! What generated commands and events implement.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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

/// A command: its value is the command's arguments.
pub trait Command: Serialize + DeserializeOwned {
    /// What the command returns on success.
    type Returns: Serialize + DeserializeOwned;
    /// The command's description.
    const INFO: CommandInfo;
    /// The name on the wire.
    const NAME: &'static str = Self::INFO.name;
}

/// An event: its value is the event's data.
pub trait Event: Serialize + DeserializeOwned {
    /// The name on the wire, e.g. `SHUTDOWN`.
    const NAME: &'static str;
    /// The event's features.
    const FEATURES: FeatureSet;
}

/// The JSON object `{}`: what a command without a return type returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}
