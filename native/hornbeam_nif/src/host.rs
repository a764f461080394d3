//! The thread that runs Python on Erlang's behalf: a context's worker or a reactor's
//! event loop. The `_erlang` module's functions find it through a thread-local, so
//! `erlang.call` and `erlang.send` work on both kinds of thread and say clearly when
//! they run anywhere else.
use crate::atoms;
use crate::term::{self, PyTypes};
use hornbeam_python::error::{raise, raise_class, Exc};
use hornbeam_python::object::PyOwned;
use pyo3::ffi;
use rustler::env::SavedTerm;
use rustler::{Encoder, LocalPid, OwnedEnv, Term};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

pub trait ErlangHost {
    /// The `erlang` classes of this thread's interpreter.
    fn types(&self) -> &PyTypes;

    /// The Erlang process that owns this thread: it runs registered functions and
    /// forwards messages to remote pids.
    fn owner(&self) -> &LocalPid;

    /// `erlang.call(name, *args)`: `None` means a Python exception is set.
    ///
    /// # Safety
    /// On this host's thread, GIL held; `args` are borrowed objects.
    unsafe fn call_erlang(&self, name: &str, args: &[*mut ffi::PyObject]) -> Option<PyOwned>;
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<dyn ErlangHost>>> = const { RefCell::new(None) };
}

/// The host running on this thread, if any.
pub fn current() -> Option<Rc<dyn ErlangHost>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Makes `host` this thread's host until the returned guard drops.
pub fn enter(host: Rc<dyn ErlangHost>) -> HostGuard {
    CURRENT.with(|c| *c.borrow_mut() = Some(host));
    HostGuard(())
}

pub struct HostGuard(());

impl Drop for HostGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

/// The answer to `erlang.call`: `{ok, Value}` -> Value; `{error, Kind, Message}` ->
/// an `erlang.ErlangError` (or `UnknownFunctionError`) raised.
///
/// # Safety
/// GIL of the interpreter `types` belong to held.
pub unsafe fn callback_result(types: &PyTypes, reply: Term) -> Option<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL of the interpreter `types` belong to held.
    unsafe {
        let parts = rustler::types::tuple::get_tuple(reply).unwrap_or_default();
        match parts.as_slice() {
            [tag, value] if atoms::ok() == *tag => match term::to_py(types, *value, false, 0) {
                Ok(obj) => Some(obj),
                Err(c) => {
                    raise(Exc::TypeError, &format!("the Erlang function's result: {}", c.message()))
                }
            },
            [tag, kind, message] if atoms::error() == *tag => {
                let class = if atoms::unknown_function() == *kind {
                    &types.unknown_function_error
                } else {
                    &types.erlang_error
                };
                let text = message.decode::<String>().unwrap_or_else(|_| "Erlang error".into());
                raise_class(class.as_ptr(), &text)
            }
            _ => raise(Exc::RuntimeError, "malformed reply from the Erlang side"),
        }
    }
}

/// Sends `{py_callback, Id, Name, Args}` to `owner`, which runs the registered function
/// and answers through the host's channel. `Err(None)`: a Python exception is set.
///
/// # Safety
/// GIL of the interpreter `types` belong to held; `args` are borrowed objects.
pub unsafe fn request_callback(
    types: &PyTypes,
    owner: &LocalPid,
    id: u64,
    name: &str,
    args: &[*mut ffi::PyObject],
) -> Result<(), Option<PyOwned>> {
    // SAFETY: the caller keeps the contract above: GIL of the interpreter `types` belong to held;
    // `args` are borrowed objects.
    unsafe {
        let mut env = OwnedEnv::new();
        let request = env.run(|e| -> Result<SavedTerm, term::ConvError> {
            let items = args
                .iter()
                .map(|&a| term::from_py(types, e, a, 1))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(env.save((atoms::py_callback(), id, name, items).encode(e)))
        });
        let request = match request {
            Ok(request) => request,
            Err(c) => {
                return Err(raise(
                    Exc::TypeError,
                    &format!("erlang.call({name:?}): {}", c.message()),
                ))
            }
        };
        if env.send_and_clear(owner, |e| request.load(e)).is_err() {
            return Err(raise(
                Exc::RuntimeError,
                "the Erlang process owning this interpreter is gone",
            ));
        }
        Ok(())
    }
}

/// Runs a Python-facing function body: no panic crosses into CPython, and a missing
/// host becomes a clear `RuntimeError`.
///
/// # Safety
/// GIL held, as when CPython calls the method whose body this is.
pub(crate) unsafe fn with_host(
    what: &str,
    body: impl FnOnce(&Rc<dyn ErlangHost>) -> Option<PyOwned>,
) -> *mut ffi::PyObject {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        let outcome = catch_unwind(AssertUnwindSafe(|| match current() {
            Some(ctx) => body(&ctx),
            None => raise(
                Exc::RuntimeError,
                &format!("erlang.{what} works only on a Hornbeam context's or reactor's thread"),
            ),
        }));
        match outcome {
            Ok(Some(obj)) => obj.into_ptr(),
            Ok(None) => std::ptr::null_mut(),
            Err(_) => {
                raise(Exc::SystemError, &format!("erlang.{what}: internal error (panic)"));
                std::ptr::null_mut()
            }
        }
    }
}
