//! The client against a real QEMU: every `query-*` command that needs no
//! arguments answers with a value that decodes as the type generated from
//! QEMU 7.2's schema (Debian 12's QEMU).
//!
//! Needs `QAPI_CORPUS` (for the schema) and `qemu-system-x86_64` (Debian
//! package `qemu-system-x86`); skips with a message without them, unless
//! `QAPI_REQUIRE_QEMU` is set, as `.ci/run` does.

#[cfg(qemu_7_2)]
mod with_qemu {
    use std::process::{Child, Command as Process, Stdio};
    use std::time::{Duration, Instant};

    use qapi_runtime::client::{BlockingClient, ClientError};
    use qapi_runtime::de::Decode;
    use qapi_runtime::{Command, CommandVisitor};
    use qapi_tests::qmp72;
    use serde_json::{json, Value};

    struct Qemu(Child);

    impl Drop for Qemu {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// What happened to one query.
    enum Outcome {
        NeedsArguments,
        Decoded,
        Refused(String),
        Undecodable(String),
    }

    struct Query<'a>(&'a mut BlockingClient);

    impl CommandVisitor for Query<'_> {
        type Output = Outcome;

        fn visit<C: Command>(self) -> Outcome {
            if C::decode(json!({})).is_err() {
                return Outcome::NeedsArguments;
            }
            match self.0.execute_raw(C::NAME, json!({})) {
                Ok(value) => match C::Returns::decode(value.clone()) {
                    Ok(_) => Outcome::Decoded,
                    Err(e) => Outcome::Undecodable(format!("{e}: {value}")),
                },
                Err(ClientError::Server(e)) => Outcome::Refused(e.to_string()),
                Err(e) => panic!("{}: {e}", C::NAME),
            }
        }
    }

    fn start_qemu(dir: &std::path::Path) -> Option<(Qemu, std::path::PathBuf)> {
        let socket = dir.join("qmp.sock");
        let child = Process::new("qemu-system-x86_64")
            .args([
                "-machine",
                "none",
                "-nodefaults",
                "-display",
                "none",
                "-qmp",
            ])
            .arg(format!("unix:{},server=on,wait=off", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn();
        let child = match child {
            Ok(child) => Qemu(child),
            Err(e) if std::env::var_os("QAPI_REQUIRE_QEMU").is_none() => {
                eprintln!(
                    "skipped: cannot run qemu-system-x86_64 ({e}); apt-get install qemu-system-x86"
                );
                return None;
            }
            Err(e) => panic!("qemu-system-x86_64: {e}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "QEMU did not open its QMP socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some((child, socket))
    }

    #[test]
    fn every_query_without_arguments_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let Some((_qemu, socket)) = start_qemu(dir.path()) else {
            return;
        };
        let mut client = BlockingClient::connect_qmp(&socket).unwrap();
        let version = client.execute(qmp72::commands::QueryVersion {}).unwrap();
        assert_eq!(
            (version.qemu.major, version.qemu.minor),
            (7, 2),
            "the installed QEMU is not 7.2: {version:?}"
        );
        let (mut decoded, mut refused, mut skipped) = (Vec::new(), Vec::new(), 0);
        let mut undecodable = Vec::new();
        for info in qmp72::COMMANDS
            .iter()
            .filter(|c| c.name.starts_with("query-"))
        {
            let outcome = qmp72::visit_command(info.name, Query(&mut client)).unwrap();
            match outcome {
                Outcome::NeedsArguments => skipped += 1,
                Outcome::Decoded => decoded.push(info.name),
                Outcome::Refused(e) => refused.push(format!("{}: {e}", info.name)),
                Outcome::Undecodable(e) => undecodable.push(format!("{}: {e}", info.name)),
            }
        }
        eprintln!(
            "{} queries decoded, {} refused by QEMU (not available on -machine none), {skipped} need arguments",
            decoded.len(),
            refused.len()
        );
        for r in &refused {
            eprintln!("  refused: {r}");
        }
        assert!(undecodable.is_empty(), "{undecodable:#?}");
        assert!(
            decoded.len() >= 40,
            "only {} queries decoded",
            decoded.len()
        );
        // Started without -S, the machine runs.
        let status = client.execute(qmp72::commands::QueryStatus {}).unwrap();
        assert!(status.running, "{status:?}");
        let value: Value = client.execute_raw("query-name", json!({})).unwrap();
        assert!(value.is_object());
    }
}

#[cfg(not(qemu_7_2))]
#[test]
fn every_query_without_arguments_decodes() {
    eprintln!("skipped: set QAPI_CORPUS to the shared corpus to test against QEMU 7.2");
}
