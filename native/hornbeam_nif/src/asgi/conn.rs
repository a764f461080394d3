//! One ASGI request's connection to the engine, in Rust terms: the request body coming
//! in, the response going out, and noticing the client leave. Nothing here blocks:
//! every operation either completes or registers a waker that queues a token in the
//! worker's inbox, and the Python side awaits that token.
//!
//! The response head is held until the first `http.response.body`: a body that comes
//! whole (`more_body` false) goes out with a Content-Length, anything else streams
//! through a bounded channel (back-pressure: `send` waits while it is full).
use super::inbox::{token, Event, Inbox, Ready, TokenWaker};
use crate::http::body::{Aborted, BodyError, RequestBody, ResponseBody, StreamItem};
use crate::http::connection::Stream;
use crate::http::exchange::{plain_text_headers, Interrupt, Job, JobControl, ResponseHead};
use crate::http::log::Log;
use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_LENGTH};
use hyper::{HeaderMap, Method, StatusCode, Uri};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use tokio::runtime::Handle;
use tokio::sync::mpsc::{self, error::TrySendError, OwnedPermit};
use tokio::sync::{mpsc::UnboundedSender, oneshot};

/// What every request of one worker shares.
pub struct Shared {
    pub inbox: Arc<Inbox>,
    pub engine: Handle,
    pub log: Log,
    /// Requests this worker is running: the pool gives new ones to the least busy.
    pub load: AtomicUsize,
    pub websocket: super::socket::WsSettings,
    /// Set when the pool asks the worker to stop: its loop ending is then expected.
    pub stopping: AtomicBool,
    /// Set once the pool replaced this worker.
    pub retired: AtomicBool,
    /// Requests given to this worker (`max_requests`).
    pub served: AtomicU64,
    pub supervisor: Weak<dyn Supervisor>,
}

impl Shared {
    /// This worker's loop died or is stuck: the pool replaces it (once).
    pub fn give_up(self: &Arc<Self>, why: &str) {
        if self.retired.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(supervisor) = self.supervisor.upgrade() {
            supervisor.replace(self, why);
        }
    }
}

/// Replaces a worker whose loop died or is stuck: the pool.
pub trait Supervisor: Send + Sync {
    fn replace(&self, worker: &Arc<Shared>, why: &str);
}

/// The engine's handle on a running request: cancels its task (`timeout`), and gives
/// up on the worker when its loop has not run since.
pub struct RequestHandle {
    shared: Arc<Shared>,
    token: u64,
    /// The loop's drain count when the request was cancelled.
    drains_at_cancel: AtomicU64,
}

impl RequestHandle {
    pub fn new(shared: &Arc<Shared>, token: u64) -> Arc<RequestHandle> {
        Arc::new(RequestHandle {
            shared: shared.clone(),
            token,
            drains_at_cancel: AtomicU64::new(0),
        })
    }
}

impl Interrupt for RequestHandle {
    fn interrupt(&self, _job: &Arc<JobControl>) {
        self.drains_at_cancel.store(self.shared.inbox.drains(), Ordering::Release);
        self.shared.inbox.push(Event::Wake(self.token));
    }

    fn abandon(&self, _job: &Arc<JobControl>) {
        // A live loop drains its inbox within milliseconds; one that has not since the
        // cancel is blocked (C code, a busy loop). A task that merely takes its time
        // over a cancellation is not the worker's fault.
        if self.shared.inbox.drains() == self.drains_at_cancel.load(Ordering::Acquire) {
            self.shared.give_up("its event loop was blocked in a request past its timeout");
        }
    }
}

/// An event for `receive()`.
pub enum Received {
    Body { body: Bytes, more: bool },
    Disconnect,
}

/// A message from `send()`, checked and converted.
pub enum Outgoing {
    Start { status: StatusCode, headers: HeaderMap },
    Body { body: Bytes, more: bool },
    EarlyHint(HeaderMap),
    PathSend(String),
}

pub enum SendError {
    /// The client is gone (spec 2.4: an `OSError` subclass).
    Disconnected,
    /// The message is not valid now (a `RuntimeError`, as uvicorn raises).
    Protocol(String),
    /// `http.response.pathsend` could not open its file.
    File(String),
}

