//! The agent's configuration: qemu-ga's command line and configuration
//! file (`[general]` keys), plus the policy flags `-u`, `-e` and `-i`.
//! The file is read first and the command line overrides it, as in
//! qemu-ga; `--dump-conf` prints the result in the file's format.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};
use qapi_runtime::policy::qga::Flags;
use qapi_runtime::policy::Policy;

use crate::cvm::Platform;

/// The configuration file read when `-c` is not given, if it exists.
pub const DEFAULT_CONFIG: &str = "/etc/qemu/qemu-ga.conf";
/// The freeze hook `-F` without a value runs.
pub const DEFAULT_FSFREEZE_HOOK: &str = "/etc/qemu/fsfreeze-hook";

/// How the agent reaches the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Listen on a Unix socket (`-p` is its path).
    UnixListen,
    /// A virtio-serial port (the default).
    VirtioSerial,
    /// An ISA serial port.
    IsaSerial,
    /// Listen on a vsock address `CID:PORT`.
    VsockListen,
}

impl Method {
    /// The name on the command line and in the file.
    pub fn name(self) -> &'static str {
        match self {
            Method::UnixListen => "unix-listen",
            Method::VirtioSerial => "virtio-serial",
            Method::IsaSerial => "isa-serial",
            Method::VsockListen => "vsock-listen",
        }
    }

    /// The path used when `-p` is not given.
    pub fn default_path(self) -> Option<&'static str> {
        match self {
            Method::VirtioSerial => Some("/dev/virtio-ports/org.qemu.guest_agent.0"),
            Method::IsaSerial => Some("/dev/ttyS0"),
            Method::UnixListen | Method::VsockListen => None,
        }
    }
}

/// qemu-ga's options and the policy flags.
#[derive(Debug, Parser)]
#[command(
    name = "qga-agent",
    version,
    about = "A QEMU guest agent: qemu-ga's protocol and options, with command policy by feature group"
)]
pub struct Cli {
    /// Transport: unix-listen, virtio-serial (default), isa-serial or vsock-listen.
    #[arg(short = 'm', long, value_enum)]
    pub method: Option<Method>,
    /// Device or socket path (vsock: CID:PORT).
    #[arg(short = 'p', long)]
    pub path: Option<String>,
    /// Log to this file instead of stderr.
    #[arg(short = 'l', long)]
    pub logfile: Option<PathBuf>,
    /// The pid file written when daemonized.
    #[arg(short = 'f', long)]
    pub pidfile: Option<PathBuf>,
    /// Run a hook script on freeze and thaw (default script without a value).
    #[arg(short = 'F', long, num_args = 0..=1, require_equals = true,
          default_missing_value = DEFAULT_FSFREEZE_HOOK)]
    pub fsfreeze_hook: Option<PathBuf>,
    /// Directory for state (the frozen marker); absolute.
    #[arg(short = 't', long)]
    pub statedir: Option<PathBuf>,
    /// Log more.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Become a daemon.
    #[arg(short = 'd', long)]
    pub daemonize: bool,
    /// Commands to disable, comma-separated ("help" lists them with their groups).
    #[arg(short = 'b', long, value_delimiter = ',')]
    pub block_rpcs: Vec<String>,
    /// Commands to allow, all others disabled, comma-separated ("help" lists them).
    #[arg(short = 'a', long, value_delimiter = ',')]
    pub allow_rpcs: Vec<String>,
    /// Print the configuration in the configuration file's format and exit.
    #[arg(short = 'D', long)]
    pub dump_conf: bool,
    /// Reopen the path if it goes away.
    #[arg(short = 'r', long)]
    pub retry_path: bool,
    /// Configuration file (default /etc/qemu/qemu-ga.conf if it exists).
    #[arg(short = 'c', long)]
    pub config: Option<PathBuf>,
    /// Disable commands with unrestricted file access or execution (group `unrestricted`).
    #[arg(short = 'u', long)]
    pub no_unrestricted: bool,
    /// Disable commands that change user credentials (group `user-auth`).
    #[arg(short = 'e', long)]
    pub no_user_auth: bool,
    /// Run only commands safe in a confidential VM (group `confidential`):
    /// `-i` or `--confidential` for on, `--confidential=auto` to decide by
    /// whether this is a confidential VM (AMD SEV, SEV-ES, SEV-SNP, Intel
    /// TDX), `--confidential=off`.
    #[arg(short = 'i', long, value_enum, num_args = 0..=1, require_equals = true,
          default_missing_value = "on")]
    pub confidential: Option<Confidential>,
    /// Clients served at once on a listening socket; one more is told so
    /// and closed.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

