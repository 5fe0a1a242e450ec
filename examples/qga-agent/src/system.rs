//! The operations that change the machine the agent runs on: freezing and
//! trimming file systems, passwords, the clock, suspend and shutdown, and
//! where CPUs and memory blocks are switched (sysfs).  The agent reaches
//! them only through [`System`], so tests give it [`Recorder`], which
//! records and touches nothing outside a temporary directory.

use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use qapi_runtime::Error;

use crate::command;
use crate::disks;
use crate::errno_text;
use crate::power::{self, Helpers, Ran, SuspendMode};
use crate::qga::{GuestFilesystemTrimResponse, GuestFilesystemTrimResult};

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

/// A user of the password database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The home directory, where `.ssh/authorized_keys` lives.
    pub home: PathBuf,
    /// The user's id: files written for the user are given to it.
    pub uid: u32,
    /// The user's group.
    pub gid: u32,
}

/// The machine's side of the commands that change it.
pub trait System: Send + Sync {
    /// Freezes the local file systems (those at `mountpoints` only, if
    /// given), the last mounted first; returns how many froze.
    fn freeze(&self, mountpoints: Option<&[String]>) -> Result<i64, Error>;
    /// Thaws every local file system; returns how many were frozen.
    fn thaw(&self) -> Result<i64, Error>;
    /// Discards unused blocks of every local file system.
    fn fstrim(&self, minimum: Option<i64>) -> Result<GuestFilesystemTrimResponse, Error>;
    /// Sets `user`'s password (already base64-decoded and checked).
    fn set_password(&self, user: &str, password: &[u8], crypted: bool) -> Result<(), Error>;
    /// Stops the guest.
    fn shutdown(&self, mode: ShutdownMode) -> Result<(), Error>;
    /// Sets the clock to `time_ns` (already checked) and the hardware
    /// clock from it, or, without a time, the clock from the hardware
    /// clock.
    fn set_time(&self, time_ns: Option<i64>) -> Result<(), Error>;
    /// Suspends the guest.
    fn suspend(&self, mode: SuspendMode) -> Result<(), Error>;
    /// Where sysfs is: CPUs and memory blocks are read and switched there.
    fn sysfs(&self) -> &Path;
    /// `name`'s entry in the password database.
    fn user(&self, name: &str) -> Result<User, Error>;
}

/// A shared backend is a backend: tests keep a handle on the
/// [`Recorder`] they give the agent.
impl<T: System + ?Sized> System for std::sync::Arc<T> {
    fn freeze(&self, mountpoints: Option<&[String]>) -> Result<i64, Error> {
        (**self).freeze(mountpoints)
    }
    fn thaw(&self) -> Result<i64, Error> {
        (**self).thaw()
    }
    fn fstrim(&self, minimum: Option<i64>) -> Result<GuestFilesystemTrimResponse, Error> {
        (**self).fstrim(minimum)
    }
    fn set_password(&self, user: &str, password: &[u8], crypted: bool) -> Result<(), Error> {
        (**self).set_password(user, password, crypted)
    }
    fn shutdown(&self, mode: ShutdownMode) -> Result<(), Error> {
        (**self).shutdown(mode)
    }
    fn set_time(&self, time_ns: Option<i64>) -> Result<(), Error> {
        (**self).set_time(time_ns)
    }
    fn suspend(&self, mode: SuspendMode) -> Result<(), Error> {
        (**self).suspend(mode)
    }
    fn sysfs(&self) -> &Path {
        (**self).sysfs()
    }
    fn user(&self, name: &str) -> Result<User, Error> {
        (**self).user(name)
    }
}

/// The real thing, on Linux.
#[derive(Debug, Default)]
pub struct Linux;

/// `_IOWR('X', 119, int)`, `_IOWR('X', 120, int)`, `_IOWR('X', 121,
/// struct fstrim_range)`.
const FIFREEZE: libc::c_ulong = 0xC004_5877;
const FITHAW: libc::c_ulong = 0xC004_5878;
const FITRIM: libc::c_ulong = 0xC018_5879;

/// The argument of `FITRIM`.
#[repr(C)]
struct TrimRange {
    start: u64,
    len: u64,
    minlen: u64,
}