/// `send` either finished, or holds a chunk until the body channel has room.
#[derive(PartialEq, Eq)]
pub enum Sent {
    Done,
    Wait,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// No `http.response.start` yet.
    Waiting,
    /// `http.response.start` received; the head waits for the first body message.
    Started,
    Streaming,
    Done,
    /// The client left (or the engine gave up on the request).
    Gone,
}

type Reserve = Pin<
    Box<dyn Future<Output = Result<OwnedPermit<StreamItem>, mpsc::error::SendError<()>>> + Send>,
>;
type Closed = Pin<Box<dyn Future<Output = ()> + Send>>;

pub struct Conn {
    pub id: u64,
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    body: Option<RequestBody>,
    /// Body bytes still expected, when the request declared a Content-Length.
    body_left: Option<u64>,
    body_done: bool,
    respond: Option<oneshot::Sender<ResponseHead>>,
    hints: Option<UnboundedSender<HeaderMap>>,
    head: Option<(StatusCode, HeaderMap)>,
    stream: Option<mpsc::Sender<StreamItem>>,
    /// A chunk `send` could not hand over yet, and whether it ends the body.
    pending: Option<(Bytes, bool)>,
    reserve: Option<Reserve>,
    /// Resolves when the streamed body's reader (the connection) goes away.
    closed: Option<Closed>,
    phase: Phase,
    receive_waker: Option<Waker>,
    send_waker: Option<Waker>,
    control: Arc<JobControl>,
    /// The request's connection and stream id, when the app serves connections (hface).
    /// Held until the request ends, so the connection's end reaches the worker after it.
    connection: Option<Stream>,
}

impl Conn {
    pub fn new(id: u64, job: Job, shared: Arc<Shared>) -> (Conn, crate::http::exchange::Request) {
        let Job { mut request, respond, hints, control } = job;
        control.started_by(RequestHandle::new(&shared, token(id, Ready::Cancel)));
        let body_left = request
            .head
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let conn = Conn {
            id,
            method: request.head.method.clone(),
            uri: request.head.uri.clone(),
            body_done: false,
            body: request.body.take(),
            body_left,
            respond: Some(respond),
            hints,
            head: None,
            stream: None,
            pending: None,
            reserve: None,
            closed: None,
            phase: Phase::Waiting,
            receive_waker: None,
            send_waker: None,
            control,
            shared,
            connection: request.head.extensions.remove::<Stream>(),
        };
        (conn, request)
    }

    fn waker(&mut self, what: Ready) -> Waker {
        let slot =
            if what == Ready::Receive { &mut self.receive_waker } else { &mut self.send_waker };
        slot.get_or_insert_with(|| TokenWaker::waker(&self.shared.inbox, token(self.id, what)))
            .clone()
    }

    /// The next `receive()` event, or `None` after registering the receive token.
    pub fn receive(&mut self) -> Option<Received> {
        if self.phase == Phase::Gone || self.control.is_cancelled() {
            return Some(Received::Disconnect);
        }
        if !self.body_done {
            return self.receive_body();
        }
        // The body is read: what is left to wait for is the client leaving.
        let waker = self.waker(Ready::Receive);
        let mut cx = Context::from_waker(&waker);
        let gone = match self.phase {
            Phase::Waiting | Phase::Started => match self.respond.as_mut() {
                Some(respond) => respond.poll_closed(&mut cx).is_ready(),
                None => true,
            },
            Phase::Streaming => match (self.closed.as_mut(), self.stream.as_ref()) {
                (Some(closed), _) => closed.as_mut().poll(&mut cx).is_ready(),
                (None, Some(tx)) => {
                    let tx = tx.clone();
                    let mut closed: Closed = Box::pin(async move { tx.closed().await });
                    let ready = closed.as_mut().poll(&mut cx).is_ready();
                    self.closed = Some(closed);
                    ready
                }
                (None, None) => true,
            },
            // uvicorn's behaviour: once the response is complete, receive() says the
            // request is over.
            Phase::Done | Phase::Gone => true,
        };
        if gone {
            self.gone();
            return Some(Received::Disconnect);
        }
        None
    }

