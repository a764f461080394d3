//! Helpers for the heap types Hornbeam defines per interpreter with `PyType_FromSpec`
//! (`ReactorBuffer`, the WSGI `StartResponse`, `Input` and `ErrorStream`).
use hornbeam_python::ffi;
use std::ffi::c_void;

/// A `PyMethodDef` table entry.
macro_rules! method {
    ($name:literal, $field:ident: $f:expr, $flags:expr, $doc:literal) => {
        hornbeam_python::ffi::PyMethodDef {
            ml_name: $name.as_ptr(),
            ml_meth: hornbeam_python::ffi::PyMethodDefPointer { $field: $f },
            ml_flags: $flags,
            ml_doc: $doc.as_ptr(),
        }
    };
}
pub(crate) use method;

/// The end of every `tp_dealloc`: frees the object's memory with its type's `tp_free`
/// and drops the reference each instance of a heap type holds on its type.
///
/// # Safety
/// GIL held; `obj` is an instance of a heap type whose own fields were already released;
/// it is not used afterwards.
pub unsafe fn free_instance(obj: *mut ffi::PyObject) {
    let tp = ffi::Py_TYPE(obj);
    let free = ffi::PyType_GetSlot(tp, ffi::Py_tp_free);
    if free.is_null() {
        ffi::PyObject_Free(obj.cast());
    } else {
        let free: unsafe extern "C" fn(*mut c_void) = std::mem::transmute(free);
        free(obj.cast());
    }
    ffi::Py_DecRef(tp.cast());
}
