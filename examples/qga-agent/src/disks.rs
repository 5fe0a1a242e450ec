//! Mounts and disks as qemu-ga sees them: the local file systems of
//! `/proc/self/mountinfo` (what freeze, thaw, fstrim and `guest-get-fsinfo`
//! walk), each disk's address read from its sysfs path (PCI, SCSI, IDE,
//! SATA, virtio, NVMe, s390 channel I/O), and `guest-get-disks`.
//!
//! Where qemu-ga asks libudev, this module reads what libudev reads: the
//! device's `uevent` file for its node, udev's database under
//! `/run/udev/data` for its serial number and device-mapper name.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use qapi_runtime::Error;

use crate::errno_text;
use crate::qga::{
    GuestCCWAddress, GuestDiskAddress, GuestDiskBusType as Bus, GuestDiskInfo, GuestFilesystemInfo,
    GuestPCIAddress,
};

/// A local file system: mounted from a block device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted.
    pub dir: String,
    /// Its type, e.g. `ext4`.
    pub fstype: String,
    /// The device's major number.
    pub major: u32,
    /// The device's minor number.
    pub minor: u32,
}

/// `\ooo` escapes (space, tab, newline, backslash) decoded as the
/// kernel writes them in mount tables; `\\` is a backslash.
fn decode_name(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = |j: usize, max: u8| bytes.get(i + j).is_some_and(|b| (b'0'..=max).contains(b));
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if bytes[i] == b'\\' && octal(1, b'3') && octal(2, b'7') && octal(3, b'7') {
            out.push(
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0'),
            );
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The numbers of the block device at `path`: `Some(Ok)` for a block
/// device, `Some(Err(()))` for a directory (a bind mount), `None` else.
fn device_numbers(path: &str) -> Option<Result<(u32, u32), ()>> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = fs::metadata(path).ok()?;
    if meta.is_dir() {
        return Some(Err(()));
    }
    meta.file_type().is_block_device().then(|| {
        let rdev = meta.rdev();
        Ok((libc::major(rdev), libc::minor(rdev)))
    })
}

/// One line of `/proc/self/mountinfo`, if it is a local file system: a
/// device with a major number, or btrfs (whose major is 0) on a block
/// device.
fn mountinfo_line(line: &str) -> Option<Mount> {
    let (head, tail) = line.split_once(" - ")?;
    let mut head = head.split(' ');
    let (_id, _parent, numbers, _root, dir) = (
        head.next()?,
        head.next()?,
        head.next()?,
        head.next()?,
        head.next()?,
    );
    let (major, minor) = numbers.split_once(':')?;
    let (mut major, mut minor): (u32, u32) = (major.parse().ok()?, minor.parse().ok()?);
    let mut tail = tail.split(' ');
    let fstype = tail.next()?;
    let device = decode_name(tail.next().unwrap_or(""));
    if major == 0 {
        if fstype != "btrfs" {
            return None;
        }
        (major, minor) = device_numbers(&device)?.ok()?;
    }
    Some(Mount {
        dir: decode_name(dir),
        fstype: fstype.to_owned(),
        major,
        minor,
    })
}

/// The local file systems, in mount order.
pub fn mounts() -> Result<Vec<Mount>, Error> {
    match fs::read_to_string("/proc/self/mountinfo") {
        Ok(text) => Ok(text.lines().filter_map(mountinfo_line).collect()),
        Err(_) => mounts_from_mtab(),
    }
}

/// Without mountinfo: `/proc/self/mounts`, devices named by path, no
/// network or bind mounts.
fn mounts_from_mtab() -> Result<Vec<Mount>, Error> {
    let text = fs::read_to_string("/proc/self/mounts")
        .map_err(|_| Error::generic("failed to open mtab file: '/proc/self/mounts'"))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (device, dir, fstype) = (decode_name(f.next()?), f.next()?, f.next()?);
            if !device.starts_with('/') || fstype == "smbfs" || fstype == "cifs" {
                return None;
            }
            let (major, minor) = match device_numbers(&device) {
                Some(Err(())) => return None,
                Some(Ok(numbers)) => numbers,
                None => (0, 0),
            };
            Some(Mount {
                dir: decode_name(dir),
                fstype: fstype.to_owned(),
                major,
                minor,
            })
        })
        .collect())
}

