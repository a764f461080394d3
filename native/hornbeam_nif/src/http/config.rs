//! The server's settings, decoded from the map `hornbeam_config` validated.
use super::tls::TlsFiles;
use crate::options::{get, limit};
use hornbeam_wire::limits::HeadLimits;
use hornbeam_wire::proxy::TrustedProxies;
use rustler::{Atom, Term};
use std::os::fd::RawFd;
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
    /// HTTP/3 on a UDP socket Erlang opened (TLS is then required: Erlang checked).
    pub http3: Option<Http3Socket>,
    /// Made from `tls` for QUIC (ALPN `h3`, TLS 1.3 only) when `http3` is set.
    pub quic_tls_config: Option<Arc<rustls::ServerConfig>>,
    /// The application serves connections (`worker_class => hface`): each request
    /// carries its `connection::Stream`. Set by `http_server_start`.
    pub serve_connections: bool,
}

pub struct Http3Socket {
    pub fd: RawFd,
    /// The UDP port, as `Alt-Svc` announces it.
    pub port: u16,
}

/// `undefined`, or `#{fd := Fd, port := Port}`.
fn http3_socket(term: Term<'_>) -> Result<Option<Http3Socket>, String> {
    if term.decode::<Atom>().is_ok() {
        return Ok(None);
    }
    Ok(Some(Http3Socket { fd: get(term, "fd")?, port: get(term, "port")? }))
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
    pub fn head_limits(&self) -> HeadLimits {
        HeadLimits {
            request_line: self.max_request_line_size,
            header_block: self.max_header_size,
            body: self.max_body_size,
        }
    }

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
            http3: http3_socket(get(map, "http3")?)?,
            quic_tls_config: None,
            serve_connections: false,
        })
    }
}
