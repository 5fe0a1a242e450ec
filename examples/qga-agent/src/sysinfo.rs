//! The read-only commands' data, from `/proc`, `/sys`, `/etc` and libc.

use std::collections::BTreeMap;
use std::fs;

use qapi_runtime::Error;

use crate::qga::*;

fn read(path: &str) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|e| Error::generic(format!("failed to read {path}: {e}")))
}

fn read_trimmed(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

/// `guest-get-host-name`.
pub fn host_name() -> Result<GuestHostName, Error> {
    Ok(GuestHostName {
        host_name: read("/proc/sys/kernel/hostname")?.trim().to_owned(),
    })
}

/// `guest-get-osinfo`: the kernel's `uname` and `/etc/os-release`.
pub fn os_info() -> GuestOSInfo {
    let release = fs::read_to_string("/etc/os-release")
        .or_else(|_| fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let fields: BTreeMap<&str, String> = release
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim().trim_matches(['"', '\'']).to_owned()))
        .collect();
    let field = |k: &str| fields.get(k).cloned();
    GuestOSInfo {
        kernel_release: read_trimmed("/proc/sys/kernel/osrelease"),
        kernel_version: read_trimmed("/proc/sys/kernel/version"),
        machine: Some(std::env::consts::ARCH.to_owned()),
        id: field("ID"),
        name: field("NAME"),
        pretty_name: field("PRETTY_NAME"),
        version: field("VERSION"),
        version_id: field("VERSION_ID"),
        variant: field("VARIANT"),
        variant_id: field("VARIANT_ID"),
    }
}

/// `guest-get-timezone`: the local zone's abbreviation and offset east
/// of UTC in seconds.
pub fn timezone() -> GuestTimezone {
    // SAFETY: localtime_r fills `tm` from a valid time_t; tm_zone points
    // into static storage that lives as long as the process.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        let zone = (!tm.tm_zone.is_null()).then(|| {
            std::ffi::CStr::from_ptr(tm.tm_zone)
                .to_string_lossy()
                .into_owned()
        });
        GuestTimezone {
            zone,
            offset: tm.tm_gmtoff,
        }
    }
}

/// `guest-get-load`.
pub fn load() -> Result<GuestLoadAverage, Error> {
    let text = read("/proc/loadavg")?;
    let mut it = text
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap_or(0.0));
    let mut next = || it.next().unwrap_or(0.0);
    Ok(GuestLoadAverage {
        load1m: next(),
        load5m: next(),
        load15m: next(),
    })
}

/// `guest-get-cpustats`: one entry per `cpuN` line of `/proc/stat`.
pub fn cpu_stats() -> Result<Vec<GuestCpuStats>, Error> {
    let text = read("/proc/stat")?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let cpu: i64 = words.next()?.strip_prefix("cpu")?.parse().ok()?;
            let v: Vec<u64> = words.filter_map(|w| w.parse().ok()).collect();
            let at = |i: usize| v.get(i).copied();
            Some(GuestCpuStats {
                r#type: GuestCpuStatsBranch::Linux(GuestLinuxCpuStats {
                    cpu,
                    user: at(0)?,
                    nice: at(1)?,
                    system: at(2)?,
                    idle: at(3)?,
                    iowait: at(4),
                    irq: at(5),
                    softirq: at(6),
                    steal: at(7),
                    guest: at(8),
                    guestnice: at(9),
                }),
            })
        })
        .collect())
}

/// `guest-get-diskstats`: `/proc/diskstats`.
pub fn disk_stats() -> Result<Vec<GuestDiskStatsInfo>, Error> {
    let text = read("/proc/diskstats")?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let n = |i: usize| w.get(i).and_then(|v| v.parse::<u64>().ok());
            Some(GuestDiskStatsInfo {
                name: (*w.get(2)?).to_owned(),
                major: n(0)?,
                minor: n(1)?,
                stats: GuestDiskStats {
                    read_ios: n(3),
                    read_merges: n(4),
                    read_sectors: n(5),
                    read_ticks: n(6),
                    write_ios: n(7),
                    write_merges: n(8),
                    write_sectors: n(9),
                    write_ticks: n(10),
                    ios_pgr: n(11),
                    total_ticks: n(12),
                    weight_ticks: n(13),
                    discard_ios: n(14),
                    discard_merges: n(15),
                    discard_sectors: n(16),
                    discard_ticks: n(17),
                    flush_ios: n(18),
                    flush_ticks: n(19),
                },
            })
        })
        .collect())
}

