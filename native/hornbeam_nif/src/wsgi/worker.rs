//! A WSGI worker: one OS thread, one interpreter, one request at a time, pulled from the
//! pool's queue. It recycles itself after `max_requests`, starting its successor first.
use super::pool::PoolInner;
use super::runner::{Runner, RunnerConfig};
use crate::app::{AppRef, LoadError};
use crate::http::exchange::{Interrupt, JobControl};
use crate::interp_thread::{self, OnFailure, Ready};
use hornbeam_python::call;
use hornbeam_python::interp::{Interpreter, Mode};
use hornbeam_python::interrupt::InterruptHandle;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{JoinHandle, ThreadId};

/// What other threads need to interrupt this worker's current job, or to give up on it.
pub(super) struct Running {
    interrupt: Arc<InterruptHandle>,
    /// The `JobControl` of the job running now (its address), 0 between jobs. Written
    /// only with the worker's GIL held, and read by the interrupter with that GIL held,
    /// so an interrupt can never land in the next job.
    current: Arc<AtomicUsize>,
    /// Set once the pool has replaced this worker (stuck past its timeout): when its
    /// thread comes back, it ends instead of taking another job.
    retired: AtomicBool,
    pub(super) thread: ThreadId,
    pool: Weak<PoolInner>,
}

impl Running {
    /// Interrupts whatever job runs now (the server is stopping and its connections
    /// are gone). Blocks for up to a GIL switch interval: not on a BEAM scheduler.
    pub(super) fn interrupt_current(&self) {
        let current = &self.current;
        self.interrupt.raise_keyboard_interrupt(|| current.load(Ordering::Acquire) != 0);
    }

    fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }
}

impl Interrupt for Running {
    fn interrupt(&self, job: &Arc<JobControl>) {
        let handle = self.interrupt.clone();
        let current = self.current.clone();
        // Holding the Arc keeps the address from being reused by another job meanwhile.
        let job = job.clone();
        // It may wait for a GIL switch interval (forever if the worker holds its GIL in
        // C code): never on an engine thread.
        let _ = std::thread::Builder::new().name("hornbeam-interrupt".into()).spawn(move || {
            let target = Arc::as_ptr(&job) as usize;
            handle.raise_keyboard_interrupt(|| current.load(Ordering::Acquire) == target);
        });
    }

    fn abandon(&self, job: &Arc<JobControl>) {
        let still_on_it = self.current.load(Ordering::Acquire) == Arc::as_ptr(job) as usize;
        if !still_on_it || self.retired.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(pool) = self.pool.upgrade() {
            pool.replace(self.thread, "it was stuck in a request past its timeout");
        }
    }
}

/// Starts a worker and waits until its application is loaded.
pub(super) fn spawn(pool: Arc<PoolInner>) -> Result<JoinHandle<()>, LoadError> {
    let mode = pool.mode;
    let (handle, ()) = interp_thread::spawn(
        "hornbeam-wsgi",
        mode,
        OnFailure::Join,
        LoadError::Init,
        move |interp, ready| run(pool, interp, ready),
    )?;
    Ok(handle)
}

fn run(pool: Arc<PoolInner>, interp: Interpreter, ready: Ready<(), LoadError>) {
    // SAFETY: the interpreter was just created on this thread and is attached.
    let runner = match unsafe { load(&pool) } {
        Ok(runner) => runner,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    // SAFETY: GIL held on this thread.
    let host = match unsafe { crate::agent::enter(&pool.spec.app.agents) } {
        Ok(host) => host,
        Err(e) => {
            let _ = ready.send(Err(LoadError::Init(e.traceback_or_message())));
            return;
        }
    };
    let running = Arc::new(Running {
        interrupt: interp.interrupt_handle(),
        current: Arc::new(AtomicUsize::new(0)),
        retired: AtomicBool::new(false),
        thread: std::thread::current().id(),
        pool: Arc::downgrade(&pool),
    });
    pool.track(&running);
    let _ = ready.send(Ok(()));
    let served =
        std::panic::catch_unwind(AssertUnwindSafe(|| serve(&pool, &interp, &runner, &running)));
    pool.untrack(&running);
    match served {
        Ok(()) => {
            // Python objects go first, with the GIL, on this thread.
            drop(host);
            drop(runner);
            drop(interp);
        }
        Err(panic) => {
            // Python's state may be half-changed: leave this interpreter alone (its
            // memory is lost) and let a fresh one take the work.
            std::mem::forget((host, runner, interp));
            let why = format!("its thread failed ({})", crate::guard::panic_message(&panic));
            if !running.retired.swap(true, Ordering::AcqRel) {
                pool.replace(running.thread, &why);
            }
        }
    }
}

unsafe fn load(pool: &PoolInner) -> Result<Runner, LoadError> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let spec = &pool.spec;
        call::extend_sys_path(&spec.app.paths, &spec.app.site_dirs)
            .map_err(|e| LoadError::Init(e.traceback_or_message()))?;
        let many = spec.app.workers > 1;
        Runner::new(RunnerConfig {
            app: AppRef::of(&spec.app),
            preload: spec.app.preload_app,
            root_path: &spec.root_path,
            multithread: many && pool.mode == Mode::Main,
            multiprocess: many && pool.mode == Mode::Sub,
            log: spec.log.clone(),
            engine: spec.engine.clone(),
        })
    }
}

fn serve(pool: &Arc<PoolInner>, interp: &Interpreter, runner: &Runner, running: &Arc<Running>) {
    let max_requests = pool.spec.app.max_requests;
    let mut served: u64 = 0;
    while let Ok(job) = interp.detached(|| pool.jobs.recv()) {
        let control = job.control.clone();
        running.current.store(Arc::as_ptr(&control) as usize, Ordering::Release);
        control.started_by(running.clone());
        if !control.is_cancelled() {
            // SAFETY: on this worker's thread with its GIL held.
            unsafe { runner.run(job) };
        }
        running.current.store(0, Ordering::Release);
        control.finish();
        if running.is_retired() {
            // Replaced while this job was stuck: the successor serves, this one ends.
            return;
        }
        if control.is_cancelled() {
            // An interrupt aimed at this job must not fire in the next one.
            running.interrupt.clear_pending();
        }
        served += 1;
        if max_requests > 0 && served >= max_requests {
            // The successor is serving before this worker leaves: no request waits on
            // an interpreter that is going away.
            match interp.detached(|| pool.spawn_worker()) {
                Ok(()) => return,
                Err(e) => {
                    pool.spec.log.error(&format!(
                        "max_requests: cannot start a new worker, this one keeps serving: {e:?}"
                    ));
                    served = 0;
                }
            }
        }
    }
}
