//! File descriptors Erlang hands to Python.
use crate::atoms;
use crate::guard::guarded;
use rustler::{Atom, Encoder, Env, Term};

/// `dup_fd(Fd)` -> `{ok, NewFd}`: a close-on-exec duplicate the caller owns, so Erlang
/// can close its own socket while Python keeps the connection.
#[rustler::nif]
fn dup_fd(env: Env<'_>, fd: i32) -> Term<'_> {
    guarded(env, || {
        if fd < 0 {
            return (atoms::error(), (atoms::badarg(), fd)).encode(env);
        }
        let errno = match dup_raw(fd) {
            Ok(new_fd) => return (atoms::ok(), new_fd).encode(env),
            Err(e) => e.raw_os_error().unwrap_or(0),
        };
        let name = match errno {
            libc::EBADF => "ebadf",
            libc::EMFILE => "emfile",
            libc::EINVAL => "einval",
            _ => "eio",
        };
        (atoms::error(), Atom::from_str(env, name).unwrap_or_else(|_| atoms::error())).encode(env)
    })
}

/// A close-on-exec duplicate of `fd`, owned by the caller.
pub fn dup_raw(fd: i32) -> std::io::Result<i32> {
    // SAFETY: F_DUPFD_CLOEXEC only reads `fd`; an invalid one yields EBADF.
    let new_fd = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new_fd >= 0 {
        Ok(new_fd)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `close_fd(Fd)` -> `ok`: closes an fd handed to Hornbeam that could not be used (a
/// refused hand-off), so it is never leaked.
#[rustler::nif]
fn close_fd(env: Env<'_>, fd: i32) -> Term<'_> {
    guarded(env, || {
        if fd >= 0 {
            // SAFETY: the caller gave `fd` to Hornbeam; closing it touches no memory.
            unsafe { libc::close(fd) };
        }
        atoms::ok().encode(env)
    })
}

/// A non-blocking eventfd: another thread `signal`s it, an event loop watches it
/// become readable, and `reset` clears it before the watcher looks at what changed.
pub struct EventFd(std::os::fd::OwnedFd);

impl EventFd {
    pub fn new() -> std::io::Result<EventFd> {
        use std::os::fd::FromRawFd;
        // SAFETY: eventfd takes no pointers; a valid fd or -1 comes back.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is fresh and owned by nobody else.
        Ok(EventFd(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
    }

    pub fn raw(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }

    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to an fd we own. A full counter
        // (EAGAIN) means a wake-up is pending anyway.
        unsafe { libc::write(self.raw(), (&one as *const u64).cast(), 8) };
    }

    pub fn reset(&self) {
        let mut counter: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64 from an fd we own; EAGAIN
        // (nothing signalled) is fine.
        unsafe { libc::read(self.raw(), (&mut counter as *mut u64).cast(), 8) };
    }
}
