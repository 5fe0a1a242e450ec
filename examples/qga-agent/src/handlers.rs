//! Every command of `schema/qga.json`, as `#[handlers]` functions.

use qapi_runtime::Error;

use crate::qga::{self, commands as c};
use crate::Agent;

/// One function per command; `all::register` adds them all to a
/// dispatcher, and the build fails if a command of the schema has none.
/// Handlers that touch files, processes or file systems are `blocking`:
/// they run on threads of their own, so a slow one never holds up
/// another client.
#[qapi_runtime::handlers(schema = "qga", require_all)]
pub mod all {
    use super::*;
    use crate::exec::ExecRequest;
    use crate::system::ShutdownMode;
    use crate::{b64, disks, hardware, known, routes, sysinfo, SuspendMode};

    /// Echoes `id`, so a client can find where its replies start.
    #[command]
    pub fn guest_sync(id: i64) -> Result<i64, Error> {
        Ok(id)
    }

    /// Echoes `id`; the session sends 0xFF before the reply.
    #[command]
    pub fn guest_sync_delimited(id: i64) -> Result<i64, Error> {
        Ok(id)
    }

    /// Answers, to show the agent is alive.
    #[command]
    pub fn guest_ping() -> Result<(), Error> {
        Ok(())
    }

    /// The agent's version and every command with whether it runs now,
    /// in qemu-ga's order (the reverse of its schema's).
    #[command]
    pub fn guest_info(agent: &Agent) -> Result<qga::GuestAgentInfo, Error> {
        let dispatcher = agent.dispatcher.get()?;
        let mut supported_commands: Vec<_> = dispatcher
            .commands()
            .map(|s| qga::GuestAgentCommandInfo {
                name: s.info.name.to_owned(),
                enabled: s.enabled(),
                success_response: s.info.success_response,
            })
            .collect();
        supported_commands.sort_by_key(|c| std::cmp::Reverse(known::schema_position(&c.name)));
        Ok(qga::GuestAgentInfo {
            version: crate::VERSION.to_owned(),
            supported_commands,
        })
    }

