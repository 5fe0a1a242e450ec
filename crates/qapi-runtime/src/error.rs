//! The errors a QMP/QGA server answers with.

use std::fmt;

use serde_json::{json, Value};

/// QMP's error classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Everything without a class of its own.
    GenericError,
    /// The command does not exist, or is disabled.
    CommandNotFound,
    /// A device is not active.
    DeviceNotActive,
    /// A device does not exist.
    DeviceNotFound,
    /// KVM lacks a capability.
    KvmMissingCap,
}

impl ErrorClass {
    /// The class's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorClass::GenericError => "GenericError",
            ErrorClass::CommandNotFound => "CommandNotFound",
            ErrorClass::DeviceNotActive => "DeviceNotActive",
            ErrorClass::DeviceNotFound => "DeviceNotFound",
            ErrorClass::KvmMissingCap => "KVMMissingCap",
        }
    }

    /// The class with this wire name; unknown names are `GenericError`.
    pub fn from_name(name: &str) -> Self {
        match name {
            "CommandNotFound" => ErrorClass::CommandNotFound,
            "DeviceNotActive" => ErrorClass::DeviceNotActive,
            "DeviceNotFound" => ErrorClass::DeviceNotFound,
            "KVMMissingCap" => ErrorClass::KvmMissingCap,
            _ => ErrorClass::GenericError,
        }
    }
}

/// An error answer: `{"error": {"class": ..., "desc": ...}}`.  Handlers
/// return it; `?` turns I/O and decoding errors into `GenericError`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The class.
    pub class: ErrorClass,
    /// The human-readable description.
    pub desc: String,
}

impl Error {
    /// An error of class `class`.
    pub fn new(class: ErrorClass, desc: impl Into<String>) -> Self {
        Error {
            class,
            desc: desc.into(),
        }
    }

    /// A `GenericError`.
    pub fn generic(desc: impl Into<String>) -> Self {
        Error::new(ErrorClass::GenericError, desc)
    }

    /// The value of the reply's `error` member.
    pub fn to_json(&self) -> Value {
        json!({"class": self.class.as_str(), "desc": self.desc})
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class.as_str(), self.desc)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::generic(e.to_string())
    }
}

impl From<crate::de::DecodeError> for Error {
    fn from(e: crate::de::DecodeError) -> Self {
        Error::generic(e.to_string())
    }
}

impl From<crate::server::request::ShapeError> for Error {
    fn from(e: crate::server::request::ShapeError) -> Self {
        Error::generic(e.to_string())
    }
}

impl From<crate::json::JsonError> for Error {
    fn from(e: crate::json::JsonError) -> Self {
        Error::generic(e.to_string())
    }
}
