//! `wsgi.input`'s buffering over the chunks of a request body: reads of a size, line
//! reads with a limit, and the end of the body, whatever the chunk boundaries are. The
//! source decides how a chunk is waited for (the engine's blocks, with the GIL
//! released); a failure is kept and reported by every later read.
use bytes::{Bytes, BytesMut};

/// Where the chunks come from.
pub trait ChunkSource {
    type Error: Clone;
    /// The next chunk, `None` at the end of the body.
    fn next_chunk(&mut self) -> Result<Option<Bytes>, Self::Error>;
}

pub struct BodyReader<S: ChunkSource> {
    body: Option<S>,
    buffered: BytesMut,
    /// A failure seen while filling, reported by every later read too.
    failed: Option<S::Error>,
}

impl<S: ChunkSource> BodyReader<S> {
    pub fn new(body: Option<S>) -> BodyReader<S> {
        BodyReader { body, buffered: BytesMut::new(), failed: None }
    }

    /// Pulls one more chunk into the buffer; `false` at the end of the body. Blocks.
    fn fill(&mut self) -> Result<bool, S::Error> {
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
    pub fn read(&mut self, size: Option<usize>) -> Result<Bytes, S::Error> {
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
    pub fn readline(&mut self, limit: Option<usize>) -> Result<Bytes, S::Error> {
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

impl<S: ChunkSource> BodyReader<S> {
    /// Why the body stopped early, if it did.
    pub fn failure(&self) -> Option<&S::Error> {
        self.failed.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    /// Chunks given in advance; `Err` ends the body with that failure.
    struct Chunks(VecDeque<Result<Bytes, &'static str>>);

    impl ChunkSource for Chunks {
        type Error = &'static str;
        fn next_chunk(&mut self) -> Result<Option<Bytes>, &'static str> {
            self.0.pop_front().transpose()
        }
    }

    fn reader(chunks: &[&'static [u8]]) -> BodyReader<Chunks> {
        BodyReader::new(Some(Chunks(chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect())))
    }

    #[test]
    fn sized_reads_cross_chunk_boundaries_and_end_short() {
        let mut r = reader(&[b"ab", b"cde", b"f"]);
        assert_eq!(r.read(Some(4)).unwrap(), "abcd");
        assert_eq!(r.read(Some(4)).unwrap(), "ef");
        assert_eq!(r.read(Some(4)).unwrap(), "");
        assert_eq!(r.read(None).unwrap(), "");
    }

    #[test]
    fn a_read_of_everything_joins_the_chunks() {
        assert_eq!(reader(&[b"ab", b"", b"cd"]).read(None).unwrap(), "abcd");
        assert_eq!(BodyReader::<Chunks>::new(None).read(None).unwrap(), "");
    }

    #[test]
    fn lines_keep_their_newline_and_the_last_may_have_none() {
        let mut r = reader(&[b"one\ntw", b"o\n\nthr", b"ee"]);
        assert_eq!(r.readline(None).unwrap(), "one\n");
        assert_eq!(r.readline(None).unwrap(), "two\n");
        assert_eq!(r.readline(None).unwrap(), "\n");
        assert_eq!(r.readline(None).unwrap(), "three");
        assert_eq!(r.readline(None).unwrap(), "");
    }

    #[test]
    fn a_line_limit_cuts_the_line_and_the_rest_comes_next() {
        let mut r = reader(&[b"abcdef\n"]);
        assert_eq!(r.readline(Some(4)).unwrap(), "abcd");
        assert_eq!(r.readline(Some(4)).unwrap(), "ef\n");
        let mut r = reader(&[b"ab", b"cdef"]);
        assert_eq!(r.readline(Some(3)).unwrap(), "abc");
    }

    #[test]
    fn a_failure_is_returned_by_every_later_read_after_what_came_before() {
        let mut r = BodyReader::new(Some(Chunks(
            [Ok(Bytes::from_static(b"ok")), Err("client left")].into_iter().collect(),
        )));
        assert_eq!(r.read(Some(2)).unwrap(), "ok");
        assert_eq!(r.read(None), Err("client left"));
        assert_eq!(r.readline(None), Err("client left"));
        assert_eq!(r.failure(), Some(&"client left"));
    }

    #[test]
    fn would_block_and_has_line_say_when_the_source_must_be_asked() {
        let mut r = reader(&[b"a\nb"]);
        assert!(r.would_block(Some(1)));
        assert!(!r.has_line(None));
        assert_eq!(r.read(Some(1)).unwrap(), "a");
        assert!(!r.would_block(Some(1)));
        assert!(r.has_line(None));
        assert!(r.would_block(None)); // the end is not known yet
    }

    proptest! {
        /// However the body is split, reading it in any sizes, or line by line, gives
        /// back exactly its bytes.
        #[test]
        fn any_split_reads_back_the_body(
            body in proptest::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..8),
            sizes in proptest::collection::vec(1usize..20, 1..8),
        ) {
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(body.len())).collect();
            points.sort();
            let mut chunks = VecDeque::new();
            let mut start = 0;
            for p in points.into_iter().chain([body.len()]) {
                chunks.push_back(Ok(Bytes::copy_from_slice(&body[start..p])));
                start = p;
            }
            let mut by_size = BodyReader::new(Some(Chunks(chunks.clone())));
            let mut got = Vec::new();
            for n in sizes.iter().cycle() {
                let piece = by_size.read(Some(*n)).unwrap();
                if piece.is_empty() { break; }
                prop_assert!(piece.len() <= *n);
                got.extend_from_slice(&piece);
            }
            prop_assert_eq!(&got, &body);
            let mut by_line = BodyReader::new(Some(Chunks(chunks)));
            let mut lines = Vec::new();
            loop {
                let line = by_line.readline(None).unwrap();
                if line.is_empty() { break; }
                prop_assert!(line[..line.len() - 1].iter().all(|&b| b != b'\n'));
                lines.extend_from_slice(&line);
            }
            prop_assert_eq!(&lines, &body);
        }
    }
}
