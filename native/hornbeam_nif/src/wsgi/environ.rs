//! The WSGI environ (PEP 3333), built straight from hyper's request as Python objects.
//!
//! Keys that never change for a worker (`wsgi.version`, `wsgi.errors`, `SCRIPT_NAME`,
//! the `wsgi.multi*` flags) live in a template dict copied per request; strings that
//! repeat (methods, header keys, protocol names) are made once and reused.
use crate::http::exchange::Request;
use crate::pyvalue::Interned;
use hornbeam_python::call::{self, new_str, PyResult};
use hornbeam_python::object::PyOwned;
use hornbeam_python::value::dict_set as set;
use hornbeam_wire::path::percent_decode;
use hyper::header::{self, HeaderName};
use hyper::{Method, Version};

/// Header keys cached per worker: enough for every common header, bounded so a client
/// sending random header names cannot grow memory.
const HEADER_KEY_CACHE: usize = 256;

pub struct EnvironBuilder {
    template: PyOwned,
    keys: Keys,
    http_1_0: PyOwned,
    http_1_1: PyOwned,
    http_2: PyOwned,
    http_3: PyOwned,
    scheme_http: PyOwned,
    scheme_https: PyOwned,
    empty: PyOwned,
    methods: Interned<Method>,
    header_keys: Interned<HeaderName>,
    root_path: Vec<u8>,
}

struct Keys {
    request_method: PyOwned,
    path_info: PyOwned,
    query_string: PyOwned,
    server_protocol: PyOwned,
    server_name: PyOwned,
    server_port: PyOwned,
    remote_addr: PyOwned,
    remote_port: PyOwned,
    content_type: PyOwned,
    content_length: PyOwned,
    url_scheme: PyOwned,
    input: PyOwned,
}

/// What stays the same for every request a worker serves.
pub struct Fixed<'a> {
    pub root_path: &'a str,
    pub errors: &'a PyOwned,
    pub file_wrapper: &'a PyOwned,
    pub multithread: bool,
    pub multiprocess: bool,
}

impl EnvironBuilder {
    /// # Safety
    /// GIL held.
    pub unsafe fn new(fixed: Fixed<'_>) -> PyResult<EnvironBuilder> {
        // SAFETY: the caller keeps the contract above: GIL held.
        unsafe {
            let template = call::new_dict()?;
            let version = call::tuple([call::new_int(1)?, call::new_int(0)?])?;
            let put = |k: &str, v: &PyOwned| -> PyResult<()> { set(&template, &new_str(k)?, v) };
            put("wsgi.version", &version)?;
            put("wsgi.errors", fixed.errors)?;
            put("wsgi.file_wrapper", fixed.file_wrapper)?;
            put("wsgi.multithread", &call::new_bool(fixed.multithread))?;
            put("wsgi.multiprocess", &call::new_bool(fixed.multiprocess))?;
            put("wsgi.run_once", &call::new_bool(false))?;
            put("wsgi.input_terminated", &call::new_bool(true))?;
            put("SCRIPT_NAME", &new_str(fixed.root_path)?)?;
            put("SERVER_SOFTWARE", &new_str(concat!("hornbeam/", env!("CARGO_PKG_VERSION")))?)?;
            let key = |k: &str| new_str(k);
            Ok(EnvironBuilder {
                template,
                keys: Keys {
                    request_method: key("REQUEST_METHOD")?,
                    path_info: key("PATH_INFO")?,
                    query_string: key("QUERY_STRING")?,
                    server_protocol: key("SERVER_PROTOCOL")?,
                    server_name: key("SERVER_NAME")?,
                    server_port: key("SERVER_PORT")?,
                    remote_addr: key("REMOTE_ADDR")?,
                    remote_port: key("REMOTE_PORT")?,
                    content_type: key("CONTENT_TYPE")?,
                    content_length: key("CONTENT_LENGTH")?,
                    url_scheme: key("wsgi.url_scheme")?,
                    input: key("wsgi.input")?,
                },
                http_1_0: new_str("HTTP/1.0")?,
                http_1_1: new_str("HTTP/1.1")?,
                http_2: new_str("HTTP/2")?,
                http_3: new_str("HTTP/3")?,
                scheme_http: new_str("http")?,
                scheme_https: new_str("https")?,
                empty: new_str("")?,
                methods: Interned::new(16),
                header_keys: Interned::new(HEADER_KEY_CACHE),
                root_path: fixed.root_path.as_bytes().to_vec(),
            })
        }
    }