/// Whether the agent runs only commands tagged `confidential`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Confidential {
    /// Every command the other rules allow.
    #[default]
    Off,
    /// Only commands tagged `confidential`.
    On,
    /// On in a confidential VM, off elsewhere.
    Auto,
}

impl Confidential {
    /// The name on the command line and in the file.
    pub fn name(self) -> &'static str {
        match self {
            Confidential::Off => "off",
            Confidential::On => "on",
            Confidential::Auto => "auto",
        }
    }
}

/// The confidential mode in force, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfidentialMode {
    /// Whether only `confidential` commands run.
    pub on: bool,
    /// Why, for the log and `--dump-conf`.
    pub why: String,
}

/// The agent's configuration, file and command line merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Become a daemon.
    pub daemonize: bool,
    /// The transport.
    pub method: Method,
    /// Its path, if given.
    pub path: Option<String>,
    /// Log file.
    pub logfile: Option<PathBuf>,
    /// Pid file.
    pub pidfile: PathBuf,
    /// Freeze hook script.
    pub fsfreeze_hook: Option<PathBuf>,
    /// State directory.
    pub statedir: PathBuf,
    /// Log more.
    pub verbose: bool,
    /// Reopen the path if it goes away.
    pub retry_path: bool,
    /// `-b`.
    pub block_rpcs: Vec<String>,
    /// `-a`.
    pub allow_rpcs: Vec<String>,
    /// `-u`.
    pub no_unrestricted: bool,
    /// `-e`.
    pub no_user_auth: bool,
    /// `-i`, `--confidential=...`.
    pub confidential: Confidential,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            daemonize: false,
            method: Method::VirtioSerial,
            path: None,
            logfile: None,
            pidfile: PathBuf::from("/var/run/qemu-ga.pid"),
            fsfreeze_hook: None,
            statedir: PathBuf::from("/var/run"),
            verbose: false,
            retry_path: false,
            block_rpcs: Vec::new(),
            allow_rpcs: Vec::new(),
            no_unrestricted: false,
            no_user_auth: false,
            confidential: Confidential::Off,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// A line or value in the file is wrong.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The file.
        file: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The state directory is not absolute.
    #[error("statedir must be an absolute path: {0}")]
    RelativeStatedir(PathBuf),
}

fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn parse_list(value: &str) -> Vec<String> {
    value
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Config {
    /// Applies the `[general]` group of a configuration file's text.
    pub fn apply_file(&mut self, file: &Path, text: &str) -> Result<(), ConfigError> {
        let mut group = String::new();
        for (i, raw) in text.lines().enumerate() {
            let err = |message: String| ConfigError::Syntax {
                file: file.to_path_buf(),
                line: i + 1,
                message,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                group = name.to_owned();
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| err(format!("expected KEY=VALUE, found '{line}'")))?;
            if group != "general" {
                continue;
            }
            let (key, value) = (key.trim(), value.trim());
            let flag = || {
                parse_bool(value)
                    .ok_or_else(|| err(format!("'{value}' is not a boolean for {key}")))
            };
            match key {
                "daemon" => self.daemonize = flag()?,
                "method" => {
                    self.method = Method::from_str(value, false)
                        .map_err(|_| err(format!("unknown method '{value}'")))?
                }
                "path" => self.path = Some(value.to_owned()),
                "logfile" => self.logfile = Some(value.into()),
                "pidfile" => self.pidfile = value.into(),
                "fsfreeze-hook" => self.fsfreeze_hook = Some(value.into()),
                "statedir" => self.statedir = value.into(),
                "verbose" => self.verbose = flag()?,
                "retry-path" => self.retry_path = flag()?,
                "block-rpcs" => self.block_rpcs = parse_list(value),
                "allow-rpcs" => self.allow_rpcs = parse_list(value),
                "no-unrestricted" => self.no_unrestricted = flag()?,
                "no-user-auth" => self.no_user_auth = flag()?,
                "confidential" => {
                    self.confidential = match value {
                        "auto" => Confidential::Auto,
                        _ => match flag()? {
                            true => Confidential::On,
                            false => Confidential::Off,
                        },
                    }
                }
                other => return Err(err(format!("unknown key '{other}'"))),
            }
        }
        Ok(())
    }

    /// The configuration for `cli`: the defaults, then the file (`-c`, or
    /// the default file if it exists), then the command line.
    pub fn load(cli: &Cli) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let file = cli.config.clone().or_else(|| {
            Path::new(DEFAULT_CONFIG)
                .exists()
                .then(|| DEFAULT_CONFIG.into())
        });
        if let Some(file) = file {
            let text =
                std::fs::read_to_string(&file).map_err(|e| ConfigError::Read(file.clone(), e))?;
            config.apply_file(&file, &text)?;
        }
        config.apply_cli(cli);
        if !config.statedir.is_absolute() {
            return Err(ConfigError::RelativeStatedir(config.statedir));
        }
        Ok(config)
    }

    fn apply_cli(&mut self, cli: &Cli) {
        self.daemonize |= cli.daemonize;
        self.verbose |= cli.verbose;
        self.retry_path |= cli.retry_path;
        self.no_unrestricted |= cli.no_unrestricted;
        self.no_user_auth |= cli.no_user_auth;
        if let Some(c) = cli.confidential {
            self.confidential = c;
        }
        if let Some(m) = cli.method {
            self.method = m;
        }
        if let Some(p) = &cli.path {
            self.path = Some(p.clone());
        }
        if let Some(l) = &cli.logfile {
            self.logfile = Some(l.clone());
        }
        if let Some(p) = &cli.pidfile {
            self.pidfile = p.clone();
        }
        if let Some(h) = &cli.fsfreeze_hook {
            self.fsfreeze_hook = Some(h.clone());
        }
        if let Some(t) = &cli.statedir {
            self.statedir = t.clone();
        }
        if !cli.block_rpcs.is_empty() {
            self.block_rpcs = cli.block_rpcs.clone();
        }
        if !cli.allow_rpcs.is_empty() {
            self.allow_rpcs = cli.allow_rpcs.clone();
        }
    }

    /// The confidential mode in force on `machine`, and why.
    pub fn confidential_mode(&self, machine: &dyn Platform) -> ConfidentialMode {
        let (on, why) = match self.confidential {
            Confidential::Off => (false, "off".to_owned()),
            Confidential::On => (true, "on".to_owned()),
            Confidential::Auto => match crate::cvm::detect(machine) {
                Some(kind) => (true, format!("auto: this is a confidential VM ({kind})")),
                None => (false, "auto: this is not a confidential VM".to_owned()),
            },
        };
        ConfidentialMode { on, why }
    }

    /// qemu-ga's switches as they stand on `machine`.
    pub fn flags(&self, machine: &dyn Platform) -> Flags {
        Flags {
            block: self.block_rpcs.iter().cloned().collect::<BTreeSet<_>>(),
            allow: self.allow_rpcs.iter().cloned().collect::<BTreeSet<_>>(),
            confidential: self.confidential_mode(machine).on,
            no_unrestricted: self.no_unrestricted,
            no_user_auth: self.no_user_auth,
        }
    }

    /// The command policy on `machine`, in qemu-ga's words.
    pub fn policy(&self, machine: &dyn Platform) -> Policy {
        self.flags(machine)
            .policy(crate::qga::Feature::NAMES.iter().copied())
    }

    /// The transport's path: `-p`, or the method's default.
    pub fn path(&self) -> Option<String> {
        self.path
            .clone()
            .or_else(|| self.method.default_path().map(str::to_owned))
    }

    /// The configuration in the file's format (`--dump-conf`): qemu-ga's
    /// keys in its order, then this agent's; with `confidential=auto`, a
    /// comment says what `machine` made of it.
    pub fn dump(&self, machine: &dyn Platform) -> String {
        let mut out = String::from("[general]\n");
        let mut line = |k: &str, v: &str| {
            let _ = writeln!(out, "{k}={v}");
        };
        line("daemon", &self.daemonize.to_string());
        line("method", self.method.name());
        if let Some(p) = self.path() {
            line("path", &p);
        }
        if let Some(l) = &self.logfile {
            line("logfile", &l.display().to_string());
        }
        line("pidfile", &self.pidfile.display().to_string());
        if let Some(h) = &self.fsfreeze_hook {
            line("fsfreeze-hook", &h.display().to_string());
        }
        line("statedir", &self.statedir.display().to_string());
        line("verbose", &self.verbose.to_string());
        line("retry-path", &self.retry_path.to_string());
        if !self.block_rpcs.is_empty() {
            line("block-rpcs", &self.block_rpcs.join(","));
        }
        if !self.allow_rpcs.is_empty() {
            line("allow-rpcs", &self.allow_rpcs.join(","));
        }
        for (key, on) in [
            ("no-unrestricted", self.no_unrestricted),
            ("no-user-auth", self.no_user_auth),
        ] {
            if on {
                line(key, "true");
            }
        }
        match self.confidential {
            Confidential::Off => {}
            Confidential::On => line("confidential", "true"),
            Confidential::Auto => line("confidential", "auto"),
        }
        if self.confidential == Confidential::Auto {
            let mode = self.confidential_mode(machine);
            let _ = writeln!(
                out,
                "# confidential mode {} ({})",
                if mode.on { "on" } else { "off" },
                mode.why
            );
        }
        out
    }
}

