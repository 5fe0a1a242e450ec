//! What the agent keeps in its state directory, in qemu-ga's files, so a
//! restart of either agent carries on: the next file handle
//! (`qga.state`, `[global] fd_counter=N`) and whether file systems are
//! frozen (`qga.state.isfrozen` exists).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use qapi_runtime::Error;

/// The first file handle, as qemu-ga's.
const FIRST_HANDLE: i64 = 1000;

/// The state file, in the state directory.
pub const STATE_FILE: &str = "qga.state";

/// The file whose presence means "frozen".
pub const FROZEN_FILE: &str = "qga.state.isfrozen";

/// The agent's persistent state.
#[derive(Debug)]
pub struct State {
    dir: Option<PathBuf>,
    next_handle: Mutex<i64>,
}

impl State {
    /// The state kept in `dir` (in memory only without one), read as it
    /// was left; the state file is written if there was none.
    pub fn open(dir: Option<&Path>) -> Result<State, String> {
        let state = State {
            dir: dir.map(Path::to_path_buf),
            next_handle: Mutex::new(FIRST_HANDLE),
        };
        let Some(file) = state.file(STATE_FILE) else {
            return Ok(state);
        };
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                if let Some(n) = fd_counter(&text) {
                    *state.lock() = n;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                state
                    .save(FIRST_HANDLE)
                    .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            }
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        }
        Ok(state)
    }

    fn file(&self, name: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(name))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, i64> {
        self.next_handle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self, next_handle: i64) -> std::io::Result<()> {
        match self.file(STATE_FILE) {
            Some(file) => std::fs::write(file, format!("[global]\nfd_counter={next_handle}\n")),
            None => Ok(()),
        }
    }

    /// A file handle never given before, by this agent or by a qemu-ga
    /// that used the same state directory.
    pub fn new_handle(&self) -> Result<i64, Error> {
        let mut next = self.lock();
        let handle = *next;
        *next += 1;
        self.save(*next)
            .map_err(|_| Error::generic("failed to commit persistent state to disk"))?;
        Ok(handle)
    }

    /// Whether the last run left file systems frozen.
    pub fn was_frozen(&self) -> bool {
        self.file(FROZEN_FILE).is_some_and(|f| f.exists())
    }

    /// Records a freeze (`true`) or thaw; the error says which file could
    /// not be written.
    pub fn record_frozen(&self, frozen: bool) -> Result<(), String> {
        let Some(marker) = self.file(FROZEN_FILE) else {
            return Ok(());
        };
        let result = if frozen {
            std::fs::write(&marker, b"")
        } else {
            match std::fs::remove_file(&marker) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        };
        result.map_err(|e| format!("{}: {}", marker.display(), crate::errno_text(&e)))
    }
}

/// The `fd_counter` of `[global]` in a key file.
fn fd_counter(text: &str) -> Option<i64> {
    let mut in_global = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_global = line == "[global]";
        } else if in_global {
            if let Some(value) = line.strip_prefix("fd_counter").map(str::trim_start) {
                return value.strip_prefix('=')?.trim().parse().ok();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_go_on_across_restarts_in_qemu_gas_file() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(Some(dir.path())).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap(),
            "[global]\nfd_counter=1000\n"
        );
        assert_eq!(state.new_handle().unwrap(), 1000);
        assert_eq!(state.new_handle().unwrap(), 1001);
        drop(state);
        let again = State::open(Some(dir.path())).unwrap();
        assert_eq!(again.new_handle().unwrap(), 1002);
        // What qemu-ga left is read the same.
        std::fs::write(dir.path().join(STATE_FILE), "[global]\nfd_counter=1005\n").unwrap();
        assert_eq!(
            State::open(Some(dir.path())).unwrap().new_handle().unwrap(),
            1005
        );
    }

    #[test]
    fn key_files_are_read_by_section() {
        assert_eq!(fd_counter("[global]\nfd_counter=7\n"), Some(7));
        assert_eq!(fd_counter("[other]\nfd_counter=7\n[global]\nx=1\n"), None);
        assert_eq!(fd_counter("# c\n[global]\n fd_counter = 9 \n"), Some(9));
    }

    #[test]
    fn the_frozen_marker() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(Some(dir.path())).unwrap();
        assert!(!state.was_frozen());
        state.record_frozen(true).unwrap();
        assert!(State::open(Some(dir.path())).unwrap().was_frozen());
        state.record_frozen(false).unwrap();
        state.record_frozen(false).unwrap();
        assert!(!state.was_frozen());
    }
}
