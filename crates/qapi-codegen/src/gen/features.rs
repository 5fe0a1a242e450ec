//! The `Feature` enum: every feature of the schema, numbered as QEMU 10
//! numbers them, with the `command-features` groups marked and documented.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Gen;
use crate::names::camel;

pub(super) fn features(g: &Gen<'_>) -> Result<TokenStream, String> {
    let rt = &g.paths.rt;
    let mut variants = Vec::new();
    let mut all = Vec::new();
    let mut names = Vec::new();
    let mut groups = Vec::new();
    let mut from_names = Vec::new();
    let mut wire_names = Vec::new();
    for (i, f) in g.schema.features().iter().enumerate() {
        let ident = format_ident!("{}", camel(f));
        let index = proc_macro2::Literal::u8_unsuffixed(i as u8);
        let is_group = g.schema.is_command_feature_group(f);
        let mut lines = if is_group {
            vec![format!(
                "The feature group `{f}` (declared with the `command-features` pragma)."
            )]
        } else {
            vec![format!("The feature `{f}`.")]
        };
        let carriers: Vec<String> = g
            .commands
            .iter()
            .map(|id| (id, g.entity(*id)))
            .filter(|(_, e)| e.has_feature(f))
            .map(|(id, e)| {
                if e.ifcond.is_some() {
                    format!("`{}` (conditional)", e.name)
                } else {
                    format!("[`{}`](commands::{})", e.name, g.command_names[id])
                }
            })
            .collect();
        if !carriers.is_empty() {
            lines.push(String::new());
            lines.push(format!("Commands that carry it: {}.", carriers.join(", ")));
        } else if is_group {
            lines.push(String::new());
            lines.push("No command carries it.".to_owned());
        }
        let docs = g.doc_attrs(&lines);
        variants.push(quote!(#docs #ident = #index));
        all.push(quote!(Self::#ident));
        names.push(quote!(Self::#ident => #f));
        wire_names.push(f.as_str());
        from_names.push(quote!(#f => ::std::option::Option::Some(Self::#ident)));
        if is_group {
            groups.push(quote!(Self::#ident));
        }
    }
    let unused = super::may_be_unused();
    Ok(quote! {
        /// Every feature of the schema, numbered as QEMU numbers them:
        /// `deprecated`, `unstable`, then the others in the order the
        /// schema first uses them.  A feature's number is its bit in a
        /// [`FeatureSet`](::qapi_runtime::FeatureSet).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #unused
        pub enum Feature {
            #(#variants,)*
        }

        #unused
        impl Feature {
            /// Every feature, in number order.
            pub const ALL: &'static [Self] = &[#(#all),*];

            /// The feature groups declared with the `command-features`
            /// pragma: what command policy is made of.
            pub const GROUPS: &'static [Self] = &[#(#groups),*];

            /// The names of [`Feature::ALL`], in the same order.
            pub const NAMES: &'static [&'static str] = &[#(#wire_names),*];

            /// The feature's name in the schema.
            pub const fn name(self) -> &'static str {
                match self {
                    #(#names,)*
                }
            }

            /// The feature's number: its bit in a feature set.
            pub const fn index(self) -> u32 {
                self as u32
            }

            /// The set holding just this feature.
            pub const fn set(self) -> #rt::FeatureSet {
                #rt::FeatureSet::from_bits(1 << (self as u32))
            }

            /// The feature named `name`.
            pub fn from_name(name: &str) -> ::std::option::Option<Self> {
                match name {
                    #(#from_names,)*
                    _ => ::std::option::Option::None,
                }
            }
        }

        impl ::std::convert::AsRef<str> for Feature {
            fn as_ref(&self) -> &str {
                self.name()
            }
        }

        /// A feature is the set holding it: policy rules take either.
        impl ::std::convert::From<Feature> for #rt::FeatureSet {
            fn from(feature: Feature) -> Self {
                feature.set()
            }
        }
    })
}
