//! A running server: the accept loop on the listening socket Erlang opened, one task
//! per connection, and the stop sequence (stop accepting, drain, abort, end the app).
use super::config::ServerConfig;
use super::connection::{self, Connection};
use super::exchange::App;
use super::http3;
use super::idle::{Streams, Tracked};
use super::io::ConnIo;
use super::log::Log;
use super::service::{self, Hints, ServiceCtx};
use super::state::{Phase, Stats};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::os::fd::{FromRawFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{oneshot, watch, Notify};
use tokio_rustls::TlsAcceptor;

pub struct Server {
    runtime: &'static Runtime,
    phase: watch::Sender<Phase>,
    connections: Arc<ConnectionCount>,
    app: Arc<dyn App>,
    pub local: SocketAddr,
    pub stats: Arc<Stats>,
    stopped: Mutex<bool>,
    /// The QUIC endpoint while the server speaks HTTP/3, and the signal that quinn
    /// closed its socket; taken by `stop`.
    http3: Mutex<Option<(quinn::Endpoint, oneshot::Receiver<()>)>>,
    http3_port: Option<u16>,
}

#[derive(Default)]
struct ConnectionCount {
    open: AtomicUsize,
    all_closed: Notify,
}

/// Decrements the open count when a connection task ends, however it ends.
pub(super) struct ConnectionSlot(Arc<ConnectionCount>);

impl ConnectionSlot {
    fn take(connections: &Arc<ConnectionCount>) -> ConnectionSlot {
        connections.open.fetch_add(1, Ordering::AcqRel);
        ConnectionSlot(connections.clone())
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify_waiters();
        }
    }
}

impl Server {
    /// Starts accepting on a duplicate of `listen_fd` (Erlang keeps its own socket).
    pub fn start(
        runtime: &'static Runtime,
        listen_fd: RawFd,
        config: ServerConfig,
        app: Arc<dyn App>,
        log: Log,
    ) -> Result<Server, String> {
        let fd = crate::fd::dup_raw(listen_fd)
            .map_err(|e| format!("cannot use the listening socket: {e}"))?;
        // SAFETY: `fd` is a fresh duplicate this function owns; the listener takes it.
        let std_listener = unsafe { StdListener::from_raw_fd(fd) };
        std_listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let local = std_listener.local_addr().map_err(|e| e.to_string())?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(std_listener).map_err(|e| e.to_string())?
        };
        let (phase, phase_rx) = watch::channel(Phase::Serving);
        let connections = Arc::new(ConnectionCount::default());
        let stats = Arc::new(Stats::default());
        let ctx = Arc::new(ServiceCtx::new(
            config,
            app.clone(),
            log.clone(),
            local,
            stats.clone(),
            phase_rx.clone(),
        ));
        let http3 = match (&ctx.config.http3, &ctx.config.quic_tls_config) {
            (Some(socket), Some(tls)) => {
                let (endpoint, closed) =
                    http3::endpoint(runtime, socket.fd, &ctx.config, tls.clone())?;
                let counted = connections.clone();
                runtime.spawn(http3::accept_loop(
                    endpoint.clone(),
                    ctx.clone(),
                    phase_rx.clone(),
                    move || ConnectionSlot::take(&counted),
                ));
                Some((endpoint, closed))
            }
            _ => None,
        };
        let http3_port = ctx.config.http3.as_ref().map(|socket| socket.port);
        runtime.spawn(accept_loop(listener, ctx, phase_rx, connections.clone(), log));
        Ok(Server {
            runtime,
            phase,
            connections,
            app,
            local,
            stats,
            stopped: Mutex::new(false),
            http3: Mutex::new(http3),
            http3_port,
        })
    }

    /// Stops accepting, lets open connections finish their current request for up to
    /// `graceful`, closes the rest, then ends the application. Blocks; idempotent.
    pub fn stop(&self, graceful: Duration) {
        let mut stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        if *stopped {
            return;
        }
        *stopped = true;
        let _ = self.phase.send(Phase::Draining);
        let connections = self.connections.clone();
        let drained = self.runtime.block_on(async {
            tokio::time::timeout(graceful, wait_all_closed(&connections)).await.is_ok()
        });
        if !drained {
            let _ = self.phase.send(Phase::Aborting);
            self.runtime.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(5), wait_all_closed(&connections))
                    .await;
            });
        }
        let http3 = self.http3.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((endpoint, closed)) = http3 {
            // Every connection ended above. Closing the endpoint and dropping the last
            // handle ends quinn's driver, which closes the UDP socket's duplicate.
            endpoint.close(0u32.into(), b"server stopped");
            self.runtime.block_on(async move {
                let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
                drop(endpoint);
                let _ = tokio::time::timeout(Duration::from_secs(2), closed).await;
            });
        }
        self.app.shutdown();
    }

    /// Stops without waiting (the owner died): close everything, end the app in the
    /// background.
    pub fn abort(self: &Arc<Self>) {
        let _ = self.phase.send(Phase::Aborting);
        let me = self.clone();
        let _ = std::thread::Builder::new()
            .name("hornbeam-stop".into())
            .spawn(move || me.stop(Duration::ZERO));
    }

    pub fn replaced_workers(&self) -> u64 {
        self.app.replaced_workers()
    }

    pub fn open_connections(&self) -> usize {
        self.connections.open.load(Ordering::Acquire)
    }

    /// The UDP port HTTP/3 is served on, if it is.
    pub fn http3_port(&self) -> Option<u16> {
        self.http3_port
    }
}

