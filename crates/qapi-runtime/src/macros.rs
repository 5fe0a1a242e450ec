//! Declarative macros that generated code uses for impls that are the same
//! for every type of a kind.

/// `Deserialize` for a type that implements [`Decode`](crate::de::Decode):
/// read a JSON value, then decode it (with QEMU's error texts).
#[macro_export]
macro_rules! impl_deserialize {
    ($ty:ty) => {
        #[allow(deprecated)]
        impl<'de> $crate::__private::serde::Deserialize<'de> for $ty {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                $crate::de::deserialize(deserializer)
            }
        }
    };
}

/// `Serialize`, `Decode` and `Deserialize` for an object type, which
/// implements [`SerializeFields`](crate::ser::SerializeFields) and
/// [`DecodeMembers`](crate::de::DecodeMembers): a JSON object with exactly
/// its members.
#[macro_export]
macro_rules! impl_object {
    ($ty:ty) => {
        #[allow(deprecated)]
        impl $crate::__private::serde::Serialize for $ty {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                $crate::ser::object(self, serializer)
            }
        }

        #[allow(deprecated)]
        impl $crate::de::Decode for $ty {
            fn decode_as(
                value: $crate::__private::serde_json::Value,
                mode: $crate::de::Mode,
            ) -> ::std::result::Result<Self, $crate::de::DecodeError> {
                $crate::de::decode_object(value, mode)
            }
        }

        $crate::impl_deserialize!($ty);
    };
}

/// `Display`, `Serialize`, `Decode` and `Deserialize` for a generated enum,
/// which has `as_str` and `from_name`: a JSON string.  With a variant name
/// (`impl_enum_string!(T, Unrecognized)`), the enum is open: read
/// tolerantly, a value it does not know becomes that variant.
#[macro_export]
macro_rules! impl_enum_string {
    (@common $ty:ty) => {
        #[allow(deprecated)]
        impl ::std::convert::AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        #[allow(deprecated)]
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[allow(deprecated)]
        impl $crate::__private::serde::Serialize for $ty {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        $crate::impl_deserialize!($ty);
    };
    ($ty:ty, $unrecognized:ident) => {
        $crate::impl_enum_string!(@common $ty);

        #[allow(deprecated)]
        impl $crate::de::Decode for $ty {
            fn decode_as(
                value: $crate::__private::serde_json::Value,
                mode: $crate::de::Mode,
            ) -> ::std::result::Result<Self, $crate::de::DecodeError> {
                $crate::de::open_enum(value, mode, Self::from_name, Self::$unrecognized)
            }
        }
    };
    ($ty:ty) => {
        $crate::impl_enum_string!(@common $ty);

        #[allow(deprecated)]
        impl $crate::de::Decode for $ty {
            fn decode_as(
                value: $crate::__private::serde_json::Value,
                _: $crate::de::Mode,
            ) -> ::std::result::Result<Self, $crate::de::DecodeError> {
                let name = $crate::de::enum_string(value)?;
                Self::from_name(&name).ok_or_else(|| $crate::de::DecodeError::bad_value(&name))
            }
        }
    };
}
