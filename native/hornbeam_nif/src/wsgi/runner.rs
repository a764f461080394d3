//! Runs WSGI requests on a worker's thread: loads the application, calls it with the
//! environ and `start_response`, sends what it returns, and always calls `close()`.
use super::environ::{EnvironBuilder, Fixed};
use super::exchange::Exchange;
use super::input::InputReader;
use super::pytypes::{self, ResponseState, WsgiTypes};
use crate::app::{AppRef, LoadError};
use crate::http::body::BodyError;
use crate::http::exchange::{Job, JobControl, Request};
use crate::http::log::Log;
use bytes::{Bytes, BytesMut};
use hornbeam_python::call::{self, owned, PyResult};
use hornbeam_python::error::PyErrInfo;
use hornbeam_python::object::PyOwned;
use hornbeam_python::value::dict_set;
use hyper::StatusCode;
use pyo3::ffi;
use std::cell::RefCell;
use std::fs::File;
use std::os::fd::FromRawFd;
use tokio::runtime::Handle;

pub struct Runner {
    app_ref: AppRef,
    /// Loaded at start (`preload_app`) or by the first request.
    app: RefCell<Option<PyOwned>>,
    types: WsgiTypes,
    environ: EnvironBuilder,
    errors: PyOwned,
    /// `hornbeam_wsgi.FileWrapper`, the class behind `wsgi.file_wrapper`.
    file_wrapper: PyOwned,
    early_hints_key: PyOwned,
    engine: Handle,
    log: Log,
}

pub struct RunnerConfig<'a> {
    pub app: AppRef,
    pub preload: bool,
    pub root_path: &'a str,
    pub multithread: bool,
    pub multiprocess: bool,
    pub log: Log,
    pub engine: Handle,
}

impl Runner {
    /// # Safety
    /// GIL held, on the worker's thread.
    pub unsafe fn new(config: RunnerConfig<'_>) -> Result<Runner, LoadError> {
        // SAFETY: the caller keeps the contract above: GIL held, on the worker's thread.
        unsafe {
            let init = |e: PyErrInfo| LoadError::Init(e.traceback_or_message());
            let types = WsgiTypes::create().map_err(init)?;
            let errors = types.errors(config.log.clone()).map_err(init)?;
            let file_wrapper = call::resolve("hornbeam_wsgi", "FileWrapper").map_err(init)?;
            let environ = EnvironBuilder::new(Fixed {
                root_path: config.root_path,
                errors: &errors,
                file_wrapper: &file_wrapper,
                multithread: config.multithread,
                multiprocess: config.multiprocess,
            })
            .map_err(init)?;
            let app = if config.preload { Some(config.app.load()?) } else { None };
            Ok(Runner {
                app_ref: config.app,
                app: RefCell::new(app),
                types,
                environ,
                errors,
                file_wrapper,
                early_hints_key: call::new_str("wsgi.early_hints").map_err(init)?,
                engine: config.engine,
                log: config.log,
            })
        }
    }

