//! Fds whose protocol asked to be flushed from outside its own callbacks.
//!
//! A protocol that writes to *another* connection (a broadcast to every WebSocket
//! client) appends to that connection's write buffer, but that fd is armed for
//! reading and its `write_ready` would never run. `Protocol.request_write()` records
//! the fd here; after each turn's callbacks the loop arms those fds for writing.
//! Thread-local: each reactor has its own thread, so this is per reactor.
use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;

thread_local! {
    static ON_REACTOR: Cell<bool> = const { Cell::new(false) };
    static REQUESTED: RefCell<Vec<RawFd>> = const { RefCell::new(Vec::new()) };
}

/// Marks this thread as a reactor's loop thread.
pub fn bind_thread() {
    ON_REACTOR.with(|on| on.set(true));
}

/// Records `fd`; `false` if this thread runs no reactor (nothing would serve it).
pub fn request(fd: RawFd) -> bool {
    if !ON_REACTOR.with(Cell::get) {
        return false;
    }
    REQUESTED.with(|r| r.borrow_mut().push(fd));
    true
}

/// Takes what was requested since the last call.
pub fn take() -> Vec<RawFd> {
    REQUESTED.with(|r| std::mem::take(&mut *r.borrow_mut()))
}
