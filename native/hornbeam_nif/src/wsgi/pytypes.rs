//! The Python objects a WSGI application touches: `start_response` (with the `write`
//! callable it returns), `wsgi.input` and `wsgi.errors`. Heap types made per
//! interpreter by `WsgiTypes::create`.
//!
//! Invariants:
//! - Every function here runs on the worker thread with its interpreter's GIL held, as
//!   CPython calls them.
//! - `StartResponse.state` and `Input.reader` point at the runner's per-request Rust
//!   state while the request runs and are NULL after it (`WsgiTypes::attach` sets them;
//!   dropping its `Attached` clears them, however the request ends), so an object an
//!   application keeps past its request raises instead of touching freed memory.
//! - Before any code releases the GIL to block on the exchange, it sets `busy` on the
//!   state it uses (`blocking` does both, for `write()` and the runner alike); a
//!   call from another Python thread meanwhile sees `busy` (checked with the GIL held)
//!   and raises, and the request's own thread waits for it (`wait_until_idle`, and
//!   `Attached::drop` before the state goes), so the Rust state is never used by two
//!   threads at once.
use super::exchange::{Exchange, Gone};
use super::input::InputReader;
use crate::http::log::Log;
use crate::pyheap::{free_instance, method, sealed_spec, slot};
use crate::pyvalue::append_header;
use bytes::Bytes;
use hornbeam_python::call::{owned, PyResult};
use hornbeam_python::error::{raise, Exc};
use hornbeam_python::gil::allow_threads;
use hornbeam_python::object::PyOwned;
use hornbeam_python::table::FfiTable;
use hornbeam_python::value::{bytes_of, type_name};
use hyper::{HeaderMap, StatusCode};
use pyo3::ffi;
use std::ptr;

/// The per-request state `start_response` and `write` use.
pub struct ResponseState {
    pub exchange: Exchange,
    /// Set while a thread blocks on the exchange with the GIL released.
    pub busy: bool,
}

#[repr(C)]
struct StartResponseObject {
    ob_base: ffi::PyObject,
    state: *mut ResponseState,
}

#[repr(C)]
struct InputObject {
    ob_base: ffi::PyObject,
    reader: *mut InputReader,
    busy: bool,
}

/// Collects `wsgi.errors` text and logs each complete line.
pub struct ErrorSink {
    log: Log,
    partial: String,
}

impl ErrorSink {
    fn write(&mut self, text: &str) {
        self.partial.push_str(text);
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            self.log.send(crate::http::log::Level::Error, line.trim_end_matches(['\n', '\r']));
        }
    }

    fn flush(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.log.send(crate::http::log::Level::Error, &line);
        }
    }
}

#[repr(C)]
struct ErrorsObject {
    ob_base: ffi::PyObject,
    sink: *mut ErrorSink,
}

/// This interpreter's WSGI types.
pub struct WsgiTypes {
    start_response: PyOwned,
    input: PyOwned,
    errors: PyOwned,
}

impl WsgiTypes {
    /// # Safety
    /// GIL held.
    pub unsafe fn create() -> PyResult<WsgiTypes> {
        // SAFETY: the caller keeps the contract above: GIL held.
        unsafe {
            Ok(WsgiTypes {
                start_response: owned(ffi::PyType_FromSpec(START_RESPONSE_SPEC.get()))?,
                input: owned(ffi::PyType_FromSpec(INPUT_SPEC.get()))?,
                errors: owned(ffi::PyType_FromSpec(ERRORS_SPEC.get()))?,
            })
        }
    }

    /// The request's `start_response` and `wsgi.input`, bound to `state` and `reader`
    /// until the returned `Attached` is dropped.
    ///
    /// # Safety
    /// GIL held; `state` and `reader` outlive the `Attached`, and while it lives Rust
    /// reaches them only through these same pointers.
    pub unsafe fn attach(
        &self,
        state: *mut ResponseState,
        reader: *mut InputReader,
    ) -> PyResult<Attached> {
        // SAFETY: the caller keeps the contract above: GIL held; the pointers outlive the
        // objects' attachment, which `Attached::drop` ends.
        unsafe {
            let start_response =
                owned(ffi::PyType_GenericAlloc(self.start_response.as_ptr().cast(), 0))?;
            let input = owned(ffi::PyType_GenericAlloc(self.input.as_ptr().cast(), 0))?;
            (*start_response.as_ptr().cast::<StartResponseObject>()).state = state;
            (*input.as_ptr().cast::<InputObject>()).reader = reader;
            Ok(Attached { start_response, input })
        }
    }

