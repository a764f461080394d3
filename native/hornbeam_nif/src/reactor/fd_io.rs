//! The system calls the reactor makes on file descriptors it owns.
//!
//! Invariant for every function here: `fd` is an open descriptor owned by the reactor
//! (handed off and not yet closed). The reactor closes a descriptor only after removing
//! it from its poller and its connection table, so no call here sees a reused number.
use std::io;
use std::os::fd::RawFd;

/// What one read gave.
pub enum ReadOutcome {
    /// `n > 0` bytes, in a vector of exactly that length.
    Data(Vec<u8>),
    /// The peer closed its side (or the pipe's writers are gone).
    Eof,
    /// Nothing to read after all (a spurious wake-up).
    WouldBlock,
    Failed(io::Error),
}

/// Reads at most `max` bytes into a fresh vector, which becomes the `ReactorBuffer`
/// without another copy.
pub fn read(fd: RawFd, max: usize) -> ReadOutcome {
    let mut buf: Vec<u8> = Vec::with_capacity(max);
    loop {
        // SAFETY: the pointer and capacity describe `buf`'s spare room; `fd` per the
        // module invariant.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), max) };
        if n > 0 {
            // SAFETY: the kernel initialised the first `n <= max` bytes.
            unsafe { buf.set_len(n as usize) };
            // A short read in a big allocation would pin the rest for as long as Python
            // keeps the buffer; shrinking in place is cheap with glibc's allocator.
            if buf.len() < max / 2 {
                buf.shrink_to_fit();
            }
            return ReadOutcome::Data(buf);
        }
        if n == 0 {
            return ReadOutcome::Eof;
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return ReadOutcome::WouldBlock,
            _ => return ReadOutcome::Failed(err),
        }
    }
}

/// Writes what the descriptor takes now; `Ok(0)` when it would block.
pub fn write(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `data` is a valid slice; `fd` per the module invariant. SIGPIPE is
        // ignored by the BEAM, so a closed peer gives EPIPE, not a signal.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(0),
            _ => return Err(err),
        }
    }
}

/// Checks that `fd` is open and makes it non-blocking and close-on-exec.
pub fn prepare(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on any integer is memory-safe; a closed one fails with EBADF.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd_flags = libc::fcntl(fd, libc::F_GETFD);
        if fd_flags >= 0 {
            libc::fcntl(fd, libc::F_SETFD, fd_flags | libc::FD_CLOEXEC);
        }
    }
    Ok(())
}