    fn receive_body(&mut self) -> Option<Received> {
        if self.body.is_none() {
            self.body_done = true;
            return Some(Received::Body { body: Bytes::new(), more: false });
        }
        let waker = self.waker(Ready::Receive);
        let body = self.body.as_mut().expect("checked above");
        let mut cx = Context::from_waker(&waker);
        let chunk = match body.poll_chunk(&mut cx) {
            Poll::Pending => return None,
            Poll::Ready(Err(e)) => {
                // The app sees the request end. If no response started, the client
                // gets 413 for a body too large, 400 for a malformed one (a bad chunk
                // size); one that hung up gets nothing, as there is nobody to read it.
                self.body_done = true;
                self.body = None;
                if matches!(self.phase, Phase::Waiting | Phase::Started) {
                    match e {
                        BodyError::TooLarge(_) => self
                            .respond_plain(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
                        BodyError::Client(_) => {
                            self.respond_plain(StatusCode::BAD_REQUEST, "Malformed request body")
                        }
                        BodyError::Stalled(_) => self
                            .respond_plain(StatusCode::REQUEST_TIMEOUT, "Request body timed out"),
                        // The engine answered already (504).
                        BodyError::Cancelled => {}
                    }
                }
                self.gone();
                return Some(Received::Disconnect);
            }
            Poll::Ready(Ok(None)) => {
                self.body_done = true;
                self.body = None;
                return Some(Received::Body { body: Bytes::new(), more: false });
            }
            Poll::Ready(Ok(Some(chunk))) => chunk,
        };
        if let Some(left) = self.body_left.as_mut() {
            *left = left.saturating_sub(chunk.len() as u64);
        }
        // Say `more_body: False` with the last chunk when that is already known, rather
        // than in an extra empty event.
        let last = self.body_left == Some(0) || body.at_end();
        if last {
            self.body_done = true;
            self.body = None;
        }
        Some(Received::Body { body: chunk, more: !last })
    }

    fn gone(&mut self) {
        self.phase = Phase::Gone;
        self.respond = None;
        self.stream = None;
        self.closed = None;
        self.reserve = None;
        self.pending = None;
    }

    pub fn send(&mut self, message: Outgoing) -> Result<Sent, SendError> {
        if self.pending.is_some() {
            return Err(SendError::Protocol(
                "send() called again before the previous send() finished".into(),
            ));
        }
        if self.phase == Phase::Gone || self.control.is_cancelled() {
            return Err(SendError::Disconnected);
        }
        match (message, self.phase) {
            (Outgoing::EarlyHint(headers), Phase::Waiting) => {
                if let Some(hints) = &self.hints {
                    let _ = hints.send(headers);
                }
                Ok(Sent::Done)
            }
            // Hints are advisory: too late is not an error.
            (Outgoing::EarlyHint(_), _) => Ok(Sent::Done),
            (Outgoing::Start { status, headers }, Phase::Waiting) => {
                self.head = Some((status, headers));
                self.phase = Phase::Started;
                Ok(Sent::Done)
            }
            (Outgoing::Body { body, more: false }, Phase::Started) => {
                self.phase = Phase::Done;
                self.send_head(ResponseBody::full(body))?;
                Ok(Sent::Done)
            }
            (Outgoing::Body { body, more: true }, Phase::Started) => {
                let (tx, response_body) = ResponseBody::channel();
                self.stream = Some(tx);
                self.phase = Phase::Streaming;
                self.send_head(response_body)?;
                self.push(body, false)
            }
            (Outgoing::Body { body, more }, Phase::Streaming) => self.push(body, !more),
            (Outgoing::PathSend(path), Phase::Started) => {
                let file = std::fs::File::open(&path)
                    .map_err(|e| SendError::File(format!("{path}: {e}")))?;
                let len =
                    file.metadata().map_err(|e| SendError::File(format!("{path}: {e}")))?.len();
                if let Some((_, headers)) = self.head.as_mut() {
                    headers.entry(CONTENT_LENGTH).or_insert_with(|| HeaderValue::from(len));
                }
                self.phase = Phase::Done;
                let body = ResponseBody::file(file, 0, len, &self.shared.engine);
                self.send_head(body)?;
                Ok(Sent::Done)
            }
            (message, phase) => Err(SendError::Protocol(unexpected(&message, phase))),
        }
    }

    fn send_head(&mut self, body: ResponseBody) -> Result<(), SendError> {
        let (status, headers) =
            self.head.take().unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new()));
        self.hints = None;
        let respond = self.respond.take().ok_or(SendError::Disconnected)?;
        if respond.send(ResponseHead { status, headers, body }).is_err() {
            self.gone();
            return Err(SendError::Disconnected);
        }
        Ok(())
    }

    /// Hands a chunk to the body channel, or keeps it until there is room.
    fn push(&mut self, chunk: Bytes, last: bool) -> Result<Sent, SendError> {
        if chunk.is_empty() {
            return self.end_if(last);
        }
        let Some(tx) = self.stream.as_ref() else { return Err(SendError::Disconnected) };
        match tx.try_send(Ok(chunk)) {
            Ok(()) => self.end_if(last),
            Err(TrySendError::Closed(_)) => {
                self.gone();
                Err(SendError::Disconnected)
            }
            Err(TrySendError::Full(item)) => {
                let Ok(chunk) = item else { unreachable!("only chunks are sent here") };
                self.pending = Some((chunk, last));
                self.reserve = Some(Box::pin(tx.clone().reserve_owned()));
                self.flush()
            }
        }
    }

    /// Retries a held chunk: `Wait` while the channel is still full.
    pub fn flush(&mut self) -> Result<Sent, SendError> {
        if self.reserve.is_none() {
            return Ok(Sent::Done);
        }
        let waker = self.waker(Ready::Send);
        let reserve = self.reserve.as_mut().expect("checked above");
        let mut cx = Context::from_waker(&waker);
        match reserve.as_mut().poll(&mut cx) {
            Poll::Pending => Ok(Sent::Wait),
            Poll::Ready(Err(_)) => {
                self.gone();
                Err(SendError::Disconnected)
            }
            Poll::Ready(Ok(permit)) => {
                self.reserve = None;
                let (chunk, last) = self.pending.take().expect("a reservation always has a chunk");
                permit.send(Ok(chunk));
                self.end_if(last)
            }
        }
    }

    fn end_if(&mut self, last: bool) -> Result<Sent, SendError> {
        if last {
            self.phase = Phase::Done;
            self.stream = None;
            self.closed = None;
        }
        Ok(Sent::Done)
    }

    /// The application returned. A response it did not complete is an error.
    pub fn finish(&mut self) {
        match self.phase {
            Phase::Done | Phase::Gone => {}
            _ if self.control.is_cancelled() => {}
            Phase::Waiting | Phase::Started => {
                self.log_error("ASGI callable returned without sending a complete response");
                self.respond_500();
            }
            Phase::Streaming => {
                self.log_error("ASGI callable returned before the response body was complete");
                self.abort("the application ended the response early");
            }
        }
    }

    /// The application raised (`traceback` says what).
    pub fn fail(&mut self, traceback: &str) {
        if matches!(self.phase, Phase::Gone) || self.control.is_cancelled() {
            return; // the client left or the engine answered (504): nobody to tell
        }
        self.log_error(&format!(
            "Error handling request {} {}\n{}",
            self.method,
            self.uri,
            traceback.trim_end()
        ));
        match self.phase {
            Phase::Waiting | Phase::Started => self.respond_500(),
            Phase::Streaming => self.abort("the application raised"),
            Phase::Done | Phase::Gone => {}
        }
    }

    /// The task was cancelled (the engine gave up on the request, or the server
    /// stops): end without a word, and without a streamed body looking complete.
    pub fn cancel(&mut self) {
        if self.phase == Phase::Streaming {
            self.abort("the request was cancelled");
        }
        self.gone();
    }

    /// The application reset the stream (hface): the response ends with an error, so
    /// HTTP/2 and HTTP/3 reset the stream and HTTP/1.1 closes the connection. Before a
    /// response head, an empty one goes out first: hyper resets only a started body.
    pub fn reset(&mut self) {
        match self.phase {
            Phase::Waiting | Phase::Started => {
                if self.head.is_none() {
                    self.head = Some((StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new()));
                }
                let (tx, response_body) = ResponseBody::channel();
                self.stream = Some(tx);
                self.phase = Phase::Streaming;
                if self.send_head(response_body).is_ok() {
                    self.abort("the application reset the stream");
                }
            }
            Phase::Streaming => self.abort("the application reset the stream"),
            Phase::Done | Phase::Gone => {}
        }
    }

    /// The request's connection and stream id (hface).
    pub fn connection(&self) -> Option<&Stream> {
        self.connection.as_ref()
    }

    fn log_error(&self, text: &str) {
        self.shared.log.error(text);
    }

    fn respond_500(&mut self) {
        self.respond_plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }

    fn respond_plain(&mut self, status: StatusCode, text: &'static str) {
        // A body the client failed to send (413, 400, 408) leaves the connection in an
        // unknown state: it closes after the answer.
        let headers = plain_text_headers(status.is_client_error());
        self.head = Some((status, headers));
        self.phase = Phase::Done;
        let _ = self.send_head(ResponseBody::full(text));
    }

    /// Ends a streamed body with an error, so the connection closes without the body
    /// looking complete. The channel may be full: the engine delivers the error.
    fn abort(&mut self, why: &str) {
        self.phase = Phase::Done;
        self.pending = None;
        self.reserve = None;
        self.closed = None;
        if let Some(tx) = self.stream.take() {
            let abort = Aborted(why.to_string());
            self.shared.engine.spawn(async move {
                let _ = tx.send(Err(abort)).await;
            });
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.control.finish();
        self.shared.load.fetch_sub(1, Ordering::AcqRel);
    }
}

