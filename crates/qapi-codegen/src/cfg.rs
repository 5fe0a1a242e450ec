//! `if` conditions as `#[cfg(...)]`.

use std::collections::{BTreeSet, HashMap};

use proc_macro2::TokenStream;
use qapi_parser::model::IfCond;
use quote::{format_ident, quote};

/// What a condition name stands for in Rust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CfgValue {
    /// A cfg predicate, e.g. `target_os = "linux"`.
    Predicate(String),
    /// Always true: the conditional items are always compiled.
    True,
    /// Always false: the conditional items are never compiled.
    False,
}

/// Maps condition names to Rust cfg predicates.  A name without a mapping
/// becomes a custom cfg of the same name, which a build script can set
/// with `cargo::rustc-cfg=NAME`.
#[derive(Clone, Debug, Default)]
pub struct CfgMap {
    map: HashMap<String, CfgValue>,
}

impl CfgMap {
    /// Maps `name`.
    pub fn insert(&mut self, name: impl Into<String>, value: CfgValue) {
        self.map.insert(name.into(), value);
    }

    /// The predicate for a condition; the names left as custom cfgs are
    /// added to `custom`.
    pub fn predicate(
        &self,
        cond: &IfCond,
        custom: &mut BTreeSet<String>,
    ) -> Result<TokenStream, String> {
        Ok(match cond {
            IfCond::Name(n) => match self.map.get(n) {
                Some(CfgValue::True) => quote!(all()),
                Some(CfgValue::False) => quote!(any()),
                Some(CfgValue::Predicate(p)) => p
                    .parse::<TokenStream>()
                    .map_err(|e| format!("cfg predicate for {n} ({p:?}) does not parse: {e}"))?,
                None => {
                    custom.insert(n.clone());
                    let ident = format_ident!("{}", n);
                    quote!(#ident)
                }
            },
            IfCond::All(ops) => {
                let ops = ops
                    .iter()
                    .map(|o| self.predicate(o, custom))
                    .collect::<Result<Vec<_>, _>>()?;
                quote!(all(#(#ops),*))
            }
            IfCond::Any(ops) => {
                let ops = ops
                    .iter()
                    .map(|o| self.predicate(o, custom))
                    .collect::<Result<Vec<_>, _>>()?;
                quote!(any(#(#ops),*))
            }
            IfCond::Not(op) => {
                let op = self.predicate(op, custom)?;
                quote!(not(#op))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates() {
        let mut map = CfgMap::default();
        map.insert(
            "CONFIG_LINUX",
            CfgValue::Predicate("target_os = \"linux\"".into()),
        );
        map.insert("CONFIG_YES", CfgValue::True);
        let cond = IfCond::All(vec![
            IfCond::Name("CONFIG_LINUX".into()),
            IfCond::Not(Box::new(IfCond::Name("CONFIG_OTHER".into()))),
            IfCond::Name("CONFIG_YES".into()),
        ]);
        let mut custom = BTreeSet::new();
        let p = map.predicate(&cond, &mut custom).unwrap();
        assert_eq!(
            p.to_string(),
            "all (target_os = \"linux\" , not (CONFIG_OTHER) , all ())"
        );
        assert_eq!(custom.into_iter().collect::<Vec<_>>(), ["CONFIG_OTHER"]);
    }
}
