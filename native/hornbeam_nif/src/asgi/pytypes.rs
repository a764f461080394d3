//! The two Python objects the asyncio side (`hornbeam_asgi.py`) drives: the worker's
//! `Native` handle (its inbox and start-up report) and one `Conn` per request (receive
//! and send without blocking). Heap types made per interpreter by `AsgiTypes::create`.
//!
//! Invariants:
//! - Every function here runs on the worker's thread with its interpreter's GIL held, as
//!   CPython calls them; the Rust state they reach is used by that thread only.
//! - `NativeObject.inner` is set at creation and freed only by its dealloc; a
//!   `ConnObject` holds a strong reference to its `Native`, so `inner` outlives every
//!   connection.
//! - `ConnObject.conn` is a `Box<Conn>` the object owns, freed by its dealloc.
use super::conn::{Conn, Outgoing, Received, SendError, Sent, Shared};
use super::inbox::Event;
use super::scope::ScopeBuilder;
use super::socket::Data;
use super::websocket::{WsConn, WsOutgoing, WsReceived};
use crate::app::LoadError;
use crate::http::log::Level;
use crate::pyheap::{free_instance, method, sealed_spec, slot};
use crate::pyvalue::append_header;
use bytes::Bytes;
use hornbeam_python::call::{self, new_str, owned, PyResult};
use hornbeam_python::error::{raise, raise_class, Exc};
use hornbeam_python::object::PyOwned;
use hornbeam_python::table::FfiTable;
use hornbeam_python::value::{bytes_like, new_bytes, utf8};
use hyper::header::{HeaderValue, LINK};
use hyper::{HeaderMap, StatusCode};
use pyo3::ffi;
use std::ffi::CStr;
use std::ptr;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

/// What the worker's `Native` object holds.
pub struct NativeInner {
    pub shared: Arc<Shared>,
    scopes: ScopeBuilder,
    conn_type: PyOwned,
    /// `hornbeam_asgi.ClientDisconnected`, raised by `send` once the client is gone.
    disconnected: PyOwned,
    strings: Strings,
    next_id: u64,
    ready: Option<SyncSender<Result<(), LoadError>>>,
}

/// Strings every event uses, made once.
struct Strings {
    type_: PyOwned,
    body: PyOwned,
    more_body: PyOwned,
    http_request: PyOwned,
    http_disconnect: PyOwned,
    ws_connect: PyOwned,
    ws_receive: PyOwned,
    ws_disconnect: PyOwned,
    text: PyOwned,
    bytes: PyOwned,
    code: PyOwned,
    reason: PyOwned,
}

#[repr(C)]
struct NativeObject {
    ob_base: ffi::PyObject,
    inner: *mut NativeInner,
}

/// An HTTP request or a WebSocket, behind the same Python methods.
enum AnyConn {
    Http(Conn),
    Ws(WsConn),
}

#[repr(C)]
struct ConnObject {
    ob_base: ffi::PyObject,
    conn: *mut AnyConn,
    native: *mut ffi::PyObject,
    /// The request's number; Python makes its wake tokens from it.
    id: u64,
}

pub struct AsgiTypes {
    native: PyOwned,
    conn: PyOwned,
}

impl AsgiTypes {
    /// # Safety
    /// GIL held.
    pub unsafe fn create() -> PyResult<AsgiTypes> {
        // SAFETY: the caller keeps the contract above: GIL held.
        unsafe {
            Ok(AsgiTypes {
                native: owned(ffi::PyType_FromSpec(NATIVE_SPEC.get()))?,
                conn: owned(ffi::PyType_FromSpec(CONN_SPEC.get()))?,
            })
        }
    }