fn unexpected(message: &Outgoing, phase: Phase) -> String {
    let kind = match message {
        Outgoing::Start { .. } => "http.response.start",
        Outgoing::Body { .. } => "http.response.body",
        Outgoing::EarlyHint(_) => "http.response.early_hint",
        Outgoing::PathSend(_) => "http.response.pathsend",
    };
    let when = match phase {
        Phase::Waiting => "before http.response.start",
        Phase::Started => "after http.response.start",
        Phase::Streaming => "while the response body streams",
        Phase::Done => "after the response completed",
        Phase::Gone => "after the client disconnected",
    };
    format!("Unexpected ASGI message '{kind}' sent, {when}")
}

#[cfg(test)]
mod tests {
    //! The ASGI request state machine driven as the Python side drives it, with the
    //! engine's end (the response channel, the request body, the inbox) in the test's
    //! hands. The Python runner's own behaviour is covered by the Common Test suites.
    use super::*;
    use crate::http::exchange::Request;
    use http_body::Body;
    use std::net::SocketAddr;
    use std::sync::Mutex;

    struct NoSupervisor;

    impl Supervisor for NoSupervisor {
        fn replace(&self, _worker: &Arc<Shared>, why: &str) {
            panic!("no worker is replaced in these tests ({why})");
        }
    }

