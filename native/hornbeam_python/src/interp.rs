//! One interpreter bound to the current OS thread: an OWN_GIL sub-interpreter, or a
//! thread state of the main interpreter.
//!
//! Lifecycle of a sub-interpreter (docs/architecture.md, "Embedding rules", 2):
//! `PyThreadState_New(main)` + `PyEval_RestoreThread` -> `Py_NewInterpreterFromConfig`
//! (own GIL) -> work -> `Py_EndInterpreter` -> restore and delete the main thread state.
//!
//! Invariant: an `Interpreter` is created, attached, detached and dropped on one thread
//! (it is `!Send`). "Attached" means this thread holds the interpreter's GIL.
use crate::interrupt::InterruptHandle;
use crate::runtime::{self, check};
use pyo3::ffi;
use std::cell::Cell;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// An OWN_GIL sub-interpreter: its own modules, globals and GIL.
    Sub,
    /// A thread of the main interpreter: shares the main GIL and `sys.modules`, for
    /// extension modules that refuse sub-interpreters.
    Main,
}

pub struct Interpreter {
    mode: Mode,
    /// This thread's state in the interpreter that runs the work.
    tstate: *mut ffi::PyThreadState,
    /// Sub mode only: this thread's state in the main interpreter, needed to create and
    /// to end the sub-interpreter.
    main_tstate: *mut ffi::PyThreadState,
    attached: Cell<bool>,
    interrupt: Arc<InterruptHandle>,
}

impl Interpreter {
    /// Creates the interpreter on the current thread and returns it attached.
    pub fn create(mode: Mode) -> Result<Interpreter, String> {
        let rt = runtime::get().ok_or("the Python runtime is not started")?;
        // SAFETY: the runtime is initialised; the thread states made here belong to this
        // thread and are released in `Drop` on this same thread.
        unsafe {
            let main_tstate = ffi::PyThreadState_New(rt.main_interpreter());
            if main_tstate.is_null() {
                return Err("PyThreadState_New failed".into());
            }
            ffi::PyEval_RestoreThread(main_tstate);
            match mode {
                Mode::Main => Ok(Self::assemble(mode, main_tstate, std::ptr::null_mut())),
                Mode::Sub => {
                    let config = ffi::PyInterpreterConfig {
                        use_main_obmalloc: 0,
                        allow_fork: 0,
                        // subprocess works: the child execs at once.
                        allow_exec: 1,
                        allow_threads: 1,
                        // Daemon threads would outlive Py_EndInterpreter.
                        allow_daemon_threads: 0,
                        check_multi_interp_extensions: 1,
                        gil: ffi::PyInterpreterConfig_OWN_GIL,
                    };
                    let mut sub_tstate: *mut ffi::PyThreadState = std::ptr::null_mut();
                    let status = ffi::Py_NewInterpreterFromConfig(&mut sub_tstate, &config);
                    if let Err(e) = check(status, "Py_NewInterpreterFromConfig") {
                        // On failure the main thread state is current again.
                        ffi::PyThreadState_Clear(main_tstate);
                        ffi::PyThreadState_DeleteCurrent();
                        return Err(e);
                    }
                    // The new interpreter's state is current and holds its own GIL; the
                    // main state was detached by Py_NewInterpreterFromConfig.
                    Ok(Self::assemble(mode, sub_tstate, main_tstate))
                }
            }
        }
    }

    unsafe fn assemble(
        mode: Mode,
        tstate: *mut ffi::PyThreadState,
        main_tstate: *mut ffi::PyThreadState,
    ) -> Interpreter {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let interp = ffi::PyThreadState_GetInterpreter(tstate);
            let ident = ffi::PyThread_get_thread_ident();
            Interpreter {
                mode,
                tstate,
                main_tstate: if mode == Mode::Sub { main_tstate } else { std::ptr::null_mut() },
                attached: Cell::new(true),
                interrupt: Arc::new(InterruptHandle::new(interp, ident)),
            }
        }
    }

    /// `PyInterpreterState_GetID` of this interpreter (0 for the main interpreter).
    pub fn id(&self) -> i64 {
        // SAFETY: the interpreter lives as long as `self`.
        unsafe { ffi::PyInterpreterState_GetID(ffi::PyThreadState_GetInterpreter(self.tstate)) }
    }

    /// A handle other threads use to interrupt Python code running here.
    pub fn interrupt_handle(&self) -> Arc<InterruptHandle> {
        self.interrupt.clone()
    }

    /// Takes this interpreter's GIL on this thread.
    pub fn attach(&self) {
        if !self.attached.get() {
            // SAFETY: `tstate` belongs to this thread and is currently detached.
            unsafe { ffi::PyEval_RestoreThread(self.tstate) };
            self.attached.set(true);
        }
    }

    /// Releases the GIL (so the interrupt helper, or other main-mode threads, can run).
    pub fn detach(&self) {
        if self.attached.get() {
            // SAFETY: this thread holds the GIL through `tstate`.
            unsafe { ffi::PyEval_SaveThread() };
            self.attached.set(false);
        }
    }

    /// Runs `f` with the GIL released, then takes it back.
    pub fn detached<R>(&self, f: impl FnOnce() -> R) -> R {
        let was_attached = self.attached.get();
        self.detach();
        let out = f();
        if was_attached {
            self.attach();
        }
        out
    }
}

/// `threading.current_thread()` on a thread Python did not start registers a dummy
/// `Thread` whose cleanup runs when the thread state is cleared. In a sub-interpreter
/// that is after the `threading` module was torn down, and it prints a TypeError to
/// stderr; releasing it here, while `threading` still works, avoids that.
///
/// # Safety
/// The current thread holds the interpreter's GIL.
unsafe fn forget_dummy_thread() {
    // SAFETY: the caller keeps the contract above: The current thread holds the interpreter's GIL.
    unsafe {
        let code = c"import sys as _s\n\
_t = _s.modules.get('threading')\n\
_i = getattr(_t, '_thread_local_info', None)\n\
if _i is not None and hasattr(_i, '_track_dummy_thread_ref'):\n    del _i._track_dummy_thread_ref\n\
del _s, _t, _i\n";
        if ffi::PyRun_SimpleString(code.as_ptr()) != 0 {
            ffi::PyErr_Clear();
        }
    }
}

impl Drop for Interpreter {
    fn drop(&mut self) {
        // The interrupt helper takes the GIL while holding the liveness lock: retire it
        // with the GIL released to avoid a lock-order deadlock.
        self.detach();
        self.interrupt.retire();
        self.attach();
        // SAFETY: this thread holds the GIL through `tstate`.
        unsafe { forget_dummy_thread() };
        // SAFETY: this thread holds the GIL through `tstate`; the states are released in
        // the order docs/architecture.md prescribes and are not used afterwards.
        unsafe {
            match self.mode {
                Mode::Sub => {
                    ffi::Py_EndInterpreter(self.tstate);
                    ffi::PyEval_RestoreThread(self.main_tstate);
                    ffi::PyThreadState_Clear(self.main_tstate);
                    ffi::PyThreadState_DeleteCurrent();
                }
                Mode::Main => {
                    ffi::PyThreadState_Clear(self.tstate);
                    ffi::PyThreadState_DeleteCurrent();
                }
            }
        }
        self.attached.set(false);
    }
}