    /// The worker's `Native` object.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn native(
        &self,
        shared: Arc<Shared>,
        scopes: ScopeBuilder,
        disconnected: PyOwned,
        ready: SyncSender<Result<(), LoadError>>,
    ) -> PyResult<PyOwned> {
        // SAFETY: the caller keeps the contract above: GIL held.
        unsafe {
            let strings = Strings {
                type_: new_str("type")?,
                body: new_str("body")?,
                more_body: new_str("more_body")?,
                http_request: new_str("http.request")?,
                http_disconnect: new_str("http.disconnect")?,
                ws_connect: new_str("websocket.connect")?,
                ws_receive: new_str("websocket.receive")?,
                ws_disconnect: new_str("websocket.disconnect")?,
                text: new_str("text")?,
                bytes: new_str("bytes")?,
                code: new_str("code")?,
                reason: new_str("reason")?,
            };
            let obj = owned(ffi::PyType_GenericAlloc(self.native.as_ptr().cast(), 0))?;
            let inner = Box::new(NativeInner {
                shared,
                scopes,
                conn_type: self.conn.clone(),
                disconnected,
                strings,
                next_id: 0,
                ready: Some(ready),
            });
            (*obj.as_ptr().cast::<NativeObject>()).inner = Box::into_raw(inner);
            Ok(obj)
        }
    }
}

/// Reports a start-up that ended before `ready()` was called (the glue raised); false
/// if start-up had already been reported.
///
/// # Safety
/// GIL held; `obj` came from `AsgiTypes::native`.
pub unsafe fn report_failure(obj: &PyOwned, error: LoadError) -> bool {
    // SAFETY: the caller keeps the contract above: GIL held; `obj` came from `AsgiTypes::native`.
    unsafe {
        let inner = &mut *(*obj.as_ptr().cast::<NativeObject>()).inner;
        match inner.ready.take() {
            Some(ready) => ready.send(Err(error)).is_ok(),
            None => false,
        }
    }
}

/// The Rust state of a `Native` object.
///
/// # Safety
/// GIL held; `obj` is a live `Native` object; the reference is used only during
/// the slot call that received `obj`: CPython may free the object once that call returns, and no other reference to the state is live meanwhile.
unsafe fn native_inner<'obj>(obj: *mut ffi::PyObject) -> &'obj mut NativeInner {
    // SAFETY: the caller keeps the contract above; `inner` is set at creation and freed only
    // by the object's dealloc (the invariants at the top of this file).
    unsafe { &mut *(*obj.cast::<NativeObject>()).inner }
}

unsafe extern "C" fn native_dealloc(obj: *mut ffi::PyObject) {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let inner = (*obj.cast::<NativeObject>()).inner;
        if !inner.is_null() {
            drop(Box::from_raw(inner));
        }
        free_instance(obj);
    }
}

unsafe fn none() -> *mut ffi::PyObject {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe { ffi::Py_NewRef(ffi::Py_None()) }
}

/// `fileno()`: the eventfd the loop watches.
unsafe extern "C" fn native_fileno(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe { ffi::PyLong_FromLong(native_inner(obj).shared.inbox.fd() as std::ffi::c_long) }
}

/// `ready(error)`: start-up is over; `None`, or why it failed (lifespan).
unsafe extern "C" fn native_ready(
    obj: *mut ffi::PyObject,
    error: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let inner = native_inner(obj);
        let outcome = if error == ffi::Py_None() {
            Ok(())
        } else {
            let text = PyOwned::from_borrowed(error)
                .and_then(|e| hornbeam_python::error::str_of(&e))
                .unwrap_or_default();
            Err(LoadError::LifespanFailed(text))
        };
        if let Some(ready) = inner.ready.take() {
            let _ = ready.send(outcome);
        }
        none()
    }
}

/// `log(level, text)`: a line for Erlang's logger; level is "error", "warning" or
/// "info".
unsafe extern "C" fn native_log(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        if nargs != 2 {
            raise(Exc::TypeError, "log(level, text)");
            return ptr::null_mut();
        }
        let (Some(level), Some(text)) = (utf8(*args), utf8(*args.add(1))) else {
            raise(Exc::TypeError, "log(level, text) takes two str");
            return ptr::null_mut();
        };
        let level = match level.as_str() {
            "error" => Level::Error,
            "warning" => Level::Warning,
            _ => Level::Info,
        };
        native_inner(obj).shared.log.send(level, &text);
        none()
    }
}

