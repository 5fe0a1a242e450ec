//! Processes of `guest-exec`, started as qemu-ga starts them (GLib's
//! spawn): the program looked up in `PATH` (the given environment's, else
//! GLib's default), a file without `#!` run by `/bin/sh`, the environment
//! passed exactly as given, descriptors other than 0-2 closed, signal
//! dispositions as the agent found them.  One thread per process feeds
//! its input, collects its output and reaps it; the thread exists before
//! the process does, so a process never outlives its supervisor and a
//! `guest-exec` that fails leaves nothing behind.

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use qapi_runtime::Error;

use crate::qga::{GuestExecCaptureOutput, GuestExecCaptureOutputMode as Capture, GuestExecStatus};
use crate::{b64, errno_text};

/// The most output kept per stream, as qemu-ga.
const MAX_OUTPUT: usize = 16 << 20;

/// GLib's search path when the environment has no `PATH`.
const DEFAULT_PATH: &str = "/bin:/usr/bin:.";

/// What `guest-exec` was asked to run.
pub struct ExecRequest {
    /// The program (looked up in `PATH` without a `/`).
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its whole environment, entries as given; the agent's without it.
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

/// How a process ended, with what it wrote.
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

/// The signals the agent found ignored when it started; its children get
/// them ignored too, and every other signal at its default, as qemu-ga's
/// children do.
static IGNORED_AT_START: OnceLock<Vec<i32>> = OnceLock::new();

/// Notes the signal dispositions the agent was started with; call it
/// first thing in `main` (later calls change nothing).  Rust's runtime
/// ignores `SIGPIPE` before `main`, so that one is taken to have been at
/// its default.
pub fn record_signal_dispositions() {
    IGNORED_AT_START.get_or_init(|| {
        (1..libc::SIGRTMAX())
            .filter(|&s| s != libc::SIGPIPE && s != libc::SIGKILL && s != libc::SIGSTOP)
            .filter(|&s| {
                // SAFETY: sigaction with a null new action only reads the
                // current disposition into `old`.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    libc::sigaction(s, std::ptr::null(), &mut old) == 0
                        && old.sa_sigaction == libc::SIG_IGN
                }
            })
            .collect()
    });
}

fn c_string(bytes: &[u8]) -> Result<CString, Error> {
    CString::new(bytes).map_err(|_| Error::generic("argument contains a NUL byte"))
}

