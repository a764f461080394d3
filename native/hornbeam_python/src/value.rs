//! Reading and making the Python values the runners trade in: `bytes` (and anything
//! with the buffer protocol), `str`, dict items, tuple items, type names. Every function
//! needs the GIL of the interpreter that owns the objects; none keeps a reference past
//! its call.
use crate::call::{owned, PyResult};
use crate::error::{str_of, PyErrInfo};
use crate::object::PyOwned;
use bytes::Bytes;
use pyo3::ffi;

/// A new `bytes` object.
///
/// # Safety
/// GIL held.
pub unsafe fn new_bytes(b: &[u8]) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe { owned(ffi::PyBytes_FromStringAndSize(b.as_ptr().cast(), b.len() as ffi::Py_ssize_t)) }
}

/// `dict[key] = value`.
///
/// # Safety
/// GIL held.
pub unsafe fn dict_set(dict: &PyOwned, key: &PyOwned, value: &PyOwned) -> PyResult<()> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        if ffi::PyDict_SetItem(dict.as_ptr(), key.as_ptr(), value.as_ptr()) != 0 {
            return Err(PyErrInfo::fetch());
        }
        Ok(())
    }
}

/// The contents of a `bytes` object (`None`, no exception set, for anything else).
///
/// # Safety
/// GIL held; the slice must not outlive `obj`.
pub unsafe fn bytes_of<'a>(obj: *mut ffi::PyObject) -> Option<&'a [u8]> {
    // SAFETY: the caller keeps the contract above: GIL held; the slice must not outlive `obj`.
    unsafe {
        if ffi::PyBytes_Check(obj) == 0 {
            return None;
        }
        let len = ffi::PyBytes_Size(obj) as usize;
        if len == 0 {
            return Some(&[]);
        }
        Some(std::slice::from_raw_parts(ffi::PyBytes_AsString(obj) as *const u8, len))
    }
}

/// The bytes of a `bytes`, `bytearray` or `memoryview`, copied for the engine (`None`,
/// no exception set, for anything else, `str` included).
///
/// # Safety
/// GIL held.
pub unsafe fn bytes_like(obj: *mut ffi::PyObject) -> Option<Bytes> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        if let Some(b) = bytes_of(obj) {
            return Some(Bytes::copy_from_slice(b));
        }
        if ffi::PyObject_CheckBuffer(obj) == 0 || ffi::PyUnicode_Check(obj) != 0 {
            return None;
        }
        let mut view: ffi::Py_buffer = std::mem::zeroed();
        if ffi::PyObject_GetBuffer(obj, &mut view, ffi::PyBUF_SIMPLE) != 0 {
            ffi::PyErr_Clear();
            return None;
        }
        let out = Bytes::copy_from_slice(std::slice::from_raw_parts(
            view.buf as *const u8,
            view.len as usize,
        ));
        ffi::PyBuffer_Release(&mut view);
        Some(out)
    }
}

/// A `str` as UTF-8 (`None`, no exception set, for anything else or lone surrogates).
///
/// # Safety
/// GIL held.
pub unsafe fn utf8(obj: *mut ffi::PyObject) -> Option<String> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        if ffi::PyUnicode_Check(obj) == 0 {
            return None;
        }
        let mut len: ffi::Py_ssize_t = 0;
        let data = ffi::PyUnicode_AsUTF8AndSize(obj, &mut len);
        if data.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(
            String::from_utf8_lossy(std::slice::from_raw_parts(data as *const u8, len as usize))
                .into_owned(),
        )
    }
}

/// The name of the object's type, for error messages.
///
/// # Safety
/// GIL held.
pub unsafe fn type_name(obj: *mut ffi::PyObject) -> String {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        let name =
            PyOwned::from_owned(ffi::PyType_GetName(ffi::Py_TYPE(obj))).and_then(|n| str_of(&n));
        ffi::PyErr_Clear();
        name.unwrap_or_else(|| "object".into())
    }
}

/// The items of a tuple, borrowed.
///
/// # Safety
/// GIL held; `args` is a live tuple.
pub unsafe fn tuple_items(args: *mut ffi::PyObject) -> Vec<*mut ffi::PyObject> {
    // SAFETY: the caller keeps the contract above: GIL held; `args` is a live tuple.
    unsafe { (0..ffi::PyTuple_Size(args)).map(|i| ffi::PyTuple_GetItem(args, i)).collect() }
}