/// `--block-rpcs help`: every command with its feature groups.
pub fn command_list() -> String {
    let groups = crate::qga::Feature::NAMES;
    let mut out = String::new();
    for info in crate::qga::COMMANDS {
        let tags: Vec<&str> = groups
            .iter()
            .enumerate()
            .filter(|(i, _)| info.features.contains(*i as u32))
            .map(|(_, name)| *name)
            .filter(|name| !matches!(*name, "deprecated" | "unstable"))
            .collect();
        let _ = writeln!(out, "{:<36} {}", info.name, tags.join(" "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A machine that is, or is not, an SEV-SNP guest.
    struct Machine(bool);

    impl Platform for Machine {
        fn cpuid(&self, leaf: u32, _: u32) -> Option<[u32; 4]> {
            let amd = [0x6874_7541, 0x444d_4163, 0x6974_6e65];
            Some(match leaf {
                0 => [0x10, amd[0], amd[1], amd[2]],
                1 => [0, 0, 1 << 31, 0],
                0x8000_0000 => [0x8000_001f, 0, 0, 0],
                0x8000_001f => [if self.0 { 2 } else { 0 }, 0, 0, 0],
                _ => [0; 4],
            })
        }
        fn msr(&self, _: u32) -> Option<u64> {
            Some(0b111)
        }
    }

    #[test]
    fn auto_follows_the_machine_and_the_others_do_not() {
        let with = |c| Config {
            confidential: c,
            ..Config::default()
        };
        let cases = [
            (
                Confidential::Auto,
                true,
                true,
                "auto: this is a confidential VM (AMD SEV-SNP)",
            ),
            (
                Confidential::Auto,
                false,
                false,
                "auto: this is not a confidential VM",
            ),
            (Confidential::On, false, true, "on"),
            (Confidential::Off, true, false, "off"),
        ];
        for (mode, cvm, on, why) in cases {
            let config = with(mode);
            assert_eq!(
                config.confidential_mode(&Machine(cvm)),
                ConfidentialMode {
                    on,
                    why: why.to_owned()
                }
            );
            assert_eq!(config.flags(&Machine(cvm)).confidential, on);
        }
    }
}
