//! The server's settings, decoded from the map `hornbeam_config` validated.
use super::tls::TlsFiles;
use hornbeam_wire::proxy::TrustedProxies;
use rustler::{Atom, Decoder, Term};
use std::sync::Arc;
use std::time::Duration;

pub struct ServerConfig {
    /// Per-request limit until the response head is ready; `None` for none.
    pub timeout: Option<Duration>,
    /// The longest pause in a request body (`body_read_timeout`); `None` for none.
    pub body_read_timeout: Option<Duration>,
    /// Idle keep-alive and header read limit; `None` turns keep-alive off.
    pub keepalive: Option<Duration>,
    pub max_request_line_size: usize,
    pub max_header_size: usize,
    pub max_headers: usize,
    pub max_body_size: Option<u64>,
    /// The mount point: SCRIPT_NAME, and the prefix taken off PATH_INFO.
    pub root_path: String,
    pub trusted_proxies: TrustedProxies,
    pub access_log: bool,
    /// The protocols served (`http_version`); at least one.
    pub http1: bool,
    pub http2: bool,
    /// Streams one HTTP/2 connection may have open at once.
    pub max_concurrent_streams: u32,
    /// Agree to permessage-deflate when a WebSocket client offers it.
    pub websocket_compression: bool,
    /// The PEM files, when the server speaks TLS.
    pub tls: Option<TlsFiles>,
    /// Made from `tls` by `http_server_start`.
    pub tls_config: Option<Arc<rustls::ServerConfig>>,
}

fn get<'a, T: Decoder<'a>>(map: Term<'a>, key: &str) -> Result<T, String> {
    let key_atom = Atom::from_str(map.get_env(), key).map_err(|_| format!("bad key {key}"))?;
    map.map_get(key_atom)
        .map_err(|_| format!("missing server option {key}"))?
        .decode::<T>()
        .map_err(|_| format!("server option {key} has the wrong type"))
}

/// An integer option where `infinity` means no limit.
fn limit(map: Term<'_>, key: &str) -> Result<Option<u64>, String> {
    let value: Term = get(map, key)?;
    if let Ok(n) = value.decode::<u64>() {
        return Ok(Some(n));
    }
    match value.decode::<Atom>() {
        Ok(atom) if atom == crate::atoms::infinity() => Ok(None),
        _ => Err(format!("server option {key} must be an integer or infinity")),
    }
}

/// `undefined`, or `#{cert := Pem, key := Pem, cacert := Pem | undefined}`.
fn tls_files(term: Term<'_>) -> Result<Option<TlsFiles>, String> {
    if term.decode::<Atom>().is_ok() {
        return Ok(None);
    }
    let pem = |key: &str| -> Result<Option<Vec<u8>>, String> {
        let value: Term = get(term, key)?;
        Ok(value.decode::<rustler::Binary>().ok().map(|b| b.as_slice().to_vec()))
    };
    Ok(Some(TlsFiles {
        cert: pem("cert")?.ok_or("tls cert must be a binary")?,
        key: pem("key")?.ok_or("tls key must be a binary")?,
        cacert: pem("cacert")?,
    }))
}

impl ServerConfig {
    pub fn decode(map: Term<'_>) -> Result<ServerConfig, String> {
        let trusted: Vec<String> = get(map, "forwarded_allow_ips")?;
        Ok(ServerConfig {
            timeout: limit(map, "timeout")?.map(Duration::from_millis),
            body_read_timeout: limit(map, "body_read_timeout")?.map(Duration::from_millis),
            keepalive: Some(get::<u64>(map, "keepalive")?)
                .filter(|&s| s > 0)
                .map(Duration::from_secs),
            max_request_line_size: get::<u64>(map, "max_request_line_size")? as usize,
            max_header_size: get::<u64>(map, "max_header_size")? as usize,
            max_headers: get::<u64>(map, "max_headers")? as usize,
            max_body_size: limit(map, "max_body_size")?,
            root_path: get(map, "root_path")?,
            trusted_proxies: TrustedProxies::parse(&trusted)?,
            access_log: get(map, "access_log")?,
            http1: get(map, "http1")?,
            http2: get(map, "http2")?,
            max_concurrent_streams: get::<u32>(map, "max_concurrent_streams")?,
            websocket_compression: get(map, "websocket_compression")?,
            tls: tls_files(get(map, "tls")?)?,
            tls_config: None,
        })
    }
}

/// `python_mode`: which interpreters the workers use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PythonMode {
    /// Sub-interpreters, or the main interpreter when the app refuses them.
    Auto,
    Subinterp,
    Main,
}

/// The interface the application speaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Interface {
    Wsgi,
    Asgi,
}

/// `lifespan` (ASGI): whether startup/shutdown events are sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lifespan {
    /// Sent; an application that does not handle them runs without.
    Auto,
    /// Sent; an application that does not handle them fails to start.
    On,
    Off,
}

/// How the application is loaded and run.
pub struct AppConfig {
    pub interface: Interface,
    pub lifespan: Lifespan,
    /// How long lifespan shutdown may take when the server stops.
    pub shutdown_timeout: Duration,
    pub websocket: crate::asgi::WsSettings,
    pub module: String,
    pub callable: String,
    pub workers: usize,
    pub python_mode: PythonMode,
    pub paths: Vec<String>,
    pub site_dirs: Vec<String>,
    pub python_home: Option<String>,
    pub max_requests: u64,
    pub preload_app: bool,
    /// The Erlang processes that run `erlang.call` for the workers' threads.
    pub agents: Arc<crate::agent::Agents>,
}

impl AppConfig {
    pub fn decode(map: Term<'_>) -> Result<AppConfig, String> {
        let mode: Atom = get(map, "python_mode")?;
        let python_mode = if mode == crate::atoms::main() {
            PythonMode::Main
        } else if mode == crate::atoms::subinterp() {
            PythonMode::Subinterp
        } else if mode == crate::atoms::auto() {
            PythonMode::Auto
        } else {
            return Err("python_mode must be auto, subinterp or main".into());
        };
        let home_term: Term = get(map, "python_home")?;
        let class: Atom = get(map, "worker_class")?;
        let interface =
            if class == crate::atoms::asgi() { Interface::Asgi } else { Interface::Wsgi };
        let lifespan: Atom = get(map, "lifespan")?;
        let lifespan = if lifespan == crate::atoms::on() {
            Lifespan::On
        } else if lifespan == crate::atoms::off() {
            Lifespan::Off
        } else {
            Lifespan::Auto
        };
        Ok(AppConfig {
            interface,
            lifespan,
            shutdown_timeout: Duration::from_millis(get(map, "graceful_timeout")?),
            websocket: crate::asgi::WsSettings {
                max_message_size: get::<u64>(map, "websocket_max_frame_size")? as usize,
                idle_timeout: limit(map, "websocket_timeout")?.map(Duration::from_millis),
            },
            module: get(map, "module")?,
            callable: get(map, "callable")?,
            workers: get::<u64>(map, "workers")?.max(1) as usize,
            python_mode,
            paths: get(map, "paths")?,
            site_dirs: get(map, "site_dirs")?,
            python_home: home_term.decode::<String>().ok(),
            max_requests: get(map, "max_requests")?,
            preload_app: get(map, "preload_app")?,
            agents: Arc::new(crate::agent::Agents::new(get(map, "agents")?)),
        })
    }
}
