//! The read-only commands' data, from `/proc`, `/sys`, `/etc` and libc.

use std::collections::BTreeMap;
use std::fs;

use qapi_runtime::Error;

use crate::errno_text;
use crate::qga::*;

/// `guest-get-host-name`: `gethostname`.
pub fn host_name() -> Result<GuestHostName, Error> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into `buf`.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) } != 0 {
        return Err(Error::generic(format!(
            "cannot get hostname: {}",
            errno_text(&std::io::Error::last_os_error())
        )));
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(GuestHostName {
        host_name: String::from_utf8_lossy(&buf[..end]).into_owned(),
    })
}

/// The local calendar year of `secs` since the epoch.
pub fn local_year(secs: i64) -> i64 {
    // SAFETY: localtime_r fills `tm` from a valid time_t.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return 0;
        }
        i64::from(tm.tm_year) + 1900
    }
}

/// An os-release value as qemu-ga reads it: a double-quoted value ends
/// at its closing quote with `\$`, `\'`, `\"`, `` \` `` and `\\`
/// unescaped; any other value ends at its first space or `;` (a
/// single-quoted one keeps its quotes: qemu-ga treats only `"` as a
/// quote).
fn os_release_value(raw: &str) -> String {
    let Some(quoted) = raw.strip_prefix('"') else {
        let end = raw.find([' ', ';']).unwrap_or(raw.len());
        return raw[..end].to_owned();
    };
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.clone().next() {
                Some(next @ ('$' | '\'' | '"' | '\\' | '`')) => {
                    chars.next();
                    out.push(next);
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// An os-release file as a GLib key file with one group: `None` if it
/// cannot be read, is not UTF-8, or has a line that is neither a key, a
/// comment nor blank.
fn parse_os_release(path: &str) -> Option<BTreeMap<String, String>> {
    let bytes = fs::read(path).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut fields = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=')?;
        fields.insert(key.trim_end().to_owned(), value.trim_start().to_owned());
    }
    Some(fields)
}

/// `guest-get-osinfo`: `uname` and os-release (`$QGA_OS_RELEASE`, else
/// `/etc/os-release`, else `/usr/lib/os-release`).
pub fn os_info() -> GuestOSInfo {
    let fields = match std::env::var("QGA_OS_RELEASE") {
        Ok(path) => parse_os_release(&path),
        Err(_) => {
            parse_os_release("/etc/os-release").or_else(|| parse_os_release("/usr/lib/os-release"))
        }
    }
    .unwrap_or_default();
    let field = |k: &str| fields.get(k).map(|v| os_release_value(v));
    // SAFETY: uname fills a utsname; its fields are C strings.
    let uts = unsafe {
        let mut uts: libc::utsname = std::mem::zeroed();
        (libc::uname(&mut uts) == 0).then_some(uts)
    };
    let text = |f: &[libc::c_char]| {
        // SAFETY: each utsname field is NUL-terminated.
        unsafe { std::ffi::CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    GuestOSInfo {
        kernel_release: uts.as_ref().map(|u| text(&u.release)),
        kernel_version: uts.as_ref().map(|u| text(&u.version)),
        machine: uts.as_ref().map(|u| text(&u.machine)),
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

/// `guest-get-load`: `getloadavg`.
pub fn load() -> Result<GuestLoadAverage, Error> {
    let mut avg = [0f64; 3];
    // SAFETY: getloadavg writes at most 3 doubles into `avg`.
    if unsafe { libc::getloadavg(avg.as_mut_ptr(), 3) } < 0 {
        return Err(Error::generic(format!(
            "cannot query load average: {}",
            errno_text(&std::io::Error::last_os_error())
        )));
    }
    Ok(GuestLoadAverage {
        load1m: avg[0],
        load5m: avg[1],
        load15m: avg[2],
    })
}

/// The leading numbers of `words`, as `sscanf("%lu ...")` reads them:
/// it stops at the first word that is not one.
fn leading_numbers<'a>(words: impl Iterator<Item = &'a str>, max: usize) -> Vec<u64> {
    words.map_while(|w| w.parse().ok()).take(max).collect()
}

/// One `cpuN` line of `/proc/stat` in milliseconds, with the fields it
/// has (qemu-ga's rules: four are needed; `irq` brings `softirq`).
fn cpu_line(line: &str, ticks_per_second: u64) -> Option<Result<GuestCpuStats, ()>> {
    let mut words = line.split_whitespace();
    let name = words.next()?;
    let number = name.strip_prefix("cpu").filter(|n| !n.is_empty())?;
    let v = leading_numbers(words, 10);
    if v.len() < 4 {
        // qemu-ga stops reading the file here.
        return Some(Err(()));
    }
    let ms = |i: usize| v.get(i).map(|t| t.wrapping_mul(1000) / ticks_per_second);
    let at_least = |n: usize, i: usize| if v.len() >= n { ms(i) } else { None };
    Some(Ok(GuestCpuStats {
        r#type: GuestCpuStatsBranch::Linux(GuestLinuxCpuStats {
            cpu: leading_numbers(std::iter::once(number), 1)
                .first()
                .map_or(0, |&n| n as i64),
            user: ms(0)?,
            nice: ms(1)?,
            system: ms(2)?,
            idle: ms(3)?,
            iowait: at_least(5, 4),
            irq: at_least(6, 5),
            softirq: if v.len() >= 6 {
                Some(ms(6).unwrap_or(0))
            } else {
                None
            },
            steal: at_least(8, 7),
            guest: at_least(9, 8),
            guestnice: at_least(10, 9),
        }),
    }))
}

/// `guest-get-cpustats`: one entry per `cpuN` line of `/proc/stat`, in
/// milliseconds.
pub fn cpu_stats() -> Result<Vec<GuestCpuStats>, Error> {
    let text = fs::read_to_string("/proc/stat")
        .map_err(|e| Error::generic(format!("open(\"/proc/stat\"): {}", errno_text(&e))))?;
    // SAFETY: sysconf only reads a value.
    let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()
        .filter(|&t| t > 0)
        .unwrap_or(100);
    let mut out = Vec::new();
    for line in text.lines() {
        match cpu_line(line, ticks) {
            Some(Ok(stats)) => out.push(stats),
            Some(Err(())) => break,
            None => {}
        }
    }
    Ok(out)
}

/// One line of `/proc/diskstats` with the fields its kernel writes: 4
/// (partitions on kernels before 2.6.25), 11, 15 or 17 after the name.
fn disk_line(line: &str) -> Option<GuestDiskStatsInfo> {
    let mut words = line.split_whitespace();
    let major = words.next()?.parse().ok()?;
    let minor = words.next()?.parse().ok()?;
    let name = words.next()?.to_owned();
    let v = leading_numbers(words, 17);
    let at = |i: usize| v.get(i).copied();
    let mut stats = GuestDiskStats::default();
    match v.len() {
        0..=3 => return None,
        // Lines of other lengths are listed with no counters, as
        // qemu-ga lists them.
        5..=10 => {}
        4 => {
            stats.read_ios = at(0);
            stats.read_sectors = at(1);
            stats.write_ios = at(2);
            stats.write_sectors = at(3);
        }
        _ => {
            stats.read_ios = at(0);
            stats.read_merges = at(1);
            stats.read_sectors = at(2);
            stats.read_ticks = at(3);
            stats.write_ios = at(4);
            stats.write_merges = at(5);
            stats.write_sectors = at(6);
            stats.write_ticks = at(7);
            stats.ios_pgr = at(8);
            stats.total_ticks = at(9);
            stats.weight_ticks = at(10);
        }
    }
    if v.len() >= 15 {
        stats.discard_ios = at(11);
        stats.discard_merges = at(12);
        stats.discard_sectors = at(13);
        stats.discard_ticks = at(14);
    }
    if v.len() >= 17 {
        stats.flush_ios = at(15);
        stats.flush_ticks = at(16);
    }
    Some(GuestDiskStatsInfo {
        name,
        major,
        minor,
        stats,
    })
}

/// `guest-get-diskstats`: `/proc/diskstats`.
pub fn disk_stats() -> Result<Vec<GuestDiskStatsInfo>, Error> {
    let text = fs::read_to_string("/proc/diskstats")
        .map_err(|e| Error::generic(format!("open(\"/proc/diskstats\"): {}", errno_text(&e))))?;
    Ok(text.lines().filter_map(disk_line).collect())
}

/// The counters of `/proc/net/dev` for `name`.
fn interface_counters(table: &str, name: &str) -> Option<GuestNetworkInterfaceStat> {
    table.lines().find_map(|line| {
        let (iface, rest) = line.trim_start().split_once(':')?;
        if iface != name {
            return None;
        }
        let v = leading_numbers(rest.split_whitespace(), 16);
        (v.len() == 16).then(|| GuestNetworkInterfaceStat {
            rx_bytes: v[0],
            rx_packets: v[1],
            rx_errs: v[2],
            rx_dropped: v[3],
            tx_bytes: v[8],
            tx_packets: v[9],
            tx_errs: v[10],
            tx_dropped: v[11],
        })
    })
}

/// The hardware address of `name` (`SIOCGIFHWADDR`), if it has one.
fn hardware_address(socket: &std::os::fd::OwnedFd, name: &str) -> Option<String> {
    use std::os::fd::AsRawFd;
    // SAFETY: ifreq is plain data; the name is copied in bounded; the
    // ioctl fills ifr_hwaddr.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req
            .ifr_name
            .iter_mut()
            .zip(name.bytes().take(libc::IFNAMSIZ - 1))
        {
            *dst = src as libc::c_char;
        }
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) != 0 {
            return None;
        }
        let mac = &req.ifr_ifru.ifru_hwaddr.sa_data[..6];
        Some(
            mac.iter()
                .map(|b| format!("{:02x}", *b as u8))
                .collect::<Vec<_>>()
                .join(":"),
        )
    }
}

/// `guest-network-get-interfaces`: each interface of `getifaddrs` with
/// its hardware address, its addresses, and (once it has an address) its
/// counters from `/proc/net/dev`.
pub fn interfaces() -> Result<Vec<GuestNetworkInterface>, Error> {
    use std::os::fd::FromRawFd;
    // SAFETY: socket returns a new descriptor or -1.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Error::generic(format!(
            "failed to create socket: {}",
            errno_text(&std::io::Error::last_os_error())
        )));
    }
    // SAFETY: `fd` is a new descriptor owned here.
    let socket = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let counters = fs::read_to_string("/proc/net/dev").ok();
    let mut out: Vec<GuestNetworkInterface> = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list`, freed below with freeifaddrs; each
    // entry is read while the list is alive.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return Err(Error::generic(format!(
                "getifaddrs failed: {}",
                errno_text(&std::io::Error::last_os_error())
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
                    out.push(GuestNetworkInterface::new(name.clone()));
                    out.len() - 1
                }
            };
            let info = &mut out[index];
            if info.hardware_address.is_none() {
                info.hardware_address = hardware_address(&socket, &name);
            }
            if let Some(addr) = ip_address(ifa.ifa_addr, ifa.ifa_netmask) {
                info.ip_addresses.get_or_insert_with(Vec::new).push(addr);
                if info.statistics.is_none() {
                    info.statistics = counters
                        .as_deref()
                        .and_then(|t| interface_counters(t, &name));
                }
            }
        }
        libc::freeifaddrs(list);
    }
    Ok(out)
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
