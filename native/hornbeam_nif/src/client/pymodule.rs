//! `_hornbeam_client`: the native half of hface's openers (`hface/_client.py`). A
//! connection is a capsule owning its `Client`; the functions take it first. Built-in,
//! multi-phase init, no module state, per-interpreter-GIL safe: nothing here holds a
//! Python object between calls, and the engine side never touches Python.
//!
//! Invariants: every function runs with the calling interpreter's GIL held (CPython
//! calls it); the capsule's pointer is a `Box<Client>` made by `open` and freed only by
//! the capsule's destructor.
use super::connection::{self, Command, RequestHead, Target, Version};
use super::shared::{ClientEvent, Shared};
use super::tls::{self, Trust};
use crate::pyheap::{method, module_def};
use bytes::Bytes;
use hornbeam_python::call::{new_bool, new_int, new_str, tuple, PyResult};
use hornbeam_python::error::{raise, Exc};
use hornbeam_python::object::PyOwned;
use hornbeam_python::table::FfiTable;
use hornbeam_python::value::{bytes_like, new_bytes, utf8};
use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;
use pyo3::ffi;
use std::ffi::{c_void, CStr};
use std::net::SocketAddr;
use std::ptr;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

const CAPSULE: &CStr = c"hornbeam.client";

struct Client {
    shared: Arc<Shared>,
    commands: UnboundedSender<Command>,
}

type Args = *mut *mut ffi::PyObject;

unsafe fn arg(args: Args, i: usize) -> *mut ffi::PyObject {
    // SAFETY: callers checked `nargs` > i; CPython passes that many live arguments.
    unsafe { *args.add(i) }
}

unsafe fn is_none(obj: *mut ffi::PyObject) -> bool {
    // SAFETY: comparing pointers; `Py_None` is the immortal singleton.
    unsafe { obj == ffi::Py_None() }
}

/// The `Client` behind a capsule, or `None` with `TypeError` set.
unsafe fn client<'a>(capsule: *mut ffi::PyObject) -> Option<&'a Client> {
    // SAFETY: GIL held (module contract). `PyCapsule_GetPointer` checks the name, so
    // only a capsule made by `open` yields a pointer, a live `Box<Client>` that lasts as
    // long as the capsule the caller holds.
    unsafe {
        let pointer = ffi::PyCapsule_GetPointer(capsule, CAPSULE.as_ptr());
        if pointer.is_null() {
            ffi::PyErr_Clear();
            raise(Exc::TypeError, "not a client connection made by _hornbeam_client.open");
            return None;
        }
        Some(&*(pointer as *const Client))
    }
}

unsafe extern "C" fn drop_client(capsule: *mut ffi::PyObject) {
    // SAFETY: CPython calls the destructor once, as the capsule dies; its pointer is the
    // `Box<Client>` `open` leaked. Dropping the command sender ends the connection task.
    unsafe {
        let pointer = ffi::PyCapsule_GetPointer(capsule, CAPSULE.as_ptr());
        if !pointer.is_null() {
            drop(Box::from_raw(pointer as *mut Client));
        }
    }
}

unsafe fn optional_str(obj: *mut ffi::PyObject, what: &str) -> Result<Option<String>, ()> {
    // SAFETY: GIL held; `obj` is a live argument.
    unsafe {
        if is_none(obj) {
            return Ok(None);
        }
        match utf8(obj) {
            Some(s) => Ok(Some(s)),
            None => {
                raise(Exc::TypeError, &format!("{what} must be a str or None"));
                Err(())
            }
        }
    }
}

