//! A test agent built from `schemas/agent.json` with the runtime's
//! dispatcher, and helpers to serve it on a temporary Unix socket.  The
//! integration tests and the dispatch benchmark use it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use qapi_runtime::dispatch::FrozenState;
use qapi_runtime::json::Limits;
use qapi_runtime::policy::{CompatPolicy, Policy};
use qapi_runtime::transport::{serve_unix, ServerConfig};
use qapi_runtime::{Dispatcher, Empty, Error};

/// The code generated from `schemas/agent.json`.
pub mod agent {
    include!(concat!(env!("OUT_DIR"), "/agent.rs"));
}

/// The code generated from QEMU 7.2's QMP schema.
#[cfg(qemu_7_2)]
pub mod qmp72 {
    include!(concat!(env!("OUT_DIR"), "/qmp72.rs"));
}

use agent::commands as c;

/// The agent's state.
#[derive(Debug, Default)]
pub struct Agent {
    /// The dispatcher, for `guest-info`.
    dispatcher: OnceLock<Weak<Dispatcher<Agent>>>,
    /// Shared with the dispatcher.
    pub frozen: FrozenState,
    /// How often `guest-shutdown` ran.
    pub shutdowns: AtomicUsize,
}

/// The test agent with `policy` and `compat`.
// `guest-old` is deprecated on purpose, to test the compat policy.
#[allow(deprecated)]
pub fn agent(policy: Policy, compat: CompatPolicy) -> Arc<Dispatcher<Agent>> {
    let state = Agent::default();
    let frozen = state.frozen.clone();
    let dispatcher = Dispatcher::builder(agent::SCHEMA)
        .policy(policy)
        .compat(compat)
        .frozen_state(frozen)
        .handle::<c::GuestSync, _>(|_, args| Ok(args.id))
        .handle::<c::GuestSyncDelimited, _>(|_, args| Ok(args.id))
        .handle::<c::GuestPing, _>(|_, _| Ok(Empty {}))
        .handle::<c::GuestInfo, _>(|agent: &Agent, _| guest_info(agent))
        .handle::<c::GuestExec, _>(|_, _| Ok(agent::ExecStarted { pid: 42 }))
        .handle::<c::GuestSetVcpus, _>(|_, args| Ok(args.vcpus.len() as i64))
        .handle::<c::GuestFileSeek, _>(|_, args| {
            Ok(agent::SeekResult {
                position: args.offset,
                eof: false,
            })
        })
        .handle::<c::GuestShutdown, _>(|agent: &Agent, _| {
            agent.shutdowns.fetch_add(1, Ordering::SeqCst);
            Ok(Empty {})
        })
        .handle::<c::GuestSetUserPassword, _>(|_, _| Ok(Empty {}))
        .handle::<c::GuestFsfreezeFreeze, _>(|agent: &Agent, _| {
            agent.frozen.set(true);
            Ok(1)
        })
        .handle::<c::GuestFsfreezeThaw, _>(|agent: &Agent, _| {
            agent.frozen.set(false);
            Ok(1)
        })
        .handle_async::<c::GuestSleep, _, _>(|_, args| async move {
            tokio::time::sleep(Duration::from_millis(args.ms.into())).await;
            Ok(Empty {})
        })
        .handle::<c::GuestOld, _>(|_, _| Ok(Empty {}))
        .handle::<c::GuestOob, _>(|_, _| Ok(Empty {}))
        .build(state)
        .expect("every handler is for a command of the schema");
    let dispatcher = Arc::new(dispatcher);
    let _ = dispatcher
        .state()
        .dispatcher
        .set(Arc::downgrade(&dispatcher));
    dispatcher
}

/// `guest-info`: every command with whether it runs now.
fn guest_info(agent: &Agent) -> Result<agent::AgentInfo, Error> {
    let dispatcher = agent
        .dispatcher
        .get()
        .and_then(Weak::upgrade)
        .ok_or_else(|| Error::generic("the agent is shutting down"))?;
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
            limits,
            ..ServerConfig::qga()
        };
        runtime.spawn(serve_unix(listener, Arc::clone(&dispatcher), config, None));
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
