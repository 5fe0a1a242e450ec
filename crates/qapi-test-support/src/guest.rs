//! A minimal Linux guest to try a guest agent in: Debian's kernel and
//! busybox, fetched by package name (`apt-get download`) and unpacked
//! (`dpkg-deb -x`), never installed; an initramfs holding them, the
//! modules for virtio-serial and vsock, and the agents to try with every
//! shared library `ldd` lists; booted by `qemu-system-x86_64` under TCG
//! with the agent's port on a Unix socket of the host.
//!
//! The guest's `/init` mounts what an agent needs, loads the modules in
//! dependency order, finds the port `org.qemu.guest_agent.0` (there is no
//! udev: it is `/dev/vportNpM`) and runs the agent named on the kernel
//! command line.  When the agent exits, the guest powers off.
//!
//! ```no_run
//! use qapi_test_support::guest::{Boot, ImageBuilder, Packages};
//! # fn main() -> Result<(), String> {
//! let dir = std::path::Path::new("/tmp/guest");
//! let packages = Packages::fetch(&dir.join("cache"))?;
//! let mut image = ImageBuilder::new(&packages)?;
//! image.program("target/release/qga-agent".as_ref(), "/usr/sbin/qga-agent")?;
//! let image = image.write(dir)?;
//! let vm = Boot::new(&image, "/usr/sbin/qga-agent").args(&["--confidential"]).start(dir)?;
//! // talk to the agent on vm.socket
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The kernel's metapackage and busybox's static build.
const KERNEL_PACKAGE: &str = "linux-image-amd64";
const BUSYBOX_PACKAGE: &str = "busybox-static";

/// The modules the guest loads at boot (virtio-serial) and for vsock
/// (the loopback transport: CID 1 inside the guest).
const SERIAL_MODULES: [&str; 2] = ["virtio_pci", "virtio_console"];
const VSOCK_MODULES: [&str; 1] = ["vsock_loopback"];

/// Debian's kernel and busybox, unpacked.
#[derive(Clone, Debug)]
pub struct Packages {
    kernel_root: PathBuf,
    busybox_root: PathBuf,
}

fn run(command: &mut Command) -> Result<String, String> {
    let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Downloads `package` into `dir` (once: an earlier download is reused)
/// and unpacks it into `dir/NAME`.
fn fetch_package(dir: &Path, package: &str) -> Result<PathBuf, String> {
    let root = dir.join(package);
    if root.join(".unpacked").exists() {
        return Ok(root);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let download = || {
        run(Command::new("apt-get")
            .arg("download")
            .arg(package)
            .current_dir(dir))
    };
    if download().is_err() {
        // Stale package lists name versions the mirror no longer has.
        let _ = run(Command::new("apt-get").args(["update", "-qq"]));
        download()?;
    }
    let deb = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
        .ok_or_else(|| {
            format!(
                "apt-get download {package} left no .deb in {}",
                dir.display()
            )
        })?;
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    std::fs::write(root.join(".unpacked"), "").map_err(|e| e.to_string())?;
    Ok(root)
}

impl Packages {
    /// Fetches and unpacks the packages into `cache` (reused when there).
    pub fn fetch(cache: &Path) -> Result<Packages, String> {
        // The metapackage names the kernel of the day.
        let depends = run(Command::new("apt-cache").args(["depends", KERNEL_PACKAGE]))?;
        let kernel = depends
            .lines()
            .find_map(|l| l.trim().strip_prefix("Depends: linux-image-"))
            .map(|v| format!("linux-image-{v}"))
            .ok_or_else(|| format!("apt-cache depends {KERNEL_PACKAGE} names no kernel"))?;
        Ok(Packages {
            kernel_root: fetch_package(cache, &kernel)?,
            busybox_root: fetch_package(cache, BUSYBOX_PACKAGE)?,
        })
    }

    /// The kernel image.
    pub fn kernel(&self) -> Result<PathBuf, String> {
        first_entry(&self.kernel_root.join("boot"), "vmlinuz-")
    }

    /// `lib/modules/VERSION` of the kernel.
    fn modules(&self) -> Result<PathBuf, String> {
        let dir = self.kernel_root.join("lib/modules");
        first_entry(&dir, "")
    }
}

fn first_entry(dir: &Path, prefix: &str) -> Result<PathBuf, String> {
    std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .ok_or_else(|| format!("nothing named {prefix}* in {}", dir.display()))
}

/// What goes at a path of the image.
#[derive(Clone, Debug)]
enum Entry {
    Dir,
    File { data: Vec<u8>, mode: u32 },
    Symlink(String),
    CharDevice { major: u32, minor: u32 },
}

/// An initramfs in the making.
#[derive(Debug)]
pub struct ImageBuilder {
    kernel: PathBuf,
    entries: BTreeMap<String, Entry>,
}

/// A kernel and the initramfs to boot it with.
#[derive(Clone, Debug)]
pub struct Image {
    /// The kernel image.
    pub kernel: PathBuf,
    /// The initramfs (`newc` cpio, uncompressed).
    pub initrd: PathBuf,
}

/// The modules `name` needs first (from its `depends=`), then `name`.
fn with_dependencies(
    modules: &BTreeMap<String, PathBuf>,
    name: &str,
    order: &mut Vec<String>,
) -> Result<(), String> {
    if order.iter().any(|m| m == name) {
        return Ok(());
    }
    let file = modules
        .get(name)
        .ok_or_else(|| format!("the kernel has no module {name}"))?;
    let bytes = std::fs::read(file).map_err(|e| e.to_string())?;
    let depends = bytes
        .split(|&b| b == 0)
        .find_map(|s| s.strip_prefix(b"depends="))
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .unwrap_or_default();
    for dep in depends.split(',').filter(|d| !d.is_empty()) {
        with_dependencies(modules, dep, order)?;
    }
    order.push(name.to_owned());
    Ok(())
}

/// Every `.ko` under `dir`, by module name (`-` read as `_`).
fn find_modules(dir: &Path, out: &mut BTreeMap<String, PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_modules(&path, out);
        } else if let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".ko"))
        {
            out.insert(name.replace('-', "_"), path);
        }
    }
}