/// `drain()`: what the engine queued since the last call, as a list: `(scope, conn)`
/// for a new request, an `int` wake token, `None` for stop.
unsafe extern "C" fn native_drain(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let inner = native_inner(obj);
        let events = inner.shared.inbox.drain();
        let list = ffi::PyList_New(0);
        if list.is_null() {
            return list;
        }
        for event in events {
            let item = match event {
                Event::Wake(token) => ffi::PyLong_FromUnsignedLongLong(token),
                Event::Stop => none(),
                Event::Drain => ffi::PyLong_FromUnsignedLongLong(super::inbox::DRAIN_TOKEN),
                Event::Closed(connection) => {
                    ffi::PyLong_FromUnsignedLongLong(super::inbox::closed_token(connection))
                }
                Event::Job(job) => match new_request(obj, inner, job) {
                    Ok(pair) => pair.into_ptr(),
                    Err(e) => {
                        // The request's response sender is dropped with it: the engine
                        // answers 500.
                        inner.shared.log.error(&format!(
                            "cannot build an ASGI scope: {}",
                            e.traceback_or_message()
                        ));
                        continue;
                    }
                },
            };
            if item.is_null() || ffi::PyList_Append(list, item) != 0 {
                ffi::Py_XDECREF(item);
                ffi::Py_DecRef(list);
                return ptr::null_mut();
            }
            ffi::Py_DecRef(item);
        }
        list
    }
}

unsafe fn new_request(
    native: *mut ffi::PyObject,
    inner: &mut NativeInner,
    job: crate::http::exchange::Job,
) -> PyResult<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let id = inner.next_id;
        inner.next_id += 1;
        let (conn, scope) = if job.request.websocket.is_some() {
            let crate::http::exchange::Job { mut request, respond, control, .. } = job;
            let upgrade = request.websocket.take().expect("checked above");
            let (method, uri) = (request.head.method.clone(), request.head.uri.clone());
            let ws = WsConn::new(id, inner.shared.clone(), respond, upgrade, control, method, uri);
            (AnyConn::Ws(ws), inner.scopes.build_websocket(&request))
        } else {
            let end_stream = job.request.body.is_none();
            let (conn, request) = Conn::new(id, job, inner.shared.clone());
            let scope = inner.scopes.build(&request).and_then(|scope| match conn.connection() {
                Some(stream) => ScopeBuilder::add_stream(scope, stream, end_stream),
                None => Ok(scope),
            });
            (AnyConn::Http(conn), scope)
        };
        // On failure `conn` drops here: the engine answers 500 (or closes the handshake).
        let scope = scope?;
        let obj = owned(ffi::PyType_GenericAlloc(inner.conn_type.as_ptr().cast(), 0))?;
        let this = obj.as_ptr().cast::<ConnObject>();
        (*this).conn = Box::into_raw(Box::new(conn));
        (*this).native = ffi::Py_NewRef(native);
        (*this).id = id;
        call::tuple([scope, obj])
    }
}

// ---- Conn -----------------------------------------------------------------------------

unsafe extern "C" fn conn_dealloc(obj: *mut ffi::PyObject) {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let this = obj.cast::<ConnObject>();
        if !(*this).conn.is_null() {
            drop(Box::from_raw((*this).conn));
        }
        ffi::Py_XDECREF((*this).native);
        free_instance(obj);
    }
}

/// A `Conn` object's connection and its worker's `Native` state.
///
/// # Safety
/// GIL held; `obj` is a live `Conn` object; the references are used only during
/// the slot call that received `obj`: CPython may free the object once that call returns, and no other reference to either is live meanwhile.
unsafe fn parts<'obj>(obj: *mut ffi::PyObject) -> (&'obj mut AnyConn, &'obj mut NativeInner) {
    // SAFETY: the caller keeps the contract above; a `Conn` owns its `conn` box and holds a
    // reference to its `Native`, so both outlive the call.
    unsafe {
        let this = obj.cast::<ConnObject>();
        (&mut *(*this).conn, native_inner((*this).native))
    }
}

