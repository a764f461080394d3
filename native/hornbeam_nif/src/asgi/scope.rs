//! The HTTP connection scope (ASGI spec 2.4), built straight from hyper's request as
//! Python objects. Constant entries (`type`, `asgi`, `root_path`, `extensions`) live in
//! a template dict copied per request; strings and header names that repeat are made
//! once per worker.
use crate::http::connection::Stream;
use crate::http::exchange::Request;
use crate::pyvalue::Interned;
use hornbeam_python::call::{self, new_str, owned, PyResult};
use hornbeam_python::error::PyErrInfo;
use hornbeam_python::object::PyOwned;
use hornbeam_python::value::{dict_set as set, new_bytes};
use hornbeam_wire::path::percent_decode;
use hyper::header::HeaderName;
use hyper::{Method, Version};
use pyo3::ffi;
use std::net::SocketAddr;

/// Header names cached per worker, bounded so random names cannot grow memory.
const HEADER_NAME_CACHE: usize = 256;

pub struct ScopeBuilder {
    template: PyOwned,
    keys: Keys,
    http_1_0: PyOwned,
    http_1_1: PyOwned,
    http_2: PyOwned,
    http_3: PyOwned,
    scheme_http: PyOwned,
    scheme_https: PyOwned,
    empty_bytes: PyOwned,
    root_path: String,
    methods: Interned<Method>,
    header_names: Interned<HeaderName>,
}

struct Keys {
    http_version: PyOwned,
    method: PyOwned,
    scheme: PyOwned,
    path: PyOwned,
    raw_path: PyOwned,
    query_string: PyOwned,
    headers: PyOwned,
    client: PyOwned,
    server: PyOwned,
}

/// `(host, port)`.
unsafe fn address(addr: &SocketAddr) -> PyResult<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let host = new_str(&addr.ip().to_string())?;
        call::tuple([host, call::new_int(i64::from(addr.port()))?])
    }
}

