//! Rust names for QAPI names: CamelCase types and variants, snake_case
//! fields, keywords escaped, and collisions resolved.

use std::collections::HashSet;

/// Splits a QAPI name into words at `-`, `_` and `.`.
fn words(name: &str) -> impl Iterator<Item = &str> {
    name.split(['-', '_', '.']).filter(|w| !w.is_empty())
}

/// `CamelCase` for a type, variant, command or event name.  A word in
/// all capitals is lower-cased after its first letter (`BLOCK_JOB` →
/// `BlockJob`); other words keep their inner capitals (`QCryptoLUKS` stays).
/// Digits on both sides of a separator keep a `_` between them
/// (`2_5` → `2_5`), and a leading digit gets a `V` (for enum values).
pub fn camel(name: &str) -> String {
    let mut out = String::new();
    for word in words(name) {
        if out.ends_with(|c: char| c.is_ascii_digit())
            && word.starts_with(|c: char| c.is_ascii_digit())
        {
            out.push('_');
        }
        let all_caps = word.chars().all(|c| !c.is_ascii_lowercase());
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            if all_caps {
                out.extend(chars.map(|c| c.to_ascii_lowercase()));
            } else {
                out.extend(chars);
            }
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// `snake_case` for a member name, escaped if it is a keyword.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in name.chars() {
        if c == '-' || c == '.' || c == '_' {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        } else if c.is_ascii_uppercase() {
            if prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                && !out.ends_with('_')
            {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    let out = out.trim_end_matches('_').to_owned();
    let out = if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    };
    escape_keyword(out)
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// `r#kw` for keywords; `self`, `Self`, `super` and `crate` cannot be raw
/// identifiers and get a trailing `_`.
fn escape_keyword(name: String) -> String {
    if ["self", "Self", "super", "crate", "_"].contains(&name.as_str()) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// Hands out names that are unique within one scope.
#[derive(Debug, Default)]
pub struct Scope {
    used: HashSet<String>,
}

impl Scope {
    /// A scope in which `reserved` are already taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Scope {
            used: reserved.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// `name`, or `name2`, `name3`, ... if taken.
    pub fn claim(&mut self, name: String) -> String {
        if self.used.insert(name.clone()) {
            return name;
        }
        let raw = name.strip_prefix("r#").unwrap_or(&name).to_owned();
        (2..)
            .map(|n| format!("{raw}{n}"))
            .find(|candidate| self.used.insert(candidate.clone()))
            .expect("some suffix is free")
    }
}

/// `; did you mean 'x'?` for the candidate closest to `name`, if one is
/// close enough to be a likely misspelling.
pub(crate) fn did_you_mean<'a>(
    candidates: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> String {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(c, name), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| format!("; did you mean '{c}'?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_names() {
        assert_eq!(camel("query-block"), "QueryBlock");
        assert_eq!(camel("BLOCK_JOB_COMPLETED"), "BlockJobCompleted");
        assert_eq!(camel("QCryptoBlockInfoLUKS"), "QCryptoBlockInfoLUKS");
        assert_eq!(camel("__org.qemu_x-Foo"), "OrgQemuXFoo");
        assert_eq!(camel("2_5"), "V2_5");
        assert_eq!(camel("1x"), "V1x");
        assert_eq!(camel("qcow2"), "Qcow2");
        assert_eq!(camel("CPU"), "Cpu");
        assert_eq!(camel("fooBar"), "FooBar");
    }

    #[test]
    fn snake_names() {
        assert_eq!(snake("node-name"), "node_name");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("Self"), "self_");
        assert_eq!(snake("crate"), "crate_");
        assert_eq!(snake("super"), "super_");
        assert_eq!(snake("supported_commands"), "supported_commands");
        assert_eq!(snake("CamelCase"), "camel_case");
        assert_eq!(snake("__org.qemu_x-foo"), "org_qemu_x_foo");
        assert_eq!(snake("2nd"), "_2nd");
        assert_eq!(snake("in"), "r#in");
    }

    #[test]
    fn scopes() {
        let mut s = Scope::with_reserved(&["Feature"]);
        assert_eq!(s.claim("Feature".into()), "Feature2");
        assert_eq!(s.claim("Foo".into()), "Foo");
        assert_eq!(s.claim("Foo".into()), "Foo2");
        assert_eq!(s.claim("r#type".into()), "r#type");
        assert_eq!(s.claim("r#type".into()), "type2");
    }
}
