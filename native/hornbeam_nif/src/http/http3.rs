//! HTTP/3: QUIC (quinn) on the UDP socket Erlang opened, HTTP/3 framing and QPACK (h3),
//! and every request through the same `service::handle` as HTTP/1.1 and HTTP/2, so the
//! limits, proxy rules, timeout and access log are one piece of code for all three.
//!
//! A connection lives in its own task with its requests in a `JoinSet`: when the client
//! closes the connection or it times out, the requests still running are dropped, which
//! is how their applications learn the client left (`http.disconnect`, a failed write).
//! A stop sends GOAWAY, lets the requests in flight finish, then closes.
use super::body::ResponseBody;
use super::config::ServerConfig;
use super::connection::{self, Connection};
use super::server::ConnectionSlot;
use super::service::{self, Hints, ServiceCtx};
use super::state::Phase;
use bytes::{Buf, Bytes};
use h3::error::Code;
use h3::server::RequestResolver;
use http_body::{Body, Frame, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use quinn::crypto::rustls::QuicServerConfig;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{FromRawFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

/// The QUIC idle timeout when `keepalive` is 0 (keep-alive off has no QUIC meaning: a
/// connection without traffic must still end).
const IDLE_WITHOUT_KEEPALIVE: Duration = Duration::from_secs(10);

type SendHalf = h3::server::RequestStream<h3_quinn::SendStream<Bytes>, Bytes>;
type RecvHalf = h3::server::RequestStream<h3_quinn::RecvStream, Bytes>;

/// A QUIC endpoint on a duplicate of `udp_fd` (Erlang keeps the original, so the port
/// stays reserved as long as the server lives), and a receiver that resolves once quinn
/// has closed that duplicate.
pub fn endpoint(
    runtime: &'static Runtime,
    udp_fd: RawFd,
    config: &ServerConfig,
    tls: Arc<rustls::ServerConfig>,
) -> Result<(quinn::Endpoint, oneshot::Receiver<()>), String> {
    let fd = crate::fd::dup_raw(udp_fd).map_err(|e| format!("cannot use the UDP socket: {e}"))?;
    // SAFETY: `fd` is a fresh duplicate this function owns; the socket takes it.
    let socket = unsafe { UdpSocket::from_raw_fd(fd) };
    socket.set_nonblocking(true).map_err(|e| e.to_string())?;
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| format!("QUIC TLS: {e}"))?;
    let mut server_config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    let idle = idle_timeout(config);
    transport
        .max_concurrent_bidi_streams(config.max_concurrent_streams.into())
        .max_idle_timeout(Some(idle.try_into().map_err(|e| format!("keepalive: {e}"))?));
    server_config.transport_config(Arc::new(transport));
    let _entered = runtime.enter();
    let quic_runtime = Arc::new(quinn::TokioRuntime);
    let (closed_tx, closed) = oneshot::channel();
    let socket = quinn::Runtime::wrap_udp_socket(&*quic_runtime, socket)
        .map_err(|e| format!("cannot use the UDP socket: {e}"))?;
    let socket = Arc::new(ClosingSocket { inner: Some(socket), closed: Some(closed_tx) });
    let endpoint = quinn::Endpoint::new_with_abstract_socket(
        quinn::EndpointConfig::default(),
        Some(server_config),
        socket,
        quic_runtime,
    )
    .map_err(|e| format!("cannot start QUIC on the UDP socket: {e}"))?;
    Ok((endpoint, closed))
}

/// The UDP socket as quinn holds it, saying when quinn let it go: `stop` returns only
/// once the port is free, so a new server can bind it at once. quinn drops the socket
/// when its endpoint driver ends, on another thread, some time after the last handle.
#[derive(Debug)]
struct ClosingSocket {
    inner: Option<Arc<dyn quinn::AsyncUdpSocket>>,
    closed: Option<oneshot::Sender<()>>,
}

impl ClosingSocket {
    fn inner(&self) -> &Arc<dyn quinn::AsyncUdpSocket> {
        self.inner.as_ref().expect("set until drop")
    }
}

impl Drop for ClosingSocket {
    fn drop(&mut self) {
        // Pollers hold this wrapper, not the socket: this is the socket's last owner.
        drop(self.inner.take());
        if let Some(closed) = self.closed.take() {
            let _ = closed.send(());
        }
    }
}

impl quinn::AsyncUdpSocket for ClosingSocket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn quinn::UdpPoller>> {
        let inner = self.inner().clone().create_io_poller();
        Box::pin(ClosingPoller { inner, _socket: self })
    }

    fn try_send(&self, transmit: &quinn::udp::Transmit<'_>) -> std::io::Result<()> {
        self.inner().try_send(transmit)
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [std::io::IoSliceMut<'_>],
        meta: &mut [quinn::udp::RecvMeta],
    ) -> Poll<std::io::Result<usize>> {
        self.inner().poll_recv(cx, bufs, meta)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner().local_addr()
    }

    fn max_transmit_segments(&self) -> usize {
        self.inner().max_transmit_segments()
    }

    fn max_receive_segments(&self) -> usize {
        self.inner().max_receive_segments()
    }

    fn may_fragment(&self) -> bool {
        self.inner().may_fragment()
    }
}

/// The socket's poller, keeping the wrapper (and so the close signal) alive with it.
/// Fields drop in order: the inner poller's socket reference goes first.
#[derive(Debug)]
struct ClosingPoller {
    inner: Pin<Box<dyn quinn::UdpPoller>>,
    _socket: Arc<ClosingSocket>,
}

impl quinn::UdpPoller for ClosingPoller {
    fn poll_writable(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_writable(cx)
    }
}

/// Accepts QUIC connections until the server stops serving.
pub async fn accept_loop(
    endpoint: quinn::Endpoint,
    ctx: Arc<ServiceCtx>,
    mut phase: watch::Receiver<Phase>,
    slots: impl Fn() -> ConnectionSlot,
) {
    loop {
        tokio::select! {
            incoming = endpoint.accept() => match incoming {
                Some(incoming) => {
                    tokio::spawn(serve_connection(incoming, ctx.clone(), phase.clone(), slots()));
                }
                None => return, // the endpoint was closed
            },
            _ = phase.changed() => {
                if *phase.borrow() != Phase::Serving {
                    // New connection attempts are refused from now on.
                    endpoint.set_server_config(None);
                    return;
                }
            }
        }
    }
}

async fn serve_connection(
    incoming: quinn::Incoming,
    ctx: Arc<ServiceCtx>,
    mut phase: watch::Receiver<Phase>,
    _slot: ConnectionSlot,
) {
    // A failed handshake (bad TLS, wrong ALPN, a silent client) has nobody to answer.
    let Ok(Ok(quic)) = tokio::time::timeout(idle_timeout(&ctx.config), incoming).await else {
        return;
    };
    let peer = quic.remote_address();
    let limit = (ctx.config.max_request_line_size + ctx.config.max_header_size) as u64;
    let mut builder = h3::server::builder();
    builder.max_field_section_size(limit);
    let built = builder.build(h3_quinn::Connection::new(quic.clone()));
    let Ok(mut h3) = built.await else { return };
    let _open = OpenConnection::count(&ctx);
    let connection = ctx.config.serve_connections.then(Connection::http3);
    let mut requests = JoinSet::new();
    let mut closing = *phase.borrow() != Phase::Serving;
    if closing {
        let _ = h3.shutdown(0).await;
    }
    let aborted = loop {
        if closing && requests.is_empty() {
            break false;
        }
        tokio::select! {
            accepted = h3.accept(), if !closing => match accepted {
                Ok(Some(resolver)) => {
                    ctx.stats.http3_streams.fetch_add(1, Ordering::Relaxed);
                    requests.spawn(serve_request(resolver, peer, connection.clone(), ctx.clone()));
                }
                // The client sent GOAWAY: it opens no more requests.
                Ok(None) => break false,
                // The connection closed: the client left, or it was idle past the
                // timeout. Its requests have nobody to answer.
                Err(_) => {
                    requests.abort_all();
                    break true;
                }
            },
            Some(_) = requests.join_next(), if !requests.is_empty() => {}
            _ = connection::close_requested(connection.clone()), if !closing => {
                closing = true;
                let _ = h3.shutdown(0).await;
            }
            changed = phase.changed() => {
                let now = if changed.is_ok() { *phase.borrow() } else { Phase::Aborting };
                match now {
                    Phase::Serving => {}
                    Phase::Draining => {
                        closing = true;
                        // GOAWAY: the client opens no new request on this connection.
                        let _ = h3.shutdown(0).await;
                    }
                    Phase::Aborting => {
                        requests.abort_all();
                        break true;
                    }
                }
            }
        }
    };
    if !aborted {
        // Closing a QUIC connection drops the stream data the client has not yet
        // acknowledged, so the last responses could be lost: finish the requests, then
        // let the client close (it has had GOAWAY, or sent one). The QUIC idle timeout
        // and the stop's abort bound the wait.
        let finish = async {
            while requests.join_next().await.is_some() {}
            quic.closed().await;
        };
        tokio::select! {
            _ = finish => {}
            _ = aborting(&mut phase) => {}
        }
    }
    quic.close(Code::H3_NO_ERROR.value().try_into().unwrap_or_default(), b"");
}

/// Resolves when the server aborts (the graceful timeout passed).
async fn aborting(phase: &mut watch::Receiver<Phase>) {
    while *phase.borrow_and_update() != Phase::Aborting {
        if phase.changed().await.is_err() {
            return;
        }
    }
}

/// Counts an open HTTP/3 connection for `hornbeam:info/1`, for as long as it lives.
struct OpenConnection(Arc<ServiceCtx>);

impl OpenConnection {
    fn count(ctx: &Arc<ServiceCtx>) -> OpenConnection {
        ctx.stats.http3_connections.fetch_add(1, Ordering::Relaxed);
        OpenConnection(ctx.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.stats.http3_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The QUIC idle timeout, which also bounds the handshake: `keepalive`.
fn idle_timeout(config: &ServerConfig) -> Duration {
    config.keepalive.unwrap_or(IDLE_WITHOUT_KEEPALIVE)
}

async fn serve_request(
    resolver: RequestResolver<h3_quinn::Connection, Bytes>,
    peer: SocketAddr,
    connection: Option<Arc<Connection>>,
    ctx: Arc<ServiceCtx>,
) {
    // A malformed request (bad pseudo-headers, a header block over the limit) is
    // answered or reset by h3 itself.
    let Ok((mut request, stream)) = resolver.resolve_request().await else { return };
    if let Some(connection) = &connection {
        request.extensions_mut().insert(connection.stream(stream.id().into_inner()));
    }
    let (mut send, recv) = stream.split();
    let mut request = request.map(|()| RequestBody::new(recv));
    *request.version_mut() = hyper::Version::HTTP_3;
    let (hints, mut hints_rx) = mpsc::unbounded_channel();
    let handled = service::handle(request, peer, Hints::Forward(hints), true, ctx);
    tokio::pin!(handled);
    // Each early hint goes out as a 103 on the stream, ahead of the final response.
    let response = loop {
        tokio::select! {
            biased;
            Some(headers) = hints_rx.recv() => {
                if send_hint(&mut send, headers).await.is_err() {
                    return; // the client reset the stream or left
                }
            }
            Ok(response) = &mut handled => break response,
        }
    };
    while let Ok(headers) = hints_rx.try_recv() {
        if send_hint(&mut send, headers).await.is_err() {
            return;
        }
    }
    let (mut parts, body) = response.into_parts();
    strip_connection_headers(&mut parts.headers);
    parts.headers.insert(header::DATE, date_now());
    // hyper adds the length of a whole body for the other versions; h3 does not. (The
    // service already emptied the bodies HTTP says have none, and set HEAD's length.)
    if let Some(length) = body.size_hint().exact() {
        if service::status_has_body(parts.status) {
            parts.headers.entry(header::CONTENT_LENGTH).or_insert(HeaderValue::from(length));
        }
    }
    if send.send_response(hyper::Response::from_parts(parts, ())).await.is_err() {
        return; // the client reset the stream or left
    }
    if let Err(reset) = send_body(&mut send, body).await {
        send.stop_stream(reset);
        return;
    }
    let _ = send.finish().await;
}

async fn send_hint(
    send: &mut SendHalf,
    headers: hyper::HeaderMap,
) -> Result<(), h3::error::StreamError> {
    let mut hint = hyper::Response::new(());
    *hint.status_mut() = StatusCode::EARLY_HINTS;
    *hint.headers_mut() = headers;
    send.send_response(hint).await
}

/// Sends the response body, waiting on QUIC flow control (back-pressure reaches the
/// application through the body channel). An aborted body resets the stream, so the
/// client never takes a truncated body for a whole one.
async fn send_body(send: &mut SendHalf, mut body: ResponseBody) -> Result<(), Code> {
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => return Ok(()),
            Some(Err(_aborted)) => return Err(Code::H3_INTERNAL_ERROR),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if send.send_data(data).await.is_err() {
                        return Err(Code::H3_REQUEST_CANCELLED);
                    }
                }
            }
        }
    }
}