    /// The request's `wsgi.early_hints(headers)` callable, bound to its
    /// `start_response`.
    ///
    /// # Safety
    /// GIL held; `start_response` came from `WsgiTypes::start_response`.
    pub unsafe fn early_hints(&self, start_response: &PyOwned) -> PyResult<PyOwned> {
        // SAFETY: the caller keeps the contract above: GIL held; `start_response` came from
        // `WsgiTypes::start_response`.
        unsafe {
            owned(ffi::PyCFunction_NewEx(
                EARLY_HINTS_DEF.get(),
                start_response.as_ptr(),
                ptr::null_mut(),
            ))
        }
    }

    /// The worker's `wsgi.errors`: it owns its sink.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn errors(&self, log: Log) -> PyResult<PyOwned> {
        // SAFETY: the caller keeps the contract above: GIL held.
        unsafe {
            let obj = owned(ffi::PyType_GenericAlloc(self.errors.as_ptr().cast(), 0))?;
            let sink = Box::new(ErrorSink { log, partial: String::new() });
            (*obj.as_ptr().cast::<ErrorsObject>()).sink = Box::into_raw(sink);
            Ok(obj)
        }
    }
}

/// One request's `start_response` and `wsgi.input`. Dropping it detaches them from the
/// request's Rust state (their pointers become NULL), so an object the application kept
/// raises instead of touching freed memory, however the request ended.
pub struct Attached {
    pub start_response: PyOwned,
    pub input: PyOwned,
}

impl Drop for Attached {
    fn drop(&mut self) {
        // SAFETY: both objects came from `WsgiTypes::attach`, and like every `PyOwned` they
        // are dropped on their interpreter's thread with its GIL held. An application
        // thread still inside `write()` or `wsgi.input.read()` (GIL released, `busy` set)
        // is waited for first: the state it uses goes when this guard does.
        unsafe {
            let start_response = self.start_response.as_ptr().cast::<StartResponseObject>();
            let input = self.input.as_ptr().cast::<InputObject>();
            if !(*start_response).state.is_null() {
                wait_while(&raw const (*(*start_response).state).busy);
            }
            wait_while(&raw const (*input).busy);
            (*start_response).state = ptr::null_mut();
            (*input).reader = ptr::null_mut();
        }
    }
}

/// Emits a partial `wsgi.errors` line left at the end of a request.
///
/// # Safety
/// GIL held; `obj` came from `WsgiTypes::errors`.
pub unsafe fn flush_errors(obj: &PyOwned) {
    // SAFETY: the caller keeps the contract above: GIL held; `obj` came from `WsgiTypes::errors`.
    unsafe {
        let sink = (*obj.as_ptr().cast::<ErrorsObject>()).sink;
        if !sink.is_null() {
            (*sink).flush();
        }
    }
}

unsafe extern "C" fn plain_dealloc(obj: *mut ffi::PyObject) {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        free_instance(obj);
    }
}

unsafe extern "C" fn errors_dealloc(obj: *mut ffi::PyObject) {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let sink = (*obj.cast::<ErrorsObject>()).sink;
        if !sink.is_null() {
            drop(Box::from_raw(sink));
        }
        free_instance(obj);
    }
}

// ---- start_response and write ------------------------------------------------------