    struct Fixture {
        runtime: tokio::runtime::Runtime,
        shared: Arc<Shared>,
        log: Arc<Mutex<Vec<String>>>,
    }

    /// The engine's side of one request.
    struct Engine {
        response: oneshot::Receiver<ResponseHead>,
        hints: mpsc::UnboundedReceiver<HeaderMap>,
        body: Option<mpsc::Sender<Result<Bytes, BodyError>>>,
        control: Arc<JobControl>,
    }

    fn fixture() -> Fixture {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (log, lines) = Log::capture();
        let shared = Arc::new(Shared {
            inbox: Arc::new(Inbox::new().unwrap()),
            engine: runtime.handle().clone(),
            log,
            load: AtomicUsize::new(1),
            websocket: super::super::socket::WsSettings {
                max_message_size: 1 << 20,
                idle_timeout: None,
            },
            stopping: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            served: AtomicU64::new(0),
            supervisor: Weak::<NoSupervisor>::new(),
        });
        Fixture { runtime, shared, log: lines }
    }

    impl Fixture {
        /// Request 7: `method` on `/path`, with a body fed through `Engine::body` when
        /// `content_length` is given (`Some(None)`: a body of unknown length).
        fn request(&self, method: &str, content_length: Option<Option<u64>>) -> (Conn, Engine) {
            let mut builder = hyper::Request::builder().method(method).uri("/path?q=1");
            if let Some(Some(length)) = content_length {
                builder = builder.header(CONTENT_LENGTH, length);
            }
            let (head, ()) = builder.body(()).unwrap().into_parts();
            let (body_tx, body) = match content_length {
                Some(_) => {
                    let (tx, rx) = mpsc::channel(4);
                    (Some(tx), Some(RequestBody::from_channel(rx)))
                }
                None => (None, None),
            };
            let address: SocketAddr = "127.0.0.1:4000".parse().unwrap();
            let request = Request {
                head,
                client: address,
                local: address,
                scheme: "http",
                forwarded_host: None,
                body,
                websocket: None,
            };
            let (respond, response) = oneshot::channel();
            let (hints_tx, hints) = mpsc::unbounded_channel();
            let control = JobControl::new();
            let job = Job { request, respond, hints: Some(hints_tx), control: control.clone() };
            let (conn, _request) = Conn::new(7, job, self.shared.clone());
            (conn, Engine { response, hints, body: body_tx, control })
        }

