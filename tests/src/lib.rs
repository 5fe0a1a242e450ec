//! A test agent built from `schemas/agent.json` with the runtime's
//! dispatcher, and helpers to serve it on a temporary Unix socket.  The
//! integration tests and the dispatch benchmark use it.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use qapi_runtime::json::Limits;
use qapi_runtime::policy::{qga as qga_policy, GateState};
use qapi_runtime::policy::{CompatPolicy, Policy};
use qapi_runtime::server::dispatch::DispatcherHandle;
use qapi_runtime::server::{serve, EventSender, ServerConfig};
use qapi_runtime::Dispatcher;

/// The code generated from `schemas/agent.json`.
pub mod agent {
    include!(concat!(env!("OUT_DIR"), "/agent.rs"));
}

/// The code generated from `schemas/conditional.json`: commands under
/// `cfg(unix)` and `cfg(windows)`.
pub mod conditional {
    include!(concat!(env!("OUT_DIR"), "/conditional.rs"));
}

/// A small QMP server generated from a few commands of QEMU 7.2's QMP
/// schema, answering as QEMU 7.2 started with `-S -machine none` does.
#[cfg(qemu_schemas)]
pub mod qmp72_server {
    include!(concat!(env!("OUT_DIR"), "/qmp72_server.rs"));

    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};

    use qapi_runtime::server::session::Greeting;
    use qapi_runtime::server::{EventSender, Listener, ServerConfig};
    use qapi_runtime::{Dispatcher, Empty, Error};

    /// The machine's run state, and where its events go.
    struct Machine {
        state: Mutex<RunState>,
        events: EventSender,
    }

    impl Machine {
        fn state(&self) -> std::sync::MutexGuard<'_, RunState> {
            self.state.lock().unwrap_or_else(|e| e.into_inner())
        }

        /// Moves to `to` (raising `event`) unless already there.
        fn change<E: qapi_runtime::Event>(&self, to: RunState, event: &E) -> Result<Empty, Error> {
            let mut state = self.state();
            if *state != to {
                *state = to;
                self.events
                    .emit(event)
                    .map_err(|e| Error::generic(e.to_string()))?;
            }
            Ok(Empty {})
        }
    }

    /// Serves it on `DIR/ours.sock` from a runtime of its own.
    pub fn serve(dir: &Path) -> (tokio::runtime::Runtime, PathBuf) {
        use commands as c;
        let machine = Machine {
            state: Mutex::new(RunState::Prelaunch),
            events: EventSender::new(16),
        };
        let events = machine.events.clone();
        let dispatcher = Dispatcher::builder(SCHEMA)
            .handle::<c::QueryStatus, _>(|m: &Machine, _| {
                let status = m.state().clone();
                Ok(StatusInfo {
                    running: status == RunState::Running,
                    singlestep: false,
                    status,
                })
            })
            .handle::<c::Cont, _>(|m: &Machine, _| m.change(RunState::Running, &events::Resume {}))
            .handle::<c::Stop, _>(|m: &Machine, _| {
                if *m.state() != RunState::Running {
                    return Ok(Empty {});
                }
                m.change(RunState::Paused, &events::Stop {})
            })
            .handle::<c::QueryName, _>(|_, _| Ok(NameInfo { name: None }))
            .handle::<c::QueryUuid, _>(|_, _| {
                Ok(UuidInfo {
                    uuid: "00000000-0000-0000-0000-000000000000".to_owned(),
                })
            })
            .handle::<c::QueryVersion, _>(|_, _| {
                Ok(VersionInfo {
                    qemu: VersionTriple {
                        major: 7,
                        minor: 2,
                        micro: 0,
                    },
                    package: String::new(),
                })
            })
            .build(machine)
            .expect("a handler per command of the selection");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let socket = dir.join("ours.sock");
        let listener = {
            let _guard = rt.enter();
            Listener::bind_unix(&socket, 0o600).expect("bind")
        };
        let greeting = Greeting {
            version: (7, 2, 0),
            package: String::new(),
            oob: true,
        };
        rt.spawn(qapi_runtime::server::serve(
            listener,
            Arc::new(dispatcher),
            ServerConfig::qmp(greeting),
            Some(events),
        ));
        (rt, socket)
    }
}