impl ScopeBuilder {
    /// `extensions` names the extensions this server implements.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn new(root_path: &str, extensions: &[&str]) -> PyResult<ScopeBuilder> {
        // SAFETY: the caller keeps the contract above: GIL held.
        unsafe {
            let template = call::new_dict()?;
            let put = |k: &str, v: &PyOwned| -> PyResult<()> { set(&template, &new_str(k)?, v) };
            put("type", &new_str("http")?)?;
            let asgi = call::new_dict()?;
            set(&asgi, &new_str("version")?, &new_str("3.0")?)?;
            set(&asgi, &new_str("spec_version")?, &new_str("2.4")?)?;
            put("asgi", &asgi)?;
            put("root_path", &new_str(root_path)?)?;
            let ext = call::new_dict()?;
            for name in extensions {
                set(&ext, &new_str(name)?, &call::new_dict()?)?;
            }
            put("extensions", &ext)?;
            let key = |k: &str| new_str(k);
            Ok(ScopeBuilder {
                template,
                keys: Keys {
                    http_version: key("http_version")?,
                    method: key("method")?,
                    scheme: key("scheme")?,
                    path: key("path")?,
                    raw_path: key("raw_path")?,
                    query_string: key("query_string")?,
                    headers: key("headers")?,
                    client: key("client")?,
                    server: key("server")?,
                },
                http_1_0: new_str("1.0")?,
                http_1_1: new_str("1.1")?,
                http_2: new_str("2")?,
                http_3: new_str("3")?,
                scheme_http: new_str("http")?,
                scheme_https: new_str("https")?,
                empty_bytes: new_bytes(b"")?,
                root_path: root_path.to_string(),
                methods: Interned::new(16),
                header_names: Interned::new(HEADER_NAME_CACHE),
            })
        }
    }

    /// # Safety
    /// GIL held.
    pub unsafe fn build(&self, req: &Request) -> PyResult<PyOwned> {
        // SAFETY: the caller keeps the contract above: GIL held.
        unsafe {
            let scope = call::dict_copy(&self.template)?;
            let k = &self.keys;
            let version = match req.head.version {
                Version::HTTP_10 => &self.http_1_0,
                Version::HTTP_2 => &self.http_2,
                Version::HTTP_3 => &self.http_3,
                _ => &self.http_1_1,
            };
            set(&scope, &k.http_version, version)?;
            set(&scope, &k.method, &self.method(&req.head.method)?)?;
            let scheme = if req.scheme == "https" { &self.scheme_https } else { &self.scheme_http };
            set(&scope, &k.scheme, scheme)?;

            let raw_path = req.head.uri.path().as_bytes();
            set(&scope, &k.raw_path, &new_bytes(raw_path)?)?;
            set(&scope, &k.path, &self.path(raw_path)?)?;
            let query = match req.head.uri.query() {
                Some(q) => new_bytes(q.as_bytes())?,
                None => self.empty_bytes.clone(),
            };
            set(&scope, &k.query_string, &query)?;
            set(&scope, &k.headers, &self.headers(req)?)?;
            set(&scope, &k.client, &address(&req.client)?)?;
            set(&scope, &k.server, &address(&req.local)?)?;
            Ok(scope)
        }
    }

    /// Adds `hornbeam.stream`, `(connection id, stream id, end_stream)`, to the scope of
    /// a request served as a stream of its connection (hface); `end_stream` says the
    /// request has no body.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn add_stream(
        scope: PyOwned,
        stream: &Stream,
        end_stream: bool,
    ) -> PyResult<PyOwned> {
        // SAFETY: the caller keeps the contract above: GIL held.
        unsafe {
            let ids = call::tuple([
                call::new_int(stream.connection.id as i64)?,
                call::new_int(stream.id as i64)?,
                call::new_bool(end_stream),
            ])?;
            set(&scope, &new_str("hornbeam.stream")?, &ids)?;
            Ok(scope)
        }
    }

    /// The websocket scope: the HTTP one without `method`, with `ws`/`wss`, the offered
    /// subprotocols, and no HTTP response extensions.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn build_websocket(&self, req: &Request) -> PyResult<PyOwned> {
        // SAFETY: the caller keeps the contract above: GIL held.
        unsafe {
            let scope = self.build(req)?;
            set(&scope, &new_str("type")?, &new_str("websocket")?)?;
            let scheme = if req.scheme == "https" { "wss" } else { "ws" };
            set(&scope, &self.keys.scheme, &new_str(scheme)?)?;
            if ffi::PyDict_DelItem(scope.as_ptr(), self.keys.method.as_ptr()) != 0 {
                return Err(PyErrInfo::fetch());
            }
            let offered = owned(ffi::PyList_New(0))?;
            for value in req.head.headers.get_all(hyper::header::SEC_WEBSOCKET_PROTOCOL) {
                for protocol in value
                    .to_str()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                {
                    if ffi::PyList_Append(offered.as_ptr(), new_str(protocol)?.as_ptr()) != 0 {
                        return Err(PyErrInfo::fetch());
                    }
                }
            }
            set(&scope, &new_str("subprotocols")?, &offered)?;
            set(&scope, &new_str("extensions")?, &call::new_dict()?)?;
            Ok(scope)
        }
    }

    /// The decoded path (UTF-8, undecodable bytes replaced, as `urllib.parse.unquote`
    /// does). It includes `root_path`: a request that arrives without the prefix (a
    /// proxy stripped it) gets it put back, as uvicorn does.
    unsafe fn path(&self, raw: &[u8]) -> PyResult<PyOwned> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let mut decoded = percent_decode(raw);
            let root = self.root_path.as_bytes();
            let has_root = decoded.starts_with(root)
                && (decoded.len() == root.len() || decoded[root.len()] == b'/');
            if !root.is_empty() && !has_root {
                let mut full = root.to_vec();
                full.extend_from_slice(&decoded);
                decoded = full;
            }
            owned(ffi::PyUnicode_DecodeUTF8(
                decoded.as_ptr().cast(),
                decoded.len() as ffi::Py_ssize_t,
                c"replace".as_ptr(),
            ))
        }
    }

    /// `[(name, value), ...]` as bytes, names lower-case (hyper keeps them so). A
    /// trusted proxy's X-Forwarded-Host replaces Host.
    unsafe fn headers(&self, req: &Request) -> PyResult<PyOwned> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let list = owned(ffi::PyList_New(req.head.headers.len() as ffi::Py_ssize_t))?;
            for (i, (name, value)) in req.head.headers.iter().enumerate() {
                let value = match (&req.forwarded_host, name == hyper::header::HOST) {
                    (Some(host), true) => new_bytes(host.as_bytes())?,
                    _ => new_bytes(value.as_bytes())?,
                };
                let pair = call::tuple([self.header_name(name)?, value])?;
                ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, pair.into_ptr());
            }
            Ok(list)
        }
    }

    unsafe fn method(&self, method: &Method) -> PyResult<PyOwned> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe { self.methods.get(method, || new_str(method.as_str())) }
    }

    unsafe fn header_name(&self, name: &HeaderName) -> PyResult<PyOwned> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe { self.header_names.get(name, || new_bytes(name.as_str().as_bytes())) }
    }
}
