//! One client connection on the engine: connect (TCP, then TLS with ALPN), hand the
//! socket to hyper's HTTP/1.1 or HTTP/2 client, then turn Python's commands into
//! requests and every response into events (`Shared`).
//!
//! Streams are named by Python (hface's ids: 1, 2, 3... on HTTP/1.1, 1, 3, 5... on
//! HTTP/2); each runs as its own task so a slow stream holds up no other.
use super::body::{Chunk, RequestBody};
use super::shared::{ClientEvent, Shared};
use bytes::Bytes;
use futures_util::future::poll_fn;
use http_body::Body;
use hyper::client::conn::{http1, http2};
use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long `aclose()` lets the peer see the connection end cleanly.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Version {
    Http1,
    Http2,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::Http1 => "1.1",
            Version::Http2 => "2",
        }
    }
}

pub struct Target {
    pub host: String,
    pub port: u16,
    /// TLS: the configuration (with ALPN) and the name to verify.
    pub tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    /// Without TLS, or when ALPN agrees on nothing: the version to speak.
    pub default_version: Version,
}

/// Python's side of a request, as the engine takes it.
pub struct RequestHead {
    pub method: Method,
    pub scheme: String,
    pub authority: String,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

pub enum Command {
    Headers { stream: u64, head: RequestHead, end_stream: bool },
    Data { stream: u64, data: Bytes, end_stream: bool },
    Reset { stream: u64 },
    Close,
}

/// Starts connecting on `runtime`; the outcome arrives as `Connected` or `Failed`.
pub fn open(
    runtime: &tokio::runtime::Runtime,
    shared: Arc<Shared>,
    target: Target,
) -> mpsc::UnboundedSender<Command> {
    let (commands, receiver) = mpsc::unbounded_channel();
    runtime.spawn(run(shared, target, receiver));
    commands
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

async fn connect(
    target: &Target,
) -> Result<(Box<dyn Io>, Version, SocketAddr, SocketAddr), String> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("cannot connect to {}:{}: {e}", target.host, target.port))?;
    // Requests are small writes the peer waits for.
    let _ = tcp.set_nodelay(true);
    let local = tcp.local_addr().map_err(|e| e.to_string())?;
    let remote = tcp.peer_addr().map_err(|e| e.to_string())?;
    let Some((config, name)) = &target.tls else {
        return Ok((Box::new(tcp), target.default_version, local, remote));
    };
    let tls = tokio_rustls::TlsConnector::from(config.clone())
        .connect(name.clone(), tcp)
        .await
        .map_err(|e| format!("TLS handshake with {}:{} failed: {e}", target.host, target.port))?;
    let version = match tls.get_ref().1.alpn_protocol() {
        Some(b"h2") => Version::Http2,
        Some(b"http/1.1") => Version::Http1,
        _ => target.default_version,
    };
    Ok((Box::new(tls), version, local, remote))
}

/// How requests reach hyper: HTTP/1.1 has one in flight at a time, HTTP/2 many.
#[derive(Clone)]
enum Sender {
    Http1(Arc<tokio::sync::Mutex<http1::SendRequest<RequestBody>>>),
    Http2(http2::SendRequest<RequestBody>),
}

struct OpenStream {
    body: Option<mpsc::UnboundedSender<Chunk>>,
    task: JoinHandle<()>,
}

