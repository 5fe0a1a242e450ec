//! The command line: `--dump-conf` in qemu-ga's format (equal to qemu-ga's
//! own output for the options both know), a configuration file under the
//! command line, and `--block-rpcs help` with feature groups.

mod common;

use std::process::Command;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(common::qga_agent())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dump_conf_matches_qemu_ga_for_shared_options() {
    let args = [
        "-D",
        "-m",
        "unix-listen",
        "-p",
        "/tmp/x.sock",
        "-t",
        "/tmp",
        "-b",
        "guest-ping",
    ];
    let (ok, ours, err) = run(&args);
    assert!(ok, "{err}");
    assert_eq!(
        ours,
        "[general]\ndaemon=false\nmethod=unix-listen\npath=/tmp/x.sock\npidfile=/var/run/qemu-ga.pid\n\
         statedir=/tmp\nverbose=false\nretry-path=false\nblock-rpcs=guest-ping\n"
    );
    if let Some(qemu_ga) = common::qemu_ga() {
        let theirs = Command::new(qemu_ga).args(args).output().unwrap();
        assert_eq!(ours, String::from_utf8_lossy(&theirs.stdout));
    }
}

#[test]
fn config_file_then_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("qga.conf");
    std::fs::write(
        &file,
        "# comment\n[general]\nmethod=unix-listen\npath=/run/a.sock\nstatedir=/var/lib/qga\n\
         block-rpcs=guest-exec;guest-file-open\nconfidential=true\n",
    )
    .unwrap();
    let (ok, out, err) = run(&[
        "-c",
        file.to_str().unwrap(),
        "-p",
        "/run/b.sock",
        "-u",
        "-D",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "[general]\ndaemon=false\nmethod=unix-listen\npath=/run/b.sock\npidfile=/var/run/qemu-ga.pid\n\
         statedir=/var/lib/qga\nverbose=false\nretry-path=false\nblock-rpcs=guest-exec,guest-file-open\n\
         no-unrestricted=true\nconfidential=true\n"
    );
    // The dump reads back to the same configuration.
    let again = dir.path().join("again.conf");
    std::fs::write(&again, &out).unwrap();
    let (ok, out2, _) = run(&["-c", again.to_str().unwrap(), "-D"]);
    assert!(ok);
    assert_eq!(out2, out);
    std::fs::write(&file, "[general]\nmethod=carrier-pigeon\n").unwrap();
    let (ok, _, err) = run(&["-c", file.to_str().unwrap(), "-D"]);
    assert!(!ok);
    assert!(
        err.contains("qga.conf:2: unknown method 'carrier-pigeon'"),
        "{err}"
    );
}

#[test]
fn block_rpcs_help_lists_commands_with_groups() {
    let (ok, out, err) = run(&["-b", "help"]);
    assert!(ok, "{err}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from:\n{out}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
    };
    assert_eq!(line("guest-ping"), ["fs-frozen", "confidential"]);
    assert_eq!(line("guest-exec"), ["unrestricted"]);
    assert_eq!(line("guest-ssh-add-authorized-keys"), ["user-auth"]);
    assert_eq!(line("guest-get-users"), Vec::<&str>::new());
    assert_eq!(out.lines().count(), qga_agent::qga::COMMANDS.len());
}

#[test]
fn unknown_command_names_in_lists_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("a.sock");
    let (ok, _, err) = run(&[
        "-m",
        "unix-listen",
        "-p",
        sock.to_str().unwrap(),
        "-t",
        dir.path().to_str().unwrap(),
        "-b",
        "guest-pnig",
    ]);
    assert!(!ok);
    assert!(err.contains("guest-pnig"), "{err}");
}

#[test]
fn confidential_auto_says_what_it_found() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(&["-D", "-t", "/tmp", "--confidential=auto"]);
    assert!(ok, "{err}");
    let mut lines = out.lines().skip_while(|l| *l != "confidential=auto");
    assert_eq!(lines.next(), Some("confidential=auto"), "{out}");
    let why = lines.next().unwrap_or_default();
    assert!(
        why.starts_with("# confidential mode o") && why.contains("(auto: this is"),
        "{out}"
    );
    // The file takes the same values; the command line overrides it.
    let file = dir.path().join("qemu-ga.conf");
    std::fs::write(&file, "[general]\nconfidential=auto\n").unwrap();
    let (ok, out, _) = run(&["-D", "-t", "/tmp", "-c", file.to_str().unwrap()]);
    assert!(ok && out.contains("\nconfidential=auto\n"), "{out}");
    let (ok, out, _) = run(&["-D", "-t", "/tmp", "-c", file.to_str().unwrap(), "-i"]);
    assert!(
        ok && out.contains("\nconfidential=true\n") && !out.contains('#'),
        "{out}"
    );
    let (ok, out, _) = run(&[
        "-D",
        "-t",
        "/tmp",
        "-c",
        file.to_str().unwrap(),
        "--confidential=off",
    ]);
    assert!(ok && !out.contains("confidential"), "{out}");
    let (ok, _, err) = run(&["-D", "--confidential=maybe"]);
    assert!(!ok && err.contains("maybe"), "{err}");
}
