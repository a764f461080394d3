//! One request: limits, proxy headers, the hand-over to the application, the timeout,
//! and the response's final headers.
use super::body::{BodyLimits, Incoming, RequestBody, ResponseBody};
use super::config::ServerConfig;
use super::exchange::{
    plain_text_headers, App, Job, JobControl, OpenStream, Request, ResponseHead, WebSocketUpgrade,
};
use super::io::HintWriter;
use super::log::Log;
use super::state::{Phase, Stats};
use super::websocket_handshake;
use hornbeam_wire::{host, limits, proxy};
use http_body::Body;
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Method, Response, StatusCode, Version};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

pub struct ServiceCtx {
    pub config: ServerConfig,
    app: Arc<dyn App>,
    log: Log,
    local: SocketAddr,
    pub stats: Arc<Stats>,
    /// The server's phase, for what outlives a request (WebSockets).
    phase: watch::Receiver<Phase>,
    /// `h3=":PORT"; ma=86400` when the server speaks HTTP/3: announced on the others.
    alt_svc: Option<HeaderValue>,
}

impl ServiceCtx {
    pub fn new(
        config: ServerConfig,
        app: Arc<dyn App>,
        log: Log,
        local: SocketAddr,
        stats: Arc<Stats>,
        phase: watch::Receiver<Phase>,
    ) -> ServiceCtx {
        let alt_svc = config
            .http3
            .as_ref()
            .and_then(|h3| HeaderValue::from_str(&format!("h3=\":{}\"; ma=86400", h3.port)).ok());
        ServiceCtx { config, app, log, local, stats, phase, alt_svc }
    }
}

const SERVER: HeaderValue = HeaderValue::from_static("hornbeam");

/// Where a request's early hints (103) go, if the connection can send them.
pub enum Hints {
    None,
    /// Written on the HTTP/1.1 socket between responses (cleartext only).
    Http1(HintWriter),
    /// Handed to the protocol's own task, which sends each as an informational
    /// response on the request's stream (HTTP/3).
    Forward(mpsc::UnboundedSender<HeaderMap>),
}