/// The last component of a path.
fn basename(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .to_owned()
}

/// What libudev knows of a sysfs device: its node and, from udev's
/// database, its properties.
struct UdevInfo {
    devnode: Option<String>,
    properties: Vec<(String, String)>,
}

impl UdevInfo {
    fn of(syspath: &Path) -> UdevInfo {
        let uevent = fs::read_to_string(syspath.join("uevent")).unwrap_or_default();
        let field = |key: &str| {
            uevent
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
        };
        let devnode = field("DEVNAME").map(|n| format!("/dev/{n}"));
        let properties = match (field("MAJOR"), field("MINOR")) {
            (Some(major), Some(minor)) => {
                fs::read_to_string(format!("/run/udev/data/b{major}:{minor}"))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.strip_prefix("E:")?.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            }
            _ => Vec::new(),
        };
        UdevInfo {
            devnode,
            properties,
        }
    }

    fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Hexadecimal fields separated by any of `seps`, e.g. `0000:00:02.0`.
fn hex_fields(text: &str, seps: &[char]) -> Option<Vec<u32>> {
    text.split(seps)
        .map(|f| u32::from_str_radix(f, 16).ok())
        .collect()
}

/// Decimal fields separated by `:`, e.g. `2:0:1:0`.
fn dec_fields(text: &str) -> Option<Vec<u32>> {
    text.split(':').map(|f| f.parse().ok()).collect()
}

/// The leading decimal digits of `text`.
fn leading_number(text: &str) -> Option<u32> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `/targetH:C:T/H:C:T:L`: (channel, target, lun) of the second part.
fn scsi_target(syspath: &str) -> Option<[u32; 3]> {
    let rest = &syspath[syspath.find("/target")? + 7..];
    let mut parts = rest.split('/');
    let _ = parts.next()?;
    match dec_fields(parts.next()?)?.as_slice() {
        [_, c, t, l] => Some([*c, *t, *l]),
        _ => None,
    }
}

/// The driver bound to the device at `dir`.
fn driver(dir: &str) -> Option<String> {
    fs::read_link(format!("{dir}/driver"))
        .ok()
        .map(|p| basename(&p.to_string_lossy()))
}

/// The numbers of the `ataN` or `hostN` entries in `dir`, sorted.
fn hosts(dir: &str, ata: bool) -> Result<Vec<u32>, Error> {
    let prefix = if ata { "ata" } else { "host" };
    let entries = fs::read_dir(dir)
        .map_err(|e| Error::generic(format!("opendir(\"{dir}\"): {}", errno_text(&e))))?;
    let mut out: Vec<u32> = entries
        .flatten()
        .filter_map(|e| leading_number(e.file_name().to_str()?.strip_prefix(prefix)?))
        .take(8)
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// A disk on the PCI bus: the controller's address, then the bus, target
/// and unit its driver implies.  `Ok(false)` if the path or driver is not
/// one qemu-ga knows.
fn pci_disk(syspath: &str, disk: &mut GuestDiskAddress) -> Result<bool, Error> {
    const DRIVERS: [&str; 5] = ["ata_piix", "sym53c8xx", "virtio-pci", "ahci", "nvme"];
    let Some(start) = syspath.find("/devices/pci") else {
        return Ok(false);
    };
    // "/devices/pciDDDD:BB" then "/DDDD:BB:SS.F" for each bridge down to
    // the controller whose driver is a disk driver.
    let mut end = start + 12;
    let mut segments = syspath[end..].split('/');
    end += segments.next().map_or(0, str::len);
    let (pci, driver) = loop {
        let Some(segment) = segments.next() else {
            return Ok(false);
        };
        let Some(address) = hex_fields(segment, &[':', '.']).filter(|f| f.len() == 4) else {
            return Ok(false);
        };
        end += 1 + segment.len();
        if let Some(d) = driver(&syspath[..end]).filter(|d| DRIVERS.contains(&d.as_str())) {
            break (address, d);
        }
    };
    let target = scsi_target(syspath);
    let (host_at, ata) = match syspath.find("/ata") {
        Some(p) => (Some(p), true),
        None => (syspath.find("/host"), false),
    };
    let mut host = None;
    let mut host_list = Vec::new();
    if let Some(p) = host_at {
        let number_at = p + if ata { 4 } else { 5 };
        if let Some(n) = leading_number(&syspath[number_at..]) {
            host = Some(n);
            host_list = hosts(&syspath[..p], ata)?;
        }
    }
    disk.pci_controller = GuestPCIAddress {
        domain: pci[0].into(),
        bus: pci[1].into(),
        slot: pci[2].into(),
        function: pci[3].into(),
    };
    let host_index = || host.and_then(|h| host_list.iter().position(|&x| x == h));
    match (driver.as_str(), target) {
        ("ata_piix", Some(t)) => {
            let Some(i) = host_index() else {
                return Ok(false);
            };
            disk.bus_type = Bus::Ide;
            disk.bus = i as i64;
            disk.unit = t[1].into();
        }
        ("sym53c8xx", Some(t)) => {
            disk.bus_type = Bus::Scsi;
            disk.unit = t[1].into();
        }
        ("virtio-pci", Some(t)) => {
            disk.bus_type = Bus::Scsi;
            disk.unit = t[2].into();
        }
        ("virtio-pci", None) => disk.bus_type = Bus::Virtio,
        ("ahci", Some(_)) => {
            let Some(i) = host_index() else {
                return Ok(false);
            };
            disk.bus_type = Bus::Sata;
            disk.unit = i as i64;
        }
        ("nvme", _) => disk.bus_type = Bus::Nvme,
        _ => return Ok(false),
    }
    Ok(true)
}

/// A virtio disk not on PCI (s390x): virtio-scsi or virtio-blk.
fn nonpci_virtio_disk(syspath: &str, disk: &mut GuestDiskAddress) -> bool {
    if !syspath.contains("/virtio") || !syspath.contains("/block") {
        return false;
    }
    match scsi_target(syspath) {
        Some([bus, target, unit]) => {
            disk.bus_type = Bus::Scsi;
            disk.bus = bus.into();
            disk.target = target.into();
            disk.unit = unit.into();
        }
        None => disk.bus_type = Bus::Virtio,
    }
    true
}

/// A disk on s390's channel subsystem: `/devices/cssN/C.S.SUBCH/C.S.DEVNO/`.
fn ccw_disk(syspath: &str, disk: &mut GuestDiskAddress) -> bool {
    let Some(start) = syspath.find("/devices/css") else {
        return false;
    };
    let mut parts = syspath[start + 12..].split('/');
    let _ = parts.next();
    let (Some(channel), Some(device)) = (parts.next(), parts.next()) else {
        return false;
    };
    let (Some(c), Some(d)) = (hex_fields(channel, &['.']), hex_fields(device, &['.'])) else {
        return false;
    };
    let ([cssid, ssid, subchno], [_, _, devno]) = (c.as_slice(), d.as_slice()) else {
        return false;
    };
    disk.ccw_address = Some(GuestCCWAddress {
        cssid: (*cssid).into(),
        ssid: (*ssid).into(),
        subchno: (*subchno).into(),
        devno: (*devno).into(),
    });
    if syspath[start..].contains("/virtio") {
        nonpci_virtio_disk(syspath, disk);
    }
    true
}

/// The address of the real (not device-mapper) device at `syspath`, if
/// anything is known of it.
fn real_device(syspath: &str) -> Result<Option<GuestDiskAddress>, Error> {
    let udev = UdevInfo::of(Path::new(syspath));
    let unknown = GuestPCIAddress {
        domain: -1,
        bus: -1,
        slot: -1,
        function: -1,
    };
    let mut disk = GuestDiskAddress {
        dev: udev.devnode.clone(),
        serial: udev
            .property("ID_SERIAL")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        ..GuestDiskAddress::new(unknown, Bus::Unknown, 0, 0, 0)
    };
    let known = if syspath.contains("/devices/pci") {
        pci_disk(syspath, &mut disk)?
    } else if syspath.contains("/devices/css") {
        ccw_disk(syspath, &mut disk)
    } else {
        syspath.contains("/virtio") && nonpci_virtio_disk(syspath, &mut disk)
    };
    Ok((known || disk.dev.is_some() || disk.serial.is_some()).then_some(disk))
}

/// The disks under the device at `devpath` (a device-mapper volume's are
/// its slaves', recursively), added in front of `disks`; `name` gets the
/// device's name if it has none.
fn device_disks(
    devpath: &str,
    name: &mut Option<String>,
    disks: &mut Vec<GuestDiskAddress>,
) -> Result<(), Error> {
    let syspath = match fs::canonicalize(devpath) {
        Ok(p) => p.to_string_lossy().into_owned(),
        // The device may be out of sight in a container.
        Err(e) if e.kind() == ErrorKind::NotFound => {
            name.get_or_insert_with(|| basename(devpath));
            return Ok(());
        }
        Err(e) => {
            return Err(Error::generic(format!(
                "realpath(\"{devpath}\"): {}",
                errno_text(&e)
            )))
        }
    };
    name.get_or_insert_with(|| basename(&syspath));
    if !syspath.contains("/devices/virtual/block/") {
        if let Some(disk) = real_device(&syspath)? {
            disks.insert(0, disk);
        }
        return Ok(());
    }
    let slaves = format!("{syspath}/slaves");
    let entries = match fs::read_dir(&slaves) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::generic(format!(
                "opendir(\"{slaves}\"): {}",
                errno_text(&e)
            )))
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            let path = format!("{slaves}/{}", entry.file_name().to_string_lossy());
            device_disks(&path, name, disks)?;
        }
    }
    Ok(())
}

