//! The Python exception currently raised, captured as plain Rust data.
use crate::object::PyOwned;
use pyo3::ffi;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyErrInfo {
    /// The exception class's `__name__`, e.g. `ZeroDivisionError`.
    pub type_name: String,
    /// `str(exception)`.
    pub message: String,
    /// `traceback.format_exception(exception)`, joined.
    pub traceback: String,
}

impl PyErrInfo {
    /// Takes (and clears) the raised exception.
    ///
    /// # Safety
    /// The current thread holds the GIL of the interpreter that raised it.
    pub unsafe fn fetch() -> PyErrInfo {
        // SAFETY: the caller keeps the contract above: The current thread holds the GIL of the
        // interpreter that raised it.
        unsafe {
            let Some(exc) = PyOwned::from_owned(ffi::PyErr_GetRaisedException()) else {
                return PyErrInfo {
                    type_name: "SystemError".into(),
                    message: "an error was reported but no Python exception is set".into(),
                    traceback: String::new(),
                };
            };
            let type_name = PyOwned::from_owned(ffi::PyType_GetName(ffi::Py_TYPE(exc.as_ptr())))
                .and_then(|name| str_of(&name))
                .unwrap_or_else(|| "BaseException".into());
            let message = PyOwned::from_owned(ffi::PyObject_Str(exc.as_ptr()))
                .and_then(|s| str_of(&s))
                .unwrap_or_default();
            let traceback = format_traceback(&exc).unwrap_or_default();
            ffi::PyErr_Clear();
            PyErrInfo { type_name, message, traceback }
        }
    }

    /// The traceback when Python gave one, else `Type: message`.
    pub fn traceback_or_message(&self) -> String {
        if self.traceback.is_empty() {
            format!("{}: {}", self.type_name, self.message)
        } else {
            self.traceback.clone()
        }
    }

    /// A Python error made up by Rust (a bad argument, an unconvertible value).
    pub fn new(type_name: &str, message: impl Into<String>) -> PyErrInfo {
        PyErrInfo { type_name: type_name.into(), message: message.into(), traceback: String::new() }
    }
}

/// The UTF-8 contents of a `str` object (`None` if it is not one).
///
/// # Safety
/// GIL held.
pub unsafe fn str_of(obj: &PyOwned) -> Option<String> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        let mut len: ffi::Py_ssize_t = 0;
        let data = ffi::PyUnicode_AsUTF8AndSize(obj.as_ptr(), &mut len);
        if data.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let bytes = std::slice::from_raw_parts(data as *const u8, len as usize);
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
}

unsafe fn format_traceback(exc: &PyOwned) -> Option<String> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let module = PyOwned::from_owned(ffi::PyImport_ImportModule(c"traceback".as_ptr()))?;
        let format = PyOwned::from_owned(ffi::PyObject_GetAttrString(
            module.as_ptr(),
            c"format_exception".as_ptr(),
        ))?;
        let lines = PyOwned::from_owned(ffi::PyObject_CallOneArg(format.as_ptr(), exc.as_ptr()))?;
        let empty = PyOwned::from_owned(ffi::PyUnicode_FromStringAndSize(c"".as_ptr(), 0))?;
        let joined = PyOwned::from_owned(ffi::PyUnicode_Join(empty.as_ptr(), lines.as_ptr()))?;
        let out = str_of(&joined);
        ffi::PyErr_Clear();
        out
    }
}

/// The built-in exception classes Hornbeam raises, so that no caller needs the C API's
/// class pointers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exc {
    AssertionError,
    ConnectionError,
    EOFError,
    IndexError,
    KeyboardInterrupt,
    OSError,
    OverflowError,
    RuntimeError,
    SystemError,
    TypeError,
    ValueError,
}

impl Exc {
    /// The class object. Built-in classes live as long as the interpreter.
    pub fn class(self) -> *mut ffi::PyObject {
        // SAFETY: reads the pointer stored in a `static mut` that libpython exports;
        // libpython sets these when it loads and never writes them again.
        unsafe {
            match self {
                Exc::AssertionError => ffi::PyExc_AssertionError,
                Exc::ConnectionError => ffi::PyExc_ConnectionError,
                Exc::EOFError => ffi::PyExc_EOFError,
                Exc::IndexError => ffi::PyExc_IndexError,
                Exc::KeyboardInterrupt => ffi::PyExc_KeyboardInterrupt,
                Exc::OSError => ffi::PyExc_OSError,
                Exc::OverflowError => ffi::PyExc_OverflowError,
                Exc::RuntimeError => ffi::PyExc_RuntimeError,
                Exc::SystemError => ffi::PyExc_SystemError,
                Exc::TypeError => ffi::PyExc_TypeError,
                Exc::ValueError => ffi::PyExc_ValueError,
            }
        }
    }
}

/// Raises a built-in exception; returns `None` for the C-API "raised" convention.
///
/// # Safety
/// GIL held.
pub unsafe fn raise(exc: Exc, message: &str) -> Option<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe { raise_class(exc.class(), message) }
}

/// Raises an instance of `class` (an exception class made in Python or by Hornbeam).
///
/// # Safety
/// GIL held; `class` is an exception class.
pub unsafe fn raise_class(class: *mut ffi::PyObject, message: &str) -> Option<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held; `class` is an exception class.
    unsafe {
        match crate::call::new_str(message) {
            Ok(text) => ffi::PyErr_SetObject(class, text.as_ptr()),
            Err(_) => ffi::PyErr_SetNone(class),
        }
        None
    }
}
