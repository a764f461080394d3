//! Helpers for the C-API tables behind Hornbeam's Python objects: method tables of the
//! built-in modules (`_erlang`, `_hornbeam_reactor`), and the heap types defined per
//! interpreter with `PyType_FromSpec` (`ReactorBuffer`, the WSGI `StartResponse`,
//! `Input` and `ErrorStream`).
use pyo3::ffi;
use std::ffi::c_void;

/// A `PyMethodDef` table entry.
macro_rules! method {
    ($name:literal, $field:ident: $f:expr, $flags:expr, $doc:literal) => {
        pyo3::ffi::PyMethodDef {
            ml_name: $name.as_ptr(),
            ml_meth: pyo3::ffi::PyMethodDefPointer { $field: $f },
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
    // SAFETY: the caller keeps the contract above: GIL held; `obj` is an instance of a heap type
    // whose own fields were already released; it is not used afterwards.
    unsafe {
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
}

/// A `PyType_Slot` table entry: `slot!(Py_tp_dealloc, dealloc)`,
/// `slot!(Py_tp_doc, doc c"...")`, `slot!(end)`.
macro_rules! slot {
    (end) => {
        pyo3::ffi::PyType_Slot { slot: 0, pfunc: std::ptr::null_mut() }
    };
    ($slot:ident, doc $text:literal) => {
        pyo3::ffi::PyType_Slot {
            slot: pyo3::ffi::$slot,
            pfunc: $text.as_ptr() as *mut std::ffi::c_void,
        }
    };
    ($slot:ident, $f:expr) => {
        pyo3::ffi::PyType_Slot { slot: pyo3::ffi::$slot, pfunc: $f as *mut std::ffi::c_void }
    };
}
pub(crate) use slot;

/// The `PyType_Spec` of a heap type Python code can use but not instantiate (its
/// objects come from Rust only) nor change: `sealed_spec!(c"mod.Name", Object, SLOTS)`.
macro_rules! sealed_spec {
    ($name:literal, $object:ty, $slots:ident) => {
        pyo3::ffi::PyType_Spec {
            name: $name.as_ptr(),
            basicsize: std::mem::size_of::<$object>() as std::ffi::c_int,
            itemsize: 0,
            flags: (pyo3::ffi::Py_TPFLAGS_DEFAULT
                | pyo3::ffi::Py_TPFLAGS_IMMUTABLETYPE
                | pyo3::ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION) as u32,
            slots: $slots.get().cast::<pyo3::ffi::PyType_Slot>(),
        }
    };
}
pub(crate) use sealed_spec;

/// The `PyModuleDef` of a built-in module with multi-phase init (its `SLOTS` declare
/// per-interpreter-GIL support): `module_def!(c"_name", c"doc", METHODS, SLOTS)`.
macro_rules! module_def {
    ($name:literal, $doc:literal, $methods:ident, $slots:ident) => {
        pyo3::ffi::PyModuleDef {
            m_base: pyo3::ffi::PyModuleDef_HEAD_INIT,
            m_name: $name.as_ptr(),
            m_doc: $doc.as_ptr(),
            m_size: 0,
            m_methods: $methods.get().cast::<pyo3::ffi::PyMethodDef>(),
            m_slots: $slots.get().cast::<pyo3::ffi::PyModuleDef_Slot>(),
            m_traverse: None,
            m_clear: None,
            m_free: None,
        }
    };
}
pub(crate) use module_def;
