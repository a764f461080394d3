//! `wsgi.input`'s buffering, in Rust terms: reads, line reads and the end of the body
//! over the chunks the engine pumps in. Blocking calls run with the GIL released.
use crate::http::body::{BodyError, RequestBody};
use bytes::{Bytes, BytesMut};

pub struct InputReader {
    body: Option<RequestBody>,
    buffered: BytesMut,
    /// A failure seen while filling, reported by every later read too.
    failed: Option<BodyError>,
}

impl InputReader {
    pub fn new(body: Option<RequestBody>) -> InputReader {
        InputReader { body, buffered: BytesMut::new(), failed: None }
    }

    /// Pulls one more chunk into the buffer; `false` at the end of the body. Blocks.
    fn fill(&mut self) -> Result<bool, BodyError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(body) = self.body.as_mut() else { return Ok(false) };
        match body.next_chunk() {
            Ok(Some(chunk)) => {
                self.buffered.extend_from_slice(&chunk);
                Ok(true)
            }
            Ok(None) => {
                self.body = None;
                Ok(false)
            }
            Err(e) => {
                self.body = None;
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Whether a call would have to wait for the client (the caller then releases the
    /// GIL around it).
    pub fn would_block(&self, want: Option<usize>) -> bool {
        self.body.is_some() && want.is_none_or(|n| self.buffered.len() < n)
    }

    /// Up to `size` bytes (all that remain for `None`); fewer only at the end.
    pub fn read(&mut self, size: Option<usize>) -> Result<Bytes, BodyError> {
        loop {
            if size.is_some_and(|n| self.buffered.len() >= n) {
                break;
            }
            if !self.fill()? {
                break;
            }
        }
        let take = size.map_or(self.buffered.len(), |n| n.min(self.buffered.len()));
        Ok(self.buffered.split_to(take).freeze())
    }

    /// One line with its `\n` (or up to `limit` bytes, or the rest at the end).
    pub fn readline(&mut self, limit: Option<usize>) -> Result<Bytes, BodyError> {
        let mut scanned = 0;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buffered[scanned..]) {
                let end = scanned + i + 1;
                let end = limit.map_or(end, |l| end.min(l));
                return Ok(self.buffered.split_to(end).freeze());
            }
            if limit.is_some_and(|l| self.buffered.len() >= l) {
                return Ok(self.buffered.split_to(limit.unwrap_or(0)).freeze());
            }
            scanned = self.buffered.len();
            if !self.fill()? {
                let rest = self.buffered.len();
                return Ok(self.buffered.split_to(rest).freeze());
            }
        }
    }

    /// Whether a line (or `limit` bytes) is already buffered.
    pub fn has_line(&self, limit: Option<usize>) -> bool {
        self.body.is_none()
            || memchr::memchr(b'\n', &self.buffered).is_some()
            || limit.is_some_and(|l| self.buffered.len() >= l)
    }
}

impl InputReader {
    /// Why the body stopped early, if it did.
    pub fn failure(&self) -> Option<&BodyError> {
        self.failed.as_ref()
    }
}