/// A null-terminated array of pointers into `strings`.
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Everything the child needs to exec, made before it is forked (after
/// the fork only async-signal-safe calls are allowed).
struct Exec {
    /// The files to try, in order.
    candidates: Vec<CString>,
    argv: Vec<CString>,
    envp: Vec<CString>,
    /// `/bin/sh CANDIDATE ARGS...` for a candidate without `#!`.
    sh_argv: Vec<Vec<CString>>,
    ignored: Vec<i32>,
}

impl Exec {
    fn new(req: &ExecRequest) -> Result<Exec, Error> {
        let envp: Vec<CString> = match &req.env {
            Some(env) => env
                .iter()
                .map(|e| c_string(e.as_bytes()))
                .collect::<Result<_, _>>()?,
            None => std::env::vars_os()
                .map(|(k, v)| {
                    let mut entry = k.as_bytes().to_vec();
                    entry.push(b'=');
                    entry.extend_from_slice(v.as_bytes());
                    c_string(&entry)
                })
                .collect::<Result<_, _>>()?,
        };
        let candidates: Vec<CString> = if req.path.contains('/') {
            vec![c_string(req.path.as_bytes())?]
        } else {
            let path = match &req.env {
                Some(env) => env
                    .iter()
                    .find_map(|e| e.strip_prefix("PATH="))
                    .map(str::to_owned),
                None => std::env::var("PATH").ok(),
            }
            .unwrap_or_else(|| DEFAULT_PATH.to_owned());
            path.split(':')
                .map(|dir| {
                    let dir = if dir.is_empty() { "." } else { dir };
                    c_string(format!("{dir}/{}", req.path).as_bytes())
                })
                .collect::<Result<_, _>>()?
        };
        let argv: Vec<CString> = std::iter::once(&req.path)
            .chain(&req.args)
            .map(|a| c_string(a.as_bytes()))
            .collect::<Result<_, _>>()?;
        let sh = c_string(b"/bin/sh")?;
        let sh_argv = candidates
            .iter()
            .map(|c| {
                let mut v = vec![sh.clone(), c.clone()];
                v.extend(argv.iter().skip(1).cloned());
                v
            })
            .collect();
        Ok(Exec {
            candidates,
            argv,
            envp,
            sh_argv,
            ignored: IGNORED_AT_START.get_or_init(Vec::new).clone(),
        })
    }

    /// In the forked child: dispositions, mask and descriptors as a new
    /// process of qemu-ga's gets them, then each candidate in turn.
    /// Returns only on failure, with the error to report.
    ///
    /// # Safety
    /// Runs between fork and exec: only async-signal-safe calls.
    unsafe fn run(&self) -> std::io::Error {
        for sig in 1..libc::SIGRTMAX() {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let action = if self.ignored.contains(&sig) {
                libc::SIG_IGN
            } else {
                libc::SIG_DFL
            };
            libc::signal(sig, action);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        // Descriptors above stderr close on exec (the runtime's own, the
        // agent's open files).
        const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) != 0 {
            for fd in 3..4096 {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        let argv = pointers(&self.argv);
        let envp = pointers(&self.envp);
        let mut denied = false;
        let mut last = libc::ENOENT;
        for (i, candidate) in self.candidates.iter().enumerate() {
            libc::execve(candidate.as_ptr(), argv.as_ptr(), envp.as_ptr());
            last = *libc::__errno_location();
            match last {
                libc::ENOEXEC => {
                    let sh = pointers(&self.sh_argv[i]);
                    libc::execve(sh[0], sh.as_ptr(), envp.as_ptr());
                    last = *libc::__errno_location();
                    break;
                }
                libc::EACCES => denied = true,
                libc::ENOENT | libc::ESTALE | libc::ENOTDIR | libc::ENODEV | libc::ETIMEDOUT => {}
                _ => break,
            }
        }
        std::io::Error::from_raw_os_error(if denied && last == libc::ENOENT {
            libc::EACCES
        } else {
            last
        })
    }
}

/// Feeds `input` to the child, collects what the pipes give, reaps it.
fn supervise(mut child: Child, input: Option<Vec<u8>>, merged: Option<std::fs::File>) -> Finished {
    let stdin = child.stdin.take();
    let mut out = merged
        .map(Pipe::new)
        .or_else(|| child.stdout.take().map(Pipe::new));
    let mut err = child.stderr.take().map(Pipe::new);
    let mut feed = stdin.map(|pipe| Feed {
        pipe: Some(pipe),
        data: input.unwrap_or_default(),
        at: 0,
    });
    loop {
        let mut fds = Vec::new();
        for p in [&out, &err].into_iter().flatten().filter(|p| p.open) {
            fds.push(libc::pollfd {
                fd: p.fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if let Some(f) = feed.as_ref().and_then(|f| f.pipe.as_ref()) {
            fds.push(libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            });
        }
        if fds.is_empty() {
            break;
        }
        // SAFETY: poll reads and writes exactly `fds.len()` entries.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break;
        }
        for p in [&mut out, &mut err].into_iter().flatten() {
            if p.open && fds.iter().any(|f| f.fd == p.fd() && f.revents != 0) {
                p.take();
            }
        }
        if let Some(f) = feed.as_mut() {
            f.step();
        }
    }
    let status = child.wait();
    Finished {
        code: status.as_ref().ok().and_then(|s| s.code()),
        signal: status.as_ref().ok().and_then(|s| s.signal()),
        out: out.map(|p| p.output),
        err: err.map(|p| p.output),
    }
}

/// The child's input, written as the pipe takes it, then closed.
struct Feed {
    pipe: Option<ChildStdin>,
    data: Vec<u8>,
    at: usize,
}

impl Feed {
    fn step(&mut self) {
        let Some(pipe) = &self.pipe else { return };
        let rest = &self.data[self.at..];
        if !rest.is_empty() {
            // SAFETY: a non-blocking write of `rest` to our pipe.
            let n = unsafe {
                let fd = pipe.as_raw_fd();
                let flags = libc::fcntl(fd, libc::F_GETFL);
                libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
                libc::write(fd, rest.as_ptr().cast(), rest.len())
            };
            if n > 0 {
                self.at += n as usize;
            } else if n < 0
                && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock
            {
                return;
            } else {
                // The child closed its input: nothing more goes in.
                self.at = self.data.len();
            }
        }
        if self.at == self.data.len() {
            self.pipe = None;
        }
    }
}

/// One output stream being collected.
struct Pipe {
    reader: Box<dyn ReadFd + Send>,
    output: Output,
    open: bool,
}

trait ReadFd: Read {
    fn raw(&self) -> i32;
}

impl<T: Read + AsRawFd> ReadFd for T {
    fn raw(&self) -> i32 {
        self.as_raw_fd()
    }
}

impl Pipe {
    fn new(reader: impl ReadFd + Send + 'static) -> Pipe {
        Pipe {
            reader: Box::new(reader),
            output: Output::default(),
            open: true,
        }
    }

    fn fd(&self) -> i32 {
        self.reader.raw()
    }

    /// Reads what is there; past the limit it is read and dropped.
    fn take(&mut self) {
        let mut buf = [0u8; 64 << 10];
        match self.reader.read(&mut buf) {
            Ok(0) | Err(_) => self.open = false,
            Ok(n) => {
                let room = MAX_OUTPUT - self.output.data.len();
                self.output.data.extend_from_slice(&buf[..n.min(room)]);
                self.output.truncated |= n > room;
            }
        }
    }
}

/// A pipe: (read end, write end), both closed on exec.
fn pipe() -> Result<(std::fs::File, std::fs::File), Error> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors, each owned by one File.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(Error::generic(errno_text(&std::io::Error::last_os_error())));
        }
        Ok((
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        ))
    }
}

fn stdio(wanted: bool) -> Stdio {
    if wanted {
        Stdio::piped()
    } else {
        Stdio::null()
    }
}

impl Processes {
    /// `guest-exec`: starts the process and returns its pid.
    pub fn start(&self, req: ExecRequest) -> Result<i64, Error> {
        let input = req.input.as_deref().map(b64::decode).transpose()?;
        let mode = match &req.capture {
            None | Some(GuestExecCaptureOutput::Flag(false)) => Capture::None,
            Some(GuestExecCaptureOutput::Flag(true)) => Capture::Separated,
            Some(GuestExecCaptureOutput::Mode(m)) => *m,
        };
        let (keep_out, keep_err) = match mode {
            Capture::None => (false, false),
            Capture::Stdout => (true, false),
            Capture::Stderr => (false, true),
            Capture::Separated => (true, true),
            Capture::Merged => (true, false),
        };
        let exec = Exec::new(&req)?;
        let mut cmd = Command::new(OsStr::from_bytes(req.path.as_bytes()));
        cmd.stdin(stdio(input.is_some()))
            .stdout(stdio(keep_out))
            .stderr(stdio(keep_err));
        let merged = if mode == Capture::Merged {
            // One pipe for both streams.
            let (reader, writer) = pipe()?;
            let writer2 = writer
                .try_clone()
                .map_err(|e| Error::generic(errno_text(&e)))?;
            cmd.stdout(writer).stderr(writer2);
            Some(reader)
        } else {
            None
        };
        // SAFETY: `Exec::run` makes only async-signal-safe calls and uses
        // memory prepared before the fork.
        unsafe {
            cmd.pre_exec(move || Err(exec.run()));
        }
        let path = req.path;
        let (started, pid) = std::sync::mpsc::sync_channel::<Result<u32, Error>>(1);
        let slot: Arc<Mutex<Option<Finished>>> = Arc::new(Mutex::new(None));
        let done = Arc::clone(&slot);
        std::thread::Builder::new()
            .name("guest-exec".to_owned())
            .spawn(move || {
                let child = cmd.spawn().map_err(|e| {
                    Error::generic(format!(
                        "Failed to execute child process “{path}” ({})",
                        errno_text(&e)
                    ))
                });
                drop(cmd);
                let child = match child {
                    Ok(child) => {
                        let _ = started.send(Ok(child.id()));
                        child
                    }
                    Err(e) => {
                        let _ = started.send(Err(e));
                        return;
                    }
                };
                let finished = supervise(child, input, merged);
                *done.lock().unwrap_or_else(|e| e.into_inner()) = Some(finished);
            })
            .map_err(|e| Error::generic(format!("Failed to fork ({})", errno_text(&e))))?;
        let pid = pid
            .recv()
            .map_err(|_| Error::generic("Failed to fork (the supervisor ended)"))??;
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(i64::from(pid), slot);
        Ok(i64::from(pid))
    }

    /// `guest-exec-status`: once it reports the exit, the pid is forgotten.
    pub fn status(&self, pid: i64) -> Result<GuestExecStatus, Error> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let slot = running
            .get(&pid)
            .ok_or_else(|| Error::generic(format!("PID {pid} does not exist")))?;
        let finished = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(finished) = finished else {
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
        let data = |o: &Option<Output>| {
            o.as_ref()
                .filter(|o| !o.data.is_empty())
                .map(|o| b64::encode(&o.data))
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
            out_data: data(&finished.out),
            err_data: data(&finished.err),
            out_truncated: truncated(&finished.out),
            err_truncated: truncated(&finished.err),
        })
    }
}