impl ImageBuilder {
    /// An image with busybox, the init script, the modules for
    /// virtio-serial and vsock, and `/sbin/poweroff`, `/sbin/shutdown`
    /// and `/sbin/reboot` that act at once (there is no init system to
    /// ask).
    pub fn new(packages: &Packages) -> Result<ImageBuilder, String> {
        let mut image = ImageBuilder {
            kernel: packages.kernel()?,
            entries: BTreeMap::new(),
        };
        for dir in [
            "bin",
            "sbin",
            "usr/bin",
            "usr/sbin",
            "proc",
            "sys",
            "dev",
            "tmp",
            "run",
            "etc",
            "lib/modules",
        ] {
            image.dir(dir);
        }
        image.entries.insert(
            "dev/console".into(),
            Entry::CharDevice { major: 5, minor: 1 },
        );
        let busybox = packages.busybox_root.join("bin/busybox");
        image.file(
            "bin/busybox",
            std::fs::read(&busybox).map_err(|e| format!("{}: {e}", busybox.display()))?,
            0o755,
        );
        image
            .entries
            .insert("bin/sh".into(), Entry::Symlink("busybox".into()));
        image.file("init", INIT.as_bytes().to_vec(), 0o755);
        for (name, command) in [
            ("poweroff", "poweroff"),
            ("shutdown", "poweroff"),
            ("halt", "halt"),
            ("reboot", "reboot"),
        ] {
            image.file(
                &format!("sbin/{name}"),
                format!("#!/bin/sh\nsync\nexec /bin/busybox {command} -f\n").into_bytes(),
                0o755,
            );
        }
        let mut modules = BTreeMap::new();
        find_modules(&packages.modules()?, &mut modules);
        for (list, set) in [
            (&SERIAL_MODULES[..], "serial"),
            (&VSOCK_MODULES[..], "vsock"),
        ] {
            let mut order = Vec::new();
            for name in list {
                with_dependencies(&modules, name, &mut order)?;
            }
            for name in &order {
                let data = std::fs::read(&modules[name]).map_err(|e| e.to_string())?;
                image.file(&format!("lib/modules/{name}.ko"), data, 0o644);
            }
            image.file(
                &format!("lib/modules/{set}"),
                format!("{}\n", order.join("\n")).into_bytes(),
                0o644,
            );
        }
        Ok(image)
    }

