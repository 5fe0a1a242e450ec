//! Declarative macros that generated code uses for impls that are the same
//! for every type of a kind.

/// `Serialize` for a type that implements
/// [`SerializeFields`](crate::ser::SerializeFields): a JSON object.
#[macro_export]
macro_rules! impl_serialize_object {
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
    };
}

/// `Display`, `Serialize` and `Deserialize` for a generated enum, which
/// has `as_str`, `from_name` and `NAMES`: a JSON string.
#[macro_export]
macro_rules! impl_enum_string {
    ($ty:ty) => {
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

        #[allow(deprecated)]
        impl<'de> $crate::__private::serde::Deserialize<'de> for $ty {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let name = $crate::de::string(deserializer)?;
                Self::from_name(&name).ok_or_else(|| $crate::de::unknown_value(&name, Self::NAMES))
            }
        }
    };
}