/// Numbered entries `PREFIXN` of a sysfs directory, sorted by number.
fn numbered(dir: &str, prefix: &str) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_prefix(prefix)?.parse().ok()?;
            Some((n, e.path().to_string_lossy().into_owned()))
        })
        .collect();
    out.sort();
    out
}

/// `guest-get-vcpus`: a CPU without an `online` file cannot go offline.
pub fn vcpus() -> Vec<GuestLogicalProcessor> {
    numbered("/sys/devices/system/cpu", "cpu")
        .into_iter()
        .map(|(id, path)| {
            let online = read_trimmed(&format!("{path}/online"));
            GuestLogicalProcessor {
                logical_id: id as i64,
                online: online.as_deref() != Some("0"),
                can_offline: Some(online.is_some()),
            }
        })
        .collect()
}

/// `guest-get-memory-blocks`.
pub fn memory_blocks() -> Vec<GuestMemoryBlock> {
    numbered("/sys/devices/system/memory", "memory")
        .into_iter()
        .map(|(index, path)| GuestMemoryBlock {
            phys_index: index,
            online: read_trimmed(&format!("{path}/state")).as_deref() == Some("online"),
            can_offline: read_trimmed(&format!("{path}/removable")).map(|r| r == "1"),
        })
        .collect()
}

/// `guest-get-memory-block-info`: the block size, hexadecimal in sysfs.
pub fn memory_block_info() -> Result<GuestMemoryBlockInfo, Error> {
    let text = read("/sys/devices/system/memory/block_size_bytes")?;
    let size = u64::from_str_radix(text.trim(), 16)
        .map_err(|e| Error::generic(format!("bad memory block size '{}': {e}", text.trim())))?;
    Ok(GuestMemoryBlockInfo { size })
}

/// A mounted file system backed by a device.
pub struct Mount {
    /// The device, e.g. `/dev/vda1`.
    pub device: String,
    /// Where it is mounted.
    pub mountpoint: String,
    /// Its type, e.g. `ext4`.
    pub fstype: String,
}

/// The mounts of `/proc/self/mounts` that have a device under `/dev`, as
/// qemu-ga counts them (virtual file systems are left out).
pub fn real_mounts() -> Result<Vec<Mount>, Error> {
    let text = read("/proc/self/mounts")?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let device = *w.first()?;
            if !device.starts_with("/dev/") || w.get(2) == Some(&"smbfs") {
                return None;
            }
            Some(Mount {
                device: device.to_owned(),
                mountpoint: unescape(w.get(1)?),
                fstype: (*w.get(2)?).to_owned(),
            })
        })
        .collect())
}

/// `/proc/mounts` writes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(char::from(c));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `guest-get-fsinfo`: each real mount with its usage (disk addresses are
/// not resolved: the list is empty).
pub fn fs_info() -> Result<Vec<GuestFilesystemInfo>, Error> {
    Ok(real_mounts()?
        .into_iter()
        .map(|m| {
            let usage = statvfs(&m.mountpoint);
            GuestFilesystemInfo {
                name: m.device.rsplit('/').next().unwrap_or(&m.device).to_owned(),
                mountpoint: m.mountpoint,
                r#type: m.fstype,
                used_bytes: usage.map(|u| u.0),
                total_bytes: usage.map(|u| u.1),
                total_bytes_privileged: usage.map(|u| u.2),
                disk: Vec::new(),
            }
        })
        .collect())
}

/// (used, total for unprivileged users, total) bytes, as qemu-ga counts.
fn statvfs(path: &str) -> Option<(u64, u64, u64)> {
    let c = std::ffi::CString::new(path).ok()?;
    // SAFETY: statvfs writes into `st` for a valid C string path.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c.as_ptr(), &mut st) == 0).then_some(st)
    }?;
    let frsize = st.f_frsize;
    let used = (st.f_blocks - st.f_bfree) * frsize;
    let nonroot_total = used + st.f_bavail * frsize;
    Some((used, nonroot_total, st.f_blocks * frsize))
}

