//! When an HTTP/2 connection is idle: no stream open (request running or response
//! still being sent) for `keepalive`. hyper's HTTP/2 pings only find dead peers; a live
//! client that keeps a connection it no longer uses would hold it for ever.
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;

/// The streams of one connection: how many are open, and how many were ever opened (so
/// a stream that opened and closed within one idle period still counts as activity).
#[derive(Default)]
pub struct Streams {
    open: AtomicUsize,
    opened: AtomicU64,
    changed: Notify,
}

impl Streams {
    /// Counts a stream as open until the returned guard is dropped.
    pub fn open(self: &Arc<Self>) -> StreamGuard {
        self.open.fetch_add(1, Ordering::AcqRel);
        self.opened.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_waiters();
        StreamGuard(self.clone())
    }

    /// Resolves once no stream has been open for `limit`.
    pub async fn idle_for(&self, limit: Duration) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the state is read, so a change in between still wakes us.
            changed.as_mut().enable();
            if self.open.load(Ordering::Acquire) > 0 {
                changed.await;
                continue;
            }
            let opened = self.opened.load(Ordering::Acquire);
            let quiet = tokio::time::timeout(limit, changed).await.is_err();
            if quiet
                && self.open.load(Ordering::Acquire) == 0
                && self.opened.load(Ordering::Acquire) == opened
            {
                return;
            }
        }
    }
}

pub struct StreamGuard(Arc<Streams>);

/// A stream's guard where a request's extensions can carry it (they must be `Clone`):
/// an extended CONNECT (a WebSocket over HTTP/2) is open until the socket ends, long
/// after its response body.
#[derive(Clone)]
pub struct OpenStream(#[allow(dead_code)] Arc<StreamGuard>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_waiters();
    }
}

/// A response body that keeps its stream counted as open until hyper drops it (sent,
/// failed or reset). `None` for an extended CONNECT, whose guard the request carries on
/// to the WebSocket.
pub struct Tracked<B> {
    body: B,
    _stream: Option<StreamGuard>,
}

impl<B> Tracked<B> {
    pub fn new(body: B, stream: Option<StreamGuard>) -> Tracked<B> {
        Tracked { body, _stream: stream }
    }
}

impl StreamGuard {
    pub fn shared(self) -> OpenStream {
        OpenStream(Arc::new(self))
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Tracked<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
