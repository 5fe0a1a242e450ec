//! `qapi-gen`: check, dump and generate Rust code from QAPI schemas.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use qapi_parser::{ErrorFormat, ParseOptions};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Check QAPI schemas, print their resolved model, and generate Rust.
#[derive(Parser)]
#[command(name = "qapi-gen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a schema; exit 0 if valid, 1 if not.
    Check {
        #[command(flatten)]
        common: Common,
    },
    /// Print the resolved schema in the text format of QEMU's test harness.
    Dump {
        #[command(flatten)]
        common: Common,
    },
    /// Write the Rust code that a build script using `Builder` would get.
    Generate {
        #[command(flatten)]
        common: Common,
        /// The folder to write `STEM.rs` into.
        #[arg(short, long)]
        output: PathBuf,
        /// Map a condition to a cfg predicate: `NAME=PREDICATE`, e.g.
        /// `CONFIG_LINUX=target_os = "linux"`, or `NAME=true`/`NAME=false`.
        #[arg(long = "cfg", value_name = "NAME=PREDICATE")]
        cfgs: Vec<String>,
        /// Generate only these commands (comma-separated wire names) and
        /// the types they reach.
        #[arg(long, value_delimiter = ',')]
        commands: Vec<String>,
        /// Generate only these events (comma-separated).
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
    },
}

#[derive(clap::Args)]
struct Common {
    /// Accept every released QEMU schema since 2.0: older spellings are
    /// understood and documentation problems become warnings.
    #[arg(long)]
    compat: bool,
    /// How to print errors.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    error_format: Format,
    /// The schema file.
    schema: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// With a source snippet and caret.
    Human,
    /// Exactly as QEMU's generator prints them.
    Qemu,
}

impl From<Format> for ErrorFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Human => ErrorFormat::Human,
            Format::Qemu => ErrorFormat::Qemu,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check { common } => run(&common, |_| String::new()),
        Command::Dump { common } => run(&common, qapi_parser::dump::dump),
        Command::Generate {
            common,
            output,
            cfgs,
            commands,
            events,
        } => generate(&common, &output, &cfgs, commands, events),
    }
}

fn generate(
    common: &Common,
    output: &std::path::Path,
    cfgs: &[String],
    commands: Vec<String>,
    events: Vec<String>,
) -> ExitCode {
    let stem = common
        .schema
        .file_stem()
        .map_or_else(|| "qapi".into(), |s| s.to_string_lossy().into_owned());
    let mut builder = qapi_codegen::Builder::new(&common.schema)
        .out_file(output.join(format!("{stem}.rs")))
        .compat(common.compat)
        .cargo_instructions(false);
    for cfg in cfgs {
        let Some((name, value)) = cfg.split_once('=') else {
            eprintln!("qapi-gen: --cfg needs NAME=PREDICATE, got '{cfg}'");
            return ExitCode::from(2);
        };
        builder = match value {
            "true" => builder.cfg_value(name, true),
            "false" => builder.cfg_value(name, false),
            predicate => builder.cfg(name, predicate),
        };
    }
    if !commands.is_empty() || !events.is_empty() {
        builder = builder.commands(commands).events(events);
    }
    match builder.generate() {
        Ok(output) => {
            println!("{}", output.path.display());
            ExitCode::SUCCESS
        }
        Err(qapi_codegen::Error::Schema(text)) => {
            eprint!("{text}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("qapi-gen: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(common: &Common, output: impl Fn(&qapi_parser::Schema) -> String) -> ExitCode {
    let options = ParseOptions {
        compat: common.compat,
    };
    let color = std::io::stderr().is_terminal();
    match qapi_parser::load_schema(&common.schema, options) {
        Ok(schema) => {
            for w in &schema.warnings {
                eprintln!(
                    "{}",
                    w.render(&schema.sources, common.error_format.into(), color)
                );
            }
            let text = output(&schema);
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(text.as_bytes()).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprint!("{}", err.render(common.error_format.into(), color));
            if err.error().location.is_none() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
