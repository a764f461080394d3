//! A request body fed by Python's `send_data`: chunks come through a channel, and each
//! one hyper takes is counted off the connection's unsent bytes, which is what lets
//! `send_data` wait while the peer's window or the socket is full.
use super::shared::Shared;
use bytes::Bytes;
use http_body::{Body, Frame};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

pub struct Chunk {
    pub data: Bytes,
    pub end_stream: bool,
}

pub struct RequestBody {
    chunks: Option<(mpsc::UnboundedReceiver<Chunk>, Arc<Shared>)>,
    ended: bool,
}

impl RequestBody {
    pub fn empty() -> RequestBody {
        RequestBody { chunks: None, ended: true }
    }

    pub fn channel(chunks: mpsc::UnboundedReceiver<Chunk>, shared: Arc<Shared>) -> RequestBody {
        RequestBody { chunks: Some((chunks, shared)), ended: false }
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        // What hyper never took is not waiting to be sent any more.
        if let Some((chunks, shared)) = &mut self.chunks {
            while let Ok(chunk) = chunks.try_recv() {
                shared.taken(chunk.data.len());
            }
        }
    }
}

/// The stream ended without its last chunk: Python reset it or closed the connection.
#[derive(Debug)]
pub struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body was abandoned before its end")
    }
}

impl std::error::Error for Aborted {}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let Some((chunks, shared)) = &mut self.chunks else {
            return Poll::Ready(None);
        };
        match chunks.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => {
                shared.taken(chunk.data.len());
                self.ended = chunk.end_stream;
                Poll::Ready(Some(Ok(Frame::data(chunk.data))))
            }
            Poll::Ready(None) => Poll::Ready(Some(Err(Aborted))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }
}
