//! The ASGI application: `workers` interpreters, each with its own asyncio loop. A new
//! request goes to the worker with the fewest requests in flight. A worker whose loop
//! ends unexpectedly, or stays blocked past a request's timeout, is replaced by a fresh
//! interpreter; the requests it had not started move to its successor. After
//! `max_requests` a worker is recycled: its successor starts first, then it drains.
use super::conn::{Shared, Supervisor};
use super::inbox::Event;
use super::worker::Worker;
use crate::app::{self, LoadError, PoolSpec};
use crate::http::connection::{Connection, Stream};
use crate::http::exchange::{App, Job};
use hornbeam_python::interp::Mode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

/// Time on top of `graceful_timeout` for a worker to end its loop before its Python code
/// is interrupted.
const STOP_MARGIN: Duration = Duration::from_secs(5);

pub struct Pool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    spec: Arc<PoolSpec>,
    mode: Mode,
    workers: Mutex<Vec<Worker>>,
    /// The workers' shared state, read on every request.
    targets: RwLock<Vec<Arc<Shared>>>,
    stopping: AtomicBool,
    replaced: AtomicU64,
    me: Weak<PoolInner>,
}

impl Pool {
    pub fn start(spec: PoolSpec) -> Result<(Pool, Mode), LoadError> {
        let spec = Arc::new(spec);
        app::start_in_mode(&spec.app, &spec.log, |mode| Pool::start_in(spec.clone(), mode))
    }

    fn start_in(spec: Arc<PoolSpec>, mode: Mode) -> Result<Pool, LoadError> {
        let inner = Arc::new_cyclic(|me| PoolInner {
            spec: spec.clone(),
            mode,
            workers: Mutex::new(Vec::with_capacity(spec.app.workers)),
            targets: RwLock::new(Vec::with_capacity(spec.app.workers)),
            stopping: AtomicBool::new(false),
            replaced: AtomicU64::new(0),
            me: me.clone(),
        });
        // One after the other: C extensions' first import is not always safe to run in
        // parallel, and a failing lifespan stops the rest from starting.
        for _ in 0..spec.app.workers {
            match inner.spawn() {
                Ok(worker) => {
                    inner.write_targets().push(worker.shared.clone());
                    inner.lock_workers().push(worker);
                }
                Err(e) => {
                    inner.shutdown();
                    return Err(e);
                }
            }
        }
        Ok(Pool { inner })
    }

    pub fn workers(&self) -> usize {
        self.inner.spec.app.workers
    }
}

impl PoolInner {
    fn spawn(&self) -> Result<Worker, LoadError> {
        let supervisor: Weak<dyn Supervisor> = self.me.clone();
        Worker::spawn(self.spec.clone(), self.mode, supervisor)
    }

    fn lock_workers(&self) -> std::sync::MutexGuard<'_, Vec<Worker>> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_targets(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<Shared>>> {
        self.targets.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts `fresh` where `old` was. A replaced worker's unstarted requests move to
    /// `fresh` and its thread is let go; a recycled one finishes its requests in flight,
    /// then stops.
    fn swap_in(&self, old: &Arc<Shared>, mut fresh: Worker, retire: Retire) {
        let mut workers = self.lock_workers();
        if self.stopping.load(Ordering::Acquire) {
            drop(workers);
            fresh.stop();
            fresh.finish(self.spec.app.shutdown_timeout + STOP_MARGIN);
            return;
        }
        let new_shared = fresh.shared.clone();
        if let Some(target) = self.write_targets().iter_mut().find(|t| Arc::ptr_eq(t, old)) {
            *target = new_shared.clone();
        }
        // Workers recycled earlier whose loop has ended are done with.
        workers.retain(|w| !w.is_finished());
        workers.push(fresh);
        match retire {
            Retire::Drain => {
                // Its loop ending is expected now; `shutdown` still waits for it.
                old.stopping.store(true, Ordering::Release);
                old.inbox.drain_and_stop();
            }
            Retire::Replace => {
                // Dropping the old worker detaches its thread: it ends by itself, if ever.
                workers.retain(|w| !Arc::ptr_eq(&w.shared, old));
                drop(workers);
                for event in old.inbox.close() {
                    if let Event::Job(job) = event {
                        new_shared.load.fetch_add(1, Ordering::AcqRel);
                        if let Err(job) = new_shared.inbox.push_job(job) {
                            drop(job); // replaced again already: the client gets a 500
                        }
                    }
                }
            }
        }
    }

