//! State a context shares between its worker thread and the BEAM threads that call
//! the NIF: the job channel, which jobs run, which were cancelled.
//!
//! Lock order: an interpreter's GIL, then `jobs`. The worker holds its GIL when it
//! takes `jobs`; the interrupt helper takes the GIL, then `jobs`; NIF calls take only
//! `jobs`. Nobody takes a GIL while holding `jobs`.
//!
//! `open` gates the channel: every send holds its read side (uncontended: the worker
//! never takes it), `stop` its write side. So every send that succeeds is queued before
//! `Stop`, none succeeds after, and the worker, draining after `Stop`, answers them all.
use super::job::Msg;
use hornbeam_python::interrupt::InterruptHandle;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

pub struct Shared {
    tx: Sender<Msg>,
    /// `false` once the context stops taking messages.
    open: RwLock<bool>,
    next_job: AtomicU64,
    jobs: Mutex<Jobs>,
    pub interrupt: OnceLock<Arc<InterruptHandle>>,
    pub calls_run: AtomicU64,
}

#[derive(Default)]
struct Jobs {
    /// Jobs running now, innermost last (a job waiting in `erlang.call` runs others).
    running: Vec<u64>,
    /// Cancelled jobs that have not finished (or not started) yet.
    cancelled: HashSet<u64>,
    /// Jobs start in id order (one FIFO channel), so an id at or below this one that is
    /// not running has finished.
    highest_begun: u64,
}

/// The context no longer takes jobs.
#[derive(Debug)]
pub struct Stopped;

impl Shared {
    pub fn new(tx: Sender<Msg>) -> Shared {
        Shared {
            tx,
            open: RwLock::new(true),
            next_job: AtomicU64::new(1),
            jobs: Mutex::new(Jobs::default()),
            interrupt: OnceLock::new(),
            calls_run: AtomicU64::new(0),
        }
    }

    fn jobs(&self) -> MutexGuard<'_, Jobs> {
        self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn next_job_id(&self) -> u64 {
        self.next_job.fetch_add(1, Ordering::Relaxed)
    }

    pub fn send(&self, msg: Msg) -> Result<(), Stopped> {
        let open = self.open.read().unwrap_or_else(|p| p.into_inner());
        if !*open {
            return Err(Stopped);
        }
        self.tx.send(msg).map_err(|_| Stopped)
    }

    /// Marks a job as started; `false` if it was cancelled while queued.
    pub fn begin(&self, id: u64) -> bool {
        let mut jobs = self.jobs();
        if jobs.cancelled.remove(&id) {
            return false;
        }
        jobs.running.push(id);
        jobs.highest_begun = jobs.highest_begun.max(id);
        true
    }

    /// Marks a job as finished and, unless it was cancelled, runs `reply` while still
    /// holding the lock, so a canceller never sees "not cancelled in time" and then
    /// misses the reply's arrival. Returns whether it was cancelled.
    pub fn finish(&self, id: u64, reply: impl FnOnce()) -> bool {
        let mut jobs = self.jobs();
        jobs.running.retain(|&j| j != id);
        let cancelled = jobs.cancelled.remove(&id);
        if !cancelled {
            reply();
        }
        cancelled
    }

    pub fn innermost_running(&self) -> Option<u64> {
        self.jobs().running.last().copied()
    }

    pub fn is_cancelled(&self, id: u64) -> bool {
        self.jobs().cancelled.contains(&id)
    }

    /// Cancels a job: it will not start, or it is interrupted, and it sends no reply.
    pub fn cancel(self: &Arc<Self>, id: u64) {
        let interrupt_now = {
            let mut jobs = self.jobs();
            let running = jobs.running.contains(&id);
            let finished = id <= jobs.highest_begun && !running;
            if finished || id >= self.next_job.load(Ordering::Relaxed) {
                return; // already answered, or never submitted
            }
            jobs.cancelled.insert(id);
            running
        };
        // A job waiting for an Erlang callback is blocked in Rust, not in bytecode.
        let _ = self.tx.send(Msg::Wake);
        if interrupt_now {
            if let Some(handle) = self.interrupt.get().cloned() {
                let shared = self.clone();
                // Taking the GIL may wait a switch interval: never on a scheduler.
                let _ = std::thread::Builder::new().name("hornbeam-interrupt".into()).spawn(
                    move || {
                        handle.raise_keyboard_interrupt(|| {
                            let jobs = shared.jobs();
                            // Only the innermost job is in bytecode right now.
                            jobs.running.last() == Some(&id) && jobs.cancelled.contains(&id)
                        });
                    },
                );
            }
        }
    }

    /// Refuses new jobs and asks the worker to end its interpreter.
    /// Returns `false` if the context was already stopping.
    pub fn stop(&self) -> bool {
        let mut open = self.open.write().unwrap_or_else(|p| p.into_inner());
        if !*open {
            return false;
        }
        *open = false;
        let _ = self.tx.send(Msg::Stop);
        true
    }
}
