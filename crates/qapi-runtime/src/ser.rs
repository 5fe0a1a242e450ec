//! Helpers that generated `Serialize` impls use.

use serde::ser::{SerializeMap, Serializer};

/// A type that is a JSON object on the wire and can write its members
/// into a map that is being serialized: structs, unions, argument and
/// event data types.  Unions write their branch's members through it.
pub trait SerializeFields {
    /// Writes the members.
    fn serialize_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error>;
}

impl<T: SerializeFields + ?Sized> SerializeFields for Box<T> {
    fn serialize_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        (**self).serialize_fields(map)
    }
}

/// Serializes `value` as a JSON object.
pub fn object<T: SerializeFields + ?Sized, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    value.serialize_fields(&mut map)?;
    map.end()
}
