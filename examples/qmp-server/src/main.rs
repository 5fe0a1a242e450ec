//! `qmp-server`: serves the toy machine of this example over QMP.
//!
//! ```sh
//! qmp-server --socket /tmp/qmp.sock --name demo      # a Unix socket (mode 0600)
//! qmp-server --tcp 127.0.0.1:4444                    # TCP
//! systemd-socket-activate -l /tmp/qmp.sock qmp-server  # an inherited socket
//! ```

use std::process::ExitCode;

use clap::Parser;
use qapi_runtime::server::{serve, Listener, ServerConfig};
use qmp_server::{dispatcher, greeting, Machine, Switches};

/// Serves a toy machine over QMP.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Listen on a Unix socket at this path (created with mode 0600).
    #[arg(long, conflicts_with = "tcp")]
    socket: Option<std::path::PathBuf>,
    /// Listen on this TCP address.
    #[arg(long)]
    tcp: Option<String>,
    /// The machine's name (`query-name`).
    #[arg(long)]
    name: Option<String>,
    /// Commands that never run, comma-separated.
    #[arg(long, value_delimiter = ',')]
    block: Vec<String>,
    /// Refuse the debugging commands (group `debug`).
    #[arg(long)]
    no_debug: bool,
    /// Run only commands that change nothing (group `read-only`).
    #[arg(long)]
    read_only: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("qmp-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qmp-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let listener = match (&cli.socket, &cli.tcp) {
        (Some(path), _) => Listener::bind_unix(path, 0o600)
            .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?,
        (None, Some(addr)) => Listener::bind_tcp(addr.as_str())
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?,
        (None, None) => Listener::from_systemd()
            .map_err(|e| format!("inherited socket: {e}"))?
            .into_iter()
            .next()
            .ok_or("give --socket or --tcp, or start under systemd socket activation")?,
    };
    let machine = Machine::new(cli.name);
    let events = machine.events.clone();
    let switches = Switches {
        block: cli.block.clone(),
        no_debug: cli.no_debug,
        read_only: cli.read_only,
    };
    let dispatcher = dispatcher(machine, switches.policy()).map_err(|e| e.to_string())?;
    let served = async {
        serve(
            listener,
            dispatcher,
            ServerConfig::qmp(greeting()),
            Some(events),
        )
        .await
        .map_err(|e| e.to_string())
    };
    let result = tokio::select! {
        r = served => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    if let Some(path) = &cli.socket {
        let _ = std::fs::remove_file(path);
    }
    result
}
