//! What passes between the I/O engine and an application: a parsed request with its
//! body, and the response head the application sends back.
use super::body::{RequestBody, ResponseBody};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{HeaderMap, StatusCode};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot, Notify};

/// A request, after limits and proxy headers were applied.
pub struct Request {
    /// Method, URI, version and headers as hyper parsed them.
    pub head: Parts,
    /// The client: the peer, or what a trusted proxy said in X-Forwarded-For.
    pub client: SocketAddr,
    /// The address the connection was accepted on.
    pub local: SocketAddr,
    /// `http` or `https` (from the connection, or X-Forwarded-Proto of a trusted proxy).
    pub scheme: &'static str,
    /// X-Forwarded-Host from a trusted proxy: replaces the Host header.
    pub forwarded_host: Option<String>,
    /// `None` when the request has no body at all.
    pub body: Option<RequestBody>,
    /// A WebSocket handshake (HTTP/1.1 `Upgrade: websocket`), for apps that take them.
    pub websocket: Option<WebSocketUpgrade>,
}

/// What accepting a WebSocket handshake needs: the client's key (RFC 6455, HTTP/1.1;
/// none over HTTP/2, RFC 8441), and the connection or stream hyper hands over once the
/// 101 (HTTP/1.1) or 200 (HTTP/2) response is out.
pub struct WebSocketUpgrade {
    pub key: Option<String>,
    pub on_upgrade: hyper::upgrade::OnUpgrade,
    /// The `Sec-WebSocket-Extensions` answer when permessage-deflate was agreed.
    pub deflate: Option<HeaderValue>,
    /// Over HTTP/2: keeps the stream counted as open (so the connection is not idle)
    /// for as long as the WebSocket lives.
    pub stream_open: Option<OpenStream>,
    /// The server's phase: a stop closes the WebSocket with 1001.
    pub server_phase: tokio::sync::watch::Receiver<super::state::Phase>,
}

pub use super::idle::OpenStream;

pub struct ResponseHead {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: ResponseBody,
}

/// Lets the engine give up on a request (timeout) while an application thread runs it,
/// and find out whether that thread ever came back.
pub struct JobControl {
    cancelled: AtomicBool,
    /// Set by the worker once it is done with the job, however it ended.
    finished: AtomicBool,
    /// Set by the thread that runs the job: how to interrupt it.
    runner: OnceLock<Arc<dyn Interrupt>>,
    /// Wakes the request body's pump on cancel, so a read blocked on a silent client
    /// returns (with an error) instead of holding the worker.
    body_cancel: Notify,
}

/// Interrupts the Python code of one job, if that job is still the one running.
pub trait Interrupt: Send + Sync {
    fn interrupt(&self, job: &Arc<JobControl>);
    /// The job was cancelled a grace period ago and its worker has still not come back
    /// (stuck in C code, or ignoring interrupts): the worker is replaced by a fresh one.
    fn abandon(&self, job: &Arc<JobControl>);
}

impl JobControl {
    pub fn new() -> Arc<JobControl> {
        Arc::new(JobControl {
            cancelled: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            runner: OnceLock::new(),
            body_cancel: Notify::new(),
        })
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Called by the thread that starts running the job.
    pub fn started_by(&self, runner: Arc<dyn Interrupt>) {
        let _ = self.runner.set(runner);
    }

    /// Resolves when the job is cancelled (for the request body's pump).
    pub async fn cancelled(self: Arc<Self>) {
        self.body_cancel.notified().await
    }

    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    pub fn is_started(&self) -> bool {
        self.runner.get().is_some()
    }

    /// Called by the worker when it is done with the job.
    pub fn finish(&self) {
        self.finished.store(true, Ordering::Release);
    }

    /// The response is no longer wanted: wakes a blocked body read and interrupts the
    /// job if it already runs.
    pub fn cancel(self: &Arc<Self>) {
        self.cancelled.store(true, Ordering::Release);
        // A stored permit: the pump sees it even if it starts waiting later.
        self.body_cancel.notify_one();
        if let Some(runner) = self.runner.get() {
            runner.interrupt(self);
        }
    }

    /// After a cancel and a grace period: replaces the worker if it is still on this job.
    /// Returns whether it was.
    pub fn abandon_if_stuck(self: &Arc<Self>) -> bool {
        if self.is_finished() {
            return false;
        }
        match self.runner.get() {
            Some(runner) => {
                runner.abandon(self);
                true
            }
            None => false,
        }
    }
}

pub struct Job {
    pub request: Request,
    pub respond: oneshot::Sender<ResponseHead>,
    /// Early hints (103) to send before the response; `None` where the protocol has no
    /// informational responses (HTTP/1.0).
    pub hints: Option<mpsc::UnboundedSender<HeaderMap>>,
    pub control: Arc<JobControl>,
}

/// An application the engine hands requests to: the WSGI or the ASGI pool.
pub trait App: Send + Sync {
    /// Queues a job; gives it back when the application no longer takes work.
    fn submit(&self, job: Job) -> Result<(), Box<Job>>;
    /// Stops taking jobs, lets queued ones finish, and ends the application's threads.
    /// Blocks until they are gone.
    fn shutdown(&self);
    /// Workers replaced by a fresh interpreter because theirs died or was stuck.
    fn replaced_workers(&self) -> u64;
}

/// The headers of a short plain-text answer the server makes itself (an error, a
/// refusal); `close` has the connection closed after it.
pub fn plain_text_headers(close: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    if close {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    headers
}
