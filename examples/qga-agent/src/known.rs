//! The commands qemu-ga 10.0 knows, in the order of its schema: what
//! `-b`/`-a` accept (a configuration written for qemu-ga works here), and
//! the order `guest-info` lists commands in (qemu-ga's: the last
//! registered first).

/// Every command of QEMU 10.0's guest agent schema, on any platform, in
/// schema order.
pub const QEMU_GA_COMMANDS: [&str; 44] = [
    "guest-sync-delimited",
    "guest-sync",
    "guest-ping",
    "guest-get-time",
    "guest-set-time",
    "guest-info",
    "guest-shutdown",
    "guest-file-open",
    "guest-file-close",
    "guest-file-read",
    "guest-file-write",
    "guest-file-seek",
    "guest-file-flush",
    "guest-fsfreeze-status",
    "guest-fsfreeze-freeze",
    "guest-fsfreeze-freeze-list",
    "guest-fsfreeze-thaw",
    "guest-fstrim",
    "guest-suspend-disk",
    "guest-suspend-ram",
    "guest-suspend-hybrid",
    "guest-network-get-interfaces",
    "guest-get-vcpus",
    "guest-set-vcpus",
    "guest-get-disks",
    "guest-get-fsinfo",
    "guest-set-user-password",
    "guest-get-memory-blocks",
    "guest-set-memory-blocks",
    "guest-get-memory-block-info",
    "guest-exec-status",
    "guest-exec",
    "guest-get-host-name",
    "guest-get-users",
    "guest-get-timezone",
    "guest-get-osinfo",
    "guest-get-devices",
    "guest-ssh-get-authorized-keys",
    "guest-ssh-add-authorized-keys",
    "guest-ssh-remove-authorized-keys",
    "guest-get-diskstats",
    "guest-get-cpustats",
    "guest-get-load",
    "guest-network-get-route",
];

/// Where `name` stands in qemu-ga's schema (unknown names last).
pub fn schema_position(name: &str) -> usize {
    QEMU_GA_COMMANDS
        .iter()
        .position(|c| *c == name)
        .unwrap_or(QEMU_GA_COMMANDS.len())
}

#[cfg(test)]
mod tests {
    use super::QEMU_GA_COMMANDS;
    use crate::qga::COMMANDS;

    #[test]
    fn every_command_of_the_agent_is_one_qemu_ga_knows() {
        for c in COMMANDS {
            assert!(QEMU_GA_COMMANDS.contains(&c.name), "{}", c.name);
        }
        // Only the Windows one is left out.
        assert_eq!(COMMANDS.len(), QEMU_GA_COMMANDS.len() - 1);
    }
}