    /// # Safety
    /// GIL held; `input` is the request's `wsgi.input`.
    pub unsafe fn build(&self, req: &Request, input: &PyOwned) -> PyResult<PyOwned> {
        // SAFETY: the caller keeps the contract above: GIL held; `input` is the request's
        // `wsgi.input`.
        unsafe {
            let env = call::dict_copy(&self.template)?;
            let k = &self.keys;
            set(&env, &k.request_method, &self.method(&req.head.method)?)?;

            let path = percent_decode(req.head.uri.path().as_bytes());
            let path_info = match path.strip_prefix(self.root_path.as_slice()) {
                Some(rest)
                    if !self.root_path.is_empty() && (rest.is_empty() || rest[0] == b'/') =>
                {
                    rest
                }
                _ => &path[..],
            };
            set(&env, &k.path_info, &call::new_latin1_str(path_info)?)?;
            let query = match req.head.uri.query() {
                Some(q) => call::new_latin1_str(q.as_bytes())?,
                None => self.empty.clone(),
            };
            set(&env, &k.query_string, &query)?;
            let protocol = match req.head.version {
                Version::HTTP_10 => &self.http_1_0,
                Version::HTTP_2 => &self.http_2,
                Version::HTTP_3 => &self.http_3,
                _ => &self.http_1_1,
            };
            set(&env, &k.server_protocol, protocol)?;
            let scheme = if req.scheme == "https" { &self.scheme_https } else { &self.scheme_http };
            set(&env, &k.url_scheme, scheme)?;
            set(&env, &k.input, input)?;

            let (name, port) = server_name_port(req);
            set(&env, &k.server_name, &call::new_latin1_str(name.as_bytes())?)?;
            set(&env, &k.server_port, &new_str(&port.to_string())?)?;
            set(&env, &k.remote_addr, &new_str(&req.client.ip().to_string())?)?;
            set(&env, &k.remote_port, &new_str(&req.client.port().to_string())?)?;

            for name in req.head.headers.keys() {
                let key = if name == header::CONTENT_TYPE {
                    k.content_type.clone()
                } else if name == header::CONTENT_LENGTH {
                    k.content_length.clone()
                } else if name.as_str().contains('_') {
                    // HTTP_FOO_BAR would be ambiguous between foo-bar and foo_bar: a client
                    // could pass a header off as one a proxy set (gunicorn drops them too).
                    continue;
                } else if name == header::HOST && req.forwarded_host.is_some() {
                    let host = req.forwarded_host.as_deref().unwrap_or_default();
                    set(&env, &self.header_key(name)?, &call::new_latin1_str(host.as_bytes())?)?;
                    continue;
                } else {
                    self.header_key(name)?
                };
                let separator: &[u8] = if name == header::COOKIE { b"; " } else { b", " };
                let mut values = req.head.headers.get_all(name).iter();
                let value = match (values.next(), values.next()) {
                    (Some(only), None) => call::new_latin1_str(only.as_bytes())?,
                    _ => {
                        let joined = req
                            .head
                            .headers
                            .get_all(name)
                            .iter()
                            .map(|v| v.as_bytes())
                            .collect::<Vec<_>>()
                            .join(separator);
                        call::new_latin1_str(&joined)?
                    }
                };
                set(&env, &key, &value)?;
            }
            Ok(env)
        }
    }

    unsafe fn method(&self, method: &Method) -> PyResult<PyOwned> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe { self.methods.get(method, || new_str(method.as_str())) }
    }

    /// `HTTP_` + the name upper-cased with `-` as `_`.
    unsafe fn header_key(&self, name: &HeaderName) -> PyResult<PyOwned> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            self.header_keys.get(name, || {
                let mut text = String::with_capacity(5 + name.as_str().len());
                text.push_str("HTTP_");
                text.extend(name.as_str().chars().map(|c| {
                    if c == '-' {
                        '_'
                    } else {
                        c.to_ascii_uppercase()
                    }
                }));
                new_str(&text)
            })
        }
    }
}

/// SERVER_NAME and SERVER_PORT: from the Host header (or a trusted X-Forwarded-Host) as
/// gunicorn does, else the address the connection came in on.
fn server_name_port(req: &Request) -> (String, u16) {
    let default_port = if req.scheme == "https" { 443 } else { 80 };
    let host = req
        .forwarded_host
        .clone()
        .or_else(|| {
            req.head.headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string)
        })
        .or_else(|| req.head.uri.authority().map(|a| a.to_string()));
    match host {
        Some(host) if !host.is_empty() => split_host(&host, default_port),
        _ => (req.local.ip().to_string(), req.local.port()),
    }
}

fn split_host(host: &str, default_port: u16) -> (String, u16) {
    // [v6]:port, [v6], name:port, name
    if let Some(rest) = host.strip_prefix('[') {
        if let Some((addr, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok()).unwrap_or(default_port);
            return (addr.to_string(), port);
        }
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => {
            (name.to_string(), port.parse().unwrap_or(default_port))
        }
        _ => (host.to_string(), default_port),
    }
}
