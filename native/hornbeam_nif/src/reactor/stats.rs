//! A reactor's counters: written by its loop thread (and by `Protocol.write`, which
//! runs there), read by `py_reactor_context:stats/1` from any scheduler.
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Default)]
pub struct Stats {
    /// Connections handed off and not yet closed (queued hand-offs included).
    pub open: AtomicU64,
    pub accepted: AtomicU64,
    pub closed: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Protocol callbacks run (`connection_made`, `data_received`, `write_ready`).
    pub callbacks: AtomicU64,
    /// Times the loop woke up: it must stay still while every connection is idle.
    pub wakeups: AtomicU64,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Takes a connection slot; `false` (and nothing taken) if `max` are open.
    pub fn reserve(&self, max: u64) -> bool {
        self.open
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < max).then_some(n + 1))
            .is_ok()
    }

    /// Gives back a slot whose hand-off never became a connection.
    pub fn release(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// A connection ended. Counted before its fd is closed, so a peer that sees the
    /// close also sees it in `stats/1`.
    pub fn connection_closed(&self) {
        Self::add(&self.closed, 1);
        self.release();
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Stats>>> = const { RefCell::new(None) };
}

/// Makes `stats` the counters of this (loop) thread.
pub fn bind_thread(stats: Arc<Stats>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(stats));
}

/// Counts `n` bytes written on this thread's reactor, if it is a reactor thread.
pub fn count_out(n: usize) {
    CURRENT.with(|c| {
        if let Some(stats) = c.borrow().as_ref() {
            Stats::add(&stats.bytes_out, n as u64);
        }
    });
}

/// Counts `n` bytes read by `Protocol.read` on this thread's reactor.
pub fn count_in(n: usize) {
    CURRENT.with(|c| {
        if let Some(stats) = c.borrow().as_ref() {
            Stats::add(&stats.bytes_in, n as u64);
        }
    });
}
