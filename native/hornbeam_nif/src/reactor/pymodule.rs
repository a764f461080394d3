//! `_hornbeam_reactor`: the native half of `erlang.reactor`. It holds this
//! interpreter's `ReactorBuffer` type and the I/O helpers behind `Protocol.read` and
//! `Protocol.write`. Multi-phase init, per-interpreter-GIL safe.
use super::{buffer, fd_io, stats, write_requests};
use crate::pyheap::{method, module_def};
use hornbeam_python::error::{raise, Exc};
use hornbeam_python::table::FfiTable;
use pyo3::ffi;
use std::ffi::c_int;
use std::ptr;

/// `write(fd, data) -> int`: writes what the descriptor takes now (0 if it would block).
/// A closed peer raises `BrokenPipeError`/`ConnectionResetError`.
unsafe extern "C" fn write(
    _m: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        if nargs != 2 {
            raise(Exc::TypeError, "write(fd, data) takes two arguments");
            return ptr::null_mut();
        }
        let fd = ffi::PyLong_AsLong(*args);
        if fd == -1 && !ffi::PyErr_Occurred().is_null() {
            return ptr::null_mut();
        }
        let mut view = std::mem::MaybeUninit::<ffi::Py_buffer>::zeroed();
        if ffi::PyObject_GetBuffer(*args.add(1), view.as_mut_ptr(), ffi::PyBUF_SIMPLE) != 0 {
            return ptr::null_mut();
        }
        let mut view = view.assume_init();
        let data: &[u8] = if view.len > 0 {
            std::slice::from_raw_parts(view.buf as *const u8, view.len as usize)
        } else {
            &[]
        };
        let outcome = fd_io::write(fd as i32, data);
        ffi::PyBuffer_Release(&mut view);
        match outcome {
            Ok(n) => {
                stats::count_out(n);
                ffi::PyLong_FromSize_t(n)
            }
            Err(e) => raise_os_error(e),
        }
    }
}

/// `read(fd, size) -> bytes | None`: `b""` at end of stream, `None` if nothing is
/// available now.
unsafe extern "C" fn read(
    _m: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        if nargs != 2 {
            raise(Exc::TypeError, "read(fd, size) takes two arguments");
            return ptr::null_mut();
        }
        let fd = ffi::PyLong_AsLong(*args);
        let size = ffi::PyLong_AsSsize_t(*args.add(1));
        if !ffi::PyErr_Occurred().is_null() {
            return ptr::null_mut();
        }
        if size < 0 {
            raise(Exc::ValueError, "read: size must be >= 0");
            return ptr::null_mut();
        }
        match fd_io::read(fd as i32, size.max(1) as usize) {
            fd_io::ReadOutcome::Data(bytes) => {
                stats::count_in(bytes.len());
                ffi::PyBytes_FromStringAndSize(
                    bytes.as_ptr().cast(),
                    bytes.len() as ffi::Py_ssize_t,
                )
            }
            fd_io::ReadOutcome::Eof => ffi::PyBytes_FromStringAndSize(ptr::null(), 0),
            fd_io::ReadOutcome::WouldBlock => ffi::Py_NewRef(ffi::Py_None()),
            fd_io::ReadOutcome::Failed(e) => raise_os_error(e),
        }
    }
}

unsafe fn raise_os_error(e: std::io::Error) -> *mut ffi::PyObject {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let errno = e.raw_os_error().unwrap_or(libc::EIO);
        *libc::__errno_location() = errno;
        ffi::PyErr_SetFromErrno(Exc::OSError.class())
    }
}

/// `want_write(fd)`: after this turn's callbacks, arm `fd` for writing so its
/// protocol's `write_ready` runs. Raises RuntimeError off a reactor thread.
unsafe extern "C" fn want_write(
    _m: *mut ffi::PyObject,
    fd: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let fd = ffi::PyLong_AsLong(fd);
        if fd == -1 && !ffi::PyErr_Occurred().is_null() {
            return ptr::null_mut();
        }
        if !write_requests::request(fd as i32) {
            raise(Exc::RuntimeError, "want_write: this thread runs no reactor");
            return ptr::null_mut();
        }
        ffi::Py_NewRef(ffi::Py_None())
    }
}

/// `_buffer_address(obj) -> int`: where `obj`'s exported buffer lives. For tests that
/// show `memoryview(data)` shares the `ReactorBuffer`'s memory.
unsafe extern "C" fn buffer_address(
    _m: *mut ffi::PyObject,
    obj: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        match buffer::export_address(obj) {
            Some(addr) => ffi::PyLong_FromSize_t(addr),
            None => ptr::null_mut(),
        }
    }
}

unsafe extern "C" fn exec_module(module: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe { buffer::add_type(module) }
}

// The C-API tables of this file's Python objects (`FfiTable`: their address goes to
// CPython, nothing else touches them).
static METHODS: FfiTable<[ffi::PyMethodDef; 5]> = FfiTable::new([
    method!(c"write", PyCFunctionFast: write, ffi::METH_FASTCALL, c"write(fd, data) -> int: bytes written now, 0 if the fd would block."),
    method!(c"read", PyCFunctionFast: read, ffi::METH_FASTCALL, c"read(fd, size) -> bytes (b'' at end of stream) or None if nothing is available now."),
    method!(c"want_write", PyCFunction: want_write, ffi::METH_O, c"want_write(fd): arm fd for writing after this turn's callbacks."),
    method!(c"_buffer_address", PyCFunction: buffer_address, ffi::METH_O, c"_buffer_address(obj) -> int: the address of obj's exported buffer (for tests)."),
    ffi::PyMethodDef::zeroed(),
]);

static SLOTS: FfiTable<[ffi::PyModuleDef_Slot; 3]> = FfiTable::new([
    ffi::PyModuleDef_Slot { slot: ffi::Py_mod_exec, value: exec_module as *mut std::ffi::c_void },
    ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_multiple_interpreters,
        value: ffi::Py_MOD_PER_INTERPRETER_GIL_SUPPORTED,
    },
    ffi::PyModuleDef_Slot { slot: 0, value: ptr::null_mut() },
]);

static MODULE: FfiTable<ffi::PyModuleDef> = FfiTable::new(module_def!(
    c"_hornbeam_reactor",
    c"Native half of erlang.reactor (Hornbeam).",
    METHODS,
    SLOTS
));

/// `PyInit__hornbeam_reactor`, registered with `PyImport_AppendInittab`.
pub unsafe extern "C" fn init_module() -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe { ffi::PyModuleDef_Init(MODULE.get()) }
}