    fn dir(&mut self, path: &str) {
        let mut at = String::new();
        for part in path.split('/') {
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(part);
            self.entries.entry(at.clone()).or_insert(Entry::Dir);
        }
    }

    /// Puts `data` at `path` (relative to the root) with `mode`.
    pub fn file(&mut self, path: &str, data: Vec<u8>, mode: u32) -> &mut Self {
        let path = path.trim_start_matches('/');
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.entries
            .insert(path.to_owned(), Entry::File { data, mode });
        self
    }

    /// Copies the program at `host` to `guest`, with the shared libraries
    /// `ldd` lists at the paths they have on this machine.
    pub fn program(&mut self, host: &Path, guest: &str) -> Result<&mut Self, String> {
        let data = std::fs::read(host).map_err(|e| format!("{}: {e}", host.display()))?;
        self.file(guest, data, 0o755);
        let listing = run(Command::new("ldd").arg(host))?;
        for line in listing.lines() {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
            // "/lib64/ld-linux-x86-64.so.2 (0x...)".
            let path = match line.split_once("=>") {
                Some((_, right)) => right.trim().split(' ').next().unwrap_or(""),
                None => line.trim().split(' ').next().unwrap_or(""),
            };
            if !path.starts_with('/') || self.entries.contains_key(path.trim_start_matches('/')) {
                continue;
            }
            let data = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            self.file(path, data, 0o755);
        }
        Ok(self)
    }

    /// Writes the initramfs into `dir`.
    pub fn write(&self, dir: &Path) -> Result<Image, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let initrd = dir.join("initrd.cpio");
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&initrd).map_err(|e| format!("{}: {e}", initrd.display()))?,
        );
        for (ino, (path, entry)) in self.entries.iter().enumerate() {
            let (mode, data, rdev): (u32, &[u8], (u32, u32)) = match entry {
                Entry::Dir => (0o040_755, &[], (0, 0)),
                Entry::File { data, mode } => (0o100_000 | mode, data, (0, 0)),
                Entry::Symlink(target) => (0o120_777, target.as_bytes(), (0, 0)),
                Entry::CharDevice { major, minor } => (0o020_600, &[], (*major, *minor)),
            };
            cpio_entry(&mut out, ino as u32 + 1, path, mode, data, rdev)
                .map_err(|e| e.to_string())?;
        }
        cpio_entry(&mut out, 0, "TRAILER!!!", 0, &[], (0, 0)).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        Ok(Image {
            kernel: self.kernel.clone(),
            initrd,
        })
    }
}

/// One `newc` cpio entry, padded to 4 bytes.
fn cpio_entry(
    out: &mut impl Write,
    ino: u32,
    name: &str,
    mode: u32,
    data: &[u8],
    rdev: (u32, u32),
) -> std::io::Result<()> {
    let fields = [
        ino,
        mode,
        0,
        0,
        1,
        0,
        data.len() as u32,
        0,
        0,
        rdev.0,
        rdev.1,
        name.len() as u32 + 1,
        0,
    ];
    let mut header = String::from("070701");
    for f in fields {
        header.push_str(&format!("{f:08x}"));
    }
    out.write_all(header.as_bytes())?;
    out.write_all(name.as_bytes())?;
    out.write_all(&[0])?;
    let pad = |n: usize| (4 - n % 4) % 4;
    out.write_all(&[0; 3][..pad(110 + name.len() + 1)])?;
    out.write_all(data)?;
    out.write_all(&[0; 3][..pad(data.len())])
}

/// The guest's `/init`.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
hostname qga-guest
ip link set lo up
for m in $(cat /lib/modules/serial); do insmod /lib/modules/$m.ko; done
agent=/usr/sbin/qga-agent
args=
vsock=
for word in $(cat /proc/cmdline); do
    case "$word" in
        qga.agent=*) agent="${word#qga.agent=}" ;;
        qga.args=*) args="$(echo "${word#qga.args=}" | tr + ' ')" ;;
        qga.vsock=*) vsock="${word#qga.vsock=}" ;;
    esac
done
port=
for i in $(seq 400); do
    for d in /sys/class/virtio-ports/*; do
        [ "$(cat "$d/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] && port="/dev/${d##*/}"
    done
    [ -n "$port" ] && break
    sleep 0.05