/// Serves one request. `hints` says where 103 responses go; `secure` says the
/// connection is TLS.
pub async fn handle<B: Incoming>(
    req: hyper::Request<B>,
    peer: SocketAddr,
    hints: Hints,
    secure: bool,
    ctx: Arc<ServiceCtx>,
) -> Result<Response<ResponseBody>, Infallible> {
    let started = Instant::now();
    ctx.stats.requests.fetch_add(1, Ordering::Relaxed);
    let mut req = req;
    let websocket = websocket_handshake::requested(&req).map(|key| WebSocketUpgrade {
        key,
        deflate: ctx
            .config
            .websocket_compression
            .then(|| websocket_handshake::agree_deflate(req.headers()))
            .flatten(),
        on_upgrade: hyper::upgrade::on(&mut req),
        stream_open: req.extensions_mut().remove::<OpenStream>(),
        server_phase: ctx.phase.clone(),
    });
    let (mut parts, incoming) = req.into_parts();
    let version = parts.version;
    // Counted before a Host is made from :authority: hyper counts HTTP/1.1's itself,
    // HTTP/2's only here.
    let too_many_headers = parts.headers.len() > ctx.config.max_headers;
    let host = host::settle(&mut parts);
    let request_line = ctx
        .config
        .access_log
        .then(|| format!("{} {} {:?}", parts.method, parts.uri, parts.version));
    let checked = match (host, too_many_headers) {
        (Err(why), _) => Err((StatusCode::BAD_REQUEST, why)),
        (Ok(()), true) => {
            Err((StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many header fields"))
        }
        (Ok(()), false) => limits::check(&parts, &ctx.config.head_limits()),
    };
    let mut response = match checked {
        Err((status, why)) => plain(status, why, true),
        Ok(()) => run(parts, incoming, websocket, peer, hints, secure, &ctx).await,
    };
    response.headers_mut().entry(header::SERVER).or_insert(SERVER);
    if let Some(alt_svc) = ctx.alt_svc.as_ref().filter(|_| version != Version::HTTP_3) {
        response.headers_mut().entry(header::ALT_SVC).or_insert_with(|| alt_svc.clone());
    }
    if let Some(line) = request_line {
        let length = response.body().size_hint().exact().map_or("-".to_string(), |n| n.to_string());
        ctx.log.access(&format!(
            "{} \"{}\" {} {} {:.3}ms",
            peer.ip(),
            line,
            response.status().as_u16(),
            length,
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }
    Ok(response)
}

async fn run<B: Incoming>(
    head: hyper::http::request::Parts,
    incoming: B,
    websocket: Option<WebSocketUpgrade>,
    peer: SocketAddr,
    hint_sink: Hints,
    secure: bool,
    ctx: &ServiceCtx,
) -> Response<ResponseBody> {
    let control = JobControl::new();
    let limits =
        BodyLimits { max_size: ctx.config.max_body_size, stall: ctx.config.body_read_timeout };
    let mut request = Request {
        client: peer,
        local: ctx.local,
        scheme: if secure { "https" } else { "http" },
        forwarded_host: None,
        body: if incoming.is_end_stream() {
            None
        } else {
            Some(RequestBody::pump(incoming, limits, control.clone().cancelled()))
        },
        websocket,
        head,
    };
    let forwarded = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"];
    if forwarded.iter().any(|h| request.head.headers.contains_key(*h))
        && ctx.config.trusted_proxies.trusts(peer.ip())
    {
        let fwd = proxy::forwarded(&request.head.headers, &ctx.config.trusted_proxies);
        if let Some(ip) = fwd.client {
            request.client = SocketAddr::new(ip, 0);
        }
        if let Some(scheme) = fwd.scheme {
            request.scheme = scheme;
        }
        request.forwarded_host = fwd.host;
    }
    let (respond, response) = oneshot::channel();
    let (hints, hints_rx) = match (request.head.version, hint_sink) {
        (Version::HTTP_11, Hints::Http1(writer)) => {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some((rx, writer)))
        }
        (_, Hints::Forward(tx)) => (Some(tx), None),
        _ => (None, None),
    };
    let is_head = request.head.method == Method::HEAD;
    let multiplexed = request.head.version >= Version::HTTP_2;
    // Only an HTTP/1.1 handshake answers 101; over HTTP/2 a WebSocket opens with 200.
    let upgrade = request.websocket.as_ref().is_some_and(|w| w.key.is_some());
    if ctx.app.submit(Job { request, respond, hints, control: control.clone() }).is_err() {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable: the server is stopping",
            true,
        );
    }
    let response = with_hints(response, hints_rx);
    let outcome = match ctx.config.timeout {
        Some(limit) => match tokio::time::timeout(limit, response).await {
            Ok(outcome) => outcome,
            Err(_) => {
                control.cancel();
                if control.is_started() {
                    ctx.log.error(&format!(
                        "request timed out after {} ms; cancelling its Python code",
                        limit.as_millis()
                    ));
                    watch_for_stuck_worker(control, limit, ctx.log.clone());
                } else {
                    ctx.log.error(&format!(
                        "request timed out after {} ms waiting for a free worker",
                        limit.as_millis()
                    ));
                }
                return plain(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout", true);
            }
        },
        None => response.await,
    };
    match outcome {
        Ok(ResponseHead { status, headers, body }) => {
            if !valid_final_status(status, upgrade) {
                ctx.log.error(&format!("the application answered with status {}, which is not a final response status (200-599); sent a 500", status.as_u16()));
                return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", false);
            }
            let declared =
                if is_head || !status_has_body(status) { None } else { content_length(&headers) };
            let mut headers = headers;
            let body = match (multiplexed, is_head, status_has_body(status)) {
                (true, true, _) => head_body(body, &mut headers),
                (true, false, false) => ResponseBody::empty(),
                _ => body,
            };
            let mut response = Response::new(body.hold_to(declared, &ctx.log));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
        }
        // The application thread dropped the request: it was stopping or failed hard
        // (it logged why).
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", true),
    }
}

/// The body of a HEAD response over HTTP/2 or HTTP/3: none, but the length the GET
/// would have had. Over those versions the engine, not the protocol library, drops
/// what HTTP says has no body (HEAD, 204, 304): hyper's HTTP/1.1 drops it itself, its
/// HTTP/2 and h3 would send the bytes, which clients take as a protocol error.
fn head_body(body: ResponseBody, headers: &mut HeaderMap) -> ResponseBody {
    match body.size_hint().exact() {
        Some(length) => {
            headers.entry(header::CONTENT_LENGTH).or_insert_with(|| HeaderValue::from(length));
            ResponseBody::empty()
        }
        // A streamed body: its length is unknown, and an empty one must not say 0.
        None => ResponseBody::channel().1,
    }
}

/// How long a worker may take to come back from a cancelled request before it is
/// replaced: an interrupt reaches Python code within a GIL switch interval, so a
/// worker that is still away after this is stuck in C code (or ignores interrupts).
const STUCK_GRACE: Duration = Duration::from_secs(2);

/// Replaces the worker of a timed-out job if it has not come back after `STUCK_GRACE`,
/// as gunicorn's arbiter replaces a worker that misses its timeout.
fn watch_for_stuck_worker(control: Arc<JobControl>, limit: Duration, log: Log) {
    tokio::spawn(async move {
        tokio::time::sleep(STUCK_GRACE).await;
        if control.abandon_if_stuck() {
            log.error(&format!(
                "a worker is still running a request {} ms after it timed out: replacing it with a fresh interpreter",
                (limit + STUCK_GRACE).as_millis()
            ));
        }
    });
}

/// 200-599, or 101 where the engine accepted a WebSocket handshake. An informational
/// status as the final answer (a `101 Upgrade: evil` on a plain GET) or one past 599
/// must never reach the wire.
fn valid_final_status(status: StatusCode, upgrade: bool) -> bool {
    (200..=599).contains(&status.as_u16()) || (upgrade && status == StatusCode::SWITCHING_PROTOCOLS)
}

/// RFC 9110 6.4.1: 204 and 304 responses carry no content whatever their headers say.
pub(super) fn status_has_body(status: StatusCode) -> bool {
    status != StatusCode::NO_CONTENT
        && status != StatusCode::NOT_MODIFIED
        && !status.is_informational()
}

/// The Content-Length the application declared, if it is one number.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let first = values.next()?.to_str().ok()?.trim().parse::<u64>().ok()?;
    values
        .all(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) == Some(first))
        .then_some(first)
}

/// Waits for the response head, sending each early hint the application gives
/// meanwhile as a 103 response.
async fn with_hints(
    mut response: oneshot::Receiver<ResponseHead>,
    hints: Option<(mpsc::UnboundedReceiver<HeaderMap>, HintWriter)>,
) -> Result<ResponseHead, oneshot::error::RecvError> {
    let Some((mut hints, writer)) = hints else { return response.await };
    loop {
        tokio::select! {
            // Hints first: the application sends them before the head, and one that
            // arrived together with the head must still go out ahead of it.
            biased;
            hint = hints.recv() => match hint {
                Some(headers) => {
                    writer.send(&early_hints_bytes(&headers));
                }
                None => return response.await,
            },
            head = &mut response => {
                // Both may have arrived after the hint branch was polled.
                while let Ok(headers) = hints.try_recv() {
                    writer.send(&early_hints_bytes(&headers));
                }
                return head;
            }
        }
    }
}

fn early_hints_bytes(headers: &HeaderMap) -> Vec<u8> {
    let mut out = b"HTTP/1.1 103 Early Hints\r\n".to_vec();
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A short plain-text response the server makes itself.
pub fn plain(status: StatusCode, text: &'static str, close: bool) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(text));
    *response.status_mut() = status;
    *response.headers_mut() = plain_text_headers(close);
    response
}