/// `open(host, port, server_name, alpn, default_version, insecure, cafile, capath,
/// cadata) -> connection`: starts connecting; `alpn` None means no TLS.
unsafe extern "C" fn open(
    _m: *mut ffi::PyObject,
    args: Args,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and `nargs` live arguments.
    unsafe {
        if nargs != 9 {
            raise(Exc::TypeError, "open() takes nine arguments");
            return ptr::null_mut();
        }
        let Some(host) = utf8(arg(args, 0)) else {
            raise(Exc::TypeError, "the host must be a str");
            return ptr::null_mut();
        };
        let port = ffi::PyLong_AsLong(arg(args, 1));
        if !ffi::PyErr_Occurred().is_null() || !(0..=65535).contains(&port) {
            ffi::PyErr_Clear();
            raise(Exc::ValueError, "the port must be an int in 0..65535");
            return ptr::null_mut();
        }
        let Ok(server_name) = optional_str(arg(args, 2), "server_name") else {
            return ptr::null_mut();
        };
        let default_version = match utf8(arg(args, 4)).as_deref() {
            Some("1.1") => Version::Http1,
            Some("2") => Version::Http2,
            _ => {
                raise(Exc::ValueError, "the default HTTP version must be '1.1' or '2'");
                return ptr::null_mut();
            }
        };
        let tls = if is_none(arg(args, 3)) {
            None
        } else {
            let Some(alpn) = str_items(arg(args, 3)) else {
                return ptr::null_mut();
            };
            let Some(trust) = trust(args) else {
                return ptr::null_mut();
            };
            let alpn: Vec<&[u8]> = alpn.iter().map(|p| p.as_bytes()).collect();
            let name = server_name.as_deref().unwrap_or(&host);
            let made = tls::client_config(&trust, &alpn)
                .and_then(|config| Ok((config, tls::server_name(name)?)));
            match made {
                Ok(tls) => Some(tls),
                Err(message) => {
                    raise(Exc::ValueError, &message);
                    return ptr::null_mut();
                }
            }
        };
        let runtime = match crate::http::engine::get(0) {
            Ok(runtime) => runtime,
            Err(message) => {
                raise(Exc::RuntimeError, &message);
                return ptr::null_mut();
            }
        };
        let shared = match Shared::new() {
            Ok(shared) => Arc::new(shared),
            Err(e) => {
                raise(Exc::OSError, &format!("cannot make the connection's eventfd: {e}"));
                return ptr::null_mut();
            }
        };
        let target = Target { host, port: port as u16, tls, default_version };
        let commands = connection::open(runtime, shared.clone(), target);
        let client = Box::into_raw(Box::new(Client { shared, commands }));
        let capsule =
            ffi::PyCapsule_New(client.cast::<c_void>(), CAPSULE.as_ptr(), Some(drop_client));
        if capsule.is_null() {
            drop(Box::from_raw(client));
        }
        capsule
    }
}

unsafe fn str_items(obj: *mut ffi::PyObject) -> Option<Vec<String>> {
    // SAFETY: GIL held; `obj` is a live argument.
    unsafe {
        let seq = PyOwned::from_owned(ffi::PySequence_Tuple(obj))?;
        let mut items = Vec::new();
        for i in 0..ffi::PyTuple_Size(seq.as_ptr()) {
            let Some(item) = utf8(ffi::PyTuple_GetItem(seq.as_ptr(), i)) else {
                raise(Exc::TypeError, "ALPN protocols must be str");
                return None;
            };
            items.push(item);
        }
        Some(items)
    }
}

unsafe fn trust(args: Args) -> Option<Trust> {
    // SAFETY: GIL held; `open` checked there are nine arguments.
    unsafe {
        let insecure = ffi::PyObject_IsTrue(arg(args, 5));
        if insecure < 0 {
            return None;
        }
        let cafile = optional_str(arg(args, 6), "cafile").ok()?;
        let capath = optional_str(arg(args, 7), "capath").ok()?;
        let cadata = arg(args, 8);
        let cadata = if is_none(cadata) {
            None
        } else if let Some(text) = utf8(cadata) {
            Some(text.into_bytes())
        } else if let Some(bytes) = bytes_like(cadata) {
            Some(bytes.to_vec())
        } else {
            raise(Exc::TypeError, "cadata must be str, bytes or None");
            return None;
        };
        Some(Trust { insecure: insecure == 1, cafile, capath, cadata })
    }
}

/// `fileno(connection) -> int`: the eventfd that becomes readable when there is an
/// event to take or room to send.
unsafe extern "C" fn fileno(
    _m: *mut ffi::PyObject,
    capsule: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and a live argument.
    unsafe {
        match client(capsule) {
            Some(client) => ffi::PyLong_FromLong(client.shared.fd().into()),
            None => ptr::null_mut(),
        }
    }
}

