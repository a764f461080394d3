//! The WSGI application: `workers` interpreters sharing one queue of requests.
use super::worker::{self, Running};
use crate::app::{self, LoadError, PoolSpec};
use crate::http::exchange::{App, Job};
use crossbeam_channel::{Receiver, Sender};
use hornbeam_python::interp::Mode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

pub struct PoolInner {
    pub spec: Arc<PoolSpec>,
    pub mode: Mode,
    /// `None` once the pool stops taking jobs.
    submit: RwLock<Option<Sender<Job>>>,
    pub jobs: Receiver<Job>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The live workers, to interrupt what they run when the server stops.
    running: Mutex<Vec<Arc<Running>>>,
    /// Workers replaced because they died or were stuck.
    replaced: AtomicU64,
}

/// How long `stop` waits for interrupted workers before it leaves them behind (a
/// worker blocked in C code may never return).
const STOP_LIMIT: Duration = Duration::from_secs(5);

impl PoolInner {
    pub(super) fn track(&self, worker: &Arc<Running>) {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).push(worker.clone());
    }

    pub(super) fn untrack(&self, worker: &Arc<Running>) {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).retain(|w| !Arc::ptr_eq(w, worker));
    }

    /// Adds one worker; returns when it serves (or could not load the app).
    pub fn spawn_worker(self: &Arc<Self>) -> Result<(), LoadError> {
        if self.submit.read().unwrap_or_else(|p| p.into_inner()).is_none() {
            return Err(LoadError::Init("the server is stopping".into()));
        }
        let handle = worker::spawn(self.clone())?;
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        threads.retain(|t| !t.is_finished());
        threads.push(handle);
        Ok(())
    }

    /// Replaces the worker running on `thread` with a fresh interpreter. Its thread is
    /// left to end by itself, if it ever does; the server's stop does not wait for it.
    /// Never blocks: the new worker loads on a thread of its own.
    pub(super) fn replace(self: &Arc<Self>, thread: ThreadId, why: &str) {
        if self.submit.read().unwrap_or_else(|p| p.into_inner()).is_none() {
            return; // stopping: nothing to replace it for
        }
        self.replaced.fetch_add(1, Ordering::Relaxed);
        self.spec.log.error(&format!("a WSGI worker is replaced by a fresh interpreter: {why}"));
        // Dropping the handle detaches the old thread; untracked, `stop` no longer
        // tries to interrupt it (which could wait forever on a GIL held in C code).
        self.threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|t| t.thread().id() != thread);
        self.running.lock().unwrap_or_else(|p| p.into_inner()).retain(|w| w.thread != thread);
        let pool = self.clone();
        let started =
            std::thread::Builder::new().name("hornbeam-respawn".into()).spawn(move || {
                if let Err(e) = pool.spawn_worker() {
                    pool.spec.log.error(&format!("cannot start a replacement WSGI worker: {e:?}"));
                }
            });
        if let Err(e) = started {
            self.spec.log.error(&format!("cannot start a replacement WSGI worker: {e}"));
        }
    }

    fn stop(&self) {
        self.submit.write().unwrap_or_else(|p| p.into_inner()).take();
        // Queued jobs are dropped and running ones interrupted: the engine has drained
        // or closed their connections already, so nobody waits for them.
        while self.jobs.try_recv().is_ok() {}
        let running: Vec<Arc<Running>> =
            self.running.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for worker in running {
            worker.interrupt_current();
        }
        let deadline = Instant::now() + STOP_LIMIT;
        loop {
            let handle = self.threads.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(handle) = handle else { return };
            // Polled rather than joined: a thread blocked in C code cannot be joined.
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if handle.is_finished() {
                let _ = handle.join();
            } else {
                self.spec.log.error("a WSGI worker did not stop (blocked in C code?): left behind");
            }
        }
    }
}

pub struct Pool {
    inner: Arc<PoolInner>,
}

impl Pool {
    /// Starts every worker with the application loaded. With `python_mode => auto`, an
    /// application that imports an extension refusing sub-interpreters is started again
    /// in the main interpreter, and the log says why.
    pub fn start(spec: PoolSpec) -> Result<(Pool, Mode), LoadError> {
        let spec = Arc::new(spec);
        app::start_in_mode(&spec.app, &spec.log, |mode| Pool::start_in(spec.clone(), mode))
    }

    fn start_in(spec: Arc<PoolSpec>, mode: Mode) -> Result<Pool, LoadError> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let inner = Arc::new(PoolInner {
            spec: spec.clone(),
            mode,
            submit: RwLock::new(Some(tx)),
            jobs: rx,
            threads: Mutex::new(Vec::new()),
            running: Mutex::new(Vec::new()),
            replaced: AtomicU64::new(0),
        });
        // Workers load the application one after the other: C extensions' first import
        // is not always safe to run in parallel.
        for _ in 0..spec.app.workers {
            if let Err(e) = inner.spawn_worker() {
                inner.stop();
                return Err(e);
            }
        }
        Ok(Pool { inner })
    }

    pub fn workers(&self) -> usize {
        self.inner.spec.app.workers
    }
}

impl App for Pool {
    fn submit(&self, job: Job) -> Result<(), Box<Job>> {
        let submit = self.inner.submit.read().unwrap_or_else(|p| p.into_inner());
        match submit.as_ref() {
            Some(tx) => tx.send(job).map_err(|e| Box::new(e.into_inner())),
            None => Err(Box::new(job)),
        }
    }

    fn shutdown(&self) {
        self.inner.stop();
    }

    fn replaced_workers(&self) -> u64 {
        self.inner.replaced.load(Ordering::Relaxed)
    }
}
