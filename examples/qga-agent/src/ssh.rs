//! `~/.ssh/authorized_keys`: one key per line; blank lines and comments
//! are kept on rewrite but are not keys.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use qapi_runtime::Error;

fn is_key(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

fn check(keys: &[String]) -> Result<(), Error> {
    for k in keys {
        if !is_key(k) || k.contains(['\n', '\r']) {
            return Err(Error::generic(format!("invalid authorized key '{k}'")));
        }
    }
    Ok(())
}

/// The keys in `file` (none if it does not exist).
pub fn read_keys(file: &Path) -> Result<Vec<String>, Error> {
    match fs::read_to_string(file) {
        Ok(text) => Ok(text
            .lines()
            .filter(|l| is_key(l))
            .map(str::to_owned)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::generic(format!(
            "failed to read '{}': {e}",
            file.display()
        ))),
    }
}

fn lines(file: &Path) -> Result<Vec<String>, Error> {
    match fs::read_to_string(file) {
        Ok(text) => Ok(text.lines().map(str::to_owned).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::generic(format!(
            "failed to read '{}': {e}",
            file.display()
        ))),
    }
}

/// Writes `lines` to `file` through a temporary file, creating `.ssh`
/// (0700) and the file (0600) as sshd wants them.
fn write_lines(file: &Path, lines: &[String]) -> Result<(), Error> {
    let fail =
        |e: std::io::Error| Error::generic(format!("failed to write '{}': {e}", file.display()));
    if let Some(dir) = file.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(fail)?;
    }
    let tmp = file.with_extension("qga-tmp");
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    {
        use std::io::Write;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(fail)?;
        f.write_all(text.as_bytes()).map_err(fail)?;
    }
    fs::rename(&tmp, file).map_err(fail)
}

/// Adds the keys not already there, or replaces every line with them.
pub fn add_keys(file: &Path, keys: &[String], reset: bool) -> Result<(), Error> {
    check(keys)?;
    let mut current = if reset { Vec::new() } else { lines(file)? };
    for k in keys {
        if !current.iter().any(|l| l.trim() == k.trim()) {
            current.push(k.trim().to_owned());
        }
    }
    write_lines(file, &current)
}

/// Removes the keys given; other lines stay.
pub fn remove_keys(file: &Path, keys: &[String]) -> Result<(), Error> {
    check(keys)?;
    let current = lines(file)?;
    let kept: Vec<String> = current
        .into_iter()
        .filter(|l| !keys.iter().any(|k| k.trim() == l.trim()))
        .collect();
    write_lines(file, &kept)
}