/// `clear(connection)`: resets the eventfd before Python looks at what changed.
unsafe extern "C" fn clear(
    _m: *mut ffi::PyObject,
    capsule: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and a live argument.
    unsafe {
        let Some(client) = client(capsule) else {
            return ptr::null_mut();
        };
        client.shared.clear();
        ffi::Py_NewRef(ffi::Py_None())
    }
}

/// `next_event(connection) -> tuple | None`: the oldest event (see `event_tuple`).
unsafe extern "C" fn next_event(
    _m: *mut ffi::PyObject,
    capsule: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and a live argument.
    unsafe {
        let Some(client) = client(capsule) else {
            return ptr::null_mut();
        };
        let Some(event) = client.shared.take() else {
            return ffi::Py_NewRef(ffi::Py_None());
        };
        match event_tuple(event) {
            Ok(tuple) => tuple.into_ptr(),
            Err(e) => {
                raise(Exc::RuntimeError, &format!("cannot build a client event: {}", e.message));
                ptr::null_mut()
            }
        }
    }
}

/// `(0, http_version, local, remote)` connected, `(1, message)` failed, `(2, stream,
/// headers, end_stream)`, `(3, stream, data, end_stream)`, `(4, stream, error_code)`
/// reset received, `(5, error_code, message | None)` terminated.
unsafe fn event_tuple(event: ClientEvent) -> PyResult<PyOwned> {
    // SAFETY: GIL held (the caller's).
    unsafe {
        match event {
            ClientEvent::Connected { http_version, local, remote } => {
                tuple([new_int(0)?, new_str(http_version)?, address(local)?, address(remote)?])
            }
            ClientEvent::Failed(message) => tuple([new_int(1)?, new_str(&message)?]),
            ClientEvent::Headers { stream, status, headers, end_stream } => {
                let list = headers_list(status, &headers)?;
                tuple([new_int(2)?, new_int(stream as i64)?, list, new_bool(end_stream)])
            }
            ClientEvent::Data { stream, data, end_stream } => tuple([
                new_int(3)?,
                new_int(stream as i64)?,
                new_bytes(&data)?,
                new_bool(end_stream),
            ]),
            ClientEvent::ResetReceived { stream, error_code } => {
                tuple([new_int(4)?, new_int(stream as i64)?, new_int(error_code.into())?])
            }
            ClientEvent::Terminated { error_code, message } => {
                let message = match message {
                    Some(text) => new_str(&text)?,
                    None => none(),
                };
                tuple([new_int(5)?, new_int(error_code.into())?, message])
            }
        }
    }
}

unsafe fn none() -> PyOwned {
    // SAFETY: the singleton is immortal; `from_borrowed` takes a reference of its own.
    unsafe { PyOwned::from_borrowed(ffi::Py_None()).expect("None exists") }
}

unsafe fn address(addr: SocketAddr) -> PyResult<PyOwned> {
    // SAFETY: GIL held (the caller's).
    unsafe { tuple([new_str(&addr.ip().to_string())?, new_int(addr.port().into())?]) }
}

/// `[(b":status", b"200"), (name, value), ...]`, as hface shows a response.
unsafe fn headers_list(status: u16, headers: &[(Bytes, Bytes)]) -> PyResult<PyOwned> {
    // SAFETY: GIL held (the caller's). The list is new with room for every pair;
    // `PyList_SetItem` steals each reference `into_ptr` gives up.
    unsafe {
        let list =
            hornbeam_python::call::owned(ffi::PyList_New(headers.len() as ffi::Py_ssize_t + 1))?;
        let status = tuple([new_bytes(b":status")?, new_bytes(status.to_string().as_bytes())?])?;
        ffi::PyList_SetItem(list.as_ptr(), 0, status.into_ptr());
        for (i, (name, value)) in headers.iter().enumerate() {
            let pair = tuple([new_bytes(name)?, new_bytes(value)?])?;
            ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t + 1, pair.into_ptr());
        }
        Ok(list)
    }
}

unsafe fn stream_id(obj: *mut ffi::PyObject) -> Option<u64> {
    // SAFETY: GIL held; `obj` is a live argument.
    unsafe {
        let id = ffi::PyLong_AsUnsignedLongLong(obj);
        if !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            raise(Exc::ValueError, "a stream id must be a positive int");
            return None;
        }
        Some(id)
    }
}

