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