    /// Starts `old`'s successor on a thread of its own, then retires `old`.
    fn succeed(&self, old: &Arc<Shared>, retire: Retire) {
        let Some(pool) = self.me.upgrade() else { return };
        let old = old.clone();
        let started =
            std::thread::Builder::new().name("hornbeam-respawn".into()).spawn(move || {
                match pool.spawn() {
                    Ok(fresh) => pool.swap_in(&old, fresh, retire),
                    Err(e) => {
                        pool.spec.log.error(&format!("cannot start a new ASGI worker: {e:?}"));
                        // max_requests: this one keeps serving and tries again later.
                        old.served.store(0, Ordering::Release);
                    }
                }
            });
        if let Err(e) = started {
            self.spec.log.error(&format!("cannot start a new ASGI worker: {e}"));
        }
    }

    fn shutdown(&self) {
        if self.stopping.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut workers = std::mem::take(&mut *self.lock_workers());
        for worker in workers.iter() {
            worker.stop();
        }
        for worker in workers.iter_mut() {
            worker.finish(self.spec.app.shutdown_timeout + STOP_MARGIN);
        }
    }
}

impl PoolInner {
    /// The slot of the worker that serves `connection`, chosen by `pick` on its first
    /// request. The slot, not the worker: a successor takes over its connections.
    fn bind(&self, connection: &Connection, pick: impl FnOnce() -> usize) -> usize {
        let binding = connection.binding.get_or_init(|| {
            Box::new(Binding { slot: pick(), connection: connection.id, pool: self.me.clone() })
        });
        binding.downcast_ref::<Binding>().map_or(0, |b| b.slot)
    }
}

/// Which worker serves a connection; tells that worker when the connection is gone.
struct Binding {
    slot: usize,
    connection: u64,
    pool: Weak<PoolInner>,
}

impl Drop for Binding {
    fn drop(&mut self) {
        let Some(pool) = self.pool.upgrade() else { return };
        let targets = pool.targets.read().unwrap_or_else(|p| p.into_inner());
        if let Some(worker) = targets.get(self.slot) {
            worker.inbox.push(Event::Closed(self.connection));
        }
    }
}

impl Supervisor for PoolInner {
    fn replace(&self, worker: &Arc<Shared>, why: &str) {
        let known = self
            .targets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|t| Arc::ptr_eq(t, worker));
        if !known || self.stopping.load(Ordering::Acquire) {
            return; // a worker that never started, or the pool is stopping anyway
        }
        self.replaced.fetch_add(1, Ordering::Relaxed);
        self.spec.log.error(&format!("an ASGI worker is replaced by a fresh interpreter: {why}"));
        self.succeed(worker, Retire::Replace);
    }
}

/// What happens to the worker a successor takes over from.
#[derive(Clone, Copy)]
enum Retire {
    /// Its loop died or is stuck: its queued requests move, its thread is let go.
    Replace,
    /// `max_requests`: it finishes what it runs, then stops.
    Drain,
}

impl App for Pool {
    fn submit(&self, job: Job) -> Result<(), Box<Job>> {
        let mut job = job;
        // A worker being replaced refuses the job; the next pick sees its successor.
        loop {
            if self.inner.stopping.load(Ordering::Acquire) {
                return Err(Box::new(job));
            }
            let targets = self.inner.targets.read().unwrap_or_else(|p| p.into_inner());
            let least_busy = || {
                (0..targets.len())
                    .min_by_key(|&i| targets[i].load.load(Ordering::Relaxed))
                    .expect("a pool has at least one worker")
            };
            let slot = match job.request.head.extensions.get::<Stream>() {
                // A connection's requests all go to the worker that got its first.
                Some(stream) => self.inner.bind(&stream.connection, least_busy),
                None => least_busy(),
            };
            let target = &targets[slot];
            target.load.fetch_add(1, Ordering::AcqRel);
            match target.inbox.push_job(job) {
                Ok(()) => {
                    let max = self.inner.spec.app.max_requests;
                    // The successor loads while this worker keeps serving; once it is
                    // ready, new requests go to it and this one drains.
                    if max > 0 && target.served.fetch_add(1, Ordering::AcqRel) + 1 == max {
                        self.inner.succeed(target, Retire::Drain);
                    }
                    return Ok(());
                }
                Err(back) => {
                    target.load.fetch_sub(1, Ordering::AcqRel);
                    job = back;
                }
            }
            drop(targets);
            std::thread::yield_now();
        }
    }

    fn shutdown(&self) {
        self.inner.shutdown();
    }

    fn replaced_workers(&self) -> u64 {
        self.inner.replaced.load(Ordering::Relaxed)
    }
}
