//! A non-blocking descriptor as a tokio stream: what serves the
//! character devices an agent talks through and vsock connections.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Registers `fd` with tokio's reactor.
pub(super) fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd is open, and stays the same descriptor, as long
    // as it lives inside the AsyncFd.
    Ok(unsafe { AsyncFd::register(fd) }?)
}

/// Converts a C result: -1 is the error in `errno`.
pub(super) fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A stream over a non-blocking descriptor: a connected socket (vsock)
/// or a character device (a virtio-serial port, a serial line), read and
/// written independently, as tokio's own sockets are.
#[derive(Debug)]
pub struct FdStream {
    fd: AsyncFd<OwnedFd>,
}

impl FdStream {
    /// Wraps `fd`, which must be in non-blocking mode and pollable.  Call
    /// it within a tokio runtime.
    pub fn new(fd: OwnedFd) -> io::Result<FdStream> {
        Ok(FdStream { fd: register(fd)? })
    }

    /// Writes what the socket takes now, without waiting.
    pub fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        rustix::io::write(self.fd.get_ref().as_fd(), bytes).map_err(io::Error::from)
    }
}

impl AsyncRead for FdStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut ready = ready!(self.fd.poll_read_ready(cx))?;
            // SAFETY: read writes at most the unfilled length, and the
            // bytes it reports written are then initialized.
            let unfilled = unsafe { buf.unfilled_mut() };
            let read = ready.try_io(|fd| {
                check(unsafe {
                    libc::read(fd.as_raw_fd(), unfilled.as_mut_ptr().cast(), unfilled.len())
                        as libc::c_int
                })
                .map(|n| n as usize)
            });
            match read {
                Ok(result) => {
                    let n = result?;
                    // SAFETY: the kernel wrote `n` bytes.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for FdStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut ready = ready!(self.fd.poll_write_ready(cx))?;
            match ready.try_io(|fd| {
                rustix::io::write(fd.get_ref().as_fd(), bytes).map_err(io::Error::from)
            }) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A socket's write side ends; a device has none to end.
        match rustix::net::shutdown(self.fd.get_ref(), rustix::net::Shutdown::Write) {
            Err(rustix::io::Errno::NOTSOCK) | Ok(()) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(e.into())),
        }
    }
}
