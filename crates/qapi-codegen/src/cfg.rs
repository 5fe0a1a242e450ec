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
/// takes the default if one is set, and otherwise becomes a custom cfg of
/// the same name, which a build script can set with
/// `cargo::rustc-cfg=NAME`.
#[derive(Clone, Debug, Default)]
pub struct CfgMap {
    map: HashMap<String, CfgValue>,
    default: Option<CfgValue>,
}

impl CfgMap {
    /// Maps `name`.
    pub fn insert(&mut self, name: impl Into<String>, value: CfgValue) {
        self.map.insert(name.into(), value);
    }

    /// What every name without a mapping stands for (a client of QEMU
    /// builds it does not know wants every type: `CfgValue::True`).
    pub fn set_default(&mut self, value: CfgValue) {
        self.default = Some(value);
    }

    /// Whether `name` is left as a custom cfg.
    pub fn is_unmapped(&self, name: &str) -> bool {
        self.default.is_none() && !self.map.contains_key(name)
    }

    /// Checks every predicate given: each must be a cfg predicate (a name,
    /// `name = "value"`, or `all`, `any`, `not` of predicates).
    pub fn validate(&self) -> Result<(), String> {
        let given = self
            .map
            .iter()
            .map(|(n, v)| (n.as_str(), v))
            .chain(self.default.iter().map(|v| ("the default", v)));
        for (name, value) in given {
            if let CfgValue::Predicate(p) = value {
                let valid = syn::parse_str::<syn::Meta>(p).is_ok_and(|m| is_cfg_predicate(&m));
                if !valid {
                    return Err(format!(
                        "the cfg predicate for {name} (`{p}`) is not one: write a name, \
                         `name = \"value\"` (one `=`), or `all(...)`, `any(...)`, `not(...)` of them"
                    ));
                }
            }
        }
        Ok(())
    }

    /// What `name` stands for: its mapping, else the default.
    fn value(&self, name: &str) -> Option<&CfgValue> {
        self.map.get(name).or(self.default.as_ref())
    }

    /// The condition's value where the mapping decides it (names mapped
    /// to `True` or `False`, enough of them), else `None`.
    pub fn constant(&self, cond: &IfCond) -> Option<bool> {
        // `all` is false as soon as one operand is, `any` true as soon as
        // one is: `decisive` is that value.
        let fold = |ops: &[IfCond], decisive: bool| {
            let mut value = Some(!decisive);
            for op in ops {
                match self.constant(op) {
                    Some(v) if v == decisive => return Some(decisive),
                    Some(_) => {}
                    None => value = None,
                }
            }
            value
        };
        match cond {
            IfCond::Name(n) => match self.value(n) {
                Some(CfgValue::True) => Some(true),
                Some(CfgValue::False) => Some(false),
                Some(CfgValue::Predicate(_)) | None => None,
            },
            IfCond::All(ops) => fold(ops, false),
            IfCond::Any(ops) => fold(ops, true),
            IfCond::Not(op) => self.constant(op).map(|v| !v),
        }
    }

    /// The predicate for a condition; the names left as custom cfgs are
    /// added to `custom`.
    pub fn predicate(
        &self,
        cond: &IfCond,
        custom: &mut BTreeSet<String>,
    ) -> Result<TokenStream, String> {
        Ok(match cond {
            IfCond::Name(n) => match self.value(n) {
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

/// Whether `meta` is a cfg predicate: `name`, `name = "value"`, or
/// `all(..)`/`any(..)`/`not(one)` of predicates.
fn is_cfg_predicate(meta: &syn::Meta) -> bool {
    match meta {
        syn::Meta::Path(p) => p.get_ident().is_some(),
        syn::Meta::NameValue(nv) => {
            nv.path.get_ident().is_some()
                && matches!(
                    &nv.value,
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(_),
                        ..
                    })
                )
        }
        syn::Meta::List(list) => {
            let Some(op) = list.path.get_ident() else {
                return false;
            };
            let parsed = list.parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            );
            let Ok(operands) = parsed else { return false };
            let well_formed = operands.iter().all(is_cfg_predicate);
            match op.to_string().as_str() {
                "all" | "any" => well_formed,
                "not" => well_formed && operands.len() == 1,
                _ => false,
            }
        }
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
        map.set_default(CfgValue::True);
        let mut custom = BTreeSet::new();
        let p = map.predicate(&cond, &mut custom).unwrap();
        assert_eq!(
            p.to_string(),
            "all (target_os = \"linux\" , not (all ()) , all ())"
        );
        assert!(custom.is_empty() && !map.is_unmapped("CONFIG_OTHER"));
    }

    #[test]
    fn constant_conditions() {
        let mut map = CfgMap::default();
        map.insert("YES", CfgValue::True);
        map.insert("NO", CfgValue::False);
        map.insert("LINUX", CfgValue::Predicate("target_os = \"linux\"".into()));
        let name = |n: &str| IfCond::Name(n.into());
        let not = |c: IfCond| IfCond::Not(Box::new(c));
        for (cond, value) in [
            (name("YES"), Some(true)),
            (name("NO"), Some(false)),
            (name("LINUX"), None),
            (name("UNMAPPED"), None),
            (not(name("NO")), Some(true)),
            (IfCond::All(vec![name("YES"), not(name("NO"))]), Some(true)),
            (IfCond::All(vec![name("YES"), name("LINUX")]), None),
            (IfCond::All(vec![name("LINUX"), name("NO")]), Some(false)),
            (IfCond::Any(vec![name("LINUX"), name("YES")]), Some(true)),
            (IfCond::Any(vec![name("NO"), name("UNMAPPED")]), None),
            (IfCond::Any(vec![name("NO"), not(name("YES"))]), Some(false)),
        ] {
            assert_eq!(map.constant(&cond), value, "{cond:?}");
        }
        map.set_default(CfgValue::True);
        assert_eq!(map.constant(&name("UNMAPPED")), Some(true));
    }

    #[test]
    fn predicates_are_checked_for_cfg_syntax() {
        let check = |p: &str| {
            let mut map = CfgMap::default();
            map.insert("CONFIG_X", CfgValue::Predicate(p.into()));
            map.validate()
        };
        for good in [
            "unix",
            "target_os = \"linux\"",
            "all(unix, not(target_os = \"macos\"))",
            "any()",
        ] {
            assert!(check(good).is_ok(), "{good}");
        }
        for bad in [
            "target_os == \"linux\"",
            "target_os = linux",
            "not(a, b)",
            "maybe(unix)",
            "a::b",
            "",
        ] {
            let e = check(bad).unwrap_err();
            assert!(
                e.starts_with("the cfg predicate for CONFIG_X"),
                "{bad}: {e}"
            );
        }
    }
}
