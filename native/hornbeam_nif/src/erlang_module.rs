//! `_erlang`: the native half of Python's `erlang` module (`call`, `send`,
//! `interpreter_id`). Built-in, multi-phase init, no module state, and it declares
//! `Py_MOD_PER_INTERPRETER_GIL_SUPPORTED` so OWN_GIL sub-interpreters may import it.
//!
//! The functions find their thread's `ErlangHost` (a context's worker or a reactor's
//! loop): they work on such a thread, and say so clearly anywhere else.
use crate::host::with_host;
use crate::mailbox;
use crate::pyheap::{method, module_def};
use crate::term;
use hornbeam_python::error::{raise, Exc};
use hornbeam_python::object::PyOwned;
use hornbeam_python::table::FfiTable;
use hornbeam_python::value::tuple_items;
use pyo3::ffi;
use rustler::{Encoder, LocalPid, OwnedEnv};

// The C-API tables of this file's Python objects (`FfiTable`: their address goes to
// CPython, nothing else touches them).
static METHODS: FfiTable<[ffi::PyMethodDef; 7]> = FfiTable::new([
    method!(c"call", PyCFunction: erlang_call, ffi::METH_VARARGS, c"call(name, *args): run the Erlang function registered as name; returns its result."),
    method!(c"send", PyCFunction: erlang_send, ffi::METH_VARARGS, c"send(pid, term): send term to an Erlang process."),
    method!(c"interpreter_id", PyCFunction: interpreter_id, ffi::METH_NOARGS, c"interpreter_id(): the id of the interpreter running this code."),
    method!(c"mailbox_new", PyCFunction: mailbox::py_mailbox_new, ffi::METH_NOARGS, c"mailbox_new() -> (id, fd): a mailbox Erlang delivers to, and its eventfd."),
    method!(c"mailbox_get", PyCFunction: mailbox::py_mailbox_get, ffi::METH_VARARGS, c"mailbox_get(id, timeout) -> (message,) or None; EOFError once closed."),
    method!(c"mailbox_close", PyCFunction: mailbox::py_mailbox_close, ffi::METH_VARARGS, c"mailbox_close(id): stop receiving."),
    ffi::PyMethodDef::zeroed(),
]);

static SLOTS: FfiTable<[ffi::PyModuleDef_Slot; 2]> = FfiTable::new([
    ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_multiple_interpreters,
        value: ffi::Py_MOD_PER_INTERPRETER_GIL_SUPPORTED,
    },
    ffi::PyModuleDef_Slot { slot: 0, value: std::ptr::null_mut() },
]);

static MODULE: FfiTable<ffi::PyModuleDef> = FfiTable::new(module_def!(
    c"_erlang",
    c"Native half of the erlang module (Hornbeam).",
    METHODS,
    SLOTS
));

/// `PyInit__erlang`, registered with `PyImport_AppendInittab` before initialisation.
pub unsafe extern "C" fn init_module() -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe { ffi::PyModuleDef_Init(MODULE.get()) }
}

unsafe extern "C" fn erlang_call(
    _module: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        with_host("call", |ctx| {
            let items = tuple_items(args);
            let Some((&name, rest)) = items.split_first() else {
                return raise(Exc::TypeError, "erlang.call(name, *args) needs a function name");
            };
            let mut len: ffi::Py_ssize_t = 0;
            let data = if ffi::PyUnicode_Check(name) != 0 {
                ffi::PyUnicode_AsUTF8AndSize(name, &mut len)
            } else {
                std::ptr::null()
            };
            if data.is_null() {
                ffi::PyErr_Clear();
                return raise(Exc::TypeError, "erlang.call: the function name must be a str");
            }
            let name = String::from_utf8_lossy(std::slice::from_raw_parts(
                data as *const u8,
                len as usize,
            ))
            .into_owned();
            ctx.call_erlang(&name, rest)
        })
    }
}

unsafe extern "C" fn erlang_send(
    _module: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        with_host("send", |ctx| {
            let items = tuple_items(args);
            let [pid, message] = items.as_slice() else {
                return raise(Exc::TypeError, "erlang.send(pid, term) takes two arguments");
            };
            if ffi::PyObject_TypeCheck(*pid, ctx.types().pid.as_ptr() as *mut ffi::PyTypeObject)
                == 0
            {
                return raise(
                    Exc::TypeError,
                    "erlang.send: the first argument must be an erlang.Pid",
                );
            }
            let mut env = OwnedEnv::new();
            let converted = env.run(|e| -> Result<_, term::ConvError> {
                let pid_term = term::from_py(ctx.types(), e, *pid, 0)?;
                let msg_term = term::from_py(ctx.types(), e, *message, 0)?;
                let local = pid_term.decode::<LocalPid>().ok();
                Ok((local, env.save(pid_term), env.save(msg_term)))
            });
            let (local, pid_term, msg_term) = match converted {
                Ok(parts) => parts,
                Err(c) => return raise(Exc::TypeError, &format!("erlang.send: {}", c.message())),
            };
            // enif_send reaches local processes only; the owner forwards to remote ones.
            // Like Erlang's `!`, sending to a dead process is not an error: the result is
            // deliberately ignored.
            let _ = match local {
                Some(local) => env.send_and_clear(&local, |e| msg_term.load(e)),
                None => env.send_and_clear(ctx.owner(), |e| {
                    (crate::atoms::py_send(), pid_term.load(e), msg_term.load(e)).encode(e)
                }),
            };
            PyOwned::from_borrowed(ffi::Py_None())
        })
    }
}

unsafe extern "C" fn interpreter_id(
    _module: *mut ffi::PyObject,
    _args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        // Needs no worker: any thread of any interpreter may ask.
        ffi::PyLong_FromLongLong(ffi::PyInterpreterState_GetID(ffi::PyInterpreterState_Get()))
    }
}