/// `receive()`: the next event dict, or `None` when the caller must wait for its
/// receive token.
unsafe extern "C" fn conn_receive(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let (conn, native) = parts(obj);
        let s = &native.strings;
        match conn {
            AnyConn::Http(conn) => match conn.receive() {
                None => none(),
                Some(Received::Disconnect) => event(&[(&s.type_, s.http_disconnect.as_ptr())]),
                Some(Received::Body { body, more }) => {
                    let Some(bytes) = new_bytes(&body).ok() else { return ptr::null_mut() };
                    let more = if more { ffi::Py_True() } else { ffi::Py_False() };
                    event(&[
                        (&s.type_, s.http_request.as_ptr()),
                        (&s.body, bytes.as_ptr()),
                        (&s.more_body, more),
                    ])
                }
            },
            AnyConn::Ws(ws) => match ws.receive() {
                None => none(),
                Some(WsReceived::Connect) => event(&[(&s.type_, s.ws_connect.as_ptr())]),
                Some(WsReceived::Text(text)) => {
                    let Some(text) = PyOwned::from_owned(ffi::PyUnicode_FromStringAndSize(
                        text.as_ptr().cast(),
                        text.len() as ffi::Py_ssize_t,
                    )) else {
                        return ptr::null_mut();
                    };
                    event(&[(&s.type_, s.ws_receive.as_ptr()), (&s.text, text.as_ptr())])
                }
                Some(WsReceived::Bytes(bytes)) => {
                    let Some(bytes) = new_bytes(&bytes).ok() else { return ptr::null_mut() };
                    event(&[(&s.type_, s.ws_receive.as_ptr()), (&s.bytes, bytes.as_ptr())])
                }
                Some(WsReceived::Disconnect { code, reason }) => {
                    let Some(code) =
                        PyOwned::from_owned(ffi::PyLong_FromLong(code as std::ffi::c_long))
                    else {
                        return ptr::null_mut();
                    };
                    let Some(reason) = PyOwned::from_owned(ffi::PyUnicode_FromStringAndSize(
                        reason.as_ptr().cast(),
                        reason.len() as ffi::Py_ssize_t,
                    )) else {
                        return ptr::null_mut();
                    };
                    event(&[
                        (&s.type_, s.ws_disconnect.as_ptr()),
                        (&s.code, code.as_ptr()),
                        (&s.reason, reason.as_ptr()),
                    ])
                }
            },
        }
    }
}

unsafe fn event(items: &[(&PyOwned, *mut ffi::PyObject)]) -> *mut ffi::PyObject {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let dict = ffi::PyDict_New();
        if dict.is_null() {
            return dict;
        }
        for (key, value) in items {
            if ffi::PyDict_SetItem(dict, key.as_ptr(), *value) != 0 {
                ffi::Py_DecRef(dict);
                return ptr::null_mut();
            }
        }
        dict
    }
}

/// Maps a send outcome to Python: `False` (done), `True` (wait for the send token), or
/// an exception.
unsafe fn sent(native: &NativeInner, outcome: Result<Sent, SendError>) -> *mut ffi::PyObject {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        match outcome {
            Ok(Sent::Done) => ffi::Py_NewRef(ffi::Py_False()),
            Ok(Sent::Wait) => ffi::Py_NewRef(ffi::Py_True()),
            Err(SendError::Disconnected) => {
                raise_class(native.disconnected.as_ptr(), "the client disconnected");
                ptr::null_mut()
            }
            Err(SendError::Protocol(why)) => {
                raise(Exc::RuntimeError, &why);
                ptr::null_mut()
            }
            Err(SendError::File(why)) => {
                raise(Exc::OSError, &format!("http.response.pathsend: {why}"));
                ptr::null_mut()
            }
        }
    }
}

/// `send(message)` -> `True` if the caller must wait for its send token and call
/// `flush()`.
unsafe extern "C" fn conn_send(
    obj: *mut ffi::PyObject,
    message: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let (conn, native) = parts(obj);
        match conn {
            AnyConn::Http(conn) => {
                let Some(outgoing) = parse_message(message) else { return ptr::null_mut() };
                sent(native, conn.send(outgoing))
            }
            AnyConn::Ws(ws) => {
                let Some(outgoing) = parse_ws_message(message) else { return ptr::null_mut() };
                sent(native, ws.send(outgoing))
            }
        }
    }
}

/// `flush()` -> `True` while the held chunk still waits for room.
unsafe extern "C" fn conn_flush(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let (conn, native) = parts(obj);
        let outcome = match conn {
            AnyConn::Http(conn) => conn.flush(),
            AnyConn::Ws(ws) => ws.flush(),
        };
        sent(native, outcome)
    }
}

