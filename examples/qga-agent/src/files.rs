//! Open files of `guest-file-*`, by handle, as qemu-ga opens, reads and
//! writes them: its modes, its way of creating files, non-blocking
//! descriptors (a FIFO answers at once), its limits and texts.  Each file
//! has its own lock: a slow one holds up only its own handle.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::sync::{Arc, Mutex, MutexGuard};

use qapi_runtime::Error;

use crate::qga::{GuestFileRead, GuestFileSeek, GuestFileWhence, GuestFileWrite, QGASeek};
use crate::state::State;
use crate::{b64, errno_text};

/// What `guest-file-read` reads when no count is given.
const READ_DEFAULT: i64 = 4096;
/// The most one `guest-file-read` may ask for.
const READ_MAX: i64 = 48 << 20;
/// The permissions of a file `guest-file-open` creates, whatever the
/// umask.
const NEW_FILE_MODE: u32 = 0o666;

/// How a mode of `guest-file-open` opens a file (the modes of `fopen`).
#[derive(Clone, Copy)]
struct Mode {
    read: bool,
    write: bool,
    create: bool,
    truncate: bool,
    append: bool,
}

/// The modes qemu-ga accepts, and nothing else.
fn mode(name: &str) -> Option<Mode> {
    let m = |read, write, create, truncate, append| Mode {
        read,
        write,
        create,
        truncate,
        append,
    };
    Some(match name {
        "r" | "rb" => m(true, false, false, false, false),
        "w" | "wb" => m(false, true, true, true, false),
        "a" | "ab" => m(false, true, true, false, true),
        "r+" | "rb+" | "r+b" => m(true, true, false, false, false),
        "w+" | "wb+" | "w+b" => m(true, true, true, true, false),
        "a+" | "ab+" | "a+b" => m(true, true, true, false, true),
        _ => return None,
    })
}

struct OpenFile {
    file: File,
}

/// The agent's open files.
#[derive(Default)]
pub struct Files {
    handles: Mutex<HashMap<i64, Arc<Mutex<OpenFile>>>>,
}

fn invalid_count(count: i64) -> Error {
    Error::generic(format!("value '{count}' is invalid for argument count"))
}

/// An I/O error as qemu-ga words it: `WHAT: strerror`.
fn failed(what: &str, e: &std::io::Error) -> Error {
    Error::generic(format!("{what}: {}", errno_text(e)))
}

/// Opens `path`: a mode that may create tries to create the file first
/// (never through a symbolic link, and then with [`NEW_FILE_MODE`]), and
/// opens what is there if that exists already.
fn open_or_create(path: &str, mode_name: &str, m: Mode) -> Result<File, Error> {
    let options = |create_new: bool| {
        let mut o = OpenOptions::new();
        o.read(m.read)
            .write(m.write && !m.append)
            .append(m.append)
            .truncate(m.truncate)
            .create_new(create_new)
            .mode(0o000)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK);
        o
    };
    let open_failed = |e: std::io::Error| {
        failed(
            &format!("failed to open file '{path}' (mode: '{mode_name}')"),
            &e,
        )
    };
    if !m.create {
        return options(false).open(path).map_err(open_failed);
    }
    match options(true).open(path) {
        Ok(file) => {
            if let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(NEW_FILE_MODE)) {
                let _ = std::fs::remove_file(path);
                return Err(failed(
                    &format!(
                        "failed to set permission 0{NEW_FILE_MODE:03o} on new file '{path}' (mode: '{mode_name}')"
                    ),
                    &e,
                ));
            }
            Ok(file)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            options(false).open(path).map_err(open_failed)
        }
        Err(e) => Err(open_failed(e)),
    }
}

