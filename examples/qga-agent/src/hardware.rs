//! Logical CPUs and memory blocks, read and switched on or off through
//! sysfs as qemu-ga does: the entries in directory order, its rules for
//! what can go offline, its texts.  Everything is relative to a sysfs
//! root (`/sys` on a real system, a directory of files in tests).

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::Path;

use qapi_runtime::Error;

use crate::errno_text;
use crate::qga::{
    GuestLogicalProcessor, GuestMemoryBlock, GuestMemoryBlockInfo, GuestMemoryBlockResponse,
    GuestMemoryBlockResponseType as Response,
};

const CPU_DIR: &str = "devices/system/cpu";
const MEMORY_DIR: &str = "devices/system/memory";

/// `WHAT: strerror`.
fn failed(what: String, e: &std::io::Error) -> Error {
    Error::generic(format!("{what}: {}", errno_text(e)))
}

/// The number after `prefix` in a directory entry's name (`cpu3`), as
/// `sscanf("%ld")` reads it.
fn number_after(name: &str, prefix: &str) -> Option<i64> {
    let rest = name.strip_prefix(prefix)?;
    let digits = rest
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+')))
        .map(|(i, c)| i + c.len_utf8())
        .last()?;
    rest[..digits].parse().ok()
}

/// The path qemu-ga names a CPU's directory by (with its trailing `/`).
fn cpu_dir(sysfs: &Path, id: i64) -> String {
    format!("{}/{CPU_DIR}/cpu{id}/", sysfs.display())
}

/// The first byte of `dir/online`: `None` if there is no such file.
fn read_online(dir: &str) -> Result<Option<u8>, Error> {
    let file = match File::open(format!("{dir}/online")) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(format!("open(\"{dir}/online\")"), &e)),
    };
    let mut byte = [0u8];
    match file.read_at(&mut byte, 0) {
        Ok(0) => Err(Error::generic(format!(
            "pread(\"{dir}/online\"): unexpected EOF"
        ))),
        Ok(_) => Ok(Some(byte[0])),
        Err(e) => Err(failed(format!("pread(\"{dir}/online\")"), &e)),
    }
}

/// The CPU directory must open as a directory, as qemu-ga checks first.
fn open_dir(dir: &str) -> Result<(), Error> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(failed(
            format!("open(\"{dir}\")"),
            &std::io::Error::from_raw_os_error(libc::ENOTDIR),
        )),
        Err(e) => Err(failed(format!("open(\"{dir}\")"), &e)),
    }
}

/// `guest-get-vcpus`: each `cpuN` in directory order; a CPU without an
/// `online` file is online and cannot go offline.
pub fn vcpus(sysfs: &Path) -> Result<Vec<GuestLogicalProcessor>, Error> {
    let list = sysfs.join(CPU_DIR);
    let entries = std::fs::read_dir(&list)
        .map_err(|e| failed(format!("failed to list entries: {}", list.display()), &e))?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(id) = number_after(&entry.file_name().to_string_lossy(), "cpu") else {
            continue;
        };
        let dir = cpu_dir(sysfs, id);
        open_dir(&dir)?;
        let online = read_online(&dir)?;
        out.push(GuestLogicalProcessor {
            logical_id: id,
            online: online.is_none_or(|b| b != b'0'),
            can_offline: Some(online.is_some()),
        });
    }
    Ok(out)
}

/// Brings one CPU to the state asked for.
fn set_vcpu(sysfs: &Path, vcpu: &GuestLogicalProcessor) -> Result<(), Error> {
    let dir = cpu_dir(sysfs, vcpu.logical_id);
    open_dir(&dir)?;
    let path = format!("{dir}/online");
    let file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return if vcpu.online {
                // Nothing to do: it cannot be anything but online.
                Ok(())
            } else {
                Err(Error::generic(format!(
                    "logical processor #{} can't be offlined",
                    vcpu.logical_id
                )))
            };
        }
        Err(e) => return Err(failed(format!("open(\"{path}\")"), &e)),
    };
    let mut byte = [0u8];
    match file.read_at(&mut byte, 0) {
        Ok(0) => Err(Error::generic(format!("pread(\"{path}\"): unexpected EOF"))),
        Ok(_) if (byte[0] != b'0') == vcpu.online => Ok(()),
        Ok(_) => file
            .write_at(if vcpu.online { b"1" } else { b"0" }, 0)
            .map(drop)
            .map_err(|e| failed(format!("pwrite(\"{path}\")"), &e)),
        Err(e) => Err(failed(format!("pread(\"{path}\")"), &e)),
    }
}