/// The response state of the request `start_response` belongs to, or `None` (with
/// `RuntimeError` raised) after that request ended or while another thread writes.
///
/// # Safety
/// GIL held; `obj` is a live `StartResponse` object; the reference is used only during
/// the slot call that received `obj`: CPython may free the object once that call returns.
unsafe fn response_state<'obj>(obj: *mut ffi::PyObject) -> Option<&'obj mut ResponseState> {
    // SAFETY: the caller keeps the contract above; `state` points at the runner's state while
    // the request runs and is NULL otherwise, and `busy` keeps a second thread out (the
    // invariants at the top of this file).
    unsafe {
        let state = (*obj.cast::<StartResponseObject>()).state;
        if state.is_null() {
            raise(Exc::RuntimeError, "start_response used after its request ended");
            return None;
        }
        if (*state).busy {
            raise(Exc::RuntimeError, "the response is being written by another thread");
            return None;
        }
        Some(&mut *state)
    }
}

/// `start_response(status, response_headers, exc_info=None) -> write`
unsafe extern "C" fn start_response_call(
    obj: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let nargs = ffi::PyTuple_Size(args);
        if !(2..=3).contains(&nargs) {
            raise(Exc::TypeError, "start_response(status, response_headers, exc_info=None)");
            return ptr::null_mut();
        }
        let mut exc_info = if nargs == 3 { ffi::PyTuple_GetItem(args, 2) } else { ptr::null_mut() };
        if !kwargs.is_null() {
            let kw = ffi::PyDict_GetItemString(kwargs, c"exc_info".as_ptr());
            if !kw.is_null() {
                exc_info = kw;
            }
            if ffi::PyDict_Size(kwargs) > i64::from(!kw.is_null()) as ffi::Py_ssize_t {
                raise(Exc::TypeError, "start_response() takes only exc_info as a keyword");
                return ptr::null_mut();
            }
        }
        let Some(state) = response_state(obj) else { return ptr::null_mut() };
        let has_exc_info = !exc_info.is_null()
            && exc_info != ffi::Py_None()
            && ffi::PyObject_IsTrue(exc_info) == 1;
        if has_exc_info {
            if state.exchange.headers_sent() {
                // PEP 3333: too late to change the response; re-raise the application's error.
                let value = ffi::PySequence_GetItem(exc_info, 1);
                if value.is_null() {
                    return ptr::null_mut();
                }
                ffi::PyErr_SetRaisedException(value);
                return ptr::null_mut();
            }
        } else if state.exchange.has_status() || state.exchange.headers_sent() {
            raise(Exc::AssertionError, "start_response called a second time without exc_info");
            return ptr::null_mut();
        }
        let status = match parse_status(ffi::PyTuple_GetItem(args, 0)) {
            Some(s) => s,
            None => return ptr::null_mut(),
        };
        let headers = match parse_headers(ffi::PyTuple_GetItem(args, 1)) {
            Some(h) => h,
            None => return ptr::null_mut(),
        };
        state.exchange.set_status(status, headers);
        ffi::PyCFunction_NewEx(WRITE_DEF.get(), obj, ptr::null_mut())
    }
}

/// `"200 OK"` -> 200. The reason phrase is the standard one for the code.
unsafe fn parse_status(status: *mut ffi::PyObject) -> Option<StatusCode> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let text = match str_bytes(status) {
            Some(t) => t,
            None => {
                raise(Exc::TypeError, "status must be a str such as '200 OK'");
                return None;
            }
        };
        let code = text.get(..3).filter(|_| text.len() == 3 || text.get(3) == Some(&b' '));
        match code.and_then(|c| std::str::from_utf8(c).ok()).and_then(|c| c.parse::<u16>().ok()) {
            Some(code) if (100..=999).contains(&code) => StatusCode::from_u16(code).ok(),
            _ => {
                raise(Exc::ValueError, "status must start with a three-digit code, as in '200 OK'");
                None
            }
        }
    }
}

/// A `[(name, value), ...]` list of `str` pairs (latin-1, no control characters).
unsafe fn parse_headers(list: *mut ffi::PyObject) -> Option<HeaderMap> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if ffi::PyList_Check(list) == 0 {
            raise(Exc::TypeError, "response_headers must be a list of (name, value) tuples");
            return None;
        }
        let n = ffi::PyList_Size(list);
        let mut headers = HeaderMap::with_capacity(n as usize);
        for i in 0..n {
            let item = ffi::PyList_GetItem(list, i);
            if ffi::PyTuple_Check(item) == 0 || ffi::PyTuple_Size(item) != 2 {
                raise(Exc::TypeError, "each response header must be a (name, value) tuple");
                return None;
            }
            let (Some(name), Some(value)) = (
                str_bytes(ffi::PyTuple_GetItem(item, 0)),
                str_bytes(ffi::PyTuple_GetItem(item, 1)),
            ) else {
                raise(Exc::TypeError, "response header names and values must be str");
                return None;
            };
            append_header(&mut headers, &name, &value)?;
        }
        Some(headers)
    }
}

