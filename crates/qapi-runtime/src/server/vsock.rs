//! Virtio sockets (`AF_VSOCK`, Linux): how a guest agent is reached
//! without a serial port.  tokio has no vsock type; the listener wraps
//! its descriptor in [`AsyncFd`], a connection is an [`FdStream`].

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::unix::AsyncFd;

use super::fd_stream::{check, register, FdStream};

/// The connections a listener keeps waiting before it accepts them.
const BACKLOG: i32 = 128;

/// A listening vsock stream socket.
#[derive(Debug)]
pub struct VsockListener {
    fd: AsyncFd<OwnedFd>,
}

impl VsockListener {
    /// Listens on `port` of context `cid` (`u32::MAX`, `VMADDR_CID_ANY`,
    /// for every context of this machine).  Call it within a tokio
    /// runtime.
    pub fn bind(cid: u32, port: u32) -> io::Result<VsockListener> {
        // SAFETY: socket returns a new descriptor (or -1), owned at once.
        let fd = unsafe {
            let raw = check(libc::socket(
                libc::AF_VSOCK,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            ))?;
            OwnedFd::from_raw_fd(raw)
        };
        // SAFETY: sockaddr_vm is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_vm = unsafe { std::mem::zeroed() };
        addr.svm_family = libc::AF_VSOCK as libc::sa_family_t;
        addr.svm_cid = cid;
        addr.svm_port = port;
        // SAFETY: bind reads `addr` of the size given; listen takes the
        // descriptor only.
        unsafe {
            check(libc::bind(
                fd.as_raw_fd(),
                std::ptr::addr_of!(addr).cast(),
                std::mem::size_of::<libc::sockaddr_vm>() as libc::socklen_t,
            ))?;
            check(libc::listen(fd.as_raw_fd(), BACKLOG))?;
        }
        Ok(VsockListener { fd: register(fd)? })
    }

    /// A listener from a listening vsock socket this process was given.
    pub fn from_fd(fd: OwnedFd) -> io::Result<VsockListener> {
        rustix::io::ioctl_fionbio(&fd, true)?;
        Ok(VsockListener { fd: register(fd)? })
    }

    /// Accepts one connection.
    pub async fn accept(&self) -> io::Result<FdStream> {
        loop {
            let mut ready = self.fd.readable().await?;
            let accepted = ready.try_io(|fd| {
                // SAFETY: accept4 returns a new descriptor (or -1); the
                // peer address is not asked for.
                let raw = check(unsafe {
                    libc::accept4(
                        fd.as_raw_fd(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    )
                })?;
                // SAFETY: `raw` is the new connection's descriptor.
                Ok(unsafe { OwnedFd::from_raw_fd(raw) })
            });
            match accepted {
                Ok(fd) => return FdStream::new(fd?),
                Err(_would_block) => continue,
            }
        }
    }
}