    unsafe fn app(&self) -> PyResult<PyOwned> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            if let Some(app) = self.app.borrow().as_ref() {
                return Ok(app.clone());
            }
            match self.app_ref.load() {
                Ok(app) => {
                    *self.app.borrow_mut() = Some(app.clone());
                    Ok(app)
                }
                Err(LoadError::Import(tb))
                | Err(LoadError::Init(tb))
                | Err(LoadError::LifespanFailed(tb)) => Err(PyErrInfo::new("ImportError", tb)),
                Err(LoadError::CallableNotFound(spec)) => {
                    Err(PyErrInfo::new("AttributeError", format!("no callable {spec}")))
                }
            }
        }
    }

    /// Runs one request to its end. Whatever happens, the engine gets a response or a
    /// closed connection, and `close()` was called on the application's iterable.
    ///
    /// # Safety
    /// GIL held, on the worker's thread.
    pub unsafe fn run(&self, job: Job) {
        // SAFETY: the caller keeps the contract above: GIL held, on the worker's thread.
        unsafe {
            let Job { mut request, respond, hints, control } = job;
            let mut state = ResponseState { exchange: Exchange::new(respond, hints), busy: false };
            let mut reader = InputReader::new(request.body.take());
            // The Python objects reach these two through raw pointers; from here on this
            // function uses them only through the same pointers.
            let state_ptr: *mut ResponseState = &mut state;
            let reader_ptr: *mut InputReader = &mut reader;
            let outcome = self.types.attach(state_ptr, reader_ptr).and_then(|objects| {
                self.call(&request, &objects.input, &objects.start_response, state_ptr)
                // `objects` detach here, before the state and reader go.
            });
            pytypes::flush_errors(&self.errors);
            if let Err(error) = outcome {
                self.fail(state_ptr, (*reader_ptr).failure(), &request, &control, error);
            }
        }
    }

    unsafe fn call(
        &self,
        request: &Request,
        input: &PyOwned,
        start_response: &PyOwned,
        state: *mut ResponseState,
    ) -> PyResult<()> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let environ = self.environ.build(request, input)?;
            let hints = self.types.early_hints(start_response)?;
            dict_set(&environ, &self.early_hints_key, &hints)?;
            let app = self.app()?;
            let args = [environ.as_ptr(), start_response.as_ptr()];
            let result = owned(ffi::PyObject_Vectorcall(
                app.as_ptr(),
                args.as_ptr(),
                2,
                std::ptr::null_mut(),
            ))?;
            let sent = self.send_body(&result, state);
            let closed = close(&result);
            sent.and(closed)
        }
    }

    unsafe fn send_body(&self, result: &PyOwned, state: *mut ResponseState) -> PyResult<()> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            // An application thread may be inside write(); whenever this thread is about
            // to touch the exchange, it waits for that first (here and in require_status).
            pytypes::wait_until_idle(state);
            let obj = result.as_ptr();
            if ffi::Py_TYPE(obj).cast() == self.file_wrapper.as_ptr()
                && !(*state).exchange.headers_sent()
            {
                if let Some((file, offset, len)) = open_wrapped_file(obj) {
                    require_status(state)?;
                    let _ = (*state).exchange.send_file(file, offset, len, &self.engine);
                    return Ok(());
                }
            }
            if ffi::PyList_CheckExact(obj) != 0 || ffi::PyTuple_CheckExact(obj) != 0 {
                let body = whole_body(obj)?;
                require_status(state)?;
                if (*state).exchange.headers_sent() {
                    // write() already started a stream: this is its last part. A client
                    // that left is nobody to tell.
                    if pytypes::send_chunk(state, body).is_ok() {
                        (*state).exchange.finish();
                    }
                } else {
                    let _ = (*state).exchange.finish_whole(body);
                }
                return Ok(());
            }
            let iter = owned(ffi::PyObject_GetIter(obj))?;
            loop {
                let Some(item) = PyOwned::from_owned(ffi::PyIter_Next(iter.as_ptr())) else {
                    if !ffi::PyErr_Occurred().is_null() {
                        return Err(PyErrInfo::fetch());
                    }
                    break;
                };
                let chunk = pytypes::chunk_of(item.as_ptr()).ok_or_else(|| PyErrInfo::fetch())?;
                if chunk.is_empty() {
                    continue;
                }
                require_status(state)?;
                if pytypes::send_chunk(state, chunk).is_err() {
                    return Ok(()); // the client left: stop producing, nobody to tell
                }
            }
            require_status(state)?;
            (*state).exchange.finish();
            Ok(())
        }
    }

    unsafe fn fail(
        &self,
        state: *mut ResponseState,
        body_failure: Option<&BodyError>,
        request: &Request,
        control: &JobControl,
        error: PyErrInfo,
    ) {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            pytypes::wait_until_idle(state);
            let exchange = &mut (*state).exchange;
            if control.is_cancelled() || exchange.is_gone() {
                return; // the engine already answered (504) or the client left
            }
            // The app failed because the body did: the client's fault, not a 500.
            match (body_failure, exchange.headers_sent()) {
                (Some(BodyError::TooLarge(_)), false) => {
                    return exchange
                        .respond_plain(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
                }
                (Some(BodyError::Client(_)), false) => {
                    return exchange
                        .respond_plain(StatusCode::BAD_REQUEST, "Malformed request body");
                }
                (Some(BodyError::Stalled(_)), false) => {
                    return exchange
                        .respond_plain(StatusCode::REQUEST_TIMEOUT, "Request body timed out");
                }
                _ => {}
            }
            self.log.error(&format!(
                "Error handling request {} {}\n{}",
                request.head.method,
                request.head.uri,
                error.traceback_or_message()
            ));
            if exchange.headers_sent() {
                // Marked busy like write(): an application thread that calls write()
                // meanwhile gets an error rather than a second user of the exchange.
                let message = error.message.clone();
                pytypes::blocking(state, move |exchange| exchange.abort_blocking(&message));
            } else {
                exchange.respond_plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
            }
        }
    }
}