/// The latin-1 bytes of a `str` (`None`, with no exception set, for anything else or
/// for characters above U+00FF).
unsafe fn str_bytes(obj: *mut ffi::PyObject) -> Option<Vec<u8>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if ffi::PyUnicode_Check(obj) == 0 {
            return None;
        }
        let encoded = ffi::PyUnicode_AsLatin1String(obj);
        if encoded.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let out = bytes_of(encoded).map(<[u8]>::to_vec);
        ffi::Py_DecRef(encoded);
        out
    }
}

/// The bytes of one body chunk, copied for the engine. `None` with `TypeError` set for
/// anything but `bytes`.
///
/// # Safety
/// GIL held.
pub unsafe fn chunk_of(obj: *mut ffi::PyObject) -> Option<Bytes> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        match bytes_of(obj) {
            Some(b) => Some(Bytes::copy_from_slice(b)),
            None => {
                let name = type_name(obj);
                raise(Exc::TypeError, &format!("WSGI body chunks must be bytes, not {name}"));
                None
            }
        }
    }
}

/// Waits, with the GIL released, while another thread of the application is inside
/// `write()` (`busy`): the request's own thread must not touch the exchange meanwhile,
/// nor let the state go. Rare, so a short sleep per turn is enough.
///
/// # Safety
/// GIL held; `state` is the request's live state.
pub unsafe fn wait_until_idle(state: *mut ResponseState) {
    // SAFETY: the caller keeps the contract above.
    unsafe { wait_while(&raw const (*state).busy) }
}

/// Waits, with the GIL released between looks, until `busy` is false.
///
/// # Safety
/// GIL held; `busy` is a `busy` flag of this file's objects, alive throughout.
unsafe fn wait_while(busy: *const bool) {
    // SAFETY: the caller keeps the contract above. The flag is read and written only with
    // this interpreter's GIL held, which orders the accesses; it is read afresh each turn
    // because the other thread writes it between our turns.
    unsafe {
        while ptr::read_volatile(busy) {
            allow_threads(|| std::thread::sleep(IDLE_POLL));
        }
    }
}

/// How often `wait_while` looks again.
const IDLE_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// Runs `work` on the exchange with the GIL released, marking the state `busy` meanwhile
/// so another thread of the application raises instead of entering, and the request's
/// own thread waits before it touches the exchange or lets the state go.
///
/// # Safety
/// GIL held; `state` is the request's live state.
pub unsafe fn blocking<T: Send>(
    state: *mut ResponseState,
    work: impl FnOnce(&mut Exchange) -> T + Send,
) -> T {
    // SAFETY: the caller keeps the contract above: GIL held; `state` is the request's live
    // state, and no other thread is in it once `wait_until_idle` returns and `busy` is set
    // (both with the GIL held), until `busy` is cleared again with the GIL held.
    unsafe {
        wait_until_idle(state);
        (*state).busy = true;
        let exchange = SendPtr(&raw mut (*state).exchange);
        let out = allow_threads(move || work(&mut *exchange.into_inner()));
        (*state).busy = false;
        out
    }
}

/// A pointer handed to the GIL-released closure of `blocking`; `busy` makes the closure
/// its only user meanwhile.
struct SendPtr<T>(*mut T);

// SAFETY: `blocking` keeps every other thread away from the pointee while the closure
// that carries this pointer runs (see there).
unsafe impl<T> Send for SendPtr<T> {}

impl<T> SendPtr<T> {
    // A method, not a field read, so the closure captures the whole `SendPtr` (Send)
    // rather than the raw pointer field (not Send).
    fn into_inner(self) -> *mut T {
        self.0
    }
}