/// The agent's state.
#[derive(Debug)]
pub struct Agent {
    /// The dispatcher, for `guest-info`.
    dispatcher: DispatcherHandle<Agent>,
    /// Shared with the dispatcher.
    pub frozen: GateState,
    /// How often `guest-shutdown` ran.
    pub shutdowns: AtomicUsize,
    /// Where `guest-emit` emits (QMP servers).
    pub events: EventSender,
}

impl Default for Agent {
    fn default() -> Self {
        Agent {
            dispatcher: DispatcherHandle::default(),
            frozen: GateState::default(),
            shutdowns: AtomicUsize::new(0),
            events: EventSender::new(16),
        }
    }
}

/// The test agent's handlers: plain functions, bound to the schema's
/// commands by `#[handlers]`.
#[qapi_runtime::handlers(
    schema = "agent",
    require = ["guest-sync", "guest-sync-delimited", "guest-ping", "guest-info"]
)]
pub mod handlers {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Duration;

    use qapi_runtime::Error;

    use super::agent::{self, commands as c, FileWhence, LogicalProcessor, ShutdownMode};
    use super::Agent;

    /// Echoes `id`.
    #[command]
    pub fn guest_sync(id: i64) -> Result<i64, Error> {
        Ok(id)
    }

    /// Echoes `id`; the session adds the 0xFF.
    #[command("guest-sync-delimited")]
    pub fn sync_delimited(id: i64) -> Result<i64, Error> {
        Ok(id)
    }

    /// Does nothing.
    #[command]
    pub fn guest_ping() -> Result<(), Error> {
        Ok(())
    }

    /// Every command with whether it runs now.
    #[command]
    pub fn guest_info(agent: &Agent) -> Result<agent::AgentInfo, Error> {
        let dispatcher = agent.dispatcher.get()?;
        let supported_commands = dispatcher
            .commands()
            .map(|status| agent::CommandEntry {
                name: status.info.name.to_owned(),
                enabled: status.enabled(),
                success_response: status.info.success_response,
            })
            .collect();
        Ok(agent::AgentInfo {
            version: "1.0".to_owned(),
            supported_commands,
        })
    }

    /// Pretends to start a process.
    #[command]
    pub fn guest_exec(#[args] _args: c::GuestExec) -> Result<agent::ExecStarted, Error> {
        Ok(agent::ExecStarted { pid: 42 })
    }

    /// Counts the vCPUs it was given.
    #[command]
    pub fn guest_set_vcpus(vcpus: Vec<LogicalProcessor>) -> Result<i64, Error> {
        Ok(vcpus.len() as i64)
    }

    /// Seeks nowhere: answers with `offset`.
    #[command]
    pub fn guest_file_seek(
        _handle: i64,
        offset: i64,
        _whence: FileWhence,
    ) -> Result<agent::SeekResult, Error> {
        Ok(agent::SeekResult {
            position: offset,
            eof: false,
        })
    }