async fn wait_all_closed(connections: &ConnectionCount) {
    loop {
        let notified = connections.all_closed.notified();
        if connections.open.load(Ordering::Acquire) == 0 {
            return;
        }
        notified.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<ServiceCtx>,
    mut phase: watch::Receiver<Phase>,
    connections: Arc<ConnectionCount>,
    log: Log,
) {
    let protocols = Arc::new(Protocols::new(&ctx.config));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    ctx.stats.accepted.fetch_add(1, Ordering::Relaxed);
                    let slot = ConnectionSlot::take(&connections);
                    tokio::spawn(serve_connection(stream, peer, ctx.clone(), protocols.clone(), phase.clone(), slot));
                }
                Err(e) => {
                    // EMFILE and friends: wait a little instead of spinning.
                    log.error(&format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = phase.changed() => {
                if *phase.borrow() != Phase::Serving {
                    return; // dropping the listener stops accepting; Erlang closes its socket
                }
            }
        }
    }
}

/// How connections are served: the HTTP/1.1 and HTTP/2 settings, and TLS.
struct Protocols {
    http1: Option<http1::Builder>,
    http2: Option<http2::Builder<TokioExecutor>>,
    tls: Option<TlsAcceptor>,
    /// How long a client may take to finish the TLS handshake, or to send its first
    /// byte, and how long an HTTP/2 connection may stay without a stream: the header
    /// read limit (`keepalive`).
    header_timeout: Duration,
}

impl Protocols {
    fn new(config: &ServerConfig) -> Protocols {
        Protocols {
            http1: config.http1.then(|| http1_builder(config)),
            http2: config.http2.then(|| http2_builder(config)),
            tls: config.tls_config.clone().map(TlsAcceptor::from),
            header_timeout: config.keepalive.unwrap_or(Duration::from_secs(10)),
        }
    }
}

fn http1_builder(config: &ServerConfig) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(config.keepalive.is_some())
        // One timer covers a keep-alive connection's idle time and a slow client's
        // headers: hyper starts it when it waits for the next request head.
        .header_read_timeout(config.keepalive.unwrap_or(Duration::from_secs(10)))
        .max_headers(config.max_headers)
        // The request line and the header block each have their own limit (414 and 431,
        // checked in `service`); hyper stops buffering past their sum.
        .max_header_size(config.max_request_line_size + config.max_header_size)
        .max_buf_size((config.max_request_line_size + config.max_header_size + 4096).max(8192))
        .pipeline_flush(false);
    builder
}

fn http2_builder(config: &ServerConfig) -> http2::Builder<TokioExecutor> {
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(config.max_concurrent_streams)
        // WebSocket over HTTP/2 (RFC 8441): SETTINGS_ENABLE_CONNECT_PROTOCOL.
        .enable_connect_protocol()
        .max_header_list_size((config.max_request_line_size + config.max_header_size) as u32)
        // Pings find dead peers; a live one with no stream for `keepalive` is closed
        // by `Streams::idle_for` (GOAWAY), as an idle HTTP/1.1 connection is.
        .keep_alive_interval(config.keepalive)
        .keep_alive_timeout(config.keepalive.unwrap_or(Duration::from_secs(20)));
    builder
}

/// Serves one connection until it ends, drains (finishing the request in progress) or
/// aborts with the server; `idle` resolving closes it gracefully too.
macro_rules! drive {
    ($conn:expr, $phase:expr) => {
        drive!($conn, $phase, std::future::pending::<()>())
    };
    ($conn:expr, $phase:expr, $idle:expr) => {{
        let conn = $conn;
        let idle = $idle;
        tokio::pin!(conn, idle);
        let mut closing = *$phase.borrow() != Phase::Serving;
        if closing {
            conn.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                _ = conn.as_mut() => break,
                _ = idle.as_mut(), if !closing => {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
                changed = $phase.changed() => {
                    let now = if changed.is_ok() { *$phase.borrow() } else { Phase::Aborting };
                    match now {
                        Phase::Serving => {}
                        Phase::Draining => {
                            closing = true;
                            conn.as_mut().graceful_shutdown();
                        }
                        Phase::Aborting => break,
                    }
                }
            }
        }
    }};
}