/// Sends a chunk through the exchange with the GIL released; `Err` when the client is
/// gone (no Python exception is set: the caller decides whether that is an error).
///
/// # Safety
/// GIL held; `state` is the request's live state.
pub unsafe fn send_chunk(state: *mut ResponseState, chunk: Bytes) -> Result<(), Gone> {
    // SAFETY: the caller keeps the contract above.
    unsafe { blocking(state, |exchange| exchange.send_chunk_blocking(chunk)) }
}

/// The legacy `write(data)` callable `start_response` returns.
unsafe extern "C" fn write(
    obj: *mut ffi::PyObject,
    data: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let Some(state) = response_state(obj) else { return ptr::null_mut() };
        if !state.exchange.has_status() && !state.exchange.headers_sent() {
            raise(Exc::AssertionError, "write() called before start_response");
            return ptr::null_mut();
        }
        let Some(chunk) = chunk_of(data) else { return ptr::null_mut() };
        if send_chunk(state, chunk).is_err() {
            raise(Exc::OSError, "the client disconnected");
            return ptr::null_mut();
        }
        ffi::Py_NewRef(ffi::Py_None())
    }
}

/// `wsgi.early_hints(headers)`: sends a 103 response with these `(name, value)`
/// headers (typically `Link`) before the final one.
unsafe extern "C" fn early_hints(
    obj: *mut ffi::PyObject,
    headers: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let Some(state) = response_state(obj) else { return ptr::null_mut() };
        let Some(headers) = parse_headers(headers) else { return ptr::null_mut() };
        state.exchange.send_hints(headers);
        ffi::Py_NewRef(ffi::Py_None())
    }
}

// ---- wsgi.input ---------------------------------------------------------------------

/// The body reader of the request `wsgi.input` belongs to, or `None` (with an exception
/// raised) after that request ended or while another thread reads.
///
/// # Safety
/// GIL held; `obj` is a live `Input` object; the reference is used only during
/// the slot call that received `obj`: CPython may free the object once that call returns.
unsafe fn input_reader<'obj>(obj: *mut ffi::PyObject) -> Option<&'obj mut InputReader> {
    // SAFETY: the caller keeps the contract above; `reader` points at the runner's reader
    // while the request runs and is NULL otherwise, and `busy` keeps a second thread out
    // (the invariants at the top of this file).
    unsafe {
        let this = obj.cast::<InputObject>();
        if (*this).reader.is_null() {
            raise(Exc::ValueError, "wsgi.input read after its request ended");
            return None;
        }
        if (*this).busy {
            raise(Exc::RuntimeError, "wsgi.input is being read by another thread");
            return None;
        }
        Some(&mut *(*this).reader)
    }
}

/// An optional size argument: absent, `None` or negative mean "no limit".
unsafe fn optional_size(
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    what: &str,
) -> Result<Option<usize>, ()> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if nargs > 1 {
            raise(Exc::TypeError, &format!("{what} takes at most one argument"));
            return Err(());
        }
        if nargs == 0 || *args == ffi::Py_None() {
            return Ok(None);
        }
        let n = ffi::PyLong_AsSsize_t(*args);
        if n == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(());
        }
        Ok(if n < 0 { None } else { Some(n as usize) })
    }
}

/// Runs a read, releasing the GIL (and marking the input busy) when it must wait.
unsafe fn blocking_read(
    obj: *mut ffi::PyObject,
    reader: &mut InputReader,
    blocks: bool,
    read: impl FnOnce(&mut InputReader) -> Result<Bytes, crate::http::body::BodyError>,
) -> *mut ffi::PyObject {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let this = obj.cast::<InputObject>();
        let outcome = if blocks {
            (*this).busy = true;
            let out = allow_threads(|| read(reader));
            (*this).busy = false;
            out
        } else {
            read(reader)
        };
        match outcome {
            Ok(bytes) => ffi::PyBytes_FromStringAndSize(
                bytes.as_ptr().cast(),
                bytes.len() as ffi::Py_ssize_t,
            ),
            Err(e) => {
                raise(Exc::OSError, &e.to_string());
                ptr::null_mut()
            }
        }
    }
}

