//! A context's OS thread: it owns one interpreter and runs jobs from its channel.
use super::job::{Job, JobKind, Msg};
use super::shared::Shared;
use crate::atoms;
use crate::guard;
use crate::host::{self, ErlangHost};
use crate::interp_thread::{self, OnFailure, Ready};
use crate::term::{self, ConvError, PyTypes};
use hornbeam_python::call::{self, PyResult};
use hornbeam_python::error::{raise, Exc, PyErrInfo};
use hornbeam_python::interp::{Interpreter, Mode};
use hornbeam_python::object::PyOwned;
use pyo3::ffi;
use rustler::env::SavedTerm;
use rustler::{Atom, Encoder, Env, LocalPid, OwnedEnv, Term};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct WorkerConfig {
    pub mode: Mode,
    /// The `py_context` process: it runs Erlang functions Python calls.
    pub owner: LocalPid,
    /// Directories put in front of `sys.path`.
    pub paths: Vec<String>,
    /// Site directories (a venv's site-packages), added with `site.addsitedir`.
    pub site_dirs: Vec<String>,
    /// How long the idle thread polls for the next job before it sleeps.
    pub spin: Duration,
}

/// The worker's state, reachable from the `_erlang` module's functions as this
/// thread's `ErlangHost` while the worker runs. Field order is drop order: Python objects
/// first, the interpreter last.
pub struct WorkerCtx {
    pub types: PyTypes,
    globals: PyOwned,
    rx: Receiver<Msg>,
    pub shared: Arc<Shared>,
    owner: LocalPid,
    next_callback: Cell<u64>,
    /// `erlang.call` replies that arrived while a nested wait was in progress, kept for
    /// the waiter further out (callbacks run concurrently and finish in any order).
    early_replies: RefCell<HashMap<u64, (OwnedEnv, SavedTerm)>>,
    /// Callbacks being waited for, innermost last.
    waiting: RefCell<Vec<u64>>,
    stopping: Cell<bool>,
    spin: Duration,
    interp: Interpreter,
}

/// Starts a worker thread and waits until its interpreter is ready.
pub fn spawn(config: WorkerConfig) -> Result<(Arc<Shared>, i64), String> {
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared::new(tx));
    let thread_shared = shared.clone();
    let mode = config.mode;
    // The thread is detached: it ends when its owner stops it, or by itself after a
    // failed start-up.
    let (_detached, interp_id) = interp_thread::spawn(
        "hornbeam-py-ctx",
        mode,
        OnFailure::Detach,
        |e| e,
        move |interp, ready| run(config, interp, thread_shared, rx, ready),
    )?;
    Ok((shared, interp_id))
}

fn run(
    config: WorkerConfig,
    interp: Interpreter,
    shared: Arc<Shared>,
    rx: Receiver<Msg>,
    ready: Ready<i64, String>,
) {
    let _ = shared.interrupt.set(interp.interrupt_handle());
    // SAFETY: the interpreter was just created on this thread and is attached.
    let setup = unsafe { prepare(&config) };
    let (types, globals) = match setup {
        Ok(ready_parts) => ready_parts,
        Err(e) => {
            let _ = ready.send(Err(format!("{}: {}\n{}", e.type_name, e.message, e.traceback)));
            return;
        }
    };
    let interp_id = interp.id();
    let ctx = Rc::new(WorkerCtx {
        types,
        globals,
        rx,
        shared,
        owner: config.owner,
        next_callback: Cell::new(0),
        early_replies: RefCell::new(HashMap::new()),
        waiting: RefCell::new(Vec::new()),
        stopping: Cell::new(false),
        spin: config.spin,
        interp,
    });
    let host = host::enter(ctx.clone());
    let _ = ready.send(Ok(interp_id));

    ctx.serve();

    drop(host);
    ctx.refuse_queued_jobs();
    ctx.interp.attach();
    drop(ctx); // Python objects, then the interpreter, on this thread with the GIL
}

