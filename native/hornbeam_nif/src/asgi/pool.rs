//! The ASGI application: `workers` interpreters, each with its own asyncio loop. A new
//! request goes to the worker with the fewest requests in flight.
use super::worker::Worker;
use crate::app::{self, LoadError, PoolSpec};
use crate::http::exchange::{App, Job};
use hornbeam_python::interp::Mode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Time on top of `graceful_timeout` for a worker to end its loop before its Python code
/// is interrupted.
const STOP_MARGIN: Duration = Duration::from_secs(5);

pub struct Pool {
    workers: Mutex<Vec<Worker>>,
    /// The workers' shared state, read without the lock on every request.
    targets: Vec<Arc<super::conn::Shared>>,
    stopping: AtomicBool,
    shutdown_timeout: Duration,
}

impl Pool {
    pub fn start(spec: PoolSpec) -> Result<(Pool, Mode), LoadError> {
        let spec = Arc::new(spec);
        app::start_in_mode(&spec.app, &spec.log, |mode| Pool::start_in(spec.clone(), mode))
    }

    fn start_in(spec: Arc<PoolSpec>, mode: Mode) -> Result<Pool, LoadError> {
        let mut workers: Vec<Worker> = Vec::with_capacity(spec.app.workers);
        // One after the other: C extensions' first import is not always safe to run in
        // parallel, and a failing lifespan stops the rest from starting.
        for _ in 0..spec.app.workers {
            match Worker::spawn(spec.clone(), mode) {
                Ok(worker) => workers.push(worker),
                Err(e) => {
                    stop_all(&mut workers, spec.app.shutdown_timeout);
                    return Err(e);
                }
            }
        }
        let targets = workers.iter().map(|w| w.shared.clone()).collect();
        Ok(Pool { workers: Mutex::new(workers), targets, stopping: AtomicBool::new(false), shutdown_timeout: spec.app.shutdown_timeout })
    }

    pub fn workers(&self) -> usize {
        self.targets.len()
    }
}

fn stop_all(workers: &mut [Worker], shutdown_timeout: Duration) {
    for worker in workers.iter() {
        worker.stop();
    }
    for worker in workers.iter_mut() {
        worker.finish(shutdown_timeout + STOP_MARGIN);
    }
}

impl App for Pool {
    fn submit(&self, job: Job) -> Result<(), Box<Job>> {
        if self.stopping.load(Ordering::Acquire) {
            return Err(Box::new(job));
        }
        let target = self
            .targets
            .iter()
            .min_by_key(|w| w.load.load(Ordering::Relaxed))
            .expect("a pool has at least one worker");
        target.load.fetch_add(1, Ordering::AcqRel);
        target.inbox.push(super::inbox::Event::Job(job));
        Ok(())
    }

    fn shutdown(&self) {
        if self.stopping.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        stop_all(&mut workers, self.shutdown_timeout);
    }
}