    /// Nanoseconds since the epoch.
    #[command]
    pub fn guest_get_time() -> Result<i64, Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| Error::generic(e.to_string()))?;
        i64::try_from(now.as_nanos()).map_err(|e| Error::generic(e.to_string()))
    }

    /// Sets the clock to `time` (nanoseconds since the epoch, a local
    /// year from 1970 to 2069) and the hardware clock from it; without a
    /// time, the clock from the hardware clock.
    #[command(blocking)]
    pub fn guest_set_time(agent: &Agent, time: Option<i64>) -> Result<(), Error> {
        if let Some(ns) = time {
            if !(1970..2070).contains(&sysinfo::local_year(ns / 1_000_000_000)) {
                return Err(Error::generic("Invalid time: Invalid argument"));
            }
        }
        agent.system.set_time(time)
    }

    /// The kernel's host name.
    #[command]
    pub fn guest_get_host_name() -> Result<qga::GuestHostName, Error> {
        sysinfo::host_name()
    }

    /// Kernel and distribution.
    #[command]
    pub fn guest_get_osinfo() -> Result<qga::GuestOSInfo, Error> {
        Ok(sysinfo::os_info())
    }

    /// The local time zone.
    #[command]
    pub fn guest_get_timezone() -> Result<qga::GuestTimezone, Error> {
        Ok(sysinfo::timezone())
    }

    /// Users logged in.
    #[command]
    pub fn guest_get_users() -> Result<Vec<qga::GuestUser>, Error> {
        Ok(sysinfo::users())
    }

    /// Load averages.
    #[command]
    pub fn guest_get_load() -> Result<qga::GuestLoadAverage, Error> {
        sysinfo::load()
    }

    /// Per-CPU time counters.
    #[command]
    pub fn guest_get_cpustats() -> Result<Vec<qga::GuestCpuStats>, Error> {
        sysinfo::cpu_stats()
    }

    /// Per-disk I/O counters.
    #[command]
    pub fn guest_get_diskstats() -> Result<Vec<qga::GuestDiskStatsInfo>, Error> {
        sysinfo::disk_stats()
    }

    /// The logical CPUs and whether they are online.
    #[command]
    pub fn guest_get_vcpus(agent: &Agent) -> Result<Vec<qga::GuestLogicalProcessor>, Error> {
        hardware::vcpus(agent.system.sysfs())
    }

    /// Brings CPUs online or offline, in order, until one fails; returns
    /// how many were done (the error if the first failed).
    #[command(blocking)]
    pub fn guest_set_vcpus(
        agent: &Agent,
        vcpus: Vec<qga::GuestLogicalProcessor>,
    ) -> Result<i64, Error> {
        hardware::set_vcpus(agent.system.sysfs(), &vcpus)
    }

    /// The memory blocks and whether they are online.
    #[command]
    pub fn guest_get_memory_blocks(agent: &Agent) -> Result<Vec<qga::GuestMemoryBlock>, Error> {
        hardware::memory_blocks(agent.system.sysfs())
    }

    /// Brings memory blocks online or offline; one response per block.
    #[command(blocking)]
    pub fn guest_set_memory_blocks(
        agent: &Agent,
        mem_blks: Vec<qga::GuestMemoryBlock>,
    ) -> Result<Vec<qga::GuestMemoryBlockResponse>, Error> {
        Ok(hardware::set_memory_blocks(agent.system.sysfs(), &mem_blks))
    }

    /// The size of a memory block.
    #[command]
    pub fn guest_get_memory_block_info(agent: &Agent) -> Result<qga::GuestMemoryBlockInfo, Error> {
        hardware::memory_block_info(agent.system.sysfs())
    }

    /// The kernel's IPv4 and IPv6 routes.
    #[command]
    pub fn guest_network_get_route() -> Result<Vec<qga::GuestNetworkRoute>, Error> {
        routes::routes()
    }

    /// The block devices, their addresses, dependencies and partitions.
    #[command(blocking)]
    pub fn guest_get_disks() -> Result<Vec<qga::GuestDiskInfo>, Error> {
        disks::disks()
    }

    /// Discards unused blocks of every local file system.
    #[command(blocking)]
    pub fn guest_fstrim(
        agent: &Agent,
        minimum: Option<i64>,
    ) -> Result<qga::GuestFilesystemTrimResponse, Error> {
        agent.system.fstrim(minimum)
    }

    /// Suspends to disk; no reply when it works.
    #[command(blocking)]
    pub fn guest_suspend_disk(agent: &Agent) -> Result<(), Error> {
        agent.system.suspend(SuspendMode::Disk)
    }

    /// Suspends to RAM; no reply when it works.
    #[command(blocking)]
    pub fn guest_suspend_ram(agent: &Agent) -> Result<(), Error> {
        agent.system.suspend(SuspendMode::Ram)
    }

    /// Suspends to disk and RAM; no reply when it works.
    #[command(blocking)]
    pub fn guest_suspend_hybrid(agent: &Agent) -> Result<(), Error> {
        agent.system.suspend(SuspendMode::Hybrid)
    }

    /// Network interfaces, their addresses and counters.
    #[command]
    pub fn guest_network_get_interfaces() -> Result<Vec<qga::GuestNetworkInterface>, Error> {
        sysinfo::interfaces()
    }

    /// Mounted file systems and their usage.
    #[command(blocking)]
    pub fn guest_get_fsinfo() -> Result<Vec<qga::GuestFilesystemInfo>, Error> {
        disks::fs_info()
    }

    /// Opens a file; returns its handle.
    #[command(blocking)]
    pub fn guest_file_open(
        agent: &Agent,
        path: String,
        mode: Option<String>,
    ) -> Result<i64, Error> {
        agent.files.open(&agent.state, &path, mode.as_deref())
    }

    /// Closes a handle.
    #[command(blocking)]
    pub fn guest_file_close(agent: &Agent, handle: i64) -> Result<(), Error> {
        agent.files.close(handle)
    }

    /// Reads up to `count` bytes (4096 by default).
    #[command(blocking)]
    pub fn guest_file_read(
        agent: &Agent,
        handle: i64,
        count: Option<i64>,
    ) -> Result<qga::GuestFileRead, Error> {
        agent.files.read(handle, count)
    }

    /// Writes base64 data.
    #[command(blocking)]
    pub fn guest_file_write(
        agent: &Agent,
        handle: i64,
        buf_b64: String,
        count: Option<i64>,
    ) -> Result<qga::GuestFileWrite, Error> {
        agent.files.write(handle, &buf_b64, count)
    }

    /// Moves the file position.
    #[command(blocking)]
    pub fn guest_file_seek(
        agent: &Agent,
        handle: i64,
        offset: i64,
        whence: qga::GuestFileWhence,
    ) -> Result<qga::GuestFileSeek, Error> {
        agent.files.seek(handle, offset, &whence)
    }

    /// Flushes a file.
    #[command(blocking)]
    pub fn guest_file_flush(agent: &Agent, handle: i64) -> Result<(), Error> {
        agent.files.flush(handle)
    }

    /// Starts a program; returns its pid.
    #[command(blocking)]
    pub fn guest_exec(agent: &Agent, #[args] args: c::GuestExec) -> Result<qga::GuestExec, Error> {
        let pid = agent.processes.start(ExecRequest {
            path: args.path,
            args: args.arg.unwrap_or_default(),
            env: args.env,
            input: args.input_data,
            capture: args.capture_output,
        })?;
        Ok(qga::GuestExec { pid })
    }

    /// Whether a started program has exited, with its output.
    #[command]
    pub fn guest_exec_status(agent: &Agent, pid: i64) -> Result<qga::GuestExecStatus, Error> {
        agent.processes.status(pid)
    }

    /// `thawed` or `frozen`.
    #[command]
    pub fn guest_fsfreeze_status(agent: &Agent) -> Result<qga::GuestFsfreezeStatus, Error> {
        Ok(if agent.frozen.get() {
            qga::GuestFsfreezeStatus::Frozen
        } else {
            qga::GuestFsfreezeStatus::Thawed
        })
    }

    /// Freezes every file system; returns how many.
    #[command(blocking)]
    pub fn guest_fsfreeze_freeze(agent: &Agent) -> Result<i64, Error> {
        agent.freeze(None)
    }

    /// Freezes the file systems at `mountpoints`; returns how many.
    #[command(blocking)]
    pub fn guest_fsfreeze_freeze_list(
        agent: &Agent,
        mountpoints: Option<Vec<String>>,
    ) -> Result<i64, Error> {
        agent.freeze(mountpoints.as_deref())
    }

    /// Thaws what was frozen; returns how many.
    #[command(blocking)]
    pub fn guest_fsfreeze_thaw(agent: &Agent) -> Result<i64, Error> {
        agent.thaw()
    }

    /// Sets a user's password (base64; `crypted` if already hashed).
    #[command(blocking)]
    pub fn guest_set_user_password(
        agent: &Agent,
        username: String,
        password: String,
        crypted: bool,
    ) -> Result<(), Error> {
        let mut raw = b64::decode(&password)?;
        // A C string: the password ends at the first NUL.
        if let Some(nul) = raw.iter().position(|&b| b == 0) {
            raw.truncate(nul);
        }
        if raw.contains(&b'\n') {
            return Err(Error::generic("forbidden characters in raw password"));
        }
        if username.contains(['\n', ':']) {
            return Err(Error::generic("forbidden characters in username"));
        }
        agent.system.set_password(&username, &raw, crypted)
    }

    /// The keys in a user's `~/.ssh/authorized_keys`, last first.
    #[command(blocking)]
    pub fn guest_ssh_get_authorized_keys(
        agent: &Agent,
        username: String,
    ) -> Result<qga::GuestAuthorizedKeys, Error> {
        let keys = crate::ssh::get_keys(&agent.user(&username)?)?;
        Ok(qga::GuestAuthorizedKeys { keys })
    }

    /// Adds keys (or replaces them all with `reset`).
    #[command(blocking)]
    pub fn guest_ssh_add_authorized_keys(
        agent: &Agent,
        username: String,
        keys: Vec<String>,
        reset: Option<bool>,
    ) -> Result<(), Error> {
        crate::ssh::check(&keys)?;
        let user = agent.user(&username)?;
        crate::ssh::add_keys(&user, &keys, reset.unwrap_or(false))
    }

    /// Removes keys.
    #[command(blocking)]
    pub fn guest_ssh_remove_authorized_keys(
        agent: &Agent,
        username: String,
        keys: Vec<String>,
    ) -> Result<(), Error> {
        crate::ssh::check(&keys)?;
        let user = agent.user(&username)?;
        crate::ssh::remove_keys(&user, &keys)
    }

    /// Halts, powers down (the default) or reboots the guest.
    #[command(blocking)]
    pub fn guest_shutdown(agent: &Agent, mode: Option<String>) -> Result<(), Error> {
        let mode = match mode.as_deref() {
            None | Some("powerdown") => ShutdownMode::Powerdown,
            Some("halt") => ShutdownMode::Halt,
            Some("reboot") => ShutdownMode::Reboot,
            Some(_) => {
                return Err(Error::generic(
                    "mode is invalid (valid values are: halt|powerdown|reboot",
                ))
            }
        };
        agent.system.shutdown(mode)
    }
}