impl Files {
    fn get(&self, handle: i64) -> Result<Arc<Mutex<OpenFile>>, Error> {
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&handle)
            .cloned()
            .ok_or_else(|| Error::generic(format!("handle '{handle}' has not been found")))
    }

    fn lock(file: &Mutex<OpenFile>) -> MutexGuard<'_, OpenFile> {
        file.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `guest-file-open`: the handle comes from `state`, so none is ever
    /// given twice, across restarts too.
    pub fn open(&self, state: &State, path: &str, mode_name: Option<&str>) -> Result<i64, Error> {
        let mode_name = mode_name.unwrap_or("r");
        let m = mode(mode_name)
            .ok_or_else(|| Error::generic(format!("invalid file open mode '{mode_name}'")))?;
        let file = open_or_create(path, mode_name, m)?;
        let handle = state.new_handle()?;
        let file = Arc::new(Mutex::new(OpenFile { file }));
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(handle, file);
        Ok(handle)
    }

    /// `guest-file-close`.
    pub fn close(&self, handle: i64) -> Result<(), Error> {
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&handle)
            .map(drop)
            .ok_or_else(|| Error::generic(format!("handle '{handle}' has not been found")))
    }

    /// `guest-file-read`: up to `count` bytes (4096 by default), stopping
    /// at the end of the file; an error (a FIFO with nothing to read:
    /// "Resource temporarily unavailable") loses what was read.
    pub fn read(&self, handle: i64, count: Option<i64>) -> Result<GuestFileRead, Error> {
        let file = self.get(handle)?;
        let count = count.unwrap_or(READ_DEFAULT);
        if !(0..=READ_MAX).contains(&count) {
            return Err(invalid_count(count));
        }
        let mut f = Self::lock(&file);
        let mut buf = vec![0; count as usize];
        let mut filled = 0;
        let mut eof = false;
        while filled < buf.len() {
            match f.file.read(&mut buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(failed("failed to read file", &e)),
            }
        }
        buf.truncate(filled);
        Ok(GuestFileRead {
            count: filled as i64,
            buf_b64: b64::encode(&buf),
            eof,
        })
    }

    /// `guest-file-write`: the base64 data, or its first `count` bytes.
    pub fn write(
        &self,
        handle: i64,
        data: &str,
        count: Option<i64>,
    ) -> Result<GuestFileWrite, Error> {
        let file = self.get(handle)?;
        let data = b64::decode(data)?;
        let count = count.unwrap_or(data.len() as i64);
        if count < 0 || count > data.len() as i64 {
            return Err(invalid_count(count));
        }
        let mut f = Self::lock(&file);
        f.file
            .write_all(&data[..count as usize])
            .map_err(|e| failed("failed to write to file", &e))?;
        Ok(GuestFileWrite { count, eof: false })
    }

    /// `guest-file-seek`: the handle is checked first, then `whence`.
    pub fn seek(
        &self,
        handle: i64,
        offset: i64,
        whence: &GuestFileWhence,
    ) -> Result<GuestFileSeek, Error> {
        let file = self.get(handle)?;
        let target = match whence {
            GuestFileWhence::Name(QGASeek::Set) | GuestFileWhence::Value(0) => {
                // A negative offset from the start is the kernel's EINVAL.
                SeekFrom::Start(u64::try_from(offset).map_err(|_| {
                    failed(
                        "failed to seek file",
                        &std::io::Error::from_raw_os_error(libc::EINVAL),
                    )
                })?)
            }
            GuestFileWhence::Name(QGASeek::Cur) | GuestFileWhence::Value(1) => {
                SeekFrom::Current(offset)
            }
            GuestFileWhence::Name(QGASeek::End) | GuestFileWhence::Value(2) => {
                SeekFrom::End(offset)
            }
            GuestFileWhence::Value(v) => {
                return Err(Error::generic(format!("invalid whence code {v}")))
            }
        };
        let mut f = Self::lock(&file);
        let position = f
            .file
            .seek(target)
            .map_err(|e| failed("failed to seek file", &e))?;
        Ok(GuestFileSeek {
            position: position as i64,
            eof: false,
        })
    }

    /// `guest-file-flush`: writes are not buffered here, so there is
    /// nothing to flush once the handle is found.
    pub fn flush(&self, handle: i64) -> Result<(), Error> {
        let file = self.get(handle)?;
        let mut f = Self::lock(&file);
        f.file
            .flush()
            .map_err(|e| failed("failed to flush file", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn setup() -> (tempfile::TempDir, State, Files) {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(None).unwrap();
        (dir, state, Files::default())
    }

    #[test]
    fn only_qemu_gas_modes_open() {
        let (dir, state, files) = setup();
        let path = dir.path().join("f");
        let p = path.to_str().unwrap();
        for bad in ["rw", "br", "r+b+", "x", "wx", "rt", ""] {
            assert_eq!(
                files.open(&state, p, Some(bad)).unwrap_err().desc,
                format!("invalid file open mode '{bad}'")
            );
        }
        assert!(!path.exists(), "no mode that was refused created the file");
        for good in [
            "w", "wb", "a", "ab", "r+", "rb+", "r+b", "w+", "wb+", "w+b", "a+", "ab+", "a+b", "r",
            "rb",
        ] {
            let h = files.open(&state, p, Some(good)).unwrap();
            files.close(h).unwrap();
        }
    }

    #[test]
    fn created_files_get_0666_and_links_are_not_followed_to_create() {
        let (dir, state, files) = setup();
        let path = dir.path().join("new");
        files
            .open(&state, path.to_str().unwrap(), Some("w"))
            .unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().mode() & 0o777,
            NEW_FILE_MODE
        );
        let link = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        let e = files
            .open(&state, link.to_str().unwrap(), Some("w"))
            .unwrap_err();
        assert_eq!(
            e.desc,
            format!(
                "failed to open file '{}' (mode: 'w'): No such file or directory",
                link.display()
            )
        );
        assert!(!dir.path().join("nowhere").exists());
    }

    #[test]
    fn reads_seeks_and_writes_as_qemu_ga() {
        let (dir, state, files) = setup();
        let p = dir.path().join("rw");
        let h = files.open(&state, p.to_str().unwrap(), Some("w+")).unwrap();
        assert_eq!(files.write(h, "aGVsbG8gd29ybGQ=", None).unwrap().count, 11);
        assert_eq!(
            files.write(h, "aGk=", Some(3)).unwrap_err().desc,
            "value '3' is invalid for argument count"
        );
        assert_eq!(
            files
                .seek(h, 0, &GuestFileWhence::Value(7))
                .unwrap_err()
                .desc,
            "invalid whence code 7"
        );
        assert_eq!(
            files
                .seek(9999, 0, &GuestFileWhence::Value(7))
                .unwrap_err()
                .desc,
            "handle '9999' has not been found"
        );
        assert_eq!(
            files
                .seek(h, -1, &GuestFileWhence::Name(QGASeek::Set))
                .unwrap_err()
                .desc,
            "failed to seek file: Invalid argument"
        );
        assert_eq!(
            files
                .seek(h, 6, &GuestFileWhence::Value(0))
                .unwrap()
                .position,
            6
        );
        let r = files.read(h, Some(100)).unwrap();
        assert_eq!((r.count, r.buf_b64.as_str(), r.eof), (5, "d29ybGQ=", true));
        let r = files.read(h, Some(0)).unwrap();
        assert_eq!((r.count, r.buf_b64.as_str(), r.eof), (0, "", false));
        assert_eq!(
            files.read(h, Some(-1)).unwrap_err().desc,
            "value '-1' is invalid for argument count"
        );
        assert_eq!(
            files.read(h, Some(READ_MAX + 1)).unwrap_err().desc,
            "value '50331649' is invalid for argument count"
        );
    }

    #[test]
    fn a_fifo_answers_at_once() {
        let (dir, state, files) = setup();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path in our temporary directory.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let h = files
            .open(&state, fifo.to_str().unwrap(), Some("r+"))
            .unwrap();
        let started = std::time::Instant::now();
        assert_eq!(
            files.read(h, None).unwrap_err().desc,
            "failed to read file: Resource temporarily unavailable"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
