//! A toy machine behind a QMP server: the state its commands change and
//! the events they raise.  `qmp_capabilities`, `query-commands` and
//! `query-qmp-schema` are answered by the runtime; every other command of
//! `schema/qmp.json` has a handler here.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use qapi_runtime::policy::{Gate, GateState, Policy, Rule};
use qapi_runtime::server::dispatch::BuildError;
use qapi_runtime::server::EventSender;
use qapi_runtime::Dispatcher;

/// The code generated from `schema/qmp.json`.
pub mod qmp {
    include!(concat!(env!("OUT_DIR"), "/qmp.rs"));
}

/// This program's version: what the greeting and `query-version` say.
pub const VERSION: (u32, u32, u32) = (
    number(env!("CARGO_PKG_VERSION_MAJOR")),
    number(env!("CARGO_PKG_VERSION_MINOR")),
    number(env!("CARGO_PKG_VERSION_PATCH")),
);

/// A decimal number, at compile time.
const fn number(digits: &str) -> u32 {
    let digits = digits.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < digits.len() {
        n = n * 10 + (digits[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// The package name the greeting and `query-version` give.
pub const PACKAGE: &str = env!("CARGO_PKG_NAME");

/// The greeting: this version, `oob` offered.
pub fn greeting() -> qapi_runtime::server::session::Greeting {
    qapi_runtime::server::session::Greeting {
        version: VERSION,
        package: PACKAGE.to_owned(),
        oob: true,
    }
}

/// The machine every handler shares.
#[derive(Debug)]
pub struct Machine {
    name: Option<String>,
    state: Mutex<qmp::RunState>,
    /// On while the machine is paused: then only `read-only` and
    /// `runstate` commands run.
    paused: GateState,
    /// Where the machine's events go.
    pub events: EventSender,
    /// In-band commands running now (for `x-query-busy`).
    busy: AtomicUsize,
}

impl Machine {
    /// A machine not started yet, called `name`.
    pub fn new(name: Option<String>) -> Machine {
        Machine {
            name,
            state: Mutex::new(qmp::RunState::Prelaunch),
            paused: GateState::default(),
            events: EventSender::new(64),
            busy: AtomicUsize::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, qmp::RunState> {
        // A handler that panicked left a valid state behind.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit<E: qapi_runtime::Event>(&self, event: &E) -> Result<(), qapi_runtime::Error> {
        self.events
            .emit(event)
            .map_err(|e| qapi_runtime::Error::generic(e.to_string()))
    }
}

/// The handlers, one per command the runtime does not answer itself.
#[qapi_runtime::handlers(schema = "qmp", require_all)]
pub mod handlers {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use qapi_runtime::Error;

    use crate::qmp::{self, events, RunState};
    use crate::Machine;

    /// This program's version, in QEMU's shape.
    #[command]
    pub fn query_version() -> Result<qmp::VersionInfo, Error> {
        let (major, minor, micro) = crate::VERSION;
        Ok(qmp::VersionInfo {
            qemu: qmp::VersionTriple {
                major: major.into(),
                minor: minor.into(),
                micro: micro.into(),
            },
            package: crate::PACKAGE.to_owned(),
        })
    }

    /// The machine's name, if it has one.
    #[command]
    pub fn query_name(machine: &Machine) -> Result<qmp::NameInfo, Error> {
        Ok(qmp::NameInfo {
            name: machine.name.clone(),
        })
    }

    /// The run state.
    #[command]
    pub fn query_status(machine: &Machine) -> Result<qmp::StatusInfo, Error> {
        let status = machine.state().clone();
        Ok(qmp::StatusInfo {
            running: status == RunState::Running,
            status,
        })
    }

    /// Pauses a running machine (`STOP`).
    #[command]
    pub fn stop(machine: &Machine) -> Result<(), Error> {
        let mut state = machine.state();
        if *state == RunState::Running {
            *state = RunState::Paused;
            machine.paused.set(true);
            machine.emit(&events::Stop {})?;
        }
        Ok(())
    }

    /// Starts or resumes the machine (`RESUME`).
    #[command]
    pub fn cont(machine: &Machine) -> Result<(), Error> {
        let mut state = machine.state();
        match *state {
            RunState::Shutdown => Err(Error::generic("Resetting the Virtual Machine is required")),
            RunState::Running => Ok(()),
            _ => {
                *state = RunState::Running;
                machine.paused.set(false);
                machine.emit(&events::Resume {})
            }
        }
    }

    /// Powers the machine down (`POWERDOWN`).
    #[command]
    pub fn system_powerdown(machine: &Machine) -> Result<(), Error> {
        *machine.state() = RunState::Shutdown;
        machine.emit(&events::Powerdown {})
    }

    /// Sleeps on a thread of its own, as slow work would.
    #[command(blocking)]
    pub fn x_debug_sleep(machine: &Machine, seconds: f64) -> Result<(), Error> {
        let pause = Duration::try_from_secs_f64(seconds)
            .map_err(|_| Error::generic("Parameter 'seconds' expects a duration"))?;
        machine.busy.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(pause);
        machine.busy.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }

    /// Whether a command is running, out of band if asked so.
    #[command]
    pub fn x_query_busy(machine: &Machine) -> Result<qmp::BusyInfo, Error> {
        Ok(qmp::BusyInfo {
            busy: machine.busy.load(Ordering::SeqCst) > 0,
        })
    }
}

/// What a deployment of this server chose: its own switches over the
/// schema's groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Switches {
    /// Commands that never run, by name.
    pub block: Vec<String>,
    /// `--no-debug`: commands tagged `debug` do not run.
    pub no_debug: bool,
    /// `--read-only`: only commands tagged `read-only` run.
    pub read_only: bool,
}

impl Switches {
    /// The policy these switches mean, each refusal in their words.
    pub fn policy(&self) -> Policy {
        let mut policy = Policy {
            blocked_reason: "blocked by --block".into(),
            ..Policy::default()
        }
        .block(self.block.iter().cloned());
        if self.no_debug {
            policy = policy.rule(Rule::deny(
                qmp::Feature::Debug,
                "blocked by --no-debug (feature 'debug')",
            ));
        }
        if self.read_only {
            policy = policy.rule(Rule::require(
                qmp::Feature::ReadOnly,
                "blocked by --read-only (it would change the machine)",
            ));
        }
        policy
    }
}

/// The dispatcher of `machine` under `policy`; while the machine is
/// paused, only `read-only` and `runstate` commands run.
pub fn dispatcher(
    machine: Machine,
    policy: Policy,
) -> Result<Arc<Dispatcher<Machine>>, BuildError> {
    let paused = Gate::new(
        qmp::Feature::ReadOnly.set() | qmp::Feature::Runstate.set(),
        "not while the machine is paused",
        machine.paused.clone(),
    );
    let builder = Dispatcher::builder(qmp::SCHEMA)
        .policy(policy)
        .gate(paused)
        .strict_policy_names(true);
    Ok(Arc::new(handlers::register(builder).build(machine)?))
}
