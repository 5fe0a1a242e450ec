//! The operations that could harm the machine the agent runs on: freezing
//! file systems, changing passwords and authorized keys, shutting down.
//! The agent reaches them only through [`System`], so tests can give it
//! [`Recorder`], which records and touches nothing outside a temporary
//! directory.

use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use qapi_runtime::Error;

/// How `guest-shutdown` stops the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Stop without powering off.
    Halt,
    /// Power off (the default).
    Powerdown,
    /// Restart.
    Reboot,
}

/// The machine's side of the harmful commands.
pub trait System: Send + Sync {
    /// Freezes the file systems mounted at `mountpoints` (all if `None`);
    /// returns how many were frozen.
    fn freeze(&self, mountpoints: Option<&[String]>) -> Result<i64, Error>;
    /// Thaws what `freeze` froze; returns how many were thawed.
    fn thaw(&self) -> Result<i64, Error>;
    /// Sets `user`'s password (already base64-decoded).
    fn set_password(&self, user: &str, password: &str, crypted: bool) -> Result<(), Error>;
    /// Stops the guest.
    fn shutdown(&self, mode: ShutdownMode) -> Result<(), Error>;
    /// `user`'s home directory, where `.ssh/authorized_keys` lives.
    fn home_dir(&self, user: &str) -> Result<PathBuf, Error>;
}

/// The real thing, on Linux: `FIFREEZE`/`FITHAW`, `chpasswd`, `shutdown`,
/// the password database.
#[derive(Debug, Default)]
pub struct Linux {
    frozen: Mutex<Vec<std::fs::File>>,
}

/// `_IOWR('X', 119, int)` and `_IOWR('X', 120, int)`.
const FIFREEZE: libc::c_ulong = 0xC004_5877;
const FITHAW: libc::c_ulong = 0xC004_5878;

impl System for Linux {
    fn freeze(&self, mountpoints: Option<&[String]>) -> Result<i64, Error> {
        let mut frozen = self.frozen.lock().map_err(|_| Error::generic("poisoned"))?;
        // Freeze the innermost mounts first, as a snapshot needs.
        let mut mounts = crate::sysinfo::real_mounts()?;
        mounts.reverse();
        for m in mounts {
            if mountpoints.is_some_and(|list| !list.contains(&m.mountpoint)) {
                continue;
            }
            let dir = std::fs::File::open(&m.mountpoint)
                .map_err(|e| Error::generic(format!("failed to open {}: {e}", m.mountpoint)))?;
            // SAFETY: FIFREEZE takes an int argument and an open directory.
            let rc = unsafe { libc::ioctl(dir.as_raw_fd(), FIFREEZE as _, 0) };
            if rc != 0 {
                let e = std::io::Error::last_os_error();
                // Already frozen, or a file system that cannot freeze.
                if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EOPNOTSUPP)) {
                    continue;
                }
                drop(frozen);
                let _ = self.thaw();
                return Err(Error::generic(format!(
                    "failed to freeze {}: {e}",
                    m.mountpoint
                )));
            }
            frozen.push(dir);
        }
        Ok(frozen.len() as i64)
    }

    fn thaw(&self) -> Result<i64, Error> {
        let mut frozen = self.frozen.lock().map_err(|_| Error::generic("poisoned"))?;
        let mut count = 0;
        for dir in frozen.drain(..) {
            // SAFETY: FITHAW takes an int argument and an open directory.
            if unsafe { libc::ioctl(dir.as_raw_fd(), FITHAW as _, 0) } == 0 {
                count += 1;
            }
        }
        Ok(count)
    }

    fn set_password(&self, user: &str, password: &str, crypted: bool) -> Result<(), Error> {
        let mut cmd = Command::new("chpasswd");
        if crypted {
            cmd.arg("-e");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::generic(format!("cannot run chpasswd: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            writeln!(stdin, "{user}:{password}")
                .map_err(|e| Error::generic(format!("cannot write to chpasswd: {e}")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::generic(format!("chpasswd failed: {e}")))?;
        if !out.status.success() {
            return Err(Error::generic(format!(
                "child process has failed to set user password: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    fn shutdown(&self, mode: ShutdownMode) -> Result<(), Error> {
        let flag = match mode {
            ShutdownMode::Halt => "-H",
            ShutdownMode::Powerdown => "-P",
            ShutdownMode::Reboot => "-r",
        };
        let status = Command::new("/sbin/shutdown")
            .args([flag, "+0", "hypervisor initiated shutdown"])
            .status()
            .map_err(|e| Error::generic(format!("cannot run shutdown: {e}")))?;
        if !status.success() {
            return Err(Error::generic(format!("shutdown failed: {status}")));
        }
        Ok(())
    }

    fn home_dir(&self, user: &str) -> Result<PathBuf, Error> {
        let name = std::ffi::CString::new(user)
            .map_err(|_| Error::generic(format!("invalid user name '{user}'")))?;
        // SAFETY: getpwnam returns null or a pointer into static storage,
        // read at once; the agent's handlers do not call it concurrently
        // with other getpw* users.
        let entry = unsafe { libc::getpwnam(name.as_ptr()) };
        if entry.is_null() {
            return Err(Error::generic(format!("failed to lookup user '{user}'")));
        }
        // SAFETY: pw_dir of a non-null entry is a C string.
        let dir = unsafe { std::ffi::CStr::from_ptr((*entry).pw_dir) };
        Ok(PathBuf::from(dir.to_string_lossy().into_owned()))
    }
}

/// A stand-in for tests: records each call and keeps home directories in
/// a directory of its own.
#[derive(Debug)]
pub struct Recorder {
    /// One line per call, e.g. `freeze all`, `password alice crypted=false`.
    pub calls: Mutex<Vec<String>>,
    homes: PathBuf,
}

impl Recorder {
    /// A recorder whose users live under `homes`.
    pub fn new(homes: impl Into<PathBuf>) -> Self {
        Recorder {
            calls: Mutex::new(Vec::new()),
            homes: homes.into(),
        }
    }

    fn record(&self, call: String) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
    }
}

impl System for Recorder {
    fn freeze(&self, mountpoints: Option<&[String]>) -> Result<i64, Error> {
        let what = mountpoints.map_or_else(|| "all".to_owned(), |m| m.join(","));
        self.record(format!("freeze {what}"));
        Ok(mountpoints.map_or(1, |m| m.len() as i64))
    }

    fn thaw(&self) -> Result<i64, Error> {
        self.record("thaw".to_owned());
        Ok(1)
    }

    fn set_password(&self, user: &str, _password: &str, crypted: bool) -> Result<(), Error> {
        self.record(format!("password {user} crypted={crypted}"));
        Ok(())
    }

    fn shutdown(&self, mode: ShutdownMode) -> Result<(), Error> {
        self.record(format!("shutdown {mode:?}"));
        Ok(())
    }

    fn home_dir(&self, user: &str) -> Result<PathBuf, Error> {
        if user.is_empty() || user.contains(['/', '.']) {
            return Err(Error::generic(format!("failed to lookup user '{user}'")));
        }
        Ok(self.homes.join(user))
    }
}