        fn logged(&self) -> Vec<String> {
            self.log.lock().unwrap().clone()
        }

        /// The tokens queued in the worker's inbox since the last call.
        fn woken(&self) -> Vec<u64> {
            let events = self.shared.inbox.drain();
            events
                .into_iter()
                .map(|event| match event {
                    Event::Wake(token) => token,
                    _ => panic!("only wake-ups are expected in the inbox"),
                })
                .collect()
        }

        /// The body's bytes until it ends, and the abort that ended it, if any.
        fn read_body(&self, mut body: ResponseBody) -> (Vec<u8>, Option<String>) {
            self.runtime.block_on(async {
                let mut bytes = Vec::new();
                loop {
                    let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
                    match frame {
                        None => return (bytes, None),
                        Some(Ok(frame)) => bytes.extend_from_slice(&frame.into_data().unwrap()),
                        Some(Err(abort)) => return (bytes, Some(abort.0)),
                    }
                }
            })
        }
    }

    impl Engine {
        fn head(&mut self) -> ResponseHead {
            self.response.try_recv().expect("the response head was sent")
        }
    }

    fn start(status: u16) -> Outgoing {
        let mut headers = HeaderMap::new();
        headers.insert("x-test", HeaderValue::from_static("yes"));
        Outgoing::Start { status: StatusCode::from_u16(status).unwrap(), headers }
    }

    fn body(bytes: &'static [u8], more: bool) -> Outgoing {
        Outgoing::Body { body: Bytes::from_static(bytes), more }
    }

    fn protocol_error(result: Result<Sent, SendError>) -> String {
        match result {
            Err(SendError::Protocol(message)) => message,
            Err(SendError::Disconnected) => panic!("a protocol error, not a disconnect"),
            Err(SendError::File(message)) => panic!("a protocol error, not {message}"),
            Ok(_) => panic!("a protocol error, not success"),
        }
    }

    #[test]
    fn a_whole_body_goes_out_with_its_head_and_then_receive_says_disconnect() {
        let fx = fixture();
        let (mut conn, mut engine) = fx.request("GET", None);
        assert!(matches!(conn.send(start(201)), Ok(Sent::Done)));
        // The head waits for the first body message.
        assert!(engine.response.try_recv().is_err());
        assert!(matches!(conn.send(body(b"hello", false)), Ok(Sent::Done)));
        let head = engine.head();
        assert_eq!(head.status, StatusCode::CREATED);
        assert_eq!(head.headers["x-test"], "yes");
        assert!(matches!(head.body, ResponseBody::Full(_)));
        assert_eq!(fx.read_body(head.body), (b"hello".to_vec(), None));
        assert!(
            matches!(conn.receive(), Some(Received::Body { ref body, more: false }) if body.is_empty())
        );
        assert!(matches!(conn.receive(), Some(Received::Disconnect)));
        conn.finish();
        assert!(fx.logged().is_empty(), "{:?}", fx.logged());
    }

    #[test]
    fn messages_out_of_order_are_protocol_errors_that_name_the_message_and_the_moment() {
        let fx = fixture();
        let (mut conn, _engine) = fx.request("GET", None);
        assert_eq!(
            protocol_error(conn.send(body(b"x", false))),
            "Unexpected ASGI message 'http.response.body' sent, before http.response.start"
        );
        conn.send(start(200)).ok().unwrap();
        assert_eq!(
            protocol_error(conn.send(start(200))),
            "Unexpected ASGI message 'http.response.start' sent, after http.response.start"
        );
        conn.send(body(b"x", false)).ok().unwrap();
        assert_eq!(
            protocol_error(conn.send(body(b"y", false))),
            "Unexpected ASGI message 'http.response.body' sent, after the response completed"
        );
    }

