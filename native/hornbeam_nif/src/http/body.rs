//! Bodies crossing between the I/O engine and an application thread.
//!
//! Request bodies are pumped from hyper's `Incoming` into a bounded channel only once
//! the application first reads (so `Expect: 100-continue` is answered only for bodies
//! someone wants). Response bodies are either whole (`Full`, sent with a
//! Content-Length) or streamed through a bounded channel: the application thread blocks,
//! GIL released, while the client is slow, so memory stays bounded both ways.
use super::log::Log;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::fmt;
use std::fs::File;
use std::future::Future;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

/// Bytes per read when a file is sent from the engine's blocking pool.
const FILE_CHUNK: u64 = 256 * 1024;

/// Chunks in flight per direction: enough to overlap Python with the socket, small
/// enough that a slow peer holds back the producer.
const CHANNEL_CHUNKS: usize = 4;

/// Why a streamed body stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The request body is larger than `max_body_size`.
    TooLarge(u64),
    /// The client went away or sent a malformed body.
    Client(String),
    /// No body bytes arrived for `body_read_timeout` (ms).
    Stalled(u64),
    /// The engine gave up on the request (`timeout`): a read blocked on the body wakes.
    Cancelled,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge(limit) => {
                write!(f, "request body larger than max_body_size ({limit} bytes)")
            }
            BodyError::Client(why) => write!(f, "request body aborted: {why}"),
            BodyError::Stalled(ms) => {
                write!(f, "request body: no data from the client for {ms} ms (body_read_timeout)")
            }
            BodyError::Cancelled => write!(f, "request body: the request timed out (timeout)"),
        }
    }
}

/// A request body as a protocol hands it to the engine.
pub trait Incoming:
    Body<Data = Bytes, Error: fmt::Display + Send> + Send + Unpin + 'static
{
}

impl<B: Body<Data = Bytes, Error: fmt::Display + Send> + Send + Unpin + 'static> Incoming for B {}

/// The request body as the application thread sees it.
pub struct RequestBody {
    start: Option<oneshot::Sender<()>>,
    chunks: mpsc::Receiver<Result<Bytes, BodyError>>,
    /// A chunk `at_end` took from the channel to look past.
    peeked: Option<Result<Bytes, BodyError>>,
}

impl RequestBody {
    /// Starts pumping `incoming` (hyper's body, or an HTTP/3 stream's) on the engine, at
    /// the first `next_chunk`. The pump ends with an error when the client sends
    /// nothing for `limits.stall`, or when `cancel` resolves (the request timed out), so
    /// a read blocked on it always wakes.
    pub fn pump<B: Incoming>(
        incoming: B,
        limits: BodyLimits,
        cancel: impl Future<Output = ()> + Send + 'static,
    ) -> RequestBody {
        let (start_tx, start_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        tokio::spawn(pump(incoming, limits, start_rx, cancel, tx));
        RequestBody { start: Some(start_tx), chunks: rx, peeked: None }
    }

    /// A body fed by the test itself, already started.
    #[cfg(test)]
    pub fn from_channel(chunks: mpsc::Receiver<Result<Bytes, BodyError>>) -> RequestBody {
        RequestBody { start: None, chunks, peeked: None }
    }

    /// The next chunk (`None` at the end). Blocks: call it off the engine's threads,
    /// with the GIL released.
    pub fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        self.begin();
        if let Some(item) = self.peeked.take() {
            return item.map(Some);
        }
        self.chunks.blocking_recv().transpose()
    }

    /// The next chunk, for a reader that polls (ASGI): `cx`'s waker fires when one
    /// arrives.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, BodyError>> {
        self.begin();
        if let Some(item) = self.peeked.take() {
            return Poll::Ready(item.map(Some));
        }
        self.chunks.poll_recv(cx).map(Option::transpose)
    }

    /// Whether the body is known to have ended, without waiting: a chunk already
    /// delivered is kept for the next read.
    pub fn at_end(&mut self) -> bool {
        if self.peeked.is_some() {
            return false;
        }
        match self.chunks.try_recv() {
            Ok(item) => {
                self.peeked = Some(item);
                false
            }
            Err(mpsc::error::TryRecvError::Disconnected) => true,
            Err(mpsc::error::TryRecvError::Empty) => false,
        }
    }

    fn begin(&mut self) {
        if let Some(start) = self.start.take() {
            let _ = start.send(());
        }
    }
}