fn open_dir(path: &str) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// `ioctl(fd, request, arg)`, its error as an I/O error.
///
/// # Safety
/// `arg` is what `request` expects.
unsafe fn ioctl<T>(
    file: &std::fs::File,
    request: libc::c_ulong,
    arg: *mut T,
) -> std::io::Result<()> {
    if libc::ioctl(file.as_raw_fd(), request as _, arg) == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The helper programs of suspend, run as GLib's synchronous spawn runs
/// them: looked up in `PATH`, output discarded.
struct LinuxHelpers;

impl Helpers for LinuxHelpers {
    fn run(&mut self, argv: &[&str]) -> Ran {
        let Some((program, args)) = argv.split_first() else {
            return Ran::NotFound;
        };
        let status = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        match status {
            // A signal reads as status 0, as WEXITSTATUS gives it.
            Ok(s) => Ran::Exited(s.code().unwrap_or(0)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ran::NotFound,
            Err(e) => Ran::Failed(format!(
                "Failed to execute child process “{program}” ({})",
                errno_text(&e)
            )),
        }
    }

    fn read_state(&mut self) -> Option<String> {
        let text = std::fs::read("/sys/power/state").ok()?;
        Some(String::from_utf8_lossy(&text[..text.len().min(31)]).into_owned())
    }

    fn write_state(&mut self, word: &str) -> std::io::Result<()> {
        std::fs::write("/sys/power/state", word)
    }
}

impl System for Linux {
    fn freeze(&self, mountpoints: Option<&[String]>) -> Result<i64, Error> {
        let mut frozen = 0;
        for m in disks::mounts()?.iter().rev() {
            if mountpoints.is_some_and(|list| !list.contains(&m.dir)) {
                continue;
            }
            let dir = open_dir(&m.dir).map_err(|e| {
                Error::generic(format!("failed to open {}: {}", m.dir, errno_text(&e)))
            })?;
            // SAFETY: FIFREEZE takes an int argument and an open directory.
            match unsafe { ioctl(&dir, FIFREEZE, std::ptr::null_mut::<libc::c_int>()) } {
                Ok(()) => frozen += 1,
                // Cannot freeze, or a second mount of a frozen one.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EBUSY)) => {}
                Err(e) => {
                    return Err(Error::generic(format!(
                        "failed to freeze {}: {}",
                        m.dir,
                        errno_text(&e)
                    )))
                }
            }
        }
        Ok(frozen)
    }

    fn thaw(&self) -> Result<i64, Error> {
        let mut thawed = 0;
        for m in disks::mounts()? {
            let Ok(dir) = open_dir(&m.dir) else { continue };
            // Each freeze needs a thaw: thaw until the kernel says it is
            // not frozen.
            let mut was_frozen = false;
            // SAFETY: FITHAW takes an int argument and an open directory.
            while unsafe { ioctl(&dir, FITHAW, std::ptr::null_mut::<libc::c_int>()) }.is_ok() {
                was_frozen = true;
            }
            thawed += i64::from(was_frozen);
        }
        Ok(thawed)
    }

    fn fstrim(&self, minimum: Option<i64>) -> Result<GuestFilesystemTrimResponse, Error> {
        let mut paths = Vec::new();
        for m in disks::mounts()? {
            let mut result = GuestFilesystemTrimResult::new(m.dir.clone());
            match open_dir(&m.dir) {
                Err(e) => result.error = Some(format!("failed to open: {}", errno_text(&e))),
                Ok(dir) => {
                    let mut range = TrimRange {
                        start: 0,
                        len: u64::MAX,
                        minlen: minimum.unwrap_or(0) as u64,
                    };
                    // SAFETY: FITRIM takes a struct fstrim_range.
                    match unsafe { ioctl(&dir, FITRIM, &mut range) } {
                        Ok(()) => {
                            result.minimum = Some(range.minlen as i64);
                            result.trimmed = Some(range.len as i64);
                        }
                        Err(e)
                            if matches!(
                                e.raw_os_error(),
                                Some(libc::ENOTTY | libc::EOPNOTSUPP)
                            ) =>
                        {
                            result.error = Some("trim not supported".to_owned());
                        }
                        Err(e) => {
                            result.error = Some(format!("failed to trim: {}", errno_text(&e)))
                        }
                    }
                }
            }
            paths.push(result);
        }
        paths.reverse();
        Ok(GuestFilesystemTrimResponse { paths })
    }

    fn set_password(&self, user: &str, password: &[u8], crypted: bool) -> Result<(), Error> {
        let argv: &[&str] = if crypted {
            &["chpasswd", "-e"]
        } else {
            &["chpasswd"]
        };
        let input = [user.as_bytes(), b":", password, b"\n"].concat();
        command::run(argv, Some(&input), "set user password")
    }

    fn shutdown(&self, mode: ShutdownMode) -> Result<(), Error> {
        let (program, flag) = match mode {
            ShutdownMode::Powerdown => ("/sbin/poweroff", "-P"),
            ShutdownMode::Halt => ("/sbin/halt", "-H"),
            ShutdownMode::Reboot => ("/sbin/reboot", "-r"),
        };
        // The mode's own program if there is one, else shutdown(8).
        let executable = std::ffi::CString::new(program)
            // SAFETY: access only reads the path.
            .is_ok_and(|c| unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0);
        if executable {
            command::run(&[program], None, "shutdown")
        } else {
            command::run(
                &[
                    "/sbin/shutdown",
                    "-h",
                    flag,
                    "+0",
                    "hypervisor initiated shutdown",
                ],
                None,
                "shutdown",
            )
        }
    }

    fn set_time(&self, time_ns: Option<i64>) -> Result<(), Error> {
        if let Some(ns) = time_ns {
            let tv = libc::timeval {
                tv_sec: ns / 1_000_000_000,
                tv_usec: (ns % 1_000_000_000) / 1000,
            };
            // SAFETY: settimeofday reads a valid timeval; no time zone.
            if unsafe { libc::settimeofday(&tv, std::ptr::null()) } != 0 {
                return Err(Error::generic(format!(
                    "Failed to set time to guest: {}",
                    errno_text(&std::io::Error::last_os_error())
                )));
            }
        }
        let flag = if time_ns.is_some() { "-w" } else { "-s" };
        command::run(
            &["/sbin/hwclock", flag],
            None,
            "set hardware clock to system time",
        )
    }

    fn suspend(&self, mode: SuspendMode) -> Result<(), Error> {
        power::suspend(&mut LinuxHelpers, mode)
    }

    fn sysfs(&self) -> &Path {
        Path::new("/sys")
    }

    fn user(&self, name: &str) -> Result<User, Error> {
        lookup_user(name)
    }
}

/// `name` in the password database, or qemu-ga's error (with the errno
/// the lookup left: "Success" for a user who does not exist).
fn lookup_user(name: &str) -> Result<User, Error> {
    let failed =
        |reason: String| Error::generic(format!("failed to lookup user '{name}': {reason}"));
    let c_name = std::ffi::CString::new(name)
        .map_err(|_| failed(errno_text(&std::io::Error::from_raw_os_error(libc::EINVAL))))?;
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwnam_r fills `entry` with pointers into `buffer`, both
    // alive while they are read below.
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if found.is_null() {
        return Err(failed(errno_text(&std::io::Error::from_raw_os_error(rc))));
    }
    // SAFETY: pw_dir of a found entry is a C string in `buffer`.
    let home = unsafe { std::ffi::CStr::from_ptr(entry.pw_dir) };
    Ok(User {
        home: PathBuf::from(home.to_string_lossy().into_owned()),
        uid: entry.pw_uid,
        gid: entry.pw_gid,
    })
}

/// A stand-in for tests: records each call, keeps home directories and a
/// sysfs of its own in a directory.
#[derive(Debug)]
pub struct Recorder {
    /// One line per call, e.g. `freeze all`, `password alice crypted=false`.
    pub calls: Mutex<Vec<String>>,
    homes: PathBuf,
    sysfs: PathBuf,
    frozen: Mutex<bool>,
}

impl Recorder {
    /// A recorder whose users live under `dir` and whose sysfs is
    /// `dir/sys` (empty until a test fills it).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let homes = dir.into();
        Recorder {
            calls: Mutex::new(Vec::new()),
            sysfs: homes.join("sys"),
            homes,
            frozen: Mutex::new(false),
        }
    }

    fn record(&self, call: String) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
    }
}

