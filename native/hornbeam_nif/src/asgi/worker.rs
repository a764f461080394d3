//! An ASGI worker: one OS thread, one interpreter, one asyncio loop (`hornbeam_asgi.serve`)
//! running every request the pool gives it concurrently.
use super::conn::{Shared, Supervisor};
use super::inbox::{Event, Inbox};
use super::pytypes::{self, AsgiTypes};
use super::scope::ScopeBuilder;
use crate::app::{AppRef, LoadError, PoolSpec};
use crate::app_config::{Interface, Lifespan};
use crate::interp_thread::{self, OnFailure, Ready};
use hornbeam_python::call;
use hornbeam_python::interp::{Interpreter, Mode};
use hornbeam_python::interrupt::InterruptHandle;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// The extensions every request's scope advertises.
const EXTENSIONS: [&str; 2] = ["http.response.pathsend", "http.response.early_hint"];

pub(super) struct Worker {
    pub shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    interrupt: Arc<OnceLock<Arc<InterruptHandle>>>,
    /// Closed when the thread ends.
    done: mpsc::Receiver<()>,
}

impl Worker {
    /// Starts a worker and waits until its application loaded and lifespan startup
    /// finished.
    pub fn spawn(
        spec: Arc<PoolSpec>,
        mode: Mode,
        supervisor: Weak<dyn Supervisor>,
    ) -> Result<Worker, LoadError> {
        let inbox = Inbox::new().map_err(|e| LoadError::Init(format!("eventfd: {e}")))?;
        let shared = Arc::new(Shared {
            inbox: Arc::new(inbox),
            engine: spec.engine.clone(),
            log: spec.log.clone(),
            load: AtomicUsize::new(0),
            websocket: spec.app.websocket,
            stopping: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            served: AtomicU64::new(0),
            supervisor,
        });
        let interrupt = Arc::new(OnceLock::new());
        let (done_tx, done) = mpsc::channel::<()>();
        let (thread_shared, thread_interrupt) = (shared.clone(), interrupt.clone());
        let (thread, ()) = interp_thread::spawn(
            "hornbeam-asgi",
            mode,
            OnFailure::Join,
            LoadError::Init,
            move |interp, ready| {
                run(spec, interp, thread_shared.clone(), thread_interrupt, ready);
                drop(done_tx);
                if !thread_shared.stopping.load(Ordering::Acquire) {
                    // The loop ended without being asked to (an exception escaped
                    // it): the pool starts a fresh interpreter in its place. A
                    // worker that failed to start is not in the pool: nothing happens.
                    thread_shared.give_up("its event loop ended unexpectedly");
                }
            },
        )?;
        Ok(Worker { shared, thread: Some(thread), interrupt, done })
    }

    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.inbox.push(Event::Stop);
    }

    /// Waits up to `limit` for the thread to end, interrupts its Python code if it
    /// has not (a request stuck in a loop), then joins it.
    pub fn finish(&mut self, limit: Duration) {
        if self.done.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
            if let Some(handle) = self.interrupt.get() {
                self.shared
                    .log
                    .error("an ASGI worker did not stop in time; interrupting its Python code");
                handle.raise_keyboard_interrupt(|| true);
            }
        }
        self.join();
    }

    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    spec: Arc<PoolSpec>,
    interp: Interpreter,
    shared: Arc<Shared>,
    interrupt: Arc<OnceLock<Arc<InterruptHandle>>>,
    ready: Ready<(), LoadError>,
) {
    let _ = interrupt.set(interp.interrupt_handle());
    // SAFETY: the interpreter was just created on this thread and is attached.
    unsafe { serve(&spec, shared, ready) };
    drop(interp);
}

/// Loads the application and runs the loop until the pool stops it. Start-up failures
/// go to `ready`; later ones to the log.
///
/// # Safety
/// GIL held, on the worker's thread.
unsafe fn serve(spec: &PoolSpec, shared: Arc<Shared>, ready: Ready<(), LoadError>) {
    // SAFETY: the caller keeps the contract above: GIL held, on the worker's thread.
    unsafe {
        let init = |e: hornbeam_python::error::PyErrInfo| LoadError::Init(e.traceback_or_message());
        let prepared = (|| {
            call::extend_sys_path(&spec.app.paths, &spec.app.site_dirs).map_err(init)?;
            let app = AppRef::of(&spec.app).load()?;
            // hface handlers run on the same loop, behind an adapter that groups a
            // connection's requests into one HTTPConnection.
            let glue = match spec.app.interface {
                Interface::Hface => "hornbeam_hface",
                _ => "hornbeam_asgi",
            };
            let glue = call::import(glue).map_err(init)?;
            let serve = call::getattr_path(glue.clone(), "serve").map_err(init)?;
            let disconnected = call::getattr_path(glue, "ClientDisconnected").map_err(init)?;
            let types = AsgiTypes::create().map_err(init)?;
            let scopes = ScopeBuilder::new(&spec.root_path, &EXTENSIONS).map_err(init)?;
            let host = crate::agent::enter(&spec.app.agents).map_err(init)?;
            Ok((app, serve, disconnected, types, scopes, host))
        })();
        let (app, serve, disconnected, types, scopes, host) = match prepared {
            Ok(parts) => parts,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let native = match types.native(shared.clone(), scopes, disconnected, ready) {
            Ok(native) => native,
            Err(e) => {
                shared
                    .log
                    .error(&format!("cannot start an ASGI worker: {}", e.traceback_or_message()));
                return;
            }
        };
        let lifespan = match spec.app.lifespan {
            Lifespan::Auto => "auto",
            Lifespan::On => "on",
            Lifespan::Off => "off",
        };
        let outcome = (|| {
            let args = call::tuple([
                native.clone(),
                app,
                call::new_str(lifespan)?,
                call::new_float(spec.app.shutdown_timeout.as_secs_f64())?,
            ])?;
            call::call(&serve, &args, None)
        })();
        if let Err(e) = outcome {
            let text = e.traceback_or_message();
            // Before ready() this is a start-up failure; after, the loop died.
            let reported = pytypes::report_failure(&native, LoadError::Init(text.clone()));
            if !reported && !text.contains("KeyboardInterrupt") {
                shared.log.error(&format!("ASGI worker loop failed:\n{text}"));
            }
        }
        drop(native);
        drop(host);
    }
}