/// `finish()`: the application returned.
unsafe extern "C" fn conn_finish(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        match parts(obj).0 {
            AnyConn::Http(conn) => conn.finish(),
            AnyConn::Ws(ws) => ws.finish(),
        }
        none()
    }
}

/// `fail(traceback)`: the application raised.
unsafe extern "C" fn conn_fail(
    obj: *mut ffi::PyObject,
    traceback: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let text = utf8(traceback).unwrap_or_default();
        match parts(obj).0 {
            AnyConn::Http(conn) => conn.fail(&text),
            AnyConn::Ws(ws) => ws.fail(&text),
        }
        none()
    }
}

/// `cancel()`: the task was cancelled (timeout or stop): end quietly.
unsafe extern "C" fn conn_cancel(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        match parts(obj).0 {
            AnyConn::Http(conn) => conn.cancel(),
            AnyConn::Ws(ws) => ws.cancel(),
        }
        none()
    }
}

/// `reset()`: the application reset the stream (hface).
unsafe extern "C" fn conn_reset(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        if let AnyConn::Http(conn) = parts(obj).0 {
            conn.reset();
        }
        none()
    }
}

/// `close_connection()`: closes the request's connection gracefully once its requests
/// in progress are answered (hface); nothing for a request of a server of requests.
unsafe extern "C" fn conn_close_connection(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        if let AnyConn::Http(conn) = parts(obj).0 {
            if let Some(stream) = conn.connection() {
                stream.connection.request_close();
            }
        }
        none()
    }
}

// ---- messages ---------------------------------------------------------------------------

/// A borrowed item of a message dict.
unsafe fn item(message: *mut ffi::PyObject, key: &CStr) -> *mut ffi::PyObject {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe { ffi::PyDict_GetItemString(message, key.as_ptr()) }
}

/// The `type` of a message dict; `None` with an exception set if it is not one.
unsafe fn message_type(message: *mut ffi::PyObject) -> Option<String> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if ffi::PyDict_Check(message) == 0 {
            raise(Exc::TypeError, "an ASGI message must be a dict");
            return None;
        }
        let kind = item(message, c"type");
        let kind = if kind.is_null() { None } else { utf8(kind) };
        if kind.is_none() {
            raise(Exc::ValueError, "an ASGI message needs a 'type' str");
        }
        kind
    }
}

unsafe fn parse_message(message: *mut ffi::PyObject) -> Option<Outgoing> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let kind = message_type(message)?;
        match kind.as_str() {
            "http.response.start" => {
                let status = item(message, c"status");
                let code = if status.is_null() || ffi::PyLong_Check(status) == 0 {
                    -1
                } else {
                    ffi::PyLong_AsLong(status)
                };
                let status =
                    match u16::try_from(code).ok().and_then(|c| StatusCode::from_u16(c).ok()) {
                        Some(s) if code >= 100 => s,
                        _ => {
                            ffi::PyErr_Clear();
                            raise(
                                Exc::ValueError,
                                "http.response.start needs an int 'status' from 100 to 999",
                            );
                            return None;
                        }
                    };
                let headers = headers(item(message, c"headers"))?;
                Some(Outgoing::Start { status, headers })
            }
            "http.response.body" => {
                let body = bytes_item(message, c"body", "http.response.body")?;
                let more = item(message, c"more_body");
                let more = !more.is_null() && ffi::PyObject_IsTrue(more) == 1;
                Some(Outgoing::Body { body, more })
            }
            "http.response.early_hint" => {
                let links = item(message, c"links");
                let mut map = HeaderMap::new();
                if !links.is_null() {
                    for link in iterate(links)? {
                        let Some(value) = bytes_like(link.as_ptr())
                            .and_then(|b| HeaderValue::from_bytes(&b).ok())
                        else {
                            raise(
                                Exc::ValueError,
                                "http.response.early_hint 'links' must be bytes header values",
                            );
                            return None;
                        };
                        map.append(LINK, value);
                    }
                }
                Some(Outgoing::EarlyHint(map))
            }
            "http.response.pathsend" => {
                let path = item(message, c"path");
                match if path.is_null() { None } else { utf8(path) } {
                    Some(p) => Some(Outgoing::PathSend(p)),
                    None => {
                        raise(Exc::ValueError, "http.response.pathsend needs a 'path' str");
                        None
                    }
                }
            }
            other => {
                raise(
                    Exc::RuntimeError,
                    &format!("Unexpected ASGI message type '{other}' for an http scope"),
                );
                None
            }
        }
    }
}

