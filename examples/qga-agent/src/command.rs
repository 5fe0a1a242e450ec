//! Running a helper program as qemu-ga runs `chpasswd`, `hwclock`,
//! `shutdown` and the freeze hook: in a session of its own, the input (if
//! any) on its standard input, standard output and error together in one
//! pipe, and that output in the error when the program fails.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use qapi_runtime::Error;

use crate::errno_text;

/// How a helper ended, with everything it wrote.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Its exit status, `None` if a signal ended it.
    pub code: Option<i32>,
    /// Its standard output and error, interleaved.
    pub output: String,
}

/// A pipe whose ends are closed on exec: (read end, write end).
fn pipe() -> std::io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new descriptors into `fds`, each owned by
    // one File below.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok((File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])))
    }
}

/// Runs `argv` (the program looked up in `PATH`) with `input` on its
/// standard input.  A program that cannot be started reads as one that
/// wrote `failed to exec 'PROGRAM': REASON` and exited with status 1, as
/// qemu-ga's child reports it.
pub fn spawn(argv: &[&str], input: Option<&[u8]>) -> Result<Outcome, Error> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Error::generic("failed to create child process"))?;
    let (reader, writer) = pipe().map_err(|_| Error::generic("cannot create pipe FDs"))?;
    let stderr = writer
        .try_clone()
        .map_err(|_| Error::generic("cannot create pipe FDs"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(writer)
        .stderr(stderr);
    // SAFETY: setsid is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            drop(command);
            return Ok(Outcome {
                code: Some(1),
                output: format!("failed to exec '{program}': {}\n", errno_text(&e)),
            });
        }
    };
    // The pipe's write ends live in `command`; drop them so that reading
    // ends when the child is done.
    drop(command);
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        // A child that exits without reading closes the pipe: what it
        // says is in its output.
        let _ = stdin.write_all(input);
    }
    let mut output = Vec::new();
    let mut reader = reader;
    let read = reader.read_to_end(&mut output);
    let status = child.wait().map_err(|e| {
        Error::generic(format!(
            "failed to wait for child (pid: {}): {}",
            child.id(),
            errno_text(&e)
        ))
    })?;
    read.map_err(|e| {
        Error::generic(format!(
            "cannot read from stdout/stderr pipe: {}",
            errno_text(&e)
        ))
    })?;
    Ok(Outcome {
        code: status.code(),
        output: String::from_utf8_lossy(&output).into_owned(),
    })
}

/// Runs `argv` and turns a failure into qemu-ga's error: `child process
/// has failed to ACTION: OUTPUT` (or `exit status N` if it wrote nothing),
/// `child process has terminated abnormally` for a signal.
pub fn run(argv: &[&str], input: Option<&[u8]>, action: &str) -> Result<(), Error> {
    let outcome = spawn(argv, input)?;
    let said = |prefix: String| {
        if outcome.output.is_empty() {
            prefix
        } else {
            format!("{prefix}: {}", outcome.output)
        }
    };
    match outcome.code {
        Some(0) => Ok(()),
        None => Err(Error::generic(said(
            "child process has terminated abnormally".to_owned(),
        ))),
        Some(code) if outcome.output.is_empty() => Err(Error::generic(format!(
            "child process has failed to {action}: exit status {code}"
        ))),
        Some(_) => Err(Error::generic(said(format!(
            "child process has failed to {action}"
        )))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_carry_the_output_or_the_status() {
        assert!(run(&["true"], None, "do it").is_ok());
        assert_eq!(
            run(&["false"], None, "do it").unwrap_err().desc,
            "child process has failed to do it: exit status 1"
        );
        assert_eq!(
            run(
                &["sh", "-c", "echo out; echo err >&2; exit 3"],
                None,
                "do it"
            )
            .unwrap_err()
            .desc,
            "child process has failed to do it: out\nerr\n"
        );
        assert_eq!(
            run(&["sh", "-c", "kill -9 $$"], None, "do it")
                .unwrap_err()
                .desc,
            "child process has terminated abnormally"
        );
        assert_eq!(
            run(&["/nonexistent/helper"], None, "do it").unwrap_err().desc,
            "child process has failed to do it: failed to exec '/nonexistent/helper': No such file or directory\n"
        );
    }

    #[test]
    fn the_input_is_the_standard_input() {
        let outcome = spawn(
            &["sh", "-c", "read line; echo \"got $line\"; exit 2"],
            Some(b"alice:pw\n"),
        )
        .unwrap();
        assert_eq!(
            outcome,
            Outcome {
                code: Some(2),
                output: "got alice:pw\n".to_owned()
            }
        );
    }
}
