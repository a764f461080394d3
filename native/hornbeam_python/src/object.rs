//! `PyOwned`: a strong reference to a Python object.
//!
//! Invariant: a `PyOwned` is created, used and dropped on the thread that owns its
//! interpreter, while that thread holds the interpreter's GIL. The raw pointer inside
//! makes the type `!Send` and `!Sync`, so the compiler keeps it on its thread; holding
//! the GIL at drop time is the caller's duty (workers drop objects before detaching).
use pyo3::ffi;
use std::ptr::NonNull;

pub struct PyOwned(NonNull<ffi::PyObject>);

impl PyOwned {
    /// Takes ownership of a new reference; `None` for NULL (a Python error is set).
    ///
    /// # Safety
    /// `ptr` is NULL or a new (owned) reference, and the GIL of its interpreter is held.
    pub unsafe fn from_owned(ptr: *mut ffi::PyObject) -> Option<Self> {
        NonNull::new(ptr).map(PyOwned)
    }

    /// Takes a new reference to a borrowed object; `None` for NULL.
    ///
    /// # Safety
    /// `ptr` is NULL or a valid object, and the GIL of its interpreter is held.
    pub unsafe fn from_borrowed(ptr: *mut ffi::PyObject) -> Option<Self> {
        // SAFETY: the caller keeps the contract above: `ptr` is NULL or a valid object, and the GIL
        // of its interpreter is held.
        unsafe {
            let owned = NonNull::new(ptr)?;
            ffi::Py_IncRef(ptr);
            Some(PyOwned(owned))
        }
    }

    pub fn as_ptr(&self) -> *mut ffi::PyObject {
        self.0.as_ptr()
    }

    /// Gives the reference away (to a function that steals it).
    pub fn into_ptr(self) -> *mut ffi::PyObject {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        ptr
    }
}

impl Clone for PyOwned {
    fn clone(&self) -> Self {
        // SAFETY: same thread and GIL as `self`, by the type's invariant.
        unsafe { ffi::Py_IncRef(self.as_ptr()) };
        PyOwned(self.0)
    }
}

impl Drop for PyOwned {
    fn drop(&mut self) {
        // SAFETY: same thread and GIL as the reference's creation, by the type's invariant.
        unsafe { ffi::Py_DecRef(self.as_ptr()) }
    }
}