unsafe fn parse_ws_message(message: *mut ffi::PyObject) -> Option<WsOutgoing> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let kind = message_type(message)?;
        let optional_str = |key: &CStr| -> Result<Option<String>, ()> {
            let obj = item(message, key);
            if obj.is_null() || obj == ffi::Py_None() {
                return Ok(None);
            }
            match utf8(obj) {
                Some(s) => Ok(Some(s)),
                None => {
                    raise(
                        Exc::TypeError,
                        &format!("{kind} '{}' must be a str", key.to_string_lossy()),
                    );
                    Err(())
                }
            }
        };
        match kind.as_str() {
            "websocket.accept" => {
                let subprotocol = optional_str(c"subprotocol").ok()?;
                let headers = headers(item(message, c"headers"))?;
                Some(WsOutgoing::Accept { subprotocol, headers })
            }
            "websocket.send" => {
                let bytes = item(message, c"bytes");
                if !bytes.is_null() && bytes != ffi::Py_None() {
                    return match bytes_like(bytes) {
                        Some(b) => Some(WsOutgoing::Send(Data::Binary(b))),
                        None => {
                            raise(Exc::TypeError, "websocket.send 'bytes' must be bytes");
                            None
                        }
                    };
                }
                match optional_str(c"text").ok()? {
                    Some(text) => Some(WsOutgoing::Send(Data::Text(text))),
                    None => {
                        raise(Exc::ValueError, "websocket.send needs 'bytes' or 'text'");
                        None
                    }
                }
            }
            "websocket.close" => {
                let code = item(message, c"code");
                let code = if code.is_null() || code == ffi::Py_None() {
                    1000
                } else {
                    ffi::PyLong_AsLong(code)
                };
                let Ok(code) = u16::try_from(code) else {
                    ffi::PyErr_Clear();
                    raise(
                        Exc::ValueError,
                        "websocket.close 'code' must be an int from 1000 to 4999",
                    );
                    return None;
                };
                let reason = optional_str(c"reason").ok()?.unwrap_or_default();
                Some(WsOutgoing::Close { code, reason })
            }
            other => {
                raise(
                    Exc::RuntimeError,
                    &format!("Unexpected ASGI message type '{other}' for a websocket scope"),
                );
                None
            }
        }
    }
}

/// The items of any iterable.
unsafe fn iterate(obj: *mut ffi::PyObject) -> Option<Vec<PyOwned>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let iter = PyOwned::from_owned(ffi::PyObject_GetIter(obj))?;
        let mut items = Vec::new();
        while let Some(item) = PyOwned::from_owned(ffi::PyIter_Next(iter.as_ptr())) {
            items.push(item);
        }
        if !ffi::PyErr_Occurred().is_null() {
            return None;
        }
        Some(items)
    }
}

/// `[[name, value], ...]` of bytes.
unsafe fn headers(obj: *mut ffi::PyObject) -> Option<HeaderMap> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let mut map = HeaderMap::new();
        if obj.is_null() {
            return Some(map);
        }
        for pair in iterate(obj)? {
            let two = iterate(pair.as_ptr()).filter(|p| p.len() == 2);
            let parsed = two
                .as_ref()
                .and_then(|p| Some((bytes_like(p[0].as_ptr())?, bytes_like(p[1].as_ptr())?)));
            let Some((name, value)) = parsed else {
                ffi::PyErr_Clear();
                raise(Exc::TypeError, "response headers must be [name, value] pairs of bytes");
                return None;
            };
            append_header(&mut map, &name, &value)?;
        }
        Some(map)
    }
}