/// Puts the configured paths on `sys.path` and loads the `erlang` classes.
unsafe fn prepare(config: &WorkerConfig) -> PyResult<(PyTypes, PyOwned)> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        call::extend_sys_path(&config.paths, &config.site_dirs)?;
        let types = PyTypes::load()?;
        let globals = call::new_globals("__hornbeam__")?;
        Ok((types, globals))
    }
}

/// Why a job failed, before it becomes the `{error, Reason}` term.
enum Failure {
    Python(PyErrInfo),
    BadArg(ConvError),
    Result(ConvError),
}

impl From<PyErrInfo> for Failure {
    fn from(e: PyErrInfo) -> Self {
        Failure::Python(e)
    }
}

impl Failure {
    fn to_term<'a>(&self, env: Env<'a>) -> Term<'a> {
        let reason = match self {
            Failure::Python(e) => {
                let type_atom =
                    Atom::from_str(env, &e.type_name).unwrap_or_else(|_| atoms::python());
                (atoms::python(), type_atom, e.message.as_str(), e.traceback.as_str()).encode(env)
            }
            Failure::BadArg(c) => (atoms::badarg(), c.reason(env)).encode(env),
            Failure::Result(c) => c.reason(env),
        };
        (atoms::error(), reason).encode(env)
    }
}

impl WorkerCtx {
    fn serve(&self) {
        while !self.stopping.get() {
            match self.interp.detached(|| self.next_message()) {
                Ok(Msg::Job(job)) => self.run_job(job),
                Ok(Msg::Stop) | Err(_) => break,
                Ok(Msg::CallbackReply { .. }) | Ok(Msg::Wake) => {} // stale: its waiter is gone
            }
        }
    }

