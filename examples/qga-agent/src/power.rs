//! Suspending the guest as qemu-ga does on Linux: systemd first (if
//! `systemctl status` knows the sleep unit), then pm-utils (if
//! `pm-is-supported` says yes), then writing `/sys/power/state`; each
//! step tried only if the one before did not succeed, and qemu-ga's error
//! from the last one tried.
//!
//! The steps reach the machine through [`Helpers`], so the order and the
//! texts are tested with stand-ins.

use qapi_runtime::Error;

/// Which sleep `guest-suspend-*` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuspendMode {
    /// Suspend to disk (hibernate).
    Disk,
    /// Suspend to RAM.
    Ram,
    /// Both: save to disk, then suspend to RAM.
    Hybrid,
}

impl SuspendMode {
    /// The systemd unit whose status says whether systemd can do it.
    fn systemd_unit(self) -> &'static str {
        match self {
            SuspendMode::Disk => "systemd-hibernate",
            SuspendMode::Ram => "systemd-suspend",
            SuspendMode::Hybrid => "systemd-hybrid-sleep",
        }
    }

    /// `systemctl VERB`.
    fn systemctl_verb(self) -> &'static str {
        match self {
            SuspendMode::Disk => "hibernate",
            SuspendMode::Ram => "suspend",
            SuspendMode::Hybrid => "hybrid-sleep",
        }
    }

    /// `pm-is-supported FLAG`.
    fn pm_flag(self) -> &'static str {
        match self {
            SuspendMode::Disk => "--hibernate",
            SuspendMode::Ram => "--suspend",
            SuspendMode::Hybrid => "--suspend-hybrid",
        }
    }

    /// The pm-utils program.
    fn pm_program(self) -> &'static str {
        match self {
            SuspendMode::Disk => "pm-hibernate",
            SuspendMode::Ram => "pm-suspend",
            SuspendMode::Hybrid => "pm-suspend-hybrid",
        }
    }

    /// What `/sys/power/state` takes; hybrid has no word there.
    fn sys_state(self) -> Option<&'static str> {
        match self {
            SuspendMode::Disk => Some("disk"),
            SuspendMode::Ram => Some("mem"),
            SuspendMode::Hybrid => None,
        }
    }
}

/// How a helper program ended, as GLib's synchronous spawn tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ran {
    /// It ran; its exit status (0 if a signal ended it, as qemu-ga reads
    /// a status it does not check for signals).
    Exited(i32),
    /// No such program in `PATH`.
    NotFound,
    /// It could not be started for another reason (GLib's message).
    Failed(String),
}

/// What the suspend steps need from the machine.
pub trait Helpers {
    /// Runs `argv` with its output discarded.
    fn run(&mut self, argv: &[&str]) -> Ran;
    /// The first bytes of `/sys/power/state`, `None` if unreadable.
    fn read_state(&mut self) -> Option<String>;
    /// Writes `word` to `/sys/power/state`.
    fn write_state(&mut self, word: &str) -> std::io::Result<()>;
}

/// Whether `argv` ran and exited 0.
fn succeeds(helpers: &mut dyn Helpers, argv: &[&str]) -> bool {
    helpers.run(argv) == Ran::Exited(0)
}

/// Whether systemd has the mode's sleep unit: `systemctl status` answers
/// 1-3 (LSB codes; 3 is "not running") for a unit it knows, 4 for one it
/// does not.
fn systemd_offers(helpers: &mut dyn Helpers, mode: SuspendMode) -> bool {
    matches!(
        helpers.run(&["systemctl", "status", mode.systemd_unit()]),
        Ran::Exited(1..=3)
    )
}

/// Whether `/sys/power/state` lists the mode; hybrid is not a word there.
fn sysfs_offers(helpers: &mut dyn Helpers, mode: SuspendMode) -> Result<bool, Error> {
    let word = mode
        .sys_state()
        .ok_or_else(|| Error::generic("unknown guest suspend mode"))?;
    Ok(helpers.read_state().is_some_and(|s| s.contains(word)))
}

