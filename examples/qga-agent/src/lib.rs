//! A QEMU guest agent built on `qapi-runtime`: the commands of
//! `schema/qga.json` (qemu-ga's wire protocol), qemu-ga's command line
//! and configuration file, and the feature-group policy (`-u`, `-e`, `-i`).
//!
//! The binary is `qga-agent`; this library is what it and its tests are
//! made of: [`Agent`] (the state the handlers share), [`dispatcher`], the
//! [`system`] backend for operations that could harm the machine, and
//! [`config`].

pub mod config;
mod exec;
mod files;
pub mod handlers;
mod ssh;
mod sysinfo;
pub mod system;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use qapi_runtime::policy::Policy;
use qapi_runtime::server::dispatch::{BuildError, DispatcherHandle, FrozenState};
use qapi_runtime::{Dispatcher, Error};

use crate::system::System;

/// The code generated from `schema/qga.json`.
#[allow(clippy::all)]
pub mod qga {
    include!(concat!(env!("OUT_DIR"), "/qga.rs"));
}

/// What `guest-info` reports as the agent's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The file whose presence in the state directory means "frozen", as
/// qemu-ga names it: a restart while frozen comes back frozen.
pub const FROZEN_FILE: &str = "qga.state.isfrozen";

/// The state every handler shares.
pub struct Agent {
    /// Freezing, passwords, shutdown, home directories.
    pub system: Box<dyn System>,
    files: files::Files,
    processes: exec::Processes,
    frozen: FrozenState,
    statedir: Option<PathBuf>,
    dispatcher: DispatcherHandle<Agent>,
}

impl Agent {
    /// An agent on `system` that keeps its frozen state in `statedir`; if
    /// the frozen marker is there, it starts frozen.
    pub fn new(system: Box<dyn System>, statedir: Option<&Path>) -> Agent {
        let frozen = FrozenState::default();
        if statedir.is_some_and(|d| d.join(FROZEN_FILE).exists()) {
            frozen.set(true);
        }
        Agent {
            system,
            files: files::Files::default(),
            processes: exec::Processes::default(),
            frozen,
            statedir: statedir.map(Path::to_path_buf),
            dispatcher: DispatcherHandle::default(),
        }
    }

    /// Whether file systems are frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen.get()
    }

    fn mark_frozen(&self, frozen: bool) -> Result<(), Error> {
        self.frozen.set(frozen);
        let Some(dir) = &self.statedir else {
            return Ok(());
        };
        let marker = dir.join(FROZEN_FILE);
        let result = if frozen {
            std::fs::write(&marker, b"")
        } else {
            match std::fs::remove_file(&marker) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        };
        result.map_err(|e| Error::generic(format!("failed to update {}: {e}", marker.display())))
    }

    fn freeze(&self, mountpoints: Option<&[String]>) -> Result<i64, Error> {
        let count = self.system.freeze(mountpoints)?;
        self.mark_frozen(true)?;
        Ok(count)
    }

    fn thaw(&self) -> Result<i64, Error> {
        if !self.is_frozen() {
            return Ok(0);
        }
        let count = self.system.thaw()?;
        self.mark_frozen(false)?;
        Ok(count)
    }

    fn authorized_keys(&self, user: &str) -> Result<PathBuf, Error> {
        Ok(self.system.home_dir(user)?.join(".ssh/authorized_keys"))
    }
}

/// The dispatcher of `agent` under `policy`: every handler of
/// [`handlers`], the frozen state shared.
pub fn dispatcher(policy: Policy, agent: Agent) -> Result<Arc<Dispatcher<Agent>>, BuildError> {
    let frozen = agent.frozen.clone();
    let builder = Dispatcher::builder(qga::SCHEMA)
        .policy(policy)
        .strict_policy_names(true)
        .frozen_state(frozen);
    let dispatcher = Arc::new(handlers::all::register(builder).build(agent)?);
    dispatcher.state().dispatcher.set(&dispatcher);
    Ok(dispatcher)
}

/// An I/O error's text as C's `strerror` gives it.
fn errno_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
