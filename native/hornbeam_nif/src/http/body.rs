//! Bodies crossing between the I/O engine and an application thread.
//!
//! Request bodies are pumped from hyper's `Incoming` into a bounded channel only once
//! the application first reads (so `Expect: 100-continue` is answered only for bodies
//! someone wants). Response bodies are either whole (`Full`, sent with a
//! Content-Length) or streamed through a bounded channel: the application thread blocks,
//! GIL released, while the client is slow, so memory stays bounded both ways.
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::fs::File;
use std::os::unix::fs::FileExt;
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
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge(limit) => write!(f, "request body larger than max_body_size ({limit} bytes)"),
            BodyError::Client(why) => write!(f, "request body aborted: {why}"),
        }
    }
}

/// The request body as the application thread sees it.
pub struct RequestBody {
    start: Option<oneshot::Sender<()>>,
    chunks: mpsc::Receiver<Result<Bytes, BodyError>>,
    /// A chunk `at_end` took from the channel to look past.
    peeked: Option<Result<Bytes, BodyError>>,
}

impl RequestBody {
    /// Starts pumping `incoming` on the engine, at the first `next_chunk`.
    pub fn pump(incoming: Incoming, limit: Option<u64>) -> RequestBody {
        let (start_tx, start_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        tokio::spawn(pump(incoming, limit, start_rx, tx));
        RequestBody { start: Some(start_tx), chunks: rx, peeked: None }
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

async fn pump(
    mut incoming: Incoming,
    limit: Option<u64>,
    start: oneshot::Receiver<()>,
    tx: mpsc::Sender<Result<Bytes, BodyError>>,
) {
    if start.await.is_err() {
        return; // the application never read the body
    }
    let mut seen: u64 = 0;
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_frame(cx)).await;
        let item = match frame {
            None => return,
            Some(Err(e)) => Err(BodyError::Client(e.to_string())),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    seen += data.len() as u64;
                    match limit {
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
    },
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
        (tx, ResponseBody::Stream { chunks: rx, held: None })
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

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        match self.get_mut() {
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Stream { chunks, held } => {
                if let Some(abort) = held.take() {
                    return Poll::Ready(Some(Err(abort)));
                }
                match chunks.poll_recv(cx) {
                    Poll::Ready(Some(Err(abort))) => {
                        // Yield once: hyper flushes what it buffered while the body
                        // is pending, then gets the error and closes the connection.
                        *held = Some(abort);
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                    other => other.map(|item| item.map(|r| r.map(Frame::data))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            ResponseBody::Stream { .. } => SizeHint::default(),
        }
    }
}
