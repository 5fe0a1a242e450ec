//! [`Builder`]: generate code from a build script.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use qapi_parser::{load_schema, ErrorFormat, ParseOptions};

use crate::{generate, CfgValue, Options, Selection};

/// Generates Rust code from a QAPI schema, for use in `build.rs`.
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), qapi_codegen::Error> {
///     qapi_codegen::Builder::new("qapi/qga.json")
///         .cfg("CONFIG_LINUX", r#"target_os = "linux""#)
///         .cfg_value("CONFIG_WIN32", false)
///         .generate()?;
///     Ok(())
/// }
/// ```
///
/// and in the crate:
///
/// ```ignore
/// include!(concat!(env!("OUT_DIR"), "/qga.rs"));
/// ```
///
/// Beside the code it writes `STEM.handlers.json`, the manifest that
/// `#[qapi_runtime::handlers(schema = "STEM")]` checks handler functions
/// against.
///
/// Schema errors are printed with source snippets; every file read gets a
/// `cargo:rerun-if-changed` line, and every condition name left as a
/// custom cfg a `cargo::rustc-check-cfg` line.
#[derive(Clone, Debug)]
pub struct Builder {
    schema: PathBuf,
    out_file: Option<PathBuf>,
    options: Options,
    compat: bool,
    cargo: bool,
    warnings: bool,
    commands: Option<Vec<String>>,
    events: Option<Vec<String>>,
}

/// What [`Builder::generate`] did.
#[derive(Clone, Debug)]
pub struct Output {
    /// The file written.
    pub path: PathBuf,
    /// The handler manifest written beside it (`STEM.handlers.json`), which
    /// `qapi-macros` reads.
    pub handlers_path: PathBuf,
    /// Every schema file read (each got a `cargo:rerun-if-changed` line).
    pub files_read: Vec<PathBuf>,
    /// Condition names left as custom cfgs (each got a
    /// `cargo::rustc-check-cfg` line).
    pub custom_cfgs: Vec<String>,
}

/// Why generation failed.  Its `Debug` is its `Display`, so that a build
/// script's `fn main() -> Result<(), Error>` prints the diagnostic as
/// the compiler would, not as an escaped one-liner.
pub enum Error {
    /// The schema is invalid; the text is the rendered diagnostic.
    Schema(String),
    /// The schema is valid but the options are not (an unknown command in
    /// the selection, a cfg predicate that does not parse).
    Generate(String),
    /// The output could not be written.
    Io(std::io::Error),
    /// No output file was set and `OUT_DIR` is not set.
    NoOutDir,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Schema(s) => write!(f, "invalid QAPI schema:\n{s}"),
            Error::Generate(s) => write!(f, "cannot generate code: {s}"),
            Error::Io(e) => write!(f, "cannot write generated code: {e}"),
            Error::NoOutDir => f.write_str("OUT_DIR is not set and no output file was given"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

impl Builder {
    /// A builder for the schema at `schema` (its includes are read from
    /// beside it).
    ///
    /// ```no_run
    /// // build.rs
    /// fn main() -> Result<(), qapi_codegen::Error> {
    ///     qapi_codegen::Builder::new("schema/qga.json").generate()?;
    ///     Ok(())
    /// }
    /// ```
    pub fn new(schema: impl AsRef<Path>) -> Self {
        Builder {
            schema: schema.as_ref().to_path_buf(),
            out_file: None,
            options: Options {
                format: true,
                ..Options::default()
            },
            compat: false,
            cargo: true,
            warnings: true,
            commands: None,
            events: None,
        }
    }

    /// Where to write the code; by default `$OUT_DIR/STEM.rs` for a schema
    /// named `STEM.json`.
    ///
    /// ```no_run
    /// qapi_codegen::Builder::new("schema/qga.json")
    ///     .out_file(std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("agent.rs"))
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn out_file(mut self, path: impl AsRef<Path>) -> Self {
        self.out_file = Some(path.as_ref().to_path_buf());
        self
    }

    /// Maps condition `name` to a cfg predicate, e.g. `target_os = "linux"`
    /// (checked as cfg syntax: `target_os == "linux"` is an error here,
    /// not in the generated file).
    ///
    /// ```no_run
    /// qapi_codegen::Builder::new("qga/qapi-schema.json")
    ///     .cfg("CONFIG_LINUX", r#"target_os = "linux""#)
    ///     .cfg("CONFIG_POSIX", "unix")
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn cfg(mut self, name: &str, predicate: &str) -> Self {
        self.options
            .cfg
            .insert(name, CfgValue::Predicate(predicate.to_owned()));
        self
    }

    /// Fixes condition `name` to always true or always false.
    ///
    /// ```no_run
    /// qapi_codegen::Builder::new("qga/qapi-schema.json")
    ///     .cfg_value("CONFIG_WIN32", false)
    ///     .cfg_value("CONFIG_FSFREEZE", true)
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn cfg_value(mut self, name: &str, value: bool) -> Self {
        let v = if value {
            CfgValue::True
        } else {
            CfgValue::False
        };
        self.options.cfg.insert(name, v);
        self
    }

    /// What every condition without a mapping stands for: `true` compiles
    /// what it guards, `false` leaves it out.  Without this, such a
    /// condition becomes a custom cfg (a `cargo:warning` says what it
    /// hides).  A client that talks to QEMU builds it does not know wants
    /// every type: `cfg_default(true)`.
    ///
    /// ```no_run
    /// qapi_codegen::Builder::new("qapi/qapi-schema.json")
    ///     .cfg_value("CONFIG_WIN32", false)
    ///     .cfg_default(true)
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn cfg_default(mut self, value: bool) -> Self {
        self.options.cfg.set_default(if value {
            CfgValue::True
        } else {
            CfgValue::False
        });
        self
    }

    /// Generates only these commands (and the events chosen with
    /// [`Builder::events`]) with exactly the types they reach.  A name the
    /// schema lacks is an error that suggests the closest one.
    ///
    /// ```no_run
    /// qapi_codegen::Builder::new("qga/qapi-schema.json")
    ///     .commands(["guest-ping", "guest-get-osinfo"])
    ///     .events(Vec::<String>::new())
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn commands<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.commands = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Generates only these events (see [`Builder::commands`]).
    ///
    /// ```no_run
    /// qapi_codegen::Builder::new("qapi/qapi-schema.json")
    ///     .commands(["query-status"])
    ///     .events(["STOP", "RESUME"])
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn events<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.events = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts the spellings of older QEMU releases (`qapi-gen --compat`).
    ///
    /// ```no_run
    /// qapi_codegen::Builder::new("qemu-2.12/qapi/qapi-schema.json")
    ///     .compat(true)
    ///     .cfg_default(true)
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn compat(mut self, compat: bool) -> Self {
        self.compat = compat;
        self
    }

    /// Adds `attribute` (one or more outer attributes, derives too) to
    /// the generated type the schema calls `name`, or to every type with
    /// `"*"`.  A name that is not a generated type is an error.
    ///
    /// ```no_run
    /// qapi_codegen::Builder::new("qga/qapi-schema.json")
    ///     .type_attribute("GuestOSInfo", "#[derive(Eq)]")
    ///     .type_attribute("*", "#[non_exhaustive]")
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn type_attribute(mut self, name: impl Into<String>, attribute: impl Into<String>) -> Self {
        self.options
            .attributes
            .types
            .push((name.into(), attribute.into()));
        self
    }

    /// Adds `attribute` to the field of member `member` of type `Type`,
    /// written `"Type.member"` with the schema's names.
    ///
    /// ```no_run
    /// qapi_codegen::Builder::new("qga/qapi-schema.json")
    ///     .field_attribute("GuestOSInfo.kernel-release", "#[doc(alias = \"uname\")]")
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn field_attribute(
        mut self,
        path: impl Into<String>,
        attribute: impl Into<String>,
    ) -> Self {
        self.options
            .attributes
            .fields
            .push((path.into(), attribute.into()));
        self
    }

    /// Lays the output out for reading: a line per item, field, arm and
    /// attribute, indentation, `///` docs (on by default; the
    /// generator's own printer, a few milliseconds for QEMU's schema).
    ///
    /// ```no_run
    /// // Faster, unformatted output (rust-analyzer still reads it).
    /// qapi_codegen::Builder::new("qga/qapi-schema.json")
    ///     .format(false)
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn format(mut self, format: bool) -> Self {
        self.options.format = format;
        self
    }

    /// Prints `cargo:` instructions (on by default; turn off outside build
    /// scripts).
    ///
    /// ```no_run
    /// // From a test or a tool rather than a build script.
    /// qapi_codegen::Builder::new("schema.json")
    ///     .out_file("/tmp/schema.rs")
    ///     .cargo_instructions(false)
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn cargo_instructions(mut self, on: bool) -> Self {
        self.cargo = on;
        self
    }

    /// Shows the schema's warnings (with `--compat`: documentation gaps of
    /// older releases) as `cargo:warning` lines (on by default).
    ///
    /// ```no_run
    /// qapi_codegen::Builder::new("qemu-4.2/qapi/qapi-schema.json")
    ///     .compat(true)
    ///     .warnings(false)
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn warnings(mut self, on: bool) -> Self {
        self.warnings = on;
        self
    }

    /// Checks the schema, generates the code and writes it.
    pub fn generate(mut self) -> Result<Output, Error> {
        if self.commands.is_some() || self.events.is_some() {
            self.options.selection = Selection::Only {
                commands: self.commands.take().unwrap_or_default(),
                events: self.events.take().unwrap_or_default(),
            };
        }
        let out = match &self.out_file {
            Some(p) => p.clone(),
            None => {
                let dir = std::env::var_os("OUT_DIR").ok_or(Error::NoOutDir)?;
                let stem = self
                    .schema
                    .file_stem()
                    .map_or_else(|| "qapi".into(), |s| s.to_string_lossy().into_owned());
                PathBuf::from(dir).join(format!("{stem}.rs"))
            }
        };
        let stdout = std::io::stdout();
        let mut cargo = stdout.lock();
        let schema = match load_schema(
            &self.schema,
            ParseOptions {
                compat: self.compat,
            },
        ) {
            Ok(s) => s,
            Err(e) => {
                if self.cargo {
                    rerun_if_changed(&mut cargo, &e.sources, &self.schema);
                }
                return Err(Error::Schema(e.render(ErrorFormat::Human, false)));
            }
        };
        if self.cargo {
            rerun_if_changed(&mut cargo, &schema.sources, &self.schema);
            for w in schema.warnings.iter().filter(|_| self.warnings) {
                let text = w.render(&schema.sources, ErrorFormat::Qemu, false);
                let _ = writeln!(cargo, "cargo:warning={}", text.replace('\n', " "));
            }
        }
        let generated = generate(&schema, &self.options).map_err(Error::Generate)?;
        if self.cargo {
            for name in &generated.custom_cfgs {
                let _ = writeln!(cargo, "cargo::rustc-check-cfg=cfg({name})");
            }
            for (name, hidden) in &generated.unmapped {
                let _ = writeln!(
                    cargo,
                    "cargo:warning=condition {name} is not mapped: {hidden} are compiled out \
                     unless the cfg {name} is set (map it with Builder::cfg or cfg_value, \
                     or set Builder::cfg_default)"
                );
            }
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(Error::Io)?;
        }
        std::fs::write(&out, generated.code).map_err(Error::Io)?;
        let handlers_path = out.with_extension("handlers.json");
        std::fs::write(&handlers_path, generated.handlers).map_err(Error::Io)?;
        Ok(Output {
            path: out,
            handlers_path,
            files_read: schema
                .sources
                .files()
                .map(|(_, f)| PathBuf::from(&f.name))
                .collect(),
            custom_cfgs: generated.custom_cfgs.into_iter().collect(),
        })
    }
}

/// `cargo:rerun-if-changed` for every file read, or for the schema itself
/// if not even it could be read.
fn rerun_if_changed(out: &mut impl Write, sources: &qapi_parser::SourceMap, schema: &Path) {
    let mut any = false;
    for (_, f) in sources.files() {
        let _ = writeln!(out, "cargo:rerun-if-changed={}", f.name);
        any = true;
    }
    if !any {
        let _ = writeln!(out, "cargo:rerun-if-changed={}", schema.display());
    }
}
