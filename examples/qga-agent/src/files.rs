//! Open files of `guest-file-*`, by handle, with qemu-ga's limits and
//! error texts.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

use base64::Engine;
use qapi_runtime::Error;

use crate::qga::{GuestFileRead, GuestFileSeek, GuestFileWhence, GuestFileWrite, QGASeek};

/// What `guest-file-read` reads when no count is given.
const READ_DEFAULT: i64 = 4096;
/// The most one `guest-file-read` may ask for.
const READ_MAX: i64 = 48 * 1024 * 1024;
/// qemu-ga's first handle.
const FIRST_HANDLE: i64 = 1000;

struct OpenFile {
    file: File,
    eof: bool,
}

/// The agent's open files.
pub struct Files {
    open: Mutex<(i64, HashMap<i64, OpenFile>)>,
}

impl Default for Files {
    fn default() -> Self {
        Files {
            open: Mutex::new((FIRST_HANDLE, HashMap::new())),
        }
    }
}

fn invalid_count(count: i64) -> Error {
    Error::generic(format!("value '{count}' is invalid for argument count"))
}

fn options(mode: &str) -> Option<OpenOptions> {
    let mut o = OpenOptions::new();
    let plus = mode.contains('+');
    let base: String = mode.chars().filter(|c| *c != 'b').collect();
    match base.trim_end_matches('+') {
        "r" => o.read(true).write(plus),
        "w" => o.write(true).read(plus).create(true).truncate(true),
        "a" => o.append(true).read(plus).create(true),
        _ => return None,
    };
    (base.len() <= 2 && mode.len() <= 3).then_some(o)
}

impl Files {
    fn with<T>(
        &self,
        handle: i64,
        f: impl FnOnce(&mut OpenFile) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut open = self.open.lock().map_err(|_| Error::generic("poisoned"))?;
        let file = open
            .1
            .get_mut(&handle)
            .ok_or_else(|| Error::generic(format!("handle '{handle}' has not been found")))?;
        f(file)
    }

    /// `guest-file-open`.
    pub fn open(&self, path: &str, mode: Option<&str>) -> Result<i64, Error> {
        let mode = mode.unwrap_or("r");
        let opts = options(mode)
            .ok_or_else(|| Error::generic(format!("invalid file open mode '{mode}'")))?;
        let file = opts.open(path).map_err(|e| {
            Error::generic(format!(
                "failed to open file '{path}' (mode: '{mode}'): {}",
                crate::errno_text(&e)
            ))
        })?;
        let mut open = self.open.lock().map_err(|_| Error::generic("poisoned"))?;
        let handle = open.0;
        open.0 += 1;
        open.1.insert(handle, OpenFile { file, eof: false });
        Ok(handle)
    }

    /// `guest-file-close`.
    pub fn close(&self, handle: i64) -> Result<(), Error> {
        let mut open = self.open.lock().map_err(|_| Error::generic("poisoned"))?;
        open.1
            .remove(&handle)
            .map(drop)
            .ok_or_else(|| Error::generic(format!("handle '{handle}' has not been found")))
    }

    /// `guest-file-read`.
    pub fn read(&self, handle: i64, count: Option<i64>) -> Result<GuestFileRead, Error> {
        self.with(handle, |f| {
            let count = count.unwrap_or(READ_DEFAULT);
            if !(0..=READ_MAX).contains(&count) {
                return Err(invalid_count(count));
            }
            let mut buf = Vec::with_capacity(count as usize);
            (&mut f.file)
                .take(count as u64)
                .read_to_end(&mut buf)
                .map_err(|e| Error::generic(format!("failed to read file: {e}")))?;
            f.eof = (buf.len() as i64) < count;
            Ok(GuestFileRead {
                count: buf.len() as i64,
                buf_b64: base64::engine::general_purpose::STANDARD.encode(&buf),
                eof: f.eof,
            })
        })
    }

    /// `guest-file-write`.
    pub fn write(
        &self,
        handle: i64,
        b64: &str,
        count: Option<i64>,
    ) -> Result<GuestFileWrite, Error> {
        self.with(handle, |f| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| Error::generic("Base64 data is not valid"))?;
            let count = count.unwrap_or(data.len() as i64);
            if count < 0 || count > data.len() as i64 {
                return Err(invalid_count(count));
            }
            f.file
                .write_all(&data[..count as usize])
                .map_err(|e| Error::generic(format!("failed to write to file: {e}")))?;
            Ok(GuestFileWrite { count, eof: f.eof })
        })
    }

    /// `guest-file-seek`.
    pub fn seek(
        &self,
        handle: i64,
        offset: i64,
        whence: &GuestFileWhence,
    ) -> Result<GuestFileSeek, Error> {
        let code = match whence {
            GuestFileWhence::Name(QGASeek::Set) | GuestFileWhence::Value(0) => 0,
            GuestFileWhence::Name(QGASeek::Cur) | GuestFileWhence::Value(1) => 1,
            GuestFileWhence::Name(QGASeek::End) | GuestFileWhence::Value(2) => 2,
            GuestFileWhence::Value(v) => {
                return Err(Error::generic(format!("invalid whence code {v}")))
            }
        };
        self.with(handle, |f| {
            let target = match code {
                0 => SeekFrom::Start(
                    u64::try_from(offset)
                        .map_err(|_| Error::generic("failed to seek file: Invalid argument"))?,
                ),
                1 => SeekFrom::Current(offset),
                _ => SeekFrom::End(offset),
            };
            let position = f.file.seek(target).map_err(|e| {
                Error::generic(format!("failed to seek file: {}", crate::errno_text(&e)))
            })?;
            f.eof = false;
            Ok(GuestFileSeek {
                position: position as i64,
                eof: false,
            })
        })
    }

    /// `guest-file-flush`.
    pub fn flush(&self, handle: i64) -> Result<(), Error> {
        self.with(handle, |f| {
            f.file
                .flush()
                .map_err(|e| Error::generic(format!("failed to flush file: {e}")))
        })
    }
}