    #[test]
    fn a_streamed_body_holds_back_when_the_channel_is_full_and_wakes_the_send_token() {
        let fx = fixture();
        let (mut conn, mut engine) = fx.request("GET", None);
        conn.send(start(200)).ok().unwrap();
        let mut sent = Vec::new();
        // The channel takes four chunks; the fifth waits for the client to read.
        for chunk in [&b"a"[..], b"b", b"c", b"d"] {
            assert!(matches!(
                conn.send(Outgoing::Body { body: Bytes::from(chunk), more: true }),
                Ok(Sent::Done)
            ));
            sent.extend_from_slice(chunk);
        }
        let mut response_body = engine.head().body;
        assert!(matches!(response_body, ResponseBody::Stream { .. }));
        assert!(matches!(conn.send(body(b"e", true)), Ok(Sent::Wait)));
        assert!(fx.woken().is_empty());
        assert_eq!(
            protocol_error(conn.send(body(b"f", true))),
            "send() called again before the previous send() finished"
        );
        assert!(matches!(conn.flush(), Ok(Sent::Wait)));
        // The client reads one chunk: room for the held one, and the send token queued.
        let first = fx
            .runtime
            .block_on(std::future::poll_fn(|cx| Pin::new(&mut response_body).poll_frame(cx)));
        assert_eq!(first.unwrap().unwrap().into_data().unwrap(), "a");
        assert_eq!(fx.woken(), vec![token(7, Ready::Send)]);
        assert!(matches!(conn.flush(), Ok(Sent::Done)));
        assert!(matches!(conn.send(body(b"", false)), Ok(Sent::Done)));
        conn.finish();
        assert_eq!(fx.read_body(response_body), (b"bcde".to_vec(), None));
        assert!(fx.logged().is_empty(), "{:?}", fx.logged());
    }

    #[test]
    fn the_request_body_ends_with_more_false_on_its_last_declared_byte() {
        let fx = fixture();
        let (mut conn, engine) = fx.request("POST", Some(Some(6)));
        let tx = engine.body.clone().unwrap();
        // Nothing yet: receive registers its token and returns nothing.
        assert!(conn.receive().is_none());
        tx.try_send(Ok(Bytes::from_static(b"abc"))).unwrap();
        assert_eq!(fx.woken(), vec![token(7, Ready::Receive)]);
        assert!(
            matches!(conn.receive(), Some(Received::Body { ref body, more: true }) if body == "abc")
        );
        tx.try_send(Ok(Bytes::from_static(b"def"))).unwrap();
        // The sender is still open: `more: false` comes from the Content-Length.
        assert!(
            matches!(conn.receive(), Some(Received::Body { ref body, more: false }) if body == "def")
        );
        // Afterwards receive waits for the client to leave.
        assert!(conn.receive().is_none());
    }

    #[test]
    fn a_body_of_unknown_length_ends_when_its_sender_does() {
        let fx = fixture();
        let (mut conn, mut engine) = fx.request("POST", Some(None));
        let tx = engine.body.take().unwrap();
        tx.try_send(Ok(Bytes::from_static(b"abc"))).unwrap();
        assert!(
            matches!(conn.receive(), Some(Received::Body { ref body, more: true }) if body == "abc")
        );
        drop(tx);
        assert!(
            matches!(conn.receive(), Some(Received::Body { ref body, more: false }) if body.is_empty())
        );
    }

    #[test]
    fn request_body_errors_answer_for_the_app_and_disconnect_it() {
        let cases = [
            (BodyError::TooLarge(10), StatusCode::PAYLOAD_TOO_LARGE),
            (BodyError::Client("bad chunk size".into()), StatusCode::BAD_REQUEST),
            (BodyError::Stalled(5), StatusCode::REQUEST_TIMEOUT),
        ];
        for (error, status) in cases {
            let fx = fixture();
            let (mut conn, mut engine) = fx.request("POST", Some(Some(100)));
            engine.body.as_ref().unwrap().try_send(Err(error)).unwrap();
            assert!(matches!(conn.receive(), Some(Received::Disconnect)));
            let head = engine.head();
            assert_eq!(head.status, status);
            assert_eq!(head.headers[hyper::header::CONNECTION], "close");
            assert!(matches!(conn.send(start(200)), Err(SendError::Disconnected)));
            conn.finish();
        }
    }

    #[test]
    fn the_client_leaving_before_the_response_is_a_disconnect_both_ways() {
        let fx = fixture();
        let (mut conn, engine) = fx.request("GET", None);
        assert!(matches!(conn.receive(), Some(Received::Body { more: false, .. })));
        assert!(conn.receive().is_none());
        drop(engine.response);
        assert_eq!(fx.woken(), vec![token(7, Ready::Receive)]);
        assert!(matches!(conn.receive(), Some(Received::Disconnect)));
        assert!(matches!(conn.send(start(200)), Err(SendError::Disconnected)));
        conn.finish();
        assert!(fx.logged().is_empty(), "{:?}", fx.logged());
    }