unsafe extern "C" fn input_read(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let Ok(size) = optional_size(args, nargs, "read()") else { return ptr::null_mut() };
        let Some(reader) = input_reader(obj) else { return ptr::null_mut() };
        let blocks = reader.would_block(size);
        blocking_read(obj, reader, blocks, |r| r.read(size))
    }
}

unsafe fn readline_limited(obj: *mut ffi::PyObject, limit: Option<usize>) -> *mut ffi::PyObject {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let Some(reader) = input_reader(obj) else { return ptr::null_mut() };
        let blocks = !reader.has_line(limit);
        blocking_read(obj, reader, blocks, |r| r.readline(limit))
    }
}

unsafe extern "C" fn input_readline(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        match optional_size(args, nargs, "readline()") {
            Ok(limit) => readline_limited(obj, limit),
            Err(()) => ptr::null_mut(),
        }
    }
}

unsafe extern "C" fn input_readlines(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let Ok(hint) = optional_size(args, nargs, "readlines()") else { return ptr::null_mut() };
        let lines = ffi::PyList_New(0);
        if lines.is_null() {
            return lines;
        }
        let mut total = 0usize;
        loop {
            let line = readline_limited(obj, None);
            if line.is_null() {
                ffi::Py_DecRef(lines);
                return ptr::null_mut();
            }
            let len = ffi::PyBytes_Size(line) as usize;
            if len == 0 {
                ffi::Py_DecRef(line);
                return lines;
            }
            let appended = ffi::PyList_Append(lines, line);
            ffi::Py_DecRef(line);
            if appended != 0 {
                ffi::Py_DecRef(lines);
                return ptr::null_mut();
            }
            total += len;
            if hint.is_some_and(|h| h > 0 && total >= h) {
                return lines;
            }
        }
    }
}

/// Iteration yields lines until the body ends.
unsafe extern "C" fn input_next(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let line = readline_limited(obj, None);
        if !line.is_null() && ffi::PyBytes_Size(line) == 0 {
            ffi::Py_DecRef(line);
            return ptr::null_mut(); // StopIteration, no exception set
        }
        line
    }
}

// ---- wsgi.errors --------------------------------------------------------------------

/// Where `wsgi.errors` writes.
///
/// # Safety
/// GIL held; `obj` is a live `Errors` object; the reference is used only during
/// the slot call that received `obj`: CPython may free the object once that call returns.
unsafe fn error_sink<'obj>(obj: *mut ffi::PyObject) -> &'obj mut ErrorSink {
    // SAFETY: the caller keeps the contract above; the object owns its sink, freed only by
    // its dealloc.
    unsafe { &mut *(*obj.cast::<ErrorsObject>()).sink }
}

unsafe fn write_text(obj: *mut ffi::PyObject, text: *mut ffi::PyObject) -> bool {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let mut len: ffi::Py_ssize_t = 0;
        let data = if ffi::PyUnicode_Check(text) != 0 {
            ffi::PyUnicode_AsUTF8AndSize(text, &mut len)
        } else {
            ptr::null()
        };
        if data.is_null() {
            if ffi::PyErr_Occurred().is_null() {
                raise(Exc::TypeError, "wsgi.errors.write() takes a str");
            }
            return false;
        }
        let bytes = std::slice::from_raw_parts(data as *const u8, len as usize);
        error_sink(obj).write(&String::from_utf8_lossy(bytes));
        true
    }
}

unsafe extern "C" fn errors_write(
    obj: *mut ffi::PyObject,
    text: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        if !write_text(obj, text) {
            return ptr::null_mut();
        }
        ffi::PyLong_FromSsize_t(ffi::PyUnicode_GetLength(text))
    }
}

unsafe extern "C" fn errors_writelines(
    obj: *mut ffi::PyObject,
    lines: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let iter = ffi::PyObject_GetIter(lines);
        if iter.is_null() {
            return ptr::null_mut();
        }
        loop {
            let item = ffi::PyIter_Next(iter);
            if item.is_null() {
                ffi::Py_DecRef(iter);
                if !ffi::PyErr_Occurred().is_null() {
                    return ptr::null_mut();
                }
                return ffi::Py_NewRef(ffi::Py_None());
            }
            let ok = write_text(obj, item);
            ffi::Py_DecRef(item);
            if !ok {
                ffi::Py_DecRef(iter);
                return ptr::null_mut();
            }
        }
    }
}

