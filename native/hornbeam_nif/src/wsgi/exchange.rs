//! The response side of one WSGI request, in Rust terms: what `start_response` set,
//! whether the head went out, and the channel the body streams through.
//!
//! PEP 3333: the head is sent with the first non-empty body chunk (or at the end), so
//! `start_response` may be called again with `exc_info` until then. A list or tuple
//! result becomes one whole body with a Content-Length; anything else streams.
use crate::http::body::{Aborted, ResponseBody, StreamItem};
use crate::http::exchange::{plain_text_headers, ResponseHead};
use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_LENGTH};
use hyper::{HeaderMap, StatusCode};
use std::fs::File;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

pub struct Exchange {
    respond: Option<oneshot::Sender<ResponseHead>>,
    hints: Option<mpsc::UnboundedSender<HeaderMap>>,
    /// What `start_response` set and the head has not sent yet.
    status: Option<(StatusCode, HeaderMap)>,
    stream: Option<mpsc::Sender<StreamItem>>,
    headers_sent: bool,
    /// The client (or the engine, on timeout) no longer wants the response.
    gone: bool,
}

/// The response can no longer be delivered.
#[derive(Debug)]
pub struct Gone;

impl Exchange {
    pub fn new(
        respond: oneshot::Sender<ResponseHead>,
        hints: Option<mpsc::UnboundedSender<HeaderMap>>,
    ) -> Exchange {
        Exchange {
            respond: Some(respond),
            hints,
            status: None,
            stream: None,
            headers_sent: false,
            gone: false,
        }
    }

    /// Early hints (103) before the response; ignored once it started, and where the
    /// protocol has no informational responses.
    pub fn send_hints(&mut self, headers: HeaderMap) {
        if !self.headers_sent {
            if let Some(hints) = &self.hints {
                let _ = hints.send(headers);
            }
        }
    }

    pub fn headers_sent(&self) -> bool {
        self.headers_sent
    }

    pub fn has_status(&self) -> bool {
        self.status.is_some()
    }

    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// Records (or, with `exc_info`, replaces) the status and headers.
    pub fn set_status(&mut self, status: StatusCode, headers: HeaderMap) {
        self.status = Some((status, headers));
    }

    fn send_head(&mut self, body: ResponseBody) -> Result<(), Gone> {
        let (status, headers) =
            self.status.take().unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new()));
        self.headers_sent = true;
        self.hints = None;
        let respond = self.respond.take().ok_or(Gone)?;
        respond.send(ResponseHead { status, headers, body }).map_err(|_| {
            self.gone = true;
            Gone
        })
    }

    /// The whole body at once, with its Content-Length (a list result before any
    /// `write()`): never blocks.
    pub fn finish_whole(&mut self, body: Bytes) -> Result<(), Gone> {
        debug_assert!(!self.headers_sent, "a started stream ends through send_chunk_blocking");
        self.send_head(ResponseBody::full(body))
    }

    /// One streamed chunk; sends the head first. Blocks while the client is slow: the
    /// caller releases the GIL.
    pub fn send_chunk_blocking(&mut self, chunk: Bytes) -> Result<(), Gone> {
        if !self.headers_sent {
            let (tx, body) = ResponseBody::channel();
            self.stream = Some(tx);
            self.send_head(body)?;
        }
        if chunk.is_empty() {
            return Ok(());
        }
        let tx = self.stream.as_ref().ok_or(Gone)?;
        tx.blocking_send(Ok(chunk)).map_err(|_| {
            self.gone = true;
            Gone
        })
    }

    /// Sends `len` bytes of `file` from `offset` (a `wsgi.file_wrapper` response): the
    /// head now, the bytes from the engine's blocking pool with `pread`, so the file's
    /// own offset is untouched and no byte passes through Python. A Content-Length the
    /// application set caps what is sent; otherwise it is set to `len`.
    pub fn send_file(
        &mut self,
        file: File,
        offset: u64,
        len: u64,
        engine: &Handle,
    ) -> Result<(), Gone> {
        let mut len = len;
        if let Some((_, headers)) = self.status.as_mut() {
            match headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
            {
                Some(declared) => len = len.min(declared),
                None => {
                    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
                }
            }
        }
        self.stream = None;
        self.send_head(ResponseBody::file(file, offset, len, engine))
    }

    /// The body ended normally.
    pub fn finish(&mut self) {
        if !self.headers_sent {
            let _ = self.send_head(ResponseBody::empty());
        }
        self.stream = None;
    }

    /// The application failed after the head went out: the connection must close
    /// without the body looking complete, so the engine gets an error, not an end.
    /// Blocks until the engine takes it (the caller releases the GIL).
    pub fn abort_blocking(&mut self, why: &str) {
        if let Some(tx) = self.stream.take() {
            let _ = tx.blocking_send(Err(Aborted(why.to_string())));
        }
    }

    /// A response the server makes (500, 413) when nothing was sent yet.
    pub fn respond_plain(&mut self, status: StatusCode, text: &'static str) {
        // A body the client failed to send (413, 400, 408) leaves the connection in an
        // unknown state: it closes after the answer.
        let headers = plain_text_headers(status.is_client_error());
        self.status = Some((status, headers));
        let _ = self.send_head(ResponseBody::full(text));
    }
}
