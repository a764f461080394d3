//! Interrupting Python code that runs on an interpreter's own thread, from any thread.
//!
//! `PyThreadState_SetAsyncExc` works on threads of the *current* interpreter and needs
//! its GIL, so the interrupting thread makes a temporary thread state in the target
//! interpreter, takes that GIL (the running code yields it every switch interval),
//! schedules `KeyboardInterrupt` in the worker thread, and deletes its state.
//!
//! `KeyboardInterrupt` derives from `BaseException`, so `except Exception` in user code
//! does not swallow it; static exception types are shared by all interpreters.
//! Code blocked inside C (a `time.sleep`) is interrupted when it next runs bytecode.
use pyo3::ffi;
use std::os::raw::{c_long, c_ulong};
use std::sync::Mutex;

pub struct InterruptHandle {
    interp: usize,
    thread_ident: c_ulong,
    /// `true` while the interpreter exists. Held while a temporary thread state lives in
    /// the interpreter, so `Py_EndInterpreter` never meets a foreign thread state.
    alive: Mutex<bool>,
}

impl InterruptHandle {
    pub(crate) fn new(interp: *mut ffi::PyInterpreterState, thread_ident: c_ulong) -> Self {
        InterruptHandle { interp: interp as usize, thread_ident, alive: Mutex::new(true) }
    }

    /// Raises `KeyboardInterrupt` in the interpreter's thread if `still_wanted()`,
    /// evaluated while holding that interpreter's GIL, says so. Returns whether it did.
    ///
    /// Must not be called by a thread that holds the target's GIL (it would deadlock),
    /// nor from a BEAM scheduler (it may wait for a GIL switch interval): callers use a
    /// short-lived helper thread.
    pub fn raise_keyboard_interrupt(&self, still_wanted: impl FnOnce() -> bool) -> bool {
        let alive = self.alive.lock().unwrap_or_else(|p| p.into_inner());
        if !*alive {
            return false;
        }
        // SAFETY: the interpreter is alive (checked under `alive`, which `retire` needs
        // before the interpreter can end); the temporary state is created, used and
        // deleted on this thread while holding the target's GIL.
        unsafe {
            let tstate = ffi::PyThreadState_New(self.interp as *mut ffi::PyInterpreterState);
            if tstate.is_null() {
                return false;
            }
            ffi::PyEval_RestoreThread(tstate);
            let raised = still_wanted()
                && ffi::PyThreadState_SetAsyncExc(
                    self.thread_ident as c_long,
                    ffi::PyExc_KeyboardInterrupt,
                ) == 1;
            ffi::PyThreadState_Clear(tstate);
            ffi::PyThreadState_DeleteCurrent();
            raised
        }
    }

    /// Drops a pending asynchronous exception of the worker thread. The worker calls this,
    /// holding its GIL, after a job that was cancelled, so an interrupt aimed at that job
    /// cannot fire in the next one.
    pub fn clear_pending(&self) {
        // SAFETY: called on the worker thread with its interpreter's GIL held.
        unsafe {
            ffi::PyThreadState_SetAsyncExc(self.thread_ident as c_long, std::ptr::null_mut());
        }
    }

    pub(crate) fn retire(&self) {
        *self.alive.lock().unwrap_or_else(|p| p.into_inner()) = false;
    }
}