    /// Counts shutdowns instead of shutting anything down.
    #[command]
    pub fn guest_shutdown(agent: &Agent, _mode: Option<ShutdownMode>) -> Result<(), Error> {
        agent.shutdowns.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Changes no password.
    #[command]
    pub fn guest_set_user_password(
        _username: String,
        _password: String,
        _crypted: bool,
    ) -> Result<(), Error> {
        Ok(())
    }

    /// Marks the agent frozen.
    #[command]
    pub fn guest_fsfreeze_freeze(agent: &Agent) -> Result<i64, Error> {
        agent.frozen.set(true);
        Ok(1)
    }

    /// Marks the agent thawed.
    #[command]
    pub fn guest_fsfreeze_thaw(agent: &Agent) -> Result<i64, Error> {
        agent.frozen.set(false);
        Ok(1)
    }

    /// Sleeps `ms` milliseconds without blocking other requests.
    #[command]
    pub async fn guest_sleep(_agent: Arc<Agent>, ms: u32) -> Result<(), Error> {
        tokio::time::sleep(Duration::from_millis(ms.into())).await;
        Ok(())
    }

    /// Blocks its thread for `ms` milliseconds, as a handler doing slow
    /// I/O would.
    #[command(blocking)]
    pub fn guest_block(ms: u32) -> Result<(), Error> {
        std::thread::sleep(Duration::from_millis(ms.into()));
        Ok(())
    }

    /// Emits `EMITTED` with `n`, then answers.
    #[command]
    pub fn guest_emit(agent: &Agent, n: i64) -> Result<(), Error> {
        agent
            .events
            .emit(&agent::events::Emitted { n })
            .map_err(|e| Error::generic(e.to_string()))
    }

    /// Answers with its (boxed) arguments.
    #[command]
    pub fn guest_seek_echo(#[args] args: c::GuestSeekEcho) -> Result<agent::SeekResult, Error> {
        Ok(args.0)
    }

    /// A deprecated command, for the compat policy.
    #[command]
    pub fn guest_old() -> Result<(), Error> {
        Ok(())
    }

    /// A command that may run out of band.
    #[command]
    pub fn guest_oob() -> Result<(), Error> {
        Ok(())
    }
}

/// The test agent with `policy` and `compat`: the handlers of
/// [`handlers`], and `guest-raw` (`'gen': false`) by hand.
pub fn agent(policy: Policy, compat: CompatPolicy) -> Arc<Dispatcher<Agent>> {
    let state = Agent::default();
    let frozen =
        qga_policy::frozen_gate(agent::Feature::NAMES.iter().copied(), state.frozen.clone());
    let builder = Dispatcher::builder(agent::SCHEMA)
        .policy(policy)
        .compat(compat)
        .gate(frozen)
        .handle_raw("guest-raw", |_, arguments| Ok(arguments));
    let dispatcher = handlers::register(builder)
        .build(state)
        .expect("every handler is for a command of the schema");
    let dispatcher = Arc::new(dispatcher);
    dispatcher.state().dispatcher.set(&dispatcher);
    dispatcher
}

/// A server of the test agent on a Unix socket in a temporary directory.
pub struct TestServer {
    /// The socket.
    pub path: PathBuf,
    /// The dispatcher it serves.
    pub dispatcher: Arc<Dispatcher<Agent>>,
    _dir: tempfile::TempDir,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    /// Serves `dispatcher` with QGA framing and `limits`.
    pub fn start(dispatcher: Arc<Dispatcher<Agent>>, limits: Limits) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("agent.sock");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::UnixListener::bind(&path)?
        };
        let config = ServerConfig {
            request_limits: limits,
            ..ServerConfig::qga()
        };
        runtime.spawn(serve(listener, Arc::clone(&dispatcher), config, None));
        Ok(TestServer {
            path,
            dispatcher,
            _dir: dir,
            runtime: Some(runtime),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A QEMU started for a test: `qemu-system-x86_64 -machine none` with a
/// QMP socket in a temporary folder; killed when dropped.
pub struct Qemu {
    child: std::process::Child,
    /// The QMP socket.
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Qemu {
    /// Where `qemu-system-x86_64` is, or why a test cannot run.
    pub fn program() -> Result<PathBuf, qapi_test_support::Missing> {
        qapi_test_support::program("qemu-system-x86_64", "apt-get install qemu-system-x86")
    }

    /// Starts `program` with these extra arguments (`-S` to start paused)
    /// and waits for its QMP socket.
    pub fn start(program: &Path, extra: &[&str]) -> std::io::Result<Qemu> {
        let dir = tempfile::tempdir()?;
        let socket = dir.path().join("qmp.sock");
        let child = std::process::Command::new(program)
            .args(["-machine", "none", "-nodefaults", "-display", "none"])
            .args(extra)
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", socket.display()))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()?;
        let mut qemu = Qemu {
            child,
            socket,
            _dir: dir,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !qemu.socket.exists() {
            if let Some(status) = qemu.child.try_wait()? {
                return Err(std::io::Error::other(format!("QEMU exited: {status}")));
            }
            if std::time::Instant::now() > deadline {
                return Err(std::io::Error::other("QEMU did not open its QMP socket"));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Ok(qemu)
    }
}

impl Qemu {
    /// Sends `signal` to QEMU (`SIGSTOP` to make it a peer that does not
    /// answer, `SIGCONT` to wake it).
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits");
        // SAFETY: kill only sends a signal to the QEMU this test started.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