/// Suspends the guest in `mode`.  As in qemu-ga, a step that is offered
/// but fails lets the next one try, and only the last step's error is
/// reported: a systemd or pm-utils failure with nothing after it reports
/// nothing for disk and RAM (the command has no success reply), and
/// "unknown guest suspend mode" for hybrid.
pub fn suspend(helpers: &mut dyn Helpers, mode: SuspendMode) -> Result<(), Error> {
    let mut offered = false;
    if systemd_offers(helpers, mode) {
        offered = true;
        if succeeds(helpers, &["systemctl", mode.systemctl_verb()]) {
            return Ok(());
        }
    }
    if succeeds(helpers, &["pm-is-supported", mode.pm_flag()]) {
        offered = true;
        if succeeds(helpers, &[mode.pm_program()]) {
            return Ok(());
        }
    }
    let sysfs = sysfs_offers(helpers, mode);
    if let (Ok(true), Some(word)) = (&sysfs, mode.sys_state()) {
        return helpers.write_state(word).map_err(|e| {
            Error::generic(format!(
                "suspend: cannot write to '/sys/power/state': {}",
                crate::errno_text(&e)
            ))
        });
    }
    if !offered {
        return Err(Error::generic(
            "the requested suspend mode is not supported by the guest",
        ));
    }
    sysfs.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers from a table; records what ran and what was written.
    #[derive(Default)]
    struct Fake {
        answers: Vec<(&'static str, Ran)>,
        state: Option<&'static str>,
        ran: Vec<String>,
        written: Vec<String>,
    }

    impl Helpers for Fake {
        fn run(&mut self, argv: &[&str]) -> Ran {
            let line = argv.join(" ");
            self.ran.push(line.clone());
            self.answers
                .iter()
                .find(|(l, _)| *l == line)
                .map_or(Ran::NotFound, |(_, r)| r.clone())
        }
        fn read_state(&mut self) -> Option<String> {
            self.state.map(str::to_owned)
        }
        fn write_state(&mut self, word: &str) -> std::io::Result<()> {
            self.written.push(word.to_owned());
            Ok(())
        }
    }

    #[test]
    fn systemd_first_when_it_knows_the_unit() {
        let mut fake = Fake {
            answers: vec![
                ("systemctl status systemd-suspend", Ran::Exited(3)),
                ("systemctl suspend", Ran::Exited(0)),
            ],
            ..Fake::default()
        };
        suspend(&mut fake, SuspendMode::Ram).unwrap();
        assert_eq!(
            fake.ran,
            ["systemctl status systemd-suspend", "systemctl suspend"]
        );
    }

    #[test]
    fn an_unknown_unit_falls_through_to_pm_utils_then_sysfs() {
        let mut fake = Fake {
            answers: vec![("systemctl status systemd-hibernate", Ran::Exited(4))],
            state: Some("freeze mem disk\n"),
            ..Fake::default()
        };
        suspend(&mut fake, SuspendMode::Disk).unwrap();
        assert_eq!(
            fake.ran,
            [
                "systemctl status systemd-hibernate",
                "pm-is-supported --hibernate"
            ]
        );
        assert_eq!(fake.written, ["disk"]);
    }

    #[test]
    fn nothing_offers_the_mode() {
        let mut fake = Fake {
            state: Some("freeze mem\n"),
            ..Fake::default()
        };
        assert_eq!(
            suspend(&mut fake, SuspendMode::Hybrid).unwrap_err().desc,
            "the requested suspend mode is not supported by the guest"
        );
        assert_eq!(
            suspend(&mut fake, SuspendMode::Disk).unwrap_err().desc,
            "the requested suspend mode is not supported by the guest"
        );
        assert!(fake.written.is_empty());
    }

    #[test]
    fn only_the_last_steps_error_is_reported() {
        let mut fake = Fake {
            answers: vec![
                ("systemctl status systemd-hybrid-sleep", Ran::Exited(3)),
                ("systemctl hybrid-sleep", Ran::Exited(1)),
            ],
            ..Fake::default()
        };
        assert_eq!(
            suspend(&mut fake, SuspendMode::Hybrid).unwrap_err().desc,
            "unknown guest suspend mode"
        );
        // RAM: systemd failed, pm-utils absent, sysfs does not offer it.
        let mut fake = Fake {
            answers: vec![
                ("systemctl status systemd-suspend", Ran::Exited(3)),
                ("systemctl suspend", Ran::Failed("Permission denied".into())),
            ],
            state: Some("disk\n"),
            ..Fake::default()
        };
        assert!(suspend(&mut fake, SuspendMode::Ram).is_ok());
        assert!(fake.written.is_empty());
        // pm-utils offered but failing, sysfs offered: sysfs is written.
        let mut fake = Fake {
            answers: vec![
                ("pm-is-supported --suspend", Ran::Exited(0)),
                ("pm-suspend", Ran::Exited(1)),
            ],
            state: Some("mem\n"),
            ..Fake::default()
        };
        suspend(&mut fake, SuspendMode::Ram).unwrap();
        assert_eq!(fake.written, ["mem"]);
    }
}