done
mkdir -p /run/qga /run/qga-vsock
if [ -n "$vsock" ]; then
    for m in $(cat /lib/modules/vsock); do insmod /lib/modules/$m.ko; done
    $agent -m vsock-listen -p "$vsock" -t /run/qga-vsock $args &
fi
echo "qga-guest: $agent on $port $args" > /dev/console
$agent -m virtio-serial -p "$port" -t /run/qga $args
echo "qga-guest: the agent exited ($?)" > /dev/console
poweroff -f
"#;

/// How to boot an [`Image`].
#[derive(Clone, Debug)]
pub struct Boot<'a> {
    image: &'a Image,
    agent: String,
    args: Vec<String>,
    vsock: Option<String>,
    memory_mib: u32,
}

/// A running guest, killed when dropped.
#[derive(Debug)]
pub struct Vm {
    child: Child,
    /// The host end of the agent's port: a Unix socket QEMU listens on.
    pub socket: PathBuf,
    /// What the guest's console printed.
    pub console: PathBuf,
}

impl<'a> Boot<'a> {
    /// Boots `image` running the agent at `agent` (a path in the image).
    pub fn new(image: &'a Image, agent: &str) -> Boot<'a> {
        Boot {
            image,
            agent: agent.to_owned(),
            args: Vec::new(),
            vsock: None,
            memory_mib: 256,
        }
    }

    /// Options for the agent (no spaces or `+` in them).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|a| (*a).to_owned()).collect();
        self
    }

    /// Also runs the agent on vsock `CID:PORT` inside the guest.
    pub fn vsock(mut self, address: &str) -> Self {
        self.vsock = Some(address.to_owned());
        self
    }

    /// Starts QEMU with its files in `dir`; the port's socket is there
    /// when this returns.
    pub fn start(&self, dir: &Path) -> Result<Vm, String> {
        let socket = dir.join("qga.sock");
        let console = dir.join("console.log");
        let _ = std::fs::remove_file(&socket);
        let mut cmdline = format!("console=ttyS0 panic=-1 quiet qga.agent={}", self.agent);
        if !self.args.is_empty() {
            cmdline.push_str(&format!(" qga.args={}", self.args.join("+")));
        }
        if let Some(v) = &self.vsock {
            cmdline.push_str(&format!(" qga.vsock={v}"));
        }
        let child = Command::new("qemu-system-x86_64")
            .args([
                "-accel",
                "tcg",
                "-nodefaults",
                "-nographic",
                "-no-reboot",
                "-display",
                "none",
            ])
            .args(["-m", &self.memory_mib.to_string()])
            .arg("-kernel")
            .arg(&self.image.kernel)
            .arg("-initrd")
            .arg(&self.image.initrd)
            .args(["-append", &cmdline])
            .arg("-serial")
            .arg(format!("file:{}", console.display()))
            .args(["-device", "virtio-serial-pci", "-chardev"])
            .arg(format!(
                "socket,id=qga0,path={},server=on,wait=off",
                socket.display()
            ))
            .args([
                "-device",
                "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
        let mut vm = Vm {
            child,
            socket,
            console,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !vm.socket.exists() {
            if let Ok(Some(status)) = vm.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = vm.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(format!("QEMU exited ({status}): {err}"));
            }
            if Instant::now() > deadline {
                return Err("QEMU did not create the port's socket".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(vm)
    }
}

impl Vm {
    /// Waits up to `timeout` for the guest to power off; whether it did.
    pub fn wait_poweroff(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// What the console printed so far.
    pub fn console_text(&self) -> String {
        std::fs::read_to_string(&self.console).unwrap_or_default()
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_entries_are_newc_and_padded() {
        let mut out = Vec::new();
        cpio_entry(&mut out, 7, "a", 0o100_644, b"hello", (0, 0)).unwrap();
        let header = std::str::from_utf8(&out[..110]).unwrap();
        assert!(header.starts_with("07070100000007000081a4"), "{header}");
        assert_eq!(&header[54..62], "00000005", "file size");
        assert_eq!(&header[94..102], "00000002", "name size with its NUL");
        // Header and name padded to 4 (112), the data to 4 (120).
        assert_eq!(out.len(), 120);
        assert_eq!(&out[110..112], b"a\0");
        assert_eq!(&out[112..117], b"hello");
    }
}