unsafe fn flag(obj: *mut ffi::PyObject) -> Option<bool> {
    // SAFETY: GIL held; `obj` is a live argument.
    unsafe {
        match ffi::PyObject_IsTrue(obj) {
            -1 => None,
            n => Some(n == 1),
        }
    }
}

/// `send_headers(connection, stream_id, headers, end_stream)`: starts a request.
unsafe extern "C" fn send_headers(
    _m: *mut ffi::PyObject,
    args: Args,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and `nargs` live arguments.
    unsafe {
        if nargs != 4 {
            raise(Exc::TypeError, "send_headers(connection, stream_id, headers, end_stream)");
            return ptr::null_mut();
        }
        let (Some(client), Some(stream), Some(end_stream)) =
            (client(arg(args, 0)), stream_id(arg(args, 1)), flag(arg(args, 3)))
        else {
            return ptr::null_mut();
        };
        let Some(head) = request_head(arg(args, 2)) else {
            return ptr::null_mut();
        };
        let _ = client.commands.send(Command::Headers { stream, head, end_stream });
        ffi::Py_NewRef(ffi::Py_None())
    }
}

/// A request's pseudo-headers and headers; `None` with `ValueError`/`TypeError` set.
unsafe fn request_head(obj: *mut ffi::PyObject) -> Option<RequestHead> {
    // SAFETY: GIL held; `obj` is a live argument.
    unsafe {
        let seq = PyOwned::from_owned(ffi::PySequence_Tuple(obj))?;
        let (mut method, mut scheme, mut authority, mut path) = (None, None, None, None);
        let mut headers = Vec::new();
        for i in 0..ffi::PyTuple_Size(seq.as_ptr()) {
            let pair =
                PyOwned::from_owned(ffi::PySequence_Tuple(ffi::PyTuple_GetItem(seq.as_ptr(), i)));
            let parsed =
                pair.as_ref().filter(|p| ffi::PyTuple_Size(p.as_ptr()) == 2).and_then(|p| {
                    let name = bytes_like(ffi::PyTuple_GetItem(p.as_ptr(), 0))?;
                    let value = bytes_like(ffi::PyTuple_GetItem(p.as_ptr(), 1))?;
                    Some((name, value))
                });
            let Some((name, value)) = parsed else {
                ffi::PyErr_Clear();
                raise(Exc::TypeError, "headers must be (name, value) pairs of bytes");
                return None;
            };
            let text = || String::from_utf8_lossy(&value).into_owned();
            match &name[..] {
                b":method" => method = Method::from_bytes(&value).ok(),
                b":scheme" => scheme = Some(text()),
                b":authority" => authority = Some(text()),
                b":path" => path = Some(text()),
                other if other.starts_with(b":") => {
                    let other = String::from_utf8_lossy(other);
                    raise(Exc::ValueError, &format!("unknown request pseudo-header {other}"));
                    return None;
                }
                _ => {
                    let (Ok(name), Ok(value)) =
                        (HeaderName::from_bytes(&name), HeaderValue::from_bytes(&value))
                    else {
                        let name = String::from_utf8_lossy(&name);
                        raise(Exc::ValueError, &format!("invalid request header {name}"));
                        return None;
                    };
                    headers.push((name, value));
                }
            }
        }
        let (Some(method), Some(path)) = (method, path) else {
            raise(Exc::ValueError, "a request needs valid :method and :path pseudo-headers");
            return None;
        };
        let scheme = scheme.unwrap_or_else(|| "http".into());
        let authority = authority.unwrap_or_default();
        Some(RequestHead { method, scheme, authority, path, headers })
    }
}

/// `send_data(connection, stream_id, data, end_stream) -> bool`: True when Python
/// should wait for `has_room` before sending more.
unsafe extern "C" fn send_data(
    _m: *mut ffi::PyObject,
    args: Args,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and `nargs` live arguments.
    unsafe {
        if nargs != 4 {
            raise(Exc::TypeError, "send_data(connection, stream_id, data, end_stream)");
            return ptr::null_mut();
        }
        let (Some(client), Some(stream), Some(end_stream)) =
            (client(arg(args, 0)), stream_id(arg(args, 1)), flag(arg(args, 3)))
        else {
            return ptr::null_mut();
        };
        let Some(data) = bytes_like(arg(args, 2)) else {
            raise(Exc::TypeError, "data must be bytes");
            return ptr::null_mut();
        };
        let wait = client.shared.handed_over(data.len());
        if client.commands.send(Command::Data { stream, data, end_stream }).is_err() {
            // The connection task is gone: nothing will take these bytes.
            return ffi::Py_NewRef(ffi::Py_False());
        }
        new_bool(wait).into_ptr()
    }
}