/// RFC 9114 4.2: connection-specific fields are malformed in HTTP/3. The engine's own
/// answers say `Connection: close` for HTTP/1.1; here the stream simply ends.
fn strip_connection_headers(headers: &mut hyper::HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::HeaderName::from_static("keep-alive"),
        header::HeaderName::from_static("proxy-connection"),
    ] {
        headers.remove(name);
    }
}

/// hyper writes `Date` for HTTP/1.1 and HTTP/2; h3 does not.
fn date_now() -> HeaderValue {
    HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now()))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The request body of one HTTP/3 stream, as an `http_body::Body` for the engine's
/// body pump. Trailers are ignored.
pub struct RequestBody {
    recv: RecvHalf,
    /// A chunk the first look took, for the first read.
    first: Option<Bytes>,
    ended: bool,
}

impl RequestBody {
    /// Looks once, without waiting: a request whose stream already ended (a GET sent
    /// with FIN) has no body, as hyper's `is_end_stream` tells for the other versions.
    fn new(mut recv: RecvHalf) -> RequestBody {
        let mut cx = Context::from_waker(Waker::noop());
        let (first, ended) = match recv.poll_recv_data(&mut cx) {
            Poll::Ready(Ok(Some(mut chunk))) => {
                (Some(chunk.copy_to_bytes(chunk.remaining())), false)
            }
            Poll::Ready(Ok(None)) => (None, true),
            // An error shows up again on the first real read.
            Poll::Ready(Err(_)) | Poll::Pending => (None, false),
        };
        RequestBody { recv, first, ended }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = h3::error::StreamError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(chunk) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        match this.recv.poll_recv_data(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(mut chunk))) => {
                Poll::Ready(Some(Ok(Frame::data(chunk.copy_to_bytes(chunk.remaining())))))
            }
            Poll::Ready(Ok(None)) => {
                this.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Err(e)) => {
                this.ended = true;
                Poll::Ready(Some(Err(e)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.first.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