/// What bounds a request body: its size, and how long the client may pause.
#[derive(Clone, Copy)]
pub struct BodyLimits {
    pub max_size: Option<u64>,
    /// `body_read_timeout`: the longest wait for the next bytes of the body.
    pub stall: Option<Duration>,
}

async fn pump<B: Incoming>(
    mut incoming: B,
    limits: BodyLimits,
    start: oneshot::Receiver<()>,
    cancel: impl Future<Output = ()>,
    tx: mpsc::Sender<Result<Bytes, BodyError>>,
) {
    if start.await.is_err() {
        return; // the application never read the body
    }
    tokio::pin!(cancel);
    // One timer for the whole body, pushed back after every frame.
    let stall = tokio::time::sleep(limits.stall.unwrap_or(Duration::MAX / 4));
    tokio::pin!(stall);
    let mut seen: u64 = 0;
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_frame(cx));
        let frame = tokio::select! {
            frame = next => Ok(frame),
            _ = &mut cancel => Err(BodyError::Cancelled),
            _ = &mut stall, if limits.stall.is_some() => {
                Err(BodyError::Stalled(limits.stall.map_or(0, |d| d.as_millis() as u64)))
            }
        };
        if let Some(limit) = limits.stall {
            stall.as_mut().reset(tokio::time::Instant::now() + limit);
        }
        // Returning drops `incoming`: hyper stops reading and closes the connection.
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        let item = match frame {
            None => return,
            Some(Err(e)) => Err(BodyError::Client(e.to_string())),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    seen += data.len() as u64;
                    match limits.max_size {
                        Some(max) if seen > max => Err(BodyError::TooLarge(max)),
                        _ => Ok(data),
                    }
                }
                Err(_trailers) => continue,
            },
        };
        // Ending as soon as hyper knows the body is complete lets a polling reader see
        // the end together with the last chunk.
        let stop = item.is_err() || incoming.is_end_stream();
        if tx.send(item).await.is_err() || stop {
            return;
        }
    }
}

/// A response body that ends the connection instead of finishing: the application
/// failed after the head was sent, and a client must never mistake the truncated body
/// for a whole one.
#[derive(Debug)]
pub struct Aborted(pub String);

impl fmt::Display for Aborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "response aborted: {}", self.0)
    }
}

impl std::error::Error for Aborted {}

pub type StreamItem = Result<Bytes, Aborted>;

pub enum ResponseBody {
    Full(Option<Bytes>),
    Stream {
        chunks: mpsc::Receiver<StreamItem>,
        /// An abort held back for one poll, so the engine flushes the bytes before it
        /// (it drops its write buffer when a body fails).
        held: Option<Aborted>,
        /// The Content-Length the application declared, when it streams the body.
        declared: Option<Box<Declared>>,
    },
}

/// A streamed body's declared length, enforced: bytes past it are dropped, and a body
/// that ends short fails, so the connection closes instead of the next response being
/// read as the missing bytes.
pub struct Declared {
    left: u64,
    length: u64,
    overflowed: bool,
    log: Log,
}

impl ResponseBody {
    pub fn empty() -> ResponseBody {
        ResponseBody::Full(None)
    }

    pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
        let bytes = bytes.into();
        ResponseBody::Full(if bytes.is_empty() { None } else { Some(bytes) })
    }

    /// A streamed body and the sender the application thread feeds it with.
    pub fn channel() -> (mpsc::Sender<StreamItem>, ResponseBody) {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        (tx, ResponseBody::Stream { chunks: rx, held: None, declared: None })
    }

    /// Holds the body to the `Content-Length` the application declared (`None`: it
    /// declared none, or the response has no body on the wire). A whole body is checked
    /// now, a streamed one as it goes; a mismatch is logged.
    pub fn hold_to(self, declared: Option<u64>, log: &Log) -> ResponseBody {
        let Some(length) = declared else { return self };
        match self {
            ResponseBody::Full(bytes) => {
                let have = bytes.as_ref().map_or(0, |b| b.len() as u64);
                if have == length {
                    return ResponseBody::Full(bytes);
                }
                log.error(&content_length_mismatch(length, have));
                let mut bytes = bytes.unwrap_or_default();
                if have > length {
                    bytes.truncate(length as usize);
                    return ResponseBody::Full(Some(bytes));
                }
                // Short: send what there is, then fail so the connection closes.
                let (tx, rx) = mpsc::channel(2);
                let _ = tx.try_send(Ok(bytes));
                let _ = tx.try_send(Err(Aborted(content_length_mismatch(length, have))));
                ResponseBody::Stream { chunks: rx, held: None, declared: None }
            }
            ResponseBody::Stream { chunks, held, declared: _ } => ResponseBody::Stream {
                chunks,
                held,
                declared: Some(Box::new(Declared {
                    left: length,
                    length,
                    overflowed: false,
                    log: log.clone(),
                })),
            },
        }
    }

    /// `len` bytes of `file` from `offset`, read with `pread` on the engine's blocking
    /// pool: the file's own offset is untouched and no byte passes through Python.
    pub fn file(file: File, offset: u64, len: u64, engine: &Handle) -> ResponseBody {
        let (tx, body) = ResponseBody::channel();
        engine.spawn_blocking(move || pump_file(file, offset, len, tx));
        body
    }
}

fn pump_file(file: File, mut offset: u64, mut remaining: u64, tx: mpsc::Sender<StreamItem>) {
    while remaining > 0 {
        let mut buf = vec![0u8; remaining.min(FILE_CHUNK) as usize];
        let item = match file.read_at(&mut buf, offset) {
            Ok(0) => Err(Aborted("the file shrank while it was being sent".into())),
            Ok(n) => {
                buf.truncate(n);
                offset += n as u64;
                remaining -= n as u64;
                Ok(Bytes::from(buf))
            }
            Err(e) => Err(Aborted(format!("reading the file failed: {e}"))),
        };
        let failed = item.is_err();
        // A send error means the client is gone (or it was a HEAD request).
        if tx.blocking_send(item).is_err() || failed {
            return;
        }
    }
}

impl Declared {
    /// What of `chunk` fits in the declared length; logs the first overflow.
    fn take(&mut self, mut chunk: Bytes) -> Bytes {
        let len = chunk.len() as u64;
        if len <= self.left {
            self.left -= len;
            return chunk;
        }
        if !self.overflowed {
            self.overflowed = true;
            let sent = self.length - self.left + len;
            self.log.error(&content_length_mismatch(self.length, sent));
        }
        chunk.truncate(self.left as usize);
        self.left = 0;
        chunk
    }
}

fn content_length_mismatch(declared: u64, sent: u64) -> String {
    if sent > declared {
        format!("the response body is longer than its Content-Length ({declared} bytes, at least {sent} given): the rest was not sent")
    } else {
        format!("the response body ended after {sent} of the {declared} bytes its Content-Length declared: the connection was closed")
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        match self.get_mut() {
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Stream { chunks, held, declared } => {
                if let Some(abort) = held.take() {
                    return Poll::Ready(Some(Err(abort)));
                }
                let polled = match chunks.poll_recv(cx) {
                    Poll::Ready(item) => item,
                    Poll::Pending => return Poll::Pending,
                };
                let item = match (polled, declared.as_deref_mut()) {
                    (Some(Ok(chunk)), Some(limit)) => Some(Ok(limit.take(chunk))),
                    (None, Some(limit)) if limit.left > 0 => {
                        let why = content_length_mismatch(limit.length, limit.length - limit.left);
                        limit.log.error(&why);
                        limit.left = 0;
                        Some(Err(Aborted(why)))
                    }
                    (other, _) => other,
                };
                match item {
                    Some(Err(abort)) => {
                        // Yield once: hyper flushes what it buffered while the body
                        // is pending, then gets the error and closes the connection.
                        *held = Some(abort);
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                    Some(Ok(chunk)) if chunk.is_empty() => {
                        // Everything declared went out already: what the application
                        // sends now is dropped, but the stream must still end.
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                    other => Poll::Ready(other.map(|r| r.map(Frame::data))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            ResponseBody::Stream { .. } => SizeHint::default(),
        }
    }
}