/// `has_room(connection) -> bool`: whether hyper took enough to send more.
unsafe extern "C" fn has_room(
    _m: *mut ffi::PyObject,
    capsule: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and a live argument.
    unsafe {
        match client(capsule) {
            Some(client) => new_bool(client.shared.has_room_to_send()).into_ptr(),
            None => ptr::null_mut(),
        }
    }
}

/// `reset(connection, stream_id)`: abandons a stream (HTTP/2 RST_STREAM).
unsafe extern "C" fn reset(
    _m: *mut ffi::PyObject,
    args: Args,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and `nargs` live arguments.
    unsafe {
        if nargs != 2 {
            raise(Exc::TypeError, "reset(connection, stream_id)");
            return ptr::null_mut();
        }
        let (Some(client), Some(stream)) = (client(arg(args, 0)), stream_id(arg(args, 1))) else {
            return ptr::null_mut();
        };
        let _ = client.commands.send(Command::Reset { stream });
        ffi::Py_NewRef(ffi::Py_None())
    }
}

/// `close(connection)`: ends the connection; `Terminated` follows.
unsafe extern "C" fn close(
    _m: *mut ffi::PyObject,
    capsule: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and a live argument.
    unsafe {
        let Some(client) = client(capsule) else {
            return ptr::null_mut();
        };
        let _ = client.commands.send(Command::Close);
        ffi::Py_NewRef(ffi::Py_None())
    }
}

// The C-API tables of this file's Python objects (`FfiTable`: their address goes to
// CPython, nothing else touches them).
static METHODS: FfiTable<[ffi::PyMethodDef; 10]> = FfiTable::new([
    method!(c"open", PyCFunctionFast: open, ffi::METH_FASTCALL, c"open(host, port, server_name, alpn, default_version, insecure, cafile, capath, cadata) -> connection"),
    method!(c"fileno", PyCFunction: fileno, ffi::METH_O, c"fileno(connection) -> the eventfd to watch"),
    method!(c"clear", PyCFunction: clear, ffi::METH_O, c"clear(connection): reset the eventfd before looking"),
    method!(c"next_event", PyCFunction: next_event, ffi::METH_O, c"next_event(connection) -> event tuple or None"),
    method!(c"send_headers", PyCFunctionFast: send_headers, ffi::METH_FASTCALL, c"send_headers(connection, stream_id, headers, end_stream)"),
    method!(c"send_data", PyCFunctionFast: send_data, ffi::METH_FASTCALL, c"send_data(connection, stream_id, data, end_stream) -> True: wait for has_room"),
    method!(c"has_room", PyCFunction: has_room, ffi::METH_O, c"has_room(connection) -> whether more data may be sent"),
    method!(c"reset", PyCFunctionFast: reset, ffi::METH_FASTCALL, c"reset(connection, stream_id): abandon the stream"),
    method!(c"close", PyCFunction: close, ffi::METH_O, c"close(connection): end the connection"),
    ffi::PyMethodDef::zeroed(),
]);

static SLOTS: FfiTable<[ffi::PyModuleDef_Slot; 2]> = FfiTable::new([
    ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_multiple_interpreters,
        value: ffi::Py_MOD_PER_INTERPRETER_GIL_SUPPORTED,
    },
    ffi::PyModuleDef_Slot { slot: 0, value: ptr::null_mut() },
]);

static MODULE: FfiTable<ffi::PyModuleDef> = FfiTable::new(module_def!(
    c"_hornbeam_client",
    c"Native half of hface's openers (Hornbeam): HTTP/1.1 and HTTP/2 client connections on the engine.",
    METHODS,
    SLOTS
));

/// `PyInit__hornbeam_client`, registered with `PyImport_AppendInittab`.
pub unsafe extern "C" fn init_module() -> *mut ffi::PyObject {
    // SAFETY: CPython calls this once per interpreter that imports the module.
    unsafe { ffi::PyModuleDef_Init(MODULE.get()) }
}
