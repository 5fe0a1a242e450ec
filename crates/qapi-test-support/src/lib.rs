//! Tests that need something from outside the workspace: the shared
//! corpus (`QAPI_CORPUS`), a peer program (QEMU, qemu-ga), a Python module.
//!
//! A test file declares its tests in a [`Suite`] (its `[[test]]` entry has
//! `harness = false`).  A test whose need is missing shows in cargo's
//! summary as *ignored*, with the reason, never as passed; with
//! `QAPI_REQUIRE_QEMU=1` (as `.ci/run` sets it) a missing peer (a program,
//! a Python module) fails the test instead.  A missing corpus is always
//! ignored: where it lives is the environment's choice.
//!
//! ```no_run
//! use qapi_test_support::{program, Suite};
//!
//! let mut suite = Suite::new();
//! suite.test("parses", || assert_eq!(1 + 1, 2));
//! suite.needs("against qemu", program("qemu-system-x86_64", "apt-get install qemu-system-x86"), |qemu| {
//!     // `qemu` is the program's path
//! });
//! suite.run();
//! ```

pub mod guest;

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// Why a need is not met, as the summary shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// What is missing and how to get it.
    pub reason: String,
    /// Whether it is a peer (a program, a Python module), which
    /// `QAPI_REQUIRE_QEMU` requires, rather than the corpus.
    pub peer: bool,
}

impl Missing {
    /// A peer that is not there.
    pub fn peer(reason: impl Into<String>) -> Self {
        Missing {
            reason: reason.into(),
            peer: true,
        }
    }

    /// The corpus (or something only built with it) is not there.
    pub fn corpus(reason: impl Into<String>) -> Self {
        Missing {
            reason: reason.into(),
            peer: false,
        }
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The shared corpus (`$QAPI_CORPUS`), if set and present.
pub fn corpus() -> Result<PathBuf, Missing> {
    let dir = std::env::var_os("QAPI_CORPUS")
        .map(PathBuf::from)
        .ok_or_else(|| Missing::corpus("QAPI_CORPUS is not set (point it at the shared corpus)"))?;
    if dir.join("schemas").is_dir() {
        Ok(dir)
    } else {
        Err(Missing::corpus(format!(
            "QAPI_CORPUS={} has no schemas/",
            dir.display()
        )))
    }
}

/// A file of the shared corpus, e.g. `peers/qemu-ga-10.0.13`.
pub fn corpus_file(relative: &str) -> Result<PathBuf, Missing> {
    let path = corpus()?.join(relative);
    if path.exists() {
        Ok(path)
    } else {
        Err(Missing::corpus(format!(
            "{} is not in the corpus",
            path.display()
        )))
    }
}

/// A program found on `PATH` (or at an absolute path); `install` says how
/// to get it.
pub fn program(name: &str, install: &str) -> Result<PathBuf, Missing> {
    let found = if Path::new(name).is_absolute() {
        Some(PathBuf::from(name)).filter(|p| p.exists())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    };
    found.ok_or_else(|| Missing::peer(format!("{name} is not installed ({install})")))
}

/// A Python module importable by `python3`; `install` says how to get it.
pub fn python_module(module: &str, install: &str) -> Result<PathBuf, Missing> {
    let python = program("python3", "apt-get install python3")?;
    let status = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .map_err(|e| Missing::peer(format!("python3: {e}")))?;
    if status.status.success() {
        Ok(python)
    } else {
        Err(Missing::peer(format!(
            "python3 cannot import {module} ({install})"
        )))
    }
}

/// Whether missing needs are failures (`QAPI_REQUIRE_QEMU` is set).
pub fn required() -> bool {
    std::env::var_os("QAPI_REQUIRE_QEMU").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The tests of one test file.
#[derive(Default)]
pub struct Suite {
    trials: Vec<Trial>,
}

impl Suite {
    /// An empty suite.
    pub fn new() -> Self {
        Suite::default()
    }

    /// A test that needs nothing from outside.
    pub fn test(&mut self, name: impl Into<String>, test: impl FnOnce() + Send + 'static) {
        self.trials.push(Trial::test(name, move || {
            test();
            Ok(())
        }));
    }

    /// A test that needs something: run with it when it is there; ignored
    /// with the reason otherwise (failed under `QAPI_REQUIRE_QEMU` if it is
    /// a peer).
    pub fn needs<T: Send + 'static>(
        &mut self,
        name: impl Into<String>,
        need: Result<T, Missing>,
        test: impl FnOnce(T) + Send + 'static,
    ) {
        self.needs_lazily(name, move || need, test);
    }

    /// [`needs`](Self::needs) with a need found only when the test runs
    /// (for a costly one: not when the test is filtered out or listed).
    pub fn needs_lazily<T: Send + 'static>(
        &mut self,
        name: impl Into<String>,
        need: impl FnOnce() -> Result<T, Missing> + Send + 'static,
        test: impl FnOnce(T) + Send + 'static,
    ) {
        self.trials
            .push(Trial::ignorable_test(name, move || match need() {
                Ok(found) => {
                    test(found);
                    Ok(Completion::Completed)
                }
                Err(missing) if missing.peer && required() => Err(Failed::from(format!(
                    "QAPI_REQUIRE_QEMU is set, but {missing}"
                ))),
                Err(missing) => Ok(Completion::ignored_with(missing)),
            }));
    }

    /// Runs the tests as cargo's harness would (filters, `--list`, ...)
    /// and exits.
    pub fn run(self) -> ! {
        libtest_mimic::run(&Arguments::from_args(), self.trials).exit()
    }
}
