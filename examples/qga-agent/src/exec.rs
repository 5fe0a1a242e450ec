//! Processes of `guest-exec`: started with their input, output collected
//! by threads, status kept until `guest-exec-status` reports the exit.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine;
use qapi_runtime::Error;

use crate::qga::{GuestExecCaptureOutput, GuestExecCaptureOutputMode as Mode, GuestExecStatus};

/// The most output kept per stream, as qemu-ga.
const MAX_OUTPUT: usize = 16 * 1024 * 1024;

/// What `guest-exec` was asked to run.
pub struct ExecRequest {
    /// The program (looked up in `PATH` without a `/`).
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its whole environment (`NAME=value`), if given.
    pub env: Option<Vec<String>>,
    /// Its standard input, base64.
    pub input: Option<String>,
    /// Which output to keep.
    pub capture: Option<GuestExecCaptureOutput>,
}

#[derive(Default)]
struct Output {
    data: Vec<u8>,
    truncated: bool,
}

struct Finished {
    code: Option<i32>,
    signal: Option<i32>,
    out: Option<Output>,
    err: Option<Output>,
}

/// The processes started and not yet reported as exited.
#[derive(Default)]
pub struct Processes {
    running: Mutex<HashMap<i64, Arc<Mutex<Option<Finished>>>>>,
}

fn collect(mut pipe: impl Read) -> Output {
    let mut out = Output::default();
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n @ 1..) = pipe.read(&mut buf) {
        let room = MAX_OUTPUT - out.data.len();
        out.data.extend_from_slice(&buf[..n.min(room)]);
        out.truncated |= n > room;
    }
    out
}

/// A pipe: (read end, write end).
fn pipe() -> Result<(std::fs::File, std::fs::File), Error> {
    use std::os::unix::io::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors, each owned by one File.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(Error::generic(std::io::Error::last_os_error().to_string()));
        }
        Ok((
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        ))
    }
}

impl Processes {
    /// `guest-exec`: starts the process and returns its pid.
    pub fn start(&self, req: ExecRequest) -> Result<i64, Error> {
        let input = req
            .input
            .map(|b64| {
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| Error::generic("Base64 data is not valid"))
            })
            .transpose()?;
        let mode = match req.capture {
            None | Some(GuestExecCaptureOutput::Flag(false)) => Mode::None,
            Some(GuestExecCaptureOutput::Flag(true)) => Mode::Separated,
            Some(GuestExecCaptureOutput::Mode(m)) => m,
        };
        let (keep_out, keep_err) = match mode {
            Mode::None => (false, false),
            Mode::Stdout => (true, false),
            Mode::Stderr => (false, true),
            Mode::Separated => (true, true),
            Mode::Merged => (true, false),
        };
        let mut cmd = Command::new(&req.path);
        cmd.args(&req.args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(if keep_out {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(if keep_err {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let merged = if mode == Mode::Merged {
            // One pipe for both streams: stderr goes where stdout goes.
            let (reader, writer) = pipe()?;
            let writer2 = writer
                .try_clone()
                .map_err(|e| Error::generic(e.to_string()))?;
            cmd.stdout(writer).stderr(writer2);
            Some(reader)
        } else {
            None
        };
        self.spawn(cmd, req.env, input, merged)
    }

    fn spawn(
        &self,
        mut cmd: Command,
        env: Option<Vec<String>>,
        input: Option<Vec<u8>>,
        merged: Option<std::fs::File>,
    ) -> Result<i64, Error> {
        if let Some(env) = env {
            cmd.env_clear();
            for pair in env {
                let (k, v) = pair.split_once('=').unwrap_or((&pair, ""));
                cmd.env(k, v);
            }
        }
        let mut child = cmd.spawn().map_err(|e| {
            Error::generic(format!(
                "Failed to execute child process “{}” ({})",
                cmd.get_program().to_string_lossy(),
                crate::errno_text(&e)
            ))
        })?;
        drop(cmd);
        let pid = i64::from(child.id());
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let slot = Arc::new(Mutex::new(None));
        let done = Arc::clone(&slot);
        std::thread::spawn(move || {
            if let (Some(mut pipe), Some(data)) = (stdin, input) {
                std::thread::spawn(move || {
                    let _ = pipe.write_all(&data);
                });
            }
            let out = merged
                .map(|r| std::thread::spawn(move || collect(r)))
                .or_else(|| stdout.map(|s| std::thread::spawn(move || collect(s))));
            let err = stderr.map(|s| std::thread::spawn(move || collect(s)));
            let status = child.wait();
            let finished = Finished {
                code: status.as_ref().ok().and_then(|s| s.code()),
                signal: status.as_ref().ok().and_then(|s| s.signal()),
                out: out.and_then(|t| t.join().ok()),
                err: err.and_then(|t| t.join().ok()),
            };
            if let Ok(mut slot) = done.lock() {
                *slot = Some(finished);
            }
        });
        self.running
            .lock()
            .map_err(|_| Error::generic("poisoned"))?
            .insert(pid, slot);
        Ok(pid)
    }

    /// `guest-exec-status`: once it reports the exit, the pid is forgotten.
    pub fn status(&self, pid: i64) -> Result<GuestExecStatus, Error> {
        let mut running = self
            .running
            .lock()
            .map_err(|_| Error::generic("poisoned"))?;
        let slot = running
            .get(&pid)
            .ok_or_else(|| Error::generic("Invalid parameter 'pid'"))?;
        let Some(finished) = slot.lock().map_err(|_| Error::generic("poisoned"))?.take() else {
            return Ok(GuestExecStatus {
                exited: false,
                exitcode: None,
                signal: None,
                out_data: None,
                err_data: None,
                out_truncated: None,
                err_truncated: None,
            });
        };
        running.remove(&pid);
        let b64 = |o: &Option<Output>| {
            o.as_ref()
                .filter(|o| !o.data.is_empty())
                .map(|o| base64::engine::general_purpose::STANDARD.encode(&o.data))
        };
        // As qemu-ga: the flag comes with the data, and only with it.
        let truncated = |o: &Option<Output>| {
            o.as_ref()
                .filter(|o| !o.data.is_empty())
                .map(|o| o.truncated)
        };
        Ok(GuestExecStatus {
            exited: true,
            exitcode: finished.code.map(i64::from),
            signal: finished.signal.map(i64::from),
            out_data: b64(&finished.out),
            err_data: b64(&finished.err),
            out_truncated: truncated(&finished.out),
            err_truncated: truncated(&finished.err),
        })
    }
}
