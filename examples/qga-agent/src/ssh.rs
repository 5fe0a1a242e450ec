//! `~/.ssh/authorized_keys` as qemu-ga keeps it: the file split at line
//! breaks, keys compared as whole lines, written whole (through a
//! temporary file) with the user's ownership and mode 0600; `.ssh` made
//! 0700 for the user when missing.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use qapi_runtime::Error;

use crate::errno_text;
use crate::system::User;

/// Keys qemu-ga accepts: not comments, one line each (checked before
/// the user is looked up).
pub fn check(keys: &[String]) -> Result<(), Error> {
    match keys.iter().find(|k| k.starts_with('#') || k.contains('\n')) {
        Some(k) => Err(Error::generic(format!("invalid OpenSSH public key: '{k}'"))),
        None => Ok(()),
    }
}

fn ssh_dir(user: &User) -> PathBuf {
    user.home.join(".ssh")
}

fn keys_file(user: &User) -> PathBuf {
    ssh_dir(user).join("authorized_keys")
}

/// GLib's message for a file it cannot read: `Failed to open file “PATH”:
/// REASON`.
fn read_lines(path: &Path) -> Result<Vec<String>, Error> {
    match fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
            .split('\n')
            .map(str::to_owned)
            .collect()),
        Err(e) => Err(Error::generic(format!(
            "failed to read '{0}': Failed to open file “{0}”: {1}",
            path.display(),
            errno_text(&e)
        ))),
    }
}

fn set_owner(path: &Path, user: &User) -> std::io::Result<()> {
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
}

/// Writes `lines` joined by line breaks, then gives the file to `user`,
/// mode 0600.
fn write_lines(path: &Path, lines: &[String], user: &User) -> Result<(), Error> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".{}", std::process::id()));
    let temp = PathBuf::from(temp);
    let written = fs::File::create(&temp)
        .and_then(|mut f| {
            f.write_all(lines.join("\n").as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(Error::generic(format!(
            "failed to write to '{}': {}",
            path.display(),
            errno_text(&e)
        )));
    }
    set_owner(path, user).map_err(|e| {
        Error::generic(format!(
            "failed to set ownership of directory '{}': {}",
            path.display(),
            errno_text(&e)
        ))
    })?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|e| {
        Error::generic(format!(
            "failed to set permissions of '{}': {}",
            path.display(),
            errno_text(&e)
        ))
    })
}

/// Makes `~/.ssh` for `user`, mode 0700.
fn make_ssh_dir(user: &User) -> Result<(), Error> {
    let dir = ssh_dir(user);
    let fail = |what: &str, e: std::io::Error| {
        Error::generic(format!("{what} '{}': {}", dir.display(), errno_text(&e)))
    };
    fs::create_dir(&dir).map_err(|e| fail("failed to create directory", e))?;
    set_owner(&dir, user).map_err(|e| fail("failed to set ownership of directory", e))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| fail("failed to set permissions of directory", e))
}

/// `guest-ssh-get-authorized-keys`: the keys, last first, each trimmed;
/// blank lines and comments left out.
pub fn get_keys(user: &User) -> Result<Vec<String>, Error> {
    let mut keys: Vec<String> = read_lines(&keys_file(user))?
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    keys.reverse();
    Ok(keys)
}

/// `guest-ssh-add-authorized-keys`: `keys` after the lines already there
/// (none with `reset`), each once.
pub fn add_keys(user: &User, keys: &[String], reset: bool) -> Result<(), Error> {
    let file = keys_file(user);
    let existing = if reset { None } else { read_lines(&file).ok() };
    if existing.is_none() && !ssh_dir(user).is_dir() {
        make_ssh_dir(user)?;
    }
    let mut lines = existing.unwrap_or_default();
    for key in keys {
        if !lines.contains(key) {
            lines.push(key.clone());
        }
    }
    write_lines(&file, &lines, user)
}

/// `guest-ssh-remove-authorized-keys`: every line equal to one of `keys`
/// removed; nothing to do without a file.
pub fn remove_keys(user: &User, keys: &[String]) -> Result<(), Error> {
    let file = keys_file(user);
    if fs::symlink_metadata(&file).is_err() {
        return Ok(());
    }
    let lines: Vec<String> = read_lines(&file)?
        .into_iter()
        .filter(|l| !keys.contains(l))
        .collect();
    write_lines(&file, &lines, user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(home: &Path) -> User {
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        User {
            home: home.to_path_buf(),
            uid,
            gid,
        }
    }

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn as_qemu_ga_keeps_the_file() {
        let home = tempfile::tempdir().unwrap();
        let u = user(home.path());
        let file = home.path().join(".ssh/authorized_keys");
        assert_eq!(
            get_keys(&u).unwrap_err().desc,
            format!(
                "failed to read '{0}': Failed to open file “{0}”: No such file or directory",
                file.display()
            )
        );
        add_keys(&u, &keys(&["algo key2 c"]), false).unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "algo key2 c");
        add_keys(&u, &keys(&["algo key1 c", "algo key2 c"]), false).unwrap();
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            "algo key2 c\nalgo key1 c"
        );
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&file), mode(file.parent().unwrap())), (0o600, 0o700));
        // Last first, trimmed, no comments or blank lines.
        fs::write(&file, "algo a\n# note\n\n  algo b  \n").unwrap();
        assert_eq!(get_keys(&u).unwrap(), ["algo b", "algo a"]);
        // A trailing line break is an empty line, kept.
        add_keys(&u, &keys(&["algo c"]), false).unwrap();
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            "algo a\n# note\n\n  algo b  \n\nalgo c"
        );
        remove_keys(&u, &keys(&["algo a", ""])).unwrap();
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            "# note\n  algo b  \nalgo c"
        );
        add_keys(&u, &[], true).unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "");
    }

    #[test]
    fn keys_are_checked_first() {
        let home = tempfile::tempdir().unwrap();
        let u = user(home.path());
        for bad in ["# comment", "two\nlines"] {
            assert_eq!(
                check(&keys(&["ok", bad])).unwrap_err().desc,
                format!("invalid OpenSSH public key: '{bad}'")
            );
        }
        assert!(check(&keys(&["", "algo k"])).is_ok());
        // Nothing to remove from: fine.
        remove_keys(&u, &keys(&["algo x"])).unwrap();
    }
}