unsafe extern "C" fn errors_flush(
    obj: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        error_sink(obj).flush();
        ffi::Py_NewRef(ffi::Py_None())
    }
}

// ---- type tables ----------------------------------------------------------------------
// The C-API tables of this file's Python objects (`FfiTable`: their address goes to
// CPython, nothing else touches them).

static WRITE_DEF: FfiTable<ffi::PyMethodDef> = FfiTable::new(
    method!(c"write", PyCFunction: write, ffi::METH_O, c"write(data): send body bytes at once (legacy WSGI)."),
);

static EARLY_HINTS_DEF: FfiTable<ffi::PyMethodDef> = FfiTable::new(method!(
    c"early_hints",
    PyCFunction: early_hints,
    ffi::METH_O,
    c"early_hints(headers): send a 103 Early Hints response with these (name, value) headers."
));

static START_RESPONSE_SLOTS: FfiTable<[ffi::PyType_Slot; 4]> = FfiTable::new([
    slot!(Py_tp_dealloc, plain_dealloc),
    slot!(Py_tp_call, start_response_call),
    slot!(Py_tp_doc, doc c"start_response(status, response_headers, exc_info=None) -> write"),
    slot!(end),
]);

static START_RESPONSE_SPEC: FfiTable<ffi::PyType_Spec> = FfiTable::new(sealed_spec!(
    c"hornbeam.StartResponse",
    StartResponseObject,
    START_RESPONSE_SLOTS
));

static INPUT_METHODS: FfiTable<[ffi::PyMethodDef; 4]> = FfiTable::new([
    method!(c"read", PyCFunctionFast: input_read, ffi::METH_FASTCALL, c"read(size=-1) -> bytes"),
    method!(c"readline", PyCFunctionFast: input_readline, ffi::METH_FASTCALL, c"readline(size=-1) -> bytes"),
    method!(c"readlines", PyCFunctionFast: input_readlines, ffi::METH_FASTCALL, c"readlines(hint=-1) -> list of bytes"),
    ffi::PyMethodDef::zeroed(),
]);

static INPUT_SLOTS: FfiTable<[ffi::PyType_Slot; 6]> = FfiTable::new([
    slot!(Py_tp_dealloc, plain_dealloc),
    slot!(Py_tp_methods, INPUT_METHODS.get()),
    slot!(Py_tp_iter, ffi::PyObject_SelfIter),
    slot!(Py_tp_iternext, input_next),
    slot!(Py_tp_doc, doc c"wsgi.input: the request body, streamed from the client."),
    slot!(end),
]);

static INPUT_SPEC: FfiTable<ffi::PyType_Spec> =
    FfiTable::new(sealed_spec!(c"hornbeam.Input", InputObject, INPUT_SLOTS));

static ERRORS_METHODS: FfiTable<[ffi::PyMethodDef; 4]> = FfiTable::new([
    method!(c"write", PyCFunction: errors_write, ffi::METH_O, c"write(text): each complete line becomes a log event"),
    method!(c"writelines", PyCFunction: errors_writelines, ffi::METH_O, c"writelines(lines)"),
    method!(c"flush", PyCFunction: errors_flush, ffi::METH_NOARGS, c"flush(): logs a partial line"),
    ffi::PyMethodDef::zeroed(),
]);

static ERRORS_SLOTS: FfiTable<[ffi::PyType_Slot; 4]> = FfiTable::new([
    slot!(Py_tp_dealloc, errors_dealloc),
    slot!(Py_tp_methods, ERRORS_METHODS.get()),
    slot!(Py_tp_doc, doc c"wsgi.errors: lines written here go to Erlang's logger."),
    slot!(end),
]);

static ERRORS_SPEC: FfiTable<ffi::PyType_Spec> =
    FfiTable::new(sealed_spec!(c"hornbeam.ErrorStream", ErrorsObject, ERRORS_SLOTS));
