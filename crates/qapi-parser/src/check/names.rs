//! QEMU's naming rules.  A name is an optional downstream prefix
//! `__RFQDN_`, an optional experimental prefix `x-`, and a stem of letters,
//! digits, `-` and `_` that starts with a letter.

/// The stem of `name`, if it is a valid name at all.
fn stem(name: &str) -> Option<&str> {
    let mut rest = name;
    if let Some(after) = rest.strip_prefix("__") {
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(after.len());
        if len == 0 || !after[len..].starts_with('_') {
            return None;
        }
        rest = &after[len + 1..];
    }
    let is_stem = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let experimental = rest
        .get(..2)
        .filter(|p| p.eq_ignore_ascii_case("x-"))
        .map(|_| &rest[2..]);
    match experimental {
        Some(s) if is_stem(s) => Some(s),
        _ if is_stem(rest) => Some(rest),
        _ => None,
    }
}

/// QEMU's `c_name(name, protect=False)`: every character other than a
/// letter, digit or `_` becomes `_`.
pub(crate) fn c_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Checks the name's form; returns its stem.  The `q_` namespace is
/// reserved for QEMU's implicit names.
pub(crate) fn check_name_str<'n>(name: &'n str, source: &str) -> Result<&'n str, String> {
    match stem(name) {
        Some(s) if !c_name(name).starts_with("q_") => Ok(s),
        _ => Err(format!("{source} has an invalid name")),
    }
}

/// Event names: upper case, no `-`.
pub(crate) fn check_name_upper(name: &str, source: &str) -> Result<(), String> {
    let stem = check_name_str(name, source)?;
    if stem.contains(|c: char| c.is_ascii_lowercase() || c == '-') {
        return Err(format!("name of {source} must not use lowercase or '-'"));
    }
    Ok(())
}

/// Command, member, value and feature names: lower case, no `_`, unless
/// permitted.
pub(crate) fn check_name_lower(
    name: &str,
    source: &str,
    permit_upper: bool,
    permit_underscore: bool,
) -> Result<(), String> {
    let stem = check_name_str(name, source)?;
    if (!permit_upper && stem.contains(|c: char| c.is_ascii_uppercase()))
        || (!permit_underscore && stem.contains('_'))
    {
        return Err(format!("name of {source} must not use uppercase or '_'"));
    }
    Ok(())
}

/// Type names: CamelCase, that is an upper-case letter, then letters and
/// digits with at least one lower-case letter.
pub(crate) fn check_name_camel(name: &str, source: &str) -> Result<(), String> {
    let stem = check_name_str(name, source)?;
    let camel = stem.starts_with(|c: char| c.is_ascii_uppercase())
        && stem.chars().all(|c| c.is_ascii_alphanumeric())
        && stem[1..].contains(|c: char| c.is_ascii_lowercase());
    if !camel {
        return Err(format!("name of {source} must use CamelCase"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        assert_eq!(stem("foo-bar"), Some("foo-bar"));
        assert_eq!(stem("x-foo"), Some("foo"));
        assert_eq!(stem("X-foo"), Some("foo"));
        assert_eq!(stem("__org.qemu_x-foo"), Some("foo"));
        assert_eq!(stem("__org.qemu_foo"), Some("foo"));
        assert_eq!(stem("x-1abc"), Some("x-1abc"));
        assert_eq!(stem("_foo"), None);
        assert_eq!(stem("__org_"), None);
        assert_eq!(stem("1foo"), None);
        assert_eq!(stem(""), None);
        assert_eq!(stem("a b"), None);
    }

    #[test]
    fn rules() {
        assert!(check_name_str("q-unix", "m").is_err());
        assert!(check_name_str("q_obj_x", "m").is_err());
        assert!(check_name_upper("FOO_BAR", "event").is_ok());
        assert_eq!(
            check_name_upper("foo", "event").unwrap_err(),
            "name of event must not use lowercase or '-'"
        );
        assert!(check_name_lower("a_b", "m", false, true).is_ok());
        assert!(check_name_lower("a_b", "m", false, false).is_err());
        assert!(check_name_lower("aB", "m", true, false).is_ok());
        assert!(check_name_camel("FooBar", "struct").is_ok());
        assert!(check_name_camel("FOO", "struct").is_err());
        assert!(check_name_camel("Foo-Bar", "struct").is_err());
        assert!(check_name_camel("__org.qemu_Foo", "struct").is_ok());
    }
}
