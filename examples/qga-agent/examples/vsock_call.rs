//! Sends requests to a guest agent on vsock and prints each reply line:
//! `vsock_call CID PORT REQUEST...`.  Run it inside a guest (the VM test
//! copies it into one): vsock belongs to the machine it runs on.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::ExitCode;

/// A connected vsock stream socket.
fn connect(cid: u32, port: u32) -> std::io::Result<std::fs::File> {
    // SAFETY: socket returns a new descriptor (or -1), owned at once;
    // connect reads a sockaddr_vm of the size given.
    unsafe {
        let raw = libc::socket(libc::AF_VSOCK, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(raw);
        let mut addr: libc::sockaddr_vm = std::mem::zeroed();
        addr.svm_family = libc::AF_VSOCK as libc::sa_family_t;
        addr.svm_cid = cid;
        addr.svm_port = port;
        let rc = libc::connect(
            raw,
            std::ptr::addr_of!(addr).cast(),
            std::mem::size_of::<libc::sockaddr_vm>() as libc::socklen_t,
        );
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(std::fs::File::from(fd))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(cid), Some(port)) = (
        args.first().and_then(|c| c.parse().ok()),
        args.get(1).and_then(|p| p.parse().ok()),
    ) else {
        eprintln!("usage: vsock_call CID PORT REQUEST...");
        return ExitCode::from(2);
    };
    let socket = match connect(cid, port) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vsock_call: cannot connect to {cid}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut reader = BufReader::new(&socket);
    for request in &args[2..] {
        let mut line = String::new();
        let answered = (&socket)
            .write_all(request.as_bytes())
            .and_then(|()| reader.read_line(&mut line));
        match answered {
            Ok(_) => print!("{line}"),
            Err(e) => {
                eprintln!("vsock_call: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
