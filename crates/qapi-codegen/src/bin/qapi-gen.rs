//! `qapi-gen`: check, dump and generate Rust code from QAPI schemas.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use qapi_parser::{ErrorFormat, ParseOptions};

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
