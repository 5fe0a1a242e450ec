//! `qga-agent`: a drop-in for qemu-ga.  See `qga-agent --help`.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use qapi_runtime::server::{serve, serve_device, serve_serial, Listener, ServerConfig};
use qga_agent::config::{command_list, Cli, Config, Method};
use qga_agent::cvm::ThisMachine;
use qga_agent::system::Linux;
use qga_agent::Agent;

fn main() -> ExitCode {
    // Before anything changes them: children of guest-exec get these.
    qga_agent::record_signal_dispositions();
    let cli = Cli::parse();
    if cli
        .block_rpcs
        .iter()
        .chain(&cli.allow_rpcs)
        .any(|n| n == "help")
    {
        print!("{}", command_list());
        return ExitCode::SUCCESS;
    }
    let config = match Config::load(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("qga-agent: {e}");
            return ExitCode::from(1);
        }
    };
    if cli.dump_conf {
        print!("{}", config.dump(&ThisMachine));
        return ExitCode::SUCCESS;
    }
    match run(&config, cli.max_connections as usize) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qga-agent: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(config: &Config, max_connections: usize) -> Result<(), String> {
    let path = config
        .path()
        .ok_or_else(|| format!("{} needs a path (-p)", config.method.name()))?;
    let vsock = match config.method {
        Method::VsockListen => Some(vsock_address(&path)?),
        _ => None,
    };
    if let Some(log) = &config.logfile {
        redirect_stderr(log)?;
    }
    let agent = Agent::new(Box::new(Linux), Some(&config.statedir))?
        .with_freeze_hook(config.fsfreeze_hook.clone());
    let confidential = config.confidential_mode(&ThisMachine);
    eprintln!(
        "qga-agent: confidential mode {} ({})",
        if confidential.on { "on" } else { "off" },
        confidential.why
    );
    let dispatcher =
        qga_agent::dispatcher(config.policy(&ThisMachine), agent).map_err(|e| e.to_string())?;
    if config.daemonize {
        daemonize(&config.pidfile)?;
    }
    // One thread, as qemu-ga: a request's wake-up, handling and reply stay
    // on the thread that read it, and no worker stacks are resident.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // Listening transports serve several clients at once, up to the limit.
    let mut listening = ServerConfig::qga();
    listening.limits.max_connections = max_connections;
    let result = runtime.block_on(async {
        let serve = async {
            match config.method {
                Method::UnixListen => {
                    remove_stale_socket(Path::new(&path));
                    let listener = tokio::net::UnixListener::bind(&path)
                        .map_err(|e| format!("cannot listen on {path}: {e}"))?;
                    serve(listener, dispatcher, listening, None)
                        .await
                        .map_err(|e| e.to_string())
                }
                Method::VsockListen => {
                    let (cid, port) = vsock.unwrap_or_default();
                    let listener = Listener::bind_vsock(cid, port)
                        .map_err(|e| format!("cannot listen on vsock {path}: {e}"))?;
                    serve(listener, dispatcher, listening, None)
                        .await
                        .map_err(|e| e.to_string())
                }
                Method::IsaSerial => {
                    serve_serial(Path::new(&path), dispatcher, ServerConfig::qga(), None)
                        .await
                        .map_err(|e| format!("{path}: {e}"))
                }
                Method::VirtioSerial => {
                    serve_device(Path::new(&path), dispatcher, ServerConfig::qga(), None)
                        .await
                        .map_err(|e| format!("{path}: {e}"))
                }
            }
        };
        tokio::select! {
            r = serve => r,
            _ = terminated() => Ok(()),
        }
    });
    if config.daemonize {
        let _ = std::fs::remove_file(&config.pidfile);
    }
    if config.method == Method::UnixListen {
        let _ = std::fs::remove_file(&path);
    }
    result
}

/// A vsock address as qemu-ga takes it: `CID:PORT`, both numbers.
fn vsock_address(text: &str) -> Result<(u32, u32), String> {
    let (cid, port) = text.split_once(':').unwrap_or((text, ""));
    let cid = cid
        .parse()
        .map_err(|_| format!("Failed to parse cid '{cid}'"))?;
    let port = port
        .parse()
        .map_err(|_| format!("Failed to parse port '{port}'"))?;
    Ok((cid, port))
}

/// Becomes a daemon as qemu-ga does: detached, in `/`, with umask 077
/// (the socket it creates is its user's alone), its pid in `pidfile`
/// (mode 0600).
fn daemonize(pidfile: &Path) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // SAFETY: no threads exist yet (the runtime starts later).
    if unsafe { libc::daemon(0, 0) } != 0 {
        return Err(format!(
            "failed to daemonize: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: umask only sets the process's mask.
    unsafe { libc::umask(0o077) };
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(pidfile)
        .and_then(|mut f| writeln!(f, "{}", std::process::id()))
        .map_err(|e| format!("Failed to write pid file {}: {e}", pidfile.display()))
}

/// SIGTERM or SIGINT.
async fn terminated() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        }
        _ => std::future::pending().await,
    }
}

/// A socket left by an earlier run is replaced, as qemu-ga does.
fn remove_stale_socket(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

fn redirect_stderr(log: &Path) -> Result<(), String> {
    use std::os::unix::io::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open log file {}: {e}", log.display()))?;
    // SAFETY: dup2 onto stderr of a descriptor we own.
    if unsafe { libc::dup2(file.as_raw_fd(), 2) } < 0 {
        return Err(format!("cannot log to {}", log.display()));
    }
    Ok(())
}