/// `guest-set-vcpus`: CPUs in the order given until one fails; how many
/// were done, or the error if the first one failed.
pub fn set_vcpus(sysfs: &Path, vcpus: &[GuestLogicalProcessor]) -> Result<i64, Error> {
    let mut done = 0;
    for vcpu in vcpus {
        match set_vcpu(sysfs, vcpu) {
            Ok(()) => done += 1,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

/// Up to `max` bytes at the start of `dir/name`, with qemu-ga's texts.
fn read_sysfs(dir: &Path, name: &str, max: usize) -> Result<Vec<u8>, (Error, std::io::Error)> {
    let file = File::open(dir.join(name))
        .map_err(|e| (failed(format!("open sysfs file \"{name}\""), &e), e))?;
    let mut buf = vec![0; max];
    match file.read_at(&mut buf, 0) {
        Ok(0) => Err((
            Error::generic(format!("pread sysfs file \"{name}\": unexpected EOF")),
            std::io::Error::from(ErrorKind::UnexpectedEof),
        )),
        Ok(n) => {
            buf.truncate(n);
            Ok(buf)
        }
        Err(e) => Err((failed(format!("pread sysfs file \"{name}\""), &e), e)),
    }
}

fn memory_block_dir(sysfs: &Path, index: u64) -> String {
    format!("{}/{MEMORY_DIR}/memory{index}/", sysfs.display())
}

/// One block as sysfs shows it.
fn memory_block(sysfs: &Path, index: u64) -> Result<GuestMemoryBlock, Error> {
    let dir = memory_block_dir(sysfs, index);
    open_dir(&dir)?;
    let dir = Path::new(&dir);
    let state = match read_sysfs(dir, "state", 10) {
        Ok(state) => state,
        // Kernels without the file: always online.
        Err((_, e)) if e.kind() == ErrorKind::NotFound => {
            return Ok(GuestMemoryBlock {
                phys_index: index,
                online: true,
                can_offline: Some(false),
            })
        }
        Err((error, _)) => return Err(error),
    };
    let can_offline = match read_sysfs(dir, "removable", 1) {
        Ok(r) => r.first() != Some(&b'0'),
        Err((_, e)) if e.kind() == ErrorKind::NotFound => false,
        Err((error, _)) => return Err(error),
    };
    Ok(GuestMemoryBlock {
        phys_index: index,
        online: state.starts_with(b"online"),
        can_offline: Some(can_offline),
    })
}

/// `guest-get-memory-blocks`: each `memoryN` directory in directory order;
/// none at all is an error, a system without the directory has none.
pub fn memory_blocks(sysfs: &Path) -> Result<Vec<GuestMemoryBlock>, Error> {
    let list = sysfs.join(MEMORY_DIR);
    let entries = match std::fs::read_dir(&list) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(failed(
                format!("Can't open directory\"{}/\"", list.display()),
                &e,
            ))
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("memory") else {
            continue;
        };
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        // strtoul: the leading digits, 0 without any.
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        out.push(memory_block(sysfs, digits.parse().unwrap_or(0))?);
    }
    if out.is_empty() {
        return Err(Error::generic("guest reported zero memory blocks!"));
    }
    Ok(out)
}

/// One block brought to the state asked for, answered as qemu-ga does:
/// an error is a response with the errno, never an error reply.
fn set_memory_block(sysfs: &Path, block: &GuestMemoryBlock) -> GuestMemoryBlockResponse {
    let answer = |response, error: Option<&std::io::Error>| GuestMemoryBlockResponse {
        phys_index: block.phys_index,
        response,
        error_code: error.map(|e| e.raw_os_error().unwrap_or(0).into()),
    };
    if let Err(e) = std::fs::read_dir(sysfs.join(MEMORY_DIR)) {
        let response = if e.kind() == ErrorKind::NotFound {
            Response::OperationNotSupported
        } else {
            Response::Success
        };
        return answer(response, Some(&e));
    }
    let dir = memory_block_dir(sysfs, block.phys_index);
    if let Err(e) = std::fs::read_dir(&dir) {
        let response = if e.kind() == ErrorKind::NotFound {
            Response::NotFound
        } else {
            Response::OperationFailed
        };
        return answer(response, Some(&e));
    }
    let dir = Path::new(&dir);
    let state = match read_sysfs(dir, "state", 10) {
        Ok(state) => state,
        Err((_, e)) if e.kind() == ErrorKind::NotFound && !block.online => {
            return answer(Response::OperationNotSupported, Some(&e))
        }
        Err((_, e)) if e.kind() == ErrorKind::NotFound => {
            return answer(Response::Success, Some(&e))
        }
        Err((_, e)) => return answer(Response::OperationFailed, Some(&e)),
    };
    if state.starts_with(b"online") == block.online {
        return answer(Response::Success, None);
    }
    let word: &[u8] = if block.online { b"online" } else { b"offline" };
    let written = OpenOptions::new()
        .write(true)
        .open(dir.join("state"))
        .and_then(|f| f.write_at(word, 0));
    match written {
        Ok(_) => answer(Response::Success, None),
        Err(e) => answer(Response::OperationFailed, Some(&e)),
    }
}

/// `guest-set-memory-blocks`: one response per block, in order.
pub fn set_memory_blocks(
    sysfs: &Path,
    blocks: &[GuestMemoryBlock],
) -> Vec<GuestMemoryBlockResponse> {
    blocks.iter().map(|b| set_memory_block(sysfs, b)).collect()
}

/// `guest-get-memory-block-info`: the block size, hexadecimal in sysfs.
pub fn memory_block_info(sysfs: &Path) -> Result<GuestMemoryBlockInfo, Error> {
    let dir = format!("{}/{MEMORY_DIR}/", sysfs.display());
    open_dir(&dir)?;
    let text = read_sysfs(Path::new(&dir), "block_size_bytes", 20).map_err(|(e, _)| e)?;
    let text = String::from_utf8_lossy(&text);
    let hex: String = text
        .trim_start()
        .trim_start_matches("0x")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    Ok(GuestMemoryBlockInfo {
        size: u64::from_str_radix(&hex, 16).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A sysfs with CPUs 0 (no `online` file), 1 (online), 2 (offline)
    /// and memory blocks 0 (online, removable), 7 (offline) and 9 (no
    /// `state` file).
    fn fake_sysfs() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let cpu = root.path().join(CPU_DIR);
        for (id, online) in [(0, None), (1, Some("1\n")), (2, Some("0\n"))] {
            let dir = cpu.join(format!("cpu{id}"));
            fs::create_dir_all(&dir).unwrap();
            if let Some(o) = online {
                fs::write(dir.join("online"), o).unwrap();
            }
        }
        fs::create_dir_all(cpu.join("cpufreq")).unwrap();
        fs::write(cpu.join("online"), "0-1\n").unwrap();
        let mem = root.path().join(MEMORY_DIR);
        for (index, state, removable) in [
            (0, Some("online\n"), "1\n"),
            (7, Some("offline\n"), "0\n"),
            (9, None, "0\n"),
        ] {
            let dir = mem.join(format!("memory{index}"));
            fs::create_dir_all(&dir).unwrap();
            if let Some(s) = state {
                fs::write(dir.join("state"), s).unwrap();
            }
            fs::write(dir.join("removable"), removable).unwrap();
        }
        fs::write(mem.join("block_size_bytes"), "8000000\n").unwrap();
        root
    }

    fn cpu(id: i64, online: bool) -> GuestLogicalProcessor {
        GuestLogicalProcessor {
            logical_id: id,
            online,
            can_offline: None,
        }
    }

    #[test]
    fn cpus_as_qemu_ga_reads_them() {
        let sys = fake_sysfs();
        let mut got = vcpus(sys.path()).unwrap();
        got.sort_by_key(|c| c.logical_id);
        let got: Vec<_> = got
            .iter()
            .map(|c| (c.logical_id, c.online, c.can_offline))
            .collect();
        assert_eq!(
            got,
            [
                (0, true, Some(false)),
                (1, true, Some(true)),
                (2, false, Some(true))
            ]
        );
    }

    #[test]
    fn cpus_switch_until_one_fails() {
        let sys = fake_sysfs();
        let online =
            |id| fs::read_to_string(sys.path().join(format!("{CPU_DIR}/cpu{id}/online"))).unwrap();
        assert_eq!(
            set_vcpus(sys.path(), &[cpu(2, true), cpu(1, false)]).unwrap(),
            2
        );
        assert_eq!((online(2).as_str(), online(1).as_str()), ("1\n", "0\n"));
        // CPU 0 has no switch: online is fine, offline is refused.
        assert_eq!(set_vcpus(sys.path(), &[cpu(0, true)]).unwrap(), 1);
        assert_eq!(
            set_vcpus(sys.path(), &[cpu(0, false)]).unwrap_err().desc,
            "logical processor #0 can't be offlined"
        );
        // A failure after the first: the count so far.
        assert_eq!(
            set_vcpus(sys.path(), &[cpu(1, true), cpu(0, false), cpu(2, false)]).unwrap(),
            1
        );
        assert_eq!(online(2), "1\n", "nothing after the failure is done");
        let missing = set_vcpus(sys.path(), &[cpu(99, true)]).unwrap_err().desc;
        assert_eq!(
            missing,
            format!(
                "open(\"{}/{CPU_DIR}/cpu99/\"): No such file or directory",
                sys.path().display()
            )
        );
    }

    #[test]
    fn memory_blocks_as_qemu_ga_reads_and_answers() {
        let sys = fake_sysfs();
        let mut got = memory_blocks(sys.path()).unwrap();
        got.sort_by_key(|b| b.phys_index);
        let got: Vec<_> = got
            .iter()
            .map(|b| (b.phys_index, b.online, b.can_offline))
            .collect();
        assert_eq!(
            got,
            [
                (0, true, Some(true)),
                (7, false, Some(false)),
                (9, true, Some(false))
            ]
        );
        assert_eq!(memory_block_info(sys.path()).unwrap().size, 0x800_0000);
        let block = |i, online| GuestMemoryBlock {
            phys_index: i,
            online,
            can_offline: None,
        };
        let answers = set_memory_blocks(
            sys.path(),
            &[
                block(7, true),
                block(0, true),
                block(42, true),
                block(9, false),
            ],
        );
        let answers: Vec<_> = answers
            .iter()
            .map(|a| (a.phys_index, a.response.as_str().to_owned(), a.error_code))
            .collect();
        assert_eq!(
            answers,
            [
                (7, "success".to_owned(), None),
                (0, "success".to_owned(), None),
                (42, "not-found".to_owned(), Some(2)),
                (9, "operation-not-supported".to_owned(), Some(2)),
            ]
        );
        // sysfs replaces the word; a plain file keeps what is past it.
        let state =
            fs::read_to_string(sys.path().join(format!("{MEMORY_DIR}/memory7/state"))).unwrap();
        assert!(state.starts_with("online"), "{state}");
    }

    #[test]
    fn no_memory_directory() {
        let empty = tempfile::tempdir().unwrap();
        assert!(memory_blocks(empty.path()).unwrap().is_empty());
        let answers = set_memory_blocks(
            empty.path(),
            &[GuestMemoryBlock {
                phys_index: 1,
                online: true,
                can_offline: None,
            }],
        );
        assert_eq!(answers[0].response.as_str(), "operation-not-supported");
        assert_eq!(answers[0].error_code, Some(2));
        fs::create_dir_all(empty.path().join(MEMORY_DIR)).unwrap();
        assert_eq!(
            memory_blocks(empty.path()).unwrap_err().desc,
            "guest reported zero memory blocks!"
        );
    }
}