    #[test]
    fn returning_without_a_response_is_a_500_and_a_log_line() {
        let fx = fixture();
        let (mut conn, mut engine) = fx.request("GET", None);
        conn.send(start(200)).ok().unwrap();
        conn.finish();
        let head = engine.head();
        assert_eq!(head.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(fx.read_body(head.body).0, b"Internal Server Error");
        assert_eq!(
            fx.logged(),
            vec!["ASGI callable returned without sending a complete response".to_string()]
        );
    }

    #[test]
    fn raising_mid_stream_aborts_the_body_after_what_was_sent_and_logs_the_traceback() {
        let fx = fixture();
        let (mut conn, mut engine) = fx.request("GET", None);
        conn.send(start(200)).ok().unwrap();
        conn.send(body(b"partial", true)).ok().unwrap();
        conn.fail("Traceback (most recent call last):\nValueError: boom\n");
        let head = engine.head();
        assert_eq!(head.status, StatusCode::OK);
        let (bytes, abort) = fx.read_body(head.body);
        assert_eq!(bytes, b"partial");
        assert_eq!(abort.as_deref(), Some("the application raised"));
        let logged = fx.logged();
        assert_eq!(logged.len(), 1);
        assert!(logged[0].starts_with("Error handling request GET /path?q=1\nTraceback"));
        assert!(logged[0].ends_with("ValueError: boom"));

        // Before the response started, the client gets a 500 instead.
        let (mut conn, mut engine) = fx.request("GET", None);
        conn.fail("Traceback (most recent call last):\nKeyError: 'x'\n");
        assert_eq!(engine.head().status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(fx.logged()[1].ends_with("KeyError: 'x'"));
    }

    #[test]
    fn a_cancelled_request_wakes_the_cancel_token_and_is_over_for_the_app() {
        let fx = fixture();
        let (mut conn, engine) = fx.request("GET", None);
        engine.control.cancel();
        assert_eq!(fx.woken(), vec![token(7, Ready::Cancel)]);
        assert!(matches!(conn.receive(), Some(Received::Disconnect)));
        assert!(matches!(conn.send(start(200)), Err(SendError::Disconnected)));
        // The engine answered (504): neither a 500 nor a log line from the request.
        conn.fail("Traceback ...");
        conn.finish();
        assert!(fx.logged().is_empty(), "{:?}", fx.logged());
        assert!(!engine.control.is_finished());
        drop(conn);
        assert!(engine.control.is_finished());
    }

    #[test]
    fn early_hints_go_out_only_before_the_start() {
        let fx = fixture();
        let (mut conn, mut engine) = fx.request("GET", None);
        let mut link = HeaderMap::new();
        link.insert("link", HeaderValue::from_static("</style.css>; rel=preload"));
        assert!(matches!(conn.send(Outgoing::EarlyHint(link.clone())), Ok(Sent::Done)));
        assert_eq!(engine.hints.try_recv().unwrap(), link);
        conn.send(start(200)).ok().unwrap();
        assert!(matches!(conn.send(Outgoing::EarlyHint(link)), Ok(Sent::Done)));
        assert!(engine.hints.try_recv().is_err());
    }

    #[test]
    fn pathsend_streams_the_file_with_its_length() {
        let fx = fixture();
        let path = std::env::temp_dir().join(format!("hornbeam-pathsend-{}", std::process::id()));
        std::fs::write(&path, b"file contents").unwrap();
        let (mut conn, mut engine) = fx.request("GET", None);
        conn.send(start(200)).ok().unwrap();
        let sent = conn.send(Outgoing::PathSend(path.to_str().unwrap().to_string()));
        assert!(matches!(sent, Ok(Sent::Done)));
        let head = engine.head();
        assert_eq!(head.headers[CONTENT_LENGTH], "13");
        assert_eq!(fx.read_body(head.body), (b"file contents".to_vec(), None));
        std::fs::remove_file(&path).unwrap();

        let (mut conn, _engine) = fx.request("GET", None);
        conn.send(start(200)).ok().unwrap();
        match conn.send(Outgoing::PathSend("/nonexistent/hornbeam".into())) {
            Err(SendError::File(message)) => {
                assert!(message.starts_with("/nonexistent/hornbeam: "))
            }
            _ => panic!("a missing file is a File error"),
        }
    }
}