async fn run(shared: Arc<Shared>, target: Target, mut commands: mpsc::UnboundedReceiver<Command>) {
    let (io, version, local, remote) = match connect(&target).await {
        Ok(connected) => connected,
        Err(message) => return shared.push(ClientEvent::Failed(message)),
    };
    let io = TokioIo::new(io);
    let (sender, mut driver): (Sender, JoinHandle<hyper::Result<()>>) = match version {
        Version::Http1 => match http1::handshake(io).await {
            Ok((sender, conn)) => (Sender::Http1(Arc::new(sender.into())), tokio::spawn(conn)),
            Err(e) => return shared.push(ClientEvent::Failed(e.to_string())),
        },
        Version::Http2 => match http2::handshake(TokioExecutor::new(), io).await {
            Ok((sender, conn)) => (Sender::Http2(sender), tokio::spawn(conn)),
            Err(e) => return shared.push(ClientEvent::Failed(e.to_string())),
        },
    };
    shared.push(ClientEvent::Connected { http_version: version.name(), local, remote });

    let mut streams: HashMap<u64, OpenStream> = HashMap::new();
    let ended = loop {
        tokio::select! {
            command = commands.recv() => match command {
                None | Some(Command::Close) => break None,
                Some(Command::Headers { stream, head, end_stream }) => {
                    streams.retain(|_, s| !s.task.is_finished());
                    let (body, tx) = if end_stream {
                        (RequestBody::empty(), None)
                    } else {
                        let (tx, rx) = mpsc::unbounded_channel();
                        (RequestBody::channel(rx, shared.clone()), Some(tx))
                    };
                    let request = build_request(head, version, body);
                    let task = tokio::spawn(exchange(shared.clone(), sender.clone(), stream, request));
                    streams.insert(stream, OpenStream { body: tx, task });
                }
                Some(Command::Data { stream, data, end_stream }) => {
                    let n = data.len();
                    let sent = streams.get_mut(&stream).and_then(|s| {
                        let tx = s.body.as_ref()?;
                        let sent = tx.send(Chunk { data, end_stream }).is_ok();
                        if end_stream {
                            s.body = None;
                        }
                        Some(sent)
                    });
                    if sent != Some(true) {
                        // The stream is gone (reset, ended): the bytes go nowhere.
                        shared.taken(n);
                    }
                }
                Some(Command::Reset { stream }) => {
                    // Dropping the exchange drops hyper's response future and the
                    // request body: HTTP/2 sends RST_STREAM(CANCEL), HTTP/1.1 closes.
                    if let Some(open) = streams.remove(&stream) {
                        open.task.abort();
                    }
                }
            },
            outcome = &mut driver => break Some(outcome),
        }
    };
    for (_, open) in streams.drain() {
        open.task.abort();
    }
    drop(sender);
    let outcome = match ended {
        Some(outcome) => outcome,
        // Closed by Python: with no sender left hyper ends the connection (HTTP/2:
        // GOAWAY); a peer that does not see it in time is cut off.
        None => match tokio::time::timeout(CLOSE_TIMEOUT, &mut driver).await {
            Ok(outcome) => outcome,
            Err(_) => {
                driver.abort();
                Ok(Ok(()))
            }
        },
    };
    let (error_code, message) = match outcome {
        Ok(Ok(())) => (0, None),
        Ok(Err(e)) => (h2_code(&e).unwrap_or(0), Some(e.to_string())),
        Err(e) => (0, Some(e.to_string())),
    };
    shared.push(ClientEvent::Terminated { error_code, message });
}

fn build_request(head: RequestHead, version: Version, body: RequestBody) -> Request<RequestBody> {
    // HTTP/2 takes :scheme and :authority from an absolute URI; HTTP/1.1 sends the
    // origin form and a Host header.
    let uri = match version {
        Version::Http2 => Uri::builder()
            .scheme(head.scheme.as_str())
            .authority(head.authority.as_str())
            .path_and_query(head.path.as_str())
            .build(),
        Version::Http1 => head.path.parse::<Uri>().map_err(Into::into),
    };
    let mut request = Request::new(body);
    *request.method_mut() = head.method;
    if let Ok(uri) = uri {
        *request.uri_mut() = uri;
    }
    let headers = request.headers_mut();
    for (name, value) in head.headers {
        headers.append(name, value);
    }
    if version == Version::Http1 && !headers.contains_key(HOST) {
        if let Ok(host) = HeaderValue::from_str(&head.authority) {
            headers.insert(HOST, host);
        }
    }
    request
}

async fn exchange(shared: Arc<Shared>, sender: Sender, stream: u64, request: Request<RequestBody>) {
    let response = match sender {
        Sender::Http1(sender) => {
            // One request at a time: the lock is held until hyper has this one, not
            // for its response.
            let response = {
                let mut sender = sender.lock().await;
                match sender.ready().await {
                    Ok(()) => sender.send_request(request),
                    Err(e) => return reset(&shared, stream, &e),
                }
            };
            response.await
        }
        Sender::Http2(mut sender) => match sender.ready().await {
            Ok(()) => sender.send_request(request).await,
            Err(e) => return reset(&shared, stream, &e),
        },
    };
    let mut response = match response {
        Ok(response) => response,
        Err(e) => return reset(&shared, stream, &e),
    };
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                Bytes::copy_from_slice(name.as_str().as_bytes()),
                Bytes::copy_from_slice(value.as_bytes()),
            )
        })
        .collect();
    let body = response.body_mut();
    let end_stream = body.is_end_stream();
    shared.push(ClientEvent::Headers {
        stream,
        status: response.status().as_u16(),
        headers,
        end_stream,
    });
    if end_stream {
        return;
    }
    let mut body = response.into_body();
    loop {
        // Read on only while Python keeps up.
        shared.wait_for_room().await;
        match poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            Some(Ok(frame)) => {
                // Trailers have no hface event here; a response that ends with them ends.
                if let Ok(data) = frame.into_data() {
                    let end_stream = body.is_end_stream();
                    shared.push(ClientEvent::Data { stream, data, end_stream });
                    if end_stream {
                        return;
                    }
                }
            }
            Some(Err(e)) => return reset(&shared, stream, &e),
            None => {
                let data = Bytes::new();
                return shared.push(ClientEvent::Data { stream, data, end_stream: true });
            }
        }
    }
}

fn reset(shared: &Shared, stream: u64, error: &hyper::Error) {
    let error_code = h2_code(error).unwrap_or(0);
    shared.push(ClientEvent::ResetReceived { stream, error_code });
}

/// The HTTP/2 error code behind a hyper error, if it came from the peer's frame.
fn h2_code(error: &hyper::Error) -> Option<u32> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            return h2.reason().map(u32::from);
        }
        source = e.source();
    }
    None
}