    /// The next message, GIL released. Spins briefly before blocking: a caller that
    /// sends calls back to back finds the thread awake, which saves a futex wake-up.
    fn next_message(&self) -> Result<Msg, mpsc::RecvError> {
        if !self.spin.is_zero() {
            let deadline = Instant::now() + self.spin;
            loop {
                match self.rx.try_recv() {
                    Ok(msg) => return Ok(msg),
                    Err(mpsc::TryRecvError::Disconnected) => return Err(mpsc::RecvError),
                    Err(mpsc::TryRecvError::Empty) if Instant::now() < deadline => {
                        std::hint::spin_loop()
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
        }
        self.rx.recv()
    }

    /// Runs one job and replies `{Ref, Result}` to its caller unless it was cancelled.
    pub fn run_job(&self, job: Job) {
        let Job { id, kind, reply_to, mut env, reply_ref } = job;
        if !self.shared.begin(id) {
            return;
        }
        self.shared.calls_run.fetch_add(1, Ordering::Relaxed);
        // SAFETY: jobs run on the context's own thread outside `detached`, so its
        // interpreter is attached.
        let reply = catch_unwind(AssertUnwindSafe(|| unsafe { self.execute(&env, kind) }))
            .unwrap_or_else(|panic| env.run(|e| env.save(guard::panic_term(e, panic))));
        let cancelled = self.shared.finish(id, || {
            let _ = env.send_and_clear(&reply_to, |e| (reply_ref.load(e), reply.load(e)));
        });
        if cancelled {
            // An interrupt aimed at this job must not fire in the next one.
            if let Some(handle) = self.shared.interrupt.get() {
                handle.clear_pending();
            }
        }
    }

    unsafe fn execute(&self, env: &OwnedEnv, kind: JobKind) -> SavedTerm {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            env.run(|e| {
                let term = self.dispatch(e, kind).unwrap_or_else(|failure| failure.to_term(e));
                env.save(term)
            })
        }
    }

    unsafe fn dispatch<'a>(&self, e: Env<'a>, kind: JobKind) -> Result<Term<'a>, Failure> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            match kind {
                JobKind::Call { module, function, args, kwargs } => {
                    let callable = call::resolve(&module, &function)?;
                    let py_args =
                        term::to_py_args(&self.types, args.load(e)).map_err(Failure::BadArg)?;
                    let py_kwargs =
                        term::to_py_kwargs(&self.types, kwargs.load(e)).map_err(Failure::BadArg)?;
                    let result = call::call(&callable, &py_args, py_kwargs.as_ref())?;
                    self.ok_value(e, &result)
                }
                JobKind::Eval { code, locals } => {
                    let locals = locals.load(e);
                    let value = if locals.map_size().unwrap_or(0) == 0 {
                        call::eval(&code, &self.globals, &self.globals)?
                    } else {
                        let dict =
                            term::to_py(&self.types, locals, false, 0).map_err(Failure::BadArg)?;
                        call::eval(&code, &self.globals, &dict)?
                    };
                    self.ok_value(e, &value)
                }
                JobKind::Exec { code } => {
                    call::exec(&code, &self.globals)?;
                    Ok(atoms::ok().encode(e))
                }
            }
        }
    }

    unsafe fn ok_value<'a>(&self, e: Env<'a>, value: &PyOwned) -> Result<Term<'a>, Failure> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let term = term::from_py(&self.types, e, value.as_ptr(), 0).map_err(Failure::Result)?;
            Ok((atoms::ok(), term).encode(e))
        }
    }

    /// Waits for the reply to callback `id`, running jobs that arrive meanwhile.
    unsafe fn await_callback(&self, id: u64) -> Option<PyOwned> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let my_job = self.shared.innermost_running();
            loop {
                if let Some((env, reply)) = self.early_replies.borrow_mut().remove(&id) {
                    return env.run(|e| host::callback_result(&self.types, reply.load(e)));
                }
                if my_job.is_some_and(|j| self.shared.is_cancelled(j)) {
                    return raise(Exc::KeyboardInterrupt, "the call was cancelled");
                }
                match self.interp.detached(|| self.rx.recv()) {
                    Ok(Msg::CallbackReply { id: reply_id, env, reply }) => {
                        if reply_id == id {
                            return env.run(|e| host::callback_result(&self.types, reply.load(e)));
                        }
                        if self.waiting.borrow().contains(&reply_id) {
                            self.early_replies.borrow_mut().insert(reply_id, (env, reply));
                        } // else its waiter gave up (cancelled): drop it
                    }
                    Ok(Msg::Wake) => {}
                    Ok(Msg::Job(job)) => self.run_job(job),
                    Ok(Msg::Stop) | Err(_) => {
                        self.stopping.set(true);
                        return raise(Exc::RuntimeError, "the context is stopping");
                    }
                }
            }
        }
    }

    /// Jobs still queued when the context stops get `{error, context_stopped}` at once
    /// instead of waiting for their timeout.
    fn refuse_queued_jobs(&self) {
        while let Ok(msg) = self.rx.try_recv() {
            if let Msg::Job(Job { reply_to, mut env, reply_ref, .. }) = msg {
                let _ = env.send_and_clear(&reply_to, |e| {
                    (reply_ref.load(e), (atoms::error(), atoms::context_stopped()))
                });
            }
        }
    }
}

impl ErlangHost for WorkerCtx {
    fn types(&self) -> &PyTypes {
        &self.types
    }

    fn owner(&self) -> &LocalPid {
        &self.owner
    }

    /// `erlang.call(name, *args)`: asks the owner process to run the registered Erlang
    /// function and waits, GIL released, for its answer. Jobs that arrive meanwhile run
    /// nested, so a function that calls back into this context does not deadlock.
    /// Follows the C-API convention: `None` means a Python exception is set.
    ///
    /// # Safety
    /// On this worker's thread, GIL held; `args` are borrowed objects.
    unsafe fn call_erlang(&self, name: &str, args: &[*mut ffi::PyObject]) -> Option<PyOwned> {
        // SAFETY: the caller keeps the contract above: On this worker's thread, GIL held; `args`
        // are borrowed objects.
        unsafe {
            let id = self.next_callback.get() + 1;
            self.next_callback.set(id);
            if let Err(raised) = host::request_callback(&self.types, &self.owner, id, name, args) {
                return raised;
            }
            self.waiting.borrow_mut().push(id);
            let outcome = self.await_callback(id);
            self.waiting.borrow_mut().retain(|&w| w != id);
            outcome
        }
    }
}