/// (used, total for unprivileged users, total) bytes.
fn usage(path: &str) -> Option<(u64, u64, u64)> {
    let c = std::ffi::CString::new(path).ok()?;
    // SAFETY: statvfs writes into `st` for a valid C string path.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c.as_ptr(), &mut st) == 0).then_some(st)
    }?;
    let used = st.f_blocks - st.f_bfree;
    Some((
        used * st.f_frsize,
        (used + st.f_bavail) * st.f_frsize,
        st.f_blocks * st.f_frsize,
    ))
}

/// `guest-get-fsinfo`: each local file system, last mounted first, with
/// its usage and the disks it lies on.
pub fn fs_info() -> Result<Vec<GuestFilesystemInfo>, Error> {
    let mut out = Vec::new();
    for mount in mounts()? {
        let mut name = None;
        let mut disk = Vec::new();
        let devpath = format!("/sys/dev/block/{}:{}", mount.major, mount.minor);
        device_disks(&devpath, &mut name, &mut disk)?;
        let usage = usage(&mount.dir);
        out.push(GuestFilesystemInfo {
            name: name.unwrap_or_default(),
            mountpoint: mount.dir,
            r#type: mount.fstype,
            used_bytes: usage.map(|u| u.0),
            total_bytes: usage.map(|u| u.1),
            total_bytes_privileged: usage.map(|u| u.2),
            disk,
        });
    }
    out.reverse();
    Ok(out)
}