/// An HTTP/2 connection's service: each request counts as an open stream in `streams`
/// until its response body is dropped.
macro_rules! http2_service {
    ($streams:expr, $connection:expr, $peer:expr, $secure:expr, $ctx:expr) => {{
        let streams = $streams.clone();
        let connection = $connection.clone();
        let ctx = $ctx.clone();
        let peer = $peer;
        service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            connection::tag(&mut req, connection.as_ref());
            let mut stream = Some(streams.open());
            if req.method() == hyper::Method::CONNECT {
                // A WebSocket (RFC 8441) outlives its response: the request carries the
                // guard to the socket (or drops it with itself).
                req.extensions_mut().insert(stream.take().expect("just set").shared());
            }
            let response = service::handle(req, peer, Hints::None, $secure, ctx.clone());
            async move { response.await.map(|r| r.map(|body| Tracked::new(body, stream))) }
        })
    }};
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<ServiceCtx>,
    protocols: Arc<Protocols>,
    mut phase: watch::Receiver<Phase>,
    _slot: ConnectionSlot,
) {
    let _ = stream.set_nodelay(true);
    if let Some(acceptor) = &protocols.tls {
        let handshake = tokio::time::timeout(protocols.header_timeout, acceptor.accept(stream));
        let tls = tokio::select! {
            done = handshake => match done {
                Ok(Ok(tls)) => tls,
                _ => return, // a failed or slow handshake: nothing to answer
            },
            _ = phase.changed() => return,
        };
        let h2 = tls.get_ref().1.alpn_protocol() == Some(&b"h2"[..]) || protocols.http1.is_none();
        match (h2, &protocols.http1, &protocols.http2) {
            (true, _, Some(h2)) => {
                let streams = Arc::new(Streams::default());
                let connection = ctx.config.serve_connections.then(Connection::http2);
                let service = http2_service!(streams, connection, peer, true, ctx);
                drive!(
                    h2.serve_connection(TokioIo::new(tls), service),
                    phase,
                    idle_or_closed(&streams, protocols.header_timeout, connection)
                )
            }
            (_, Some(h1), _) => {
                let service_ctx = ctx.clone();
                let connection = ctx.config.serve_connections.then(Connection::http1);
                let tagger = connection.clone();
                let service = service_fn(move |mut req| {
                    connection::tag(&mut req, tagger.as_ref());
                    service::handle(req, peer, Hints::None, true, service_ctx.clone())
                });
                drive!(
                    h1.serve_connection(TokioIo::new(tls), service).with_upgrades(),
                    phase,
                    connection::close_requested(connection)
                )
            }
            _ => {}
        }
        return;
    }
    // A client that connects and never sends a byte gets the same limit as one that
    // stops inside its request head: hyper's header timer (and h2's) start only once
    // bytes arrive.
    // (A peek, not `readable()`: readiness can be reported before any byte is there.)
    let mut first = [0u8; 1];
    let first_byte = tokio::time::timeout(protocols.header_timeout, stream.peek(&mut first));
    tokio::select! {
        arrived = first_byte => match arrived {
            Ok(Ok(n)) if n > 0 => {}
            _ => return, // silent past the limit, closed, or failed
        },
        _ = phase.changed() => return,
    }
    let h2 = match (&protocols.http1, &protocols.http2) {
        (Some(_), Some(_)) => sniff_http2(&stream).await,
        (None, _) => true,
        (_, None) => false,
    };
    match (h2, &protocols.http1, &protocols.http2) {
        (true, _, Some(h2)) => {
            let streams = Arc::new(Streams::default());
            let connection = ctx.config.serve_connections.then(Connection::http2);
            let service = http2_service!(streams, connection, peer, false, ctx);
            drive!(
                h2.serve_connection(TokioIo::new(stream), service),
                phase,
                idle_or_closed(&streams, protocols.header_timeout, connection)
            )
        }
        (_, Some(h1), _) => {
            let (io, hints) = ConnIo::new(stream);
            let service_ctx = ctx.clone();
            let connection = ctx.config.serve_connections.then(Connection::http1);
            let tagger = connection.clone();
            let service = service_fn(move |mut req| {
                connection::tag(&mut req, tagger.as_ref());
                service::handle(req, peer, Hints::Http1(hints.clone()), false, service_ctx.clone())
            });
            drive!(
                h1.serve_connection(TokioIo::new(io), service).with_upgrades(),
                phase,
                connection::close_requested(connection)
            )
        }
        _ => {}
    }
}

/// Resolves when an HTTP/2 connection has been idle for `limit`, or its application
/// asked for it to close: either way it is closed gracefully (GOAWAY).
async fn idle_or_closed(streams: &Streams, limit: Duration, connection: Option<Arc<Connection>>) {
    tokio::select! {
        _ = streams.idle_for(limit) => {}
        _ = connection::close_requested(connection) => {}
    }
}

/// Whether a cleartext client speaks HTTP/2 with prior knowledge: its preface starts
/// with "PRI", a method RFC 9113 reserves for it. Peeks, so HTTP/1.1 parsing still sees
/// every byte.
async fn sniff_http2(stream: &TcpStream) -> bool {
    let mut first = [0u8; 3];
    for _ in 0..100 {
        match stream.peek(&mut first).await {
            Ok(3) => return &first == b"PRI",
            Ok(n) if n > 0 && first[..n] == b"PRI"[..n] => {
                // Part of the preface came alone (rare): wait for the rest.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            _ => return false,
        }
    }
    false
}