/// `message[key]` as bytes (absent: empty).
unsafe fn bytes_item(message: *mut ffi::PyObject, key: &CStr, kind: &str) -> Option<Bytes> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let obj = item(message, key);
        if obj.is_null() {
            return Some(Bytes::new());
        }
        match bytes_like(obj) {
            Some(b) => Some(b),
            None => {
                raise(Exc::TypeError, &format!("{kind} '{}' must be bytes", key.to_string_lossy()));
                None
            }
        }
    }
}

// ---- type tables ----------------------------------------------------------------------
// The C-API tables of this file's Python objects (`FfiTable`: their address goes to
// CPython, nothing else touches them).

static NATIVE_METHODS: FfiTable<[ffi::PyMethodDef; 5]> = FfiTable::new([
    method!(c"fileno", PyCFunction: native_fileno, ffi::METH_NOARGS, c"fileno() -> the eventfd to watch"),
    method!(c"drain", PyCFunction: native_drain, ffi::METH_NOARGS, c"drain() -> [(scope, conn) | token | None]"),
    method!(c"ready", PyCFunction: native_ready, ffi::METH_O, c"ready(error): start-up finished (error None or str)"),
    method!(c"log", PyCFunctionFast: native_log, ffi::METH_FASTCALL, c"log(level, text): a line for Erlang's logger"),
    ffi::PyMethodDef::zeroed(),
]);

static NATIVE_SLOTS: FfiTable<[ffi::PyType_Slot; 4]> = FfiTable::new([
    slot!(Py_tp_dealloc, native_dealloc),
    slot!(Py_tp_methods, NATIVE_METHODS.get()),
    slot!(Py_tp_doc, doc c"The engine side of one ASGI worker."),
    slot!(end),
]);

static NATIVE_SPEC: FfiTable<ffi::PyType_Spec> =
    FfiTable::new(sealed_spec!(c"hornbeam.AsgiNative", NativeObject, NATIVE_SLOTS));

static CONN_METHODS: FfiTable<[ffi::PyMethodDef; 9]> = FfiTable::new([
    method!(c"receive", PyCFunction: conn_receive, ffi::METH_NOARGS, c"receive() -> event dict, or None: wait"),
    method!(c"send", PyCFunction: conn_send, ffi::METH_O, c"send(message) -> True: wait, then flush()"),
    method!(c"flush", PyCFunction: conn_flush, ffi::METH_NOARGS, c"flush() -> True: wait again"),
    method!(c"finish", PyCFunction: conn_finish, ffi::METH_NOARGS, c"finish(): the application returned"),
    method!(c"fail", PyCFunction: conn_fail, ffi::METH_O, c"fail(traceback): the application raised"),
    method!(c"cancel", PyCFunction: conn_cancel, ffi::METH_NOARGS, c"cancel(): the task was cancelled"),
    method!(c"reset", PyCFunction: conn_reset, ffi::METH_NOARGS, c"reset(): the application reset the stream"),
    method!(c"close_connection", PyCFunction: conn_close_connection, ffi::METH_NOARGS, c"close_connection(): close the request's connection gracefully"),
    ffi::PyMethodDef::zeroed(),
]);

static CONN_MEMBERS: FfiTable<[ffi::PyMemberDef; 2]> = FfiTable::new([
    ffi::PyMemberDef {
        name: c"id".as_ptr(),
        type_code: ffi::Py_T_ULONGLONG,
        offset: std::mem::offset_of!(ConnObject, id) as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: c"the request's number".as_ptr(),
    },
    ffi::PyMemberDef { name: ptr::null(), type_code: 0, offset: 0, flags: 0, doc: ptr::null() },
]);

static CONN_SLOTS: FfiTable<[ffi::PyType_Slot; 5]> = FfiTable::new([
    slot!(Py_tp_dealloc, conn_dealloc),
    slot!(Py_tp_methods, CONN_METHODS.get()),
    slot!(Py_tp_members, CONN_MEMBERS.get()),
    slot!(Py_tp_doc, doc c"One ASGI request's connection to the engine."),
    slot!(end),
]);

static CONN_SPEC: FfiTable<ffi::PyType_Spec> =
    FfiTable::new(sealed_spec!(c"hornbeam.AsgiConn", ConnObject, CONN_SLOTS));
