//! Releasing the GIL around blocking Rust code (`Py_BEGIN_ALLOW_THREADS`).
use pyo3::ffi;

/// Restores the saved thread state when dropped, so a panic inside the closure still
/// gives the GIL back before unwinding further.
struct Restore(*mut ffi::PyThreadState);

impl Drop for Restore {
    fn drop(&mut self) {
        // SAFETY: `self.0` is the state this thread saved in `allow_threads`.
        unsafe { ffi::PyEval_RestoreThread(self.0) }
    }
}

/// Runs `f` with the current thread's GIL released, then takes it back.
///
/// # Safety
/// The current thread holds its interpreter's GIL, and `f` touches no Python object.
pub unsafe fn allow_threads<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: the caller keeps the contract above: The current thread holds its interpreter's GIL,
    // and `f` touches no Python object.
    unsafe {
        let _restore = Restore(ffi::PyEval_SaveThread());
        f()
    }
}