/// PEP 3333: a body chunk may only go out after `start_response`.
unsafe fn require_status(state: *mut ResponseState) -> PyResult<()> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        pytypes::wait_until_idle(state);
        let exchange = &(*state).exchange;
        if exchange.has_status() || exchange.headers_sent() {
            Ok(())
        } else {
            Err(PyErrInfo::new(
                "AssertionError",
                "the application returned a body without calling start_response",
            ))
        }
    }
}

/// The real file behind a `FileWrapper`: a duplicate of its descriptor, the position
/// to send from (`tell()`, which accounts for Python's read buffer) and the bytes left.
/// `None` (no exception set) when it is not a regular file with a descriptor: the
/// response is then iterated like any other.
unsafe fn open_wrapped_file(wrapper: *mut ffi::PyObject) -> Option<(File, u64, u64)> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let attempt = || -> Option<(File, u64, u64)> {
            let filelike =
                PyOwned::from_owned(ffi::PyObject_GetAttrString(wrapper, c"filelike".as_ptr()))?;
            let fileno = PyOwned::from_owned(ffi::PyObject_CallMethod(
                filelike.as_ptr(),
                c"fileno".as_ptr(),
                std::ptr::null(),
            ))?;
            let fd = ffi::PyLong_AsLong(fileno.as_ptr());
            let position = PyOwned::from_owned(ffi::PyObject_CallMethod(
                filelike.as_ptr(),
                c"tell".as_ptr(),
                std::ptr::null(),
            ))?;
            let offset = ffi::PyLong_AsUnsignedLongLong(position.as_ptr());
            if !ffi::PyErr_Occurred().is_null() || fd < 0 {
                return None;
            }
            let dup = crate::fd::dup_raw(fd as i32).ok()?;
            // SAFETY: `dup` is a fresh descriptor this function owns.
            let file = File::from_raw_fd(dup);
            let meta = file.metadata().ok().filter(|m| m.is_file())?;
            Some((file, offset, meta.len().saturating_sub(offset)))
        };
        let found = attempt();
        ffi::PyErr_Clear();
        found
    }
}

/// The items of a list or tuple of `bytes`, joined.
unsafe fn whole_body(seq: *mut ffi::PyObject) -> PyResult<Bytes> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let is_list = ffi::PyList_CheckExact(seq) != 0;
        let n = if is_list { ffi::PyList_Size(seq) } else { ffi::PyTuple_Size(seq) };
        let item =
            |i| if is_list { ffi::PyList_GetItem(seq, i) } else { ffi::PyTuple_GetItem(seq, i) };
        if n == 1 {
            return pytypes::chunk_of(item(0)).ok_or_else(|| PyErrInfo::fetch());
        }
        let mut body = BytesMut::new();
        for i in 0..n {
            let chunk = pytypes::chunk_of(item(i)).ok_or_else(|| PyErrInfo::fetch())?;
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}

/// `result.close()` if it has one (PEP 3333: always, even after an error).
unsafe fn close(result: &PyOwned) -> PyResult<()> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let obj = result.as_ptr();
        if ffi::PyList_CheckExact(obj) != 0 || ffi::PyTuple_CheckExact(obj) != 0 {
            return Ok(());
        }
        if ffi::PyObject_HasAttrString(obj, c"close".as_ptr()) == 0 {
            return Ok(());
        }
        owned(ffi::PyObject_CallMethod(obj, c"close".as_ptr(), std::ptr::null())).map(drop)
    }
}