/// A partition's directory name: the disk's name, then a number or `p`
/// and a number.
fn is_partition_of(disk: &str, entry: &str) -> bool {
    entry.strip_prefix(disk).is_some_and(|rest| {
        let rest = rest
            .strip_prefix('p')
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(rest);
        rest.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// `guest-get-disks`: each non-empty block device with its address, its
/// dependencies and its partitions, in the order qemu-ga lists them (the
/// last found first).
pub fn disks() -> Result<Vec<GuestDiskInfo>, Error> {
    let entries = fs::read_dir("/sys/block").map_err(|e| {
        Error::generic(format!(
            "Can't open directory \"/sys/block\": {}",
            errno_text(&e)
        ))
    })?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let dir = format!("/sys/block/{name}");
        match fs::read_to_string(format!("{dir}/size")) {
            Ok(size) if size != "0\n" => {}
            _ => continue,
        }
        let udev = UdevInfo::of(Path::new(&dir));
        let Some(node) = udev.devnode.clone() else {
            continue;
        };
        let alias = udev
            .property("DM_NAME")
            .map(str::to_owned)
            .or_else(|| {
                fs::read_to_string(format!("{dir}/dm/name"))
                    .ok()
                    .map(|n| n.trim_end().to_owned())
            })
            .filter(|a| !a.is_empty());
        let is_virtual = fs::canonicalize(&dir)
            .map(|p| p.to_string_lossy().contains("/devices/virtual/block/"))
            .unwrap_or(true);
        let address = if is_virtual {
            None
        } else {
            let mut disks = Vec::new();
            device_disks(&dir, &mut None, &mut disks)
                .ok()
                .and_then(|()| disks.into_iter().next())
        };
        let dependencies = fs::read_dir(format!("{dir}/slaves")).ok().map(|deps| {
            let mut names: Vec<String> = deps
                .flatten()
                .filter_map(|d| UdevInfo::of(&d.path()).devnode)
                .collect();
            names.reverse();
            names
        });
        out.push(GuestDiskInfo {
            name: node.clone(),
            partition: false,
            dependencies,
            address,
            alias,
            smart: None,
        });
        for part in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let part_name = part.file_name().to_string_lossy().into_owned();
            if !part.file_type().is_ok_and(|t| t.is_dir()) || !is_partition_of(&name, &part_name) {
                continue;
            }
            if let Some(part_node) = UdevInfo::of(&part.path()).devnode {
                out.push(GuestDiskInfo {
                    dependencies: Some(vec![node.clone()]),
                    ..GuestDiskInfo::new(part_node, true)
                });
            }
        }
    }
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_as_qemu_ga_reads_them() {
        let root = mountinfo_line("27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard").unwrap();
        assert_eq!(
            root,
            Mount {
                dir: "/".into(),
                fstype: "ext4".into(),
                major: 254,
                minor: 0
            }
        );
        let spaced = mountinfo_line("30 27 8:1 / /mnt/my\\040disk rw - xfs /dev/sda1 rw").unwrap();
        assert_eq!(spaced.dir, "/mnt/my disk");
        // Virtual file systems (major 0) are not local disks.
        assert!(mountinfo_line("22 27 0:21 / /proc rw,relatime - proc proc rw").is_none());
        assert!(mountinfo_line("25 24 0:23 / /dev/shm rw - tmpfs tmpfs rw").is_none());
        assert!(mountinfo_line("garbage").is_none());
    }

    #[test]
    fn names_decode_octal_and_backslash() {
        assert_eq!(decode_name("a\\040b\\011c\\134d\\\\e"), "a b\tc\\d\\e");
        assert_eq!(decode_name("bad\\9xx\\"), "bad\\9xx\\");
    }

    #[test]
    fn partitions_are_named_after_their_disk() {
        assert!(is_partition_of("vda", "vda1"));
        assert!(is_partition_of("nvme0n1", "nvme0n1p2"));
        assert!(!is_partition_of("vda", "vdab"));
        assert!(!is_partition_of("vda", "holders"));
        assert!(!is_partition_of("sda", "sdap"));
    }

    fn blank() -> GuestDiskAddress {
        let pci = GuestPCIAddress {
            domain: -1,
            bus: -1,
            slot: -1,
            function: -1,
        };
        GuestDiskAddress::new(pci, Bus::Unknown, 0, 0, 0)
    }

    #[test]
    fn addresses_from_sysfs_paths() {
        let mut disk = blank();
        assert_eq!(
            scsi_target(
                "/devices/pci0000:00/0000:00:05.0/virtio2/host0/target0:0:1/0:0:1:3/block/sda"
            ),
            Some([0, 1, 3])
        );
        assert!(ccw_disk(
            "/sys/devices/css0/0.0.0002/0.0.0001/virtio0/block/vda",
            &mut disk
        ));
        let ccw = disk.ccw_address.clone().unwrap();
        assert_eq!((ccw.cssid, ccw.ssid, ccw.subchno, ccw.devno), (0, 0, 2, 1));
        assert_eq!(disk.bus_type.as_str(), "virtio");
        let mut disk = blank();
        assert!(nonpci_virtio_disk(
            "/devices/virtio3/host1/target1:0:2/1:0:2:4/block/sdb",
            &mut disk
        ));
        assert_eq!(
            (disk.bus_type.as_str(), disk.bus, disk.target, disk.unit),
            ("scsi", 0, 2, 4)
        );
        // A PCI path whose controllers have no known driver (no sysfs
        // here): not an address.
        let mut disk = blank();
        assert!(!pci_disk(
            "/nonexistent/devices/pci0000:00/0000:00:02.0/virtio0/block/vda",
            &mut disk
        )
        .unwrap());
    }
}