impl System for Recorder {
    fn freeze(&self, mountpoints: Option<&[String]>) -> Result<i64, Error> {
        let what = mountpoints.map_or_else(|| "all".to_owned(), |m| m.join(","));
        self.record(format!("freeze {what}"));
        let count = mountpoints.map_or(1, |m| m.len() as i64);
        *self.frozen.lock().unwrap_or_else(|e| e.into_inner()) = count > 0;
        Ok(count)
    }

    fn thaw(&self) -> Result<i64, Error> {
        self.record("thaw".to_owned());
        let was = std::mem::take(&mut *self.frozen.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(i64::from(was))
    }

    fn fstrim(&self, minimum: Option<i64>) -> Result<GuestFilesystemTrimResponse, Error> {
        self.record(format!("fstrim {minimum:?}"));
        Ok(GuestFilesystemTrimResponse { paths: Vec::new() })
    }

    fn set_password(&self, user: &str, _password: &[u8], crypted: bool) -> Result<(), Error> {
        self.record(format!("password {user} crypted={crypted}"));
        Ok(())
    }

    fn shutdown(&self, mode: ShutdownMode) -> Result<(), Error> {
        self.record(format!("shutdown {mode:?}"));
        Ok(())
    }

    fn set_time(&self, time_ns: Option<i64>) -> Result<(), Error> {
        self.record(format!("set-time {time_ns:?}"));
        Ok(())
    }

    fn suspend(&self, mode: SuspendMode) -> Result<(), Error> {
        self.record(format!("suspend {mode:?}"));
        Ok(())
    }

    fn sysfs(&self) -> &Path {
        &self.sysfs
    }

    fn user(&self, name: &str) -> Result<User, Error> {
        if name.is_empty() || name.contains(['/', '.']) {
            return Err(Error::generic(format!(
                "failed to lookup user '{name}': Success"
            )));
        }
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Ok(User {
            home: self.homes.join(name),
            uid,
            gid,
        })
    }
}
