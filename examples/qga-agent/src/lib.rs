//! A QEMU guest agent built on `qapi-runtime`: the commands of
//! `schema/qga.json` (qemu-ga's wire protocol), qemu-ga's command line
//! and configuration file, and the feature-group policy (`-u`, `-e`, `-i`).
//!
//! The binary is `qga-agent`; this library is what it and its tests are
//! made of: [`Agent`] (the state the handlers share), [`dispatcher`], the
//! [`system`] backend for operations that could harm the machine, and
//! [`config`].

mod b64;
mod command;
pub mod config;
pub mod cvm;
mod disks;
mod exec;
mod files;
pub mod handlers;
mod hardware;
pub mod known;
mod power;
mod routes;
mod ssh;
mod state;
mod sysinfo;
pub mod system;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use qapi_runtime::policy::Policy;
use qapi_runtime::policy::{qga as qga_policy, GateState};
use qapi_runtime::server::dispatch::{BuildError, DispatcherHandle};
use qapi_runtime::{Dispatcher, Error};

pub use crate::exec::record_signal_dispositions;
pub use crate::power::SuspendMode;
pub use crate::state::{FROZEN_FILE, STATE_FILE};
use crate::system::System;

/// The code generated from `schema/qga.json`.
#[allow(clippy::all)]
pub mod qga {
    include!(concat!(env!("OUT_DIR"), "/qga.rs"));
}

/// What `guest-info` reports as the agent's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The state every handler shares.
pub struct Agent {
    /// Everything that changes the machine.
    pub system: Box<dyn System>,
    state: state::State,
    files: files::Files,
    processes: exec::Processes,
    frozen: GateState,
    freeze_hook: Option<PathBuf>,
    dispatcher: DispatcherHandle<Agent>,
}

impl Agent {
    /// An agent on `system` that keeps its state in `statedir` (file
    /// handles go on from where the last run left them; if that run left
    /// file systems frozen, the agent starts frozen).  The error says
    /// which state file could not be written.
    pub fn new(system: Box<dyn System>, statedir: Option<&Path>) -> Result<Agent, String> {
        let state = state::State::open(statedir)?;
        let frozen = GateState::default();
        frozen.set(state.was_frozen());
        Ok(Agent {
            system,
            state,
            files: files::Files::default(),
            processes: exec::Processes::default(),
            frozen,
            freeze_hook: None,
            dispatcher: DispatcherHandle::default(),
        })
    }

    /// Runs `hook` with `freeze` before file systems freeze and `thaw`
    /// after they thaw (qemu-ga's `-F`).
    pub fn with_freeze_hook(mut self, hook: Option<PathBuf>) -> Agent {
        self.freeze_hook = hook;
        self
    }

    /// Whether file systems are frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen.get()
    }

    /// Enters or leaves the frozen state.  The marker file only helps a
    /// restarted agent: failing to write it is logged, never an error (the
    /// host must still be able to thaw).
    fn set_frozen(&self, frozen: bool) {
        self.frozen.set(frozen);
        if let Err(e) = self.state.record_frozen(frozen) {
            log_warning(&format!("unable to record the frozen state in {e}"));
        }
    }

    fn run_freeze_hook(&self, argument: &str) -> Result<(), Error> {
        match &self.freeze_hook {
            Some(hook) => command::run(
                &[&hook.to_string_lossy(), argument],
                None,
                "execute fsfreeze hook",
            ),
            None => Ok(()),
        }
    }

    /// Freezes, as qemu-ga: the hook first; frozen while the freeze runs;
    /// a freeze that froze nothing leaves the agent thawed; a failed one
    /// thaws what it froze.
    fn freeze(&self, mountpoints: Option<&[String]>) -> Result<i64, Error> {
        self.run_freeze_hook("freeze")?;
        self.set_frozen(true);
        match self.system.freeze(mountpoints) {
            Ok(0) => {
                self.set_frozen(false);
                Ok(0)
            }
            Ok(count) => Ok(count),
            Err(e) => {
                let _ = self.thaw();
                Err(e)
            }
        }
    }

    /// Thaws every file system, frozen by this agent or not; then the hook.
    fn thaw(&self) -> Result<i64, Error> {
        let count = self.system.thaw()?;
        self.set_frozen(false);
        self.run_freeze_hook("thaw")?;
        Ok(count)
    }

    fn user(&self, name: &str) -> Result<system::User, Error> {
        self.system.user(name)
    }
}

/// A warning in the log (standard error, or the `-l` file).
pub fn log_warning(message: &str) {
    eprintln!("qga-agent: warning: {message}");
}

/// The dispatcher of `agent` under `policy`: every handler of
/// [`handlers`], the frozen state shared.  The policy's lists may name any
/// command qemu-ga 10.0 knows (a qemu-ga configuration works unchanged);
/// a name no qemu-ga knows is an error, since it blocks or allows nothing.
pub fn dispatcher(policy: Policy, agent: Agent) -> Result<Arc<Dispatcher<Agent>>, BuildError> {
    let unknown: Vec<String> = policy
        .block
        .iter()
        .chain(&policy.allow)
        .filter(|name| !known::QEMU_GA_COMMANDS.contains(&name.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(BuildError::UnknownPolicyNames(unknown));
    }
    let frozen = qga_policy::frozen_gate(qga::Feature::NAMES.iter().copied(), agent.frozen.clone());
    let builder = Dispatcher::builder(qga::SCHEMA).policy(policy).gate(frozen);
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