/// `guest-network-get-interfaces`: addresses from `getifaddrs`, hardware
/// addresses and counters from sysfs.
pub fn interfaces() -> Result<Vec<GuestNetworkInterface>, Error> {
    let mut out: Vec<GuestNetworkInterface> = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list`, freed below with freeifaddrs; each
    // entry is read while the list is alive.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return Err(Error::generic(format!(
                "getifaddrs failed: {}",
                std::io::Error::last_os_error()
            )));
        }
        let mut cur = list;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                .to_string_lossy()
                .into_owned();
            let index = match out.iter().position(|i| i.name == name) {
                Some(i) => i,
                None => {
                    out.push(interface(&name));
                    out.len() - 1
                }
            };
            if let Some(addr) = ip_address(ifa.ifa_addr, ifa.ifa_netmask) {
                out[index]
                    .ip_addresses
                    .get_or_insert_with(Vec::new)
                    .push(addr);
            }
        }
        libc::freeifaddrs(list);
    }
    Ok(out)
}

fn interface(name: &str) -> GuestNetworkInterface {
    let base = format!("/sys/class/net/{name}");
    let stat = |s: &str| {
        read_trimmed(&format!("{base}/statistics/{s}"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    GuestNetworkInterface {
        name: name.to_owned(),
        hardware_address: read_trimmed(&format!("{base}/address")),
        ip_addresses: None,
        statistics: Some(GuestNetworkInterfaceStat {
            rx_bytes: stat("rx_bytes"),
            rx_packets: stat("rx_packets"),
            rx_errs: stat("rx_errors"),
            rx_dropped: stat("rx_dropped"),
            tx_bytes: stat("tx_bytes"),
            tx_packets: stat("tx_packets"),
            tx_errs: stat("tx_errors"),
            tx_dropped: stat("tx_dropped"),
        }),
    }
}

/// An IPv4 or IPv6 address with its prefix length.
///
/// # Safety
/// `addr` and `mask` are null or point at socket addresses of the family
/// `addr` names.
unsafe fn ip_address(
    addr: *const libc::sockaddr,
    mask: *const libc::sockaddr,
) -> Option<GuestIpAddress> {
    if addr.is_null() {
        return None;
    }
    match i32::from((*addr).sa_family) {
        libc::AF_INET => {
            let a = &*(addr as *const libc::sockaddr_in);
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            let prefix = if mask.is_null() {
                0
            } else {
                u32::from_be((*(mask as *const libc::sockaddr_in)).sin_addr.s_addr).count_ones()
            };
            Some(GuestIpAddress {
                ip_address: ip.to_string(),
                ip_address_type: GuestIpAddressType::Ipv4,
                prefix: prefix.into(),
            })
        }
        libc::AF_INET6 => {
            let a = &*(addr as *const libc::sockaddr_in6);
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            let prefix = if mask.is_null() {
                0
            } else {
                (*(mask as *const libc::sockaddr_in6))
                    .sin6_addr
                    .s6_addr
                    .iter()
                    .map(|b| b.count_ones())
                    .sum::<u32>()
            };
            Some(GuestIpAddress {
                ip_address: ip.to_string(),
                ip_address_type: GuestIpAddressType::Ipv6,
                prefix: prefix.into(),
            })
        }
        _ => None,
    }
}

/// `guest-get-users`: each user with a login session in utmp, with the
/// earliest login time (seconds, as a double).
pub fn users() -> Vec<GuestUser> {
    let mut users: Vec<GuestUser> = Vec::new();
    // SAFETY: the utmpx functions iterate the database in static storage;
    // each entry is read before the next call.
    unsafe {
        libc::setutxent();
        loop {
            let entry = libc::getutxent();
            if entry.is_null() {
                break;
            }
            let e = &*entry;
            if e.ut_type != libc::USER_PROCESS {
                continue;
            }
            let name = std::ffi::CStr::from_ptr(e.ut_user.as_ptr())
                .to_string_lossy()
                .into_owned();
            let time = e.ut_tv.tv_sec as f64 + e.ut_tv.tv_usec as f64 / 1e6;
            match users.iter_mut().find(|u| u.user == name) {
                Some(u) => u.login_time = u.login_time.min(time),
                None => users.push(GuestUser {
                    user: name,
                    login_time: time,
                    domain: None,
                }),
            }
        }
        libc::endutxent();
    }
    users
}
