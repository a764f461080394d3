//! `wsgi.input`'s reader: `hornbeam_wire::body_reader` (where it is unit-tested) over
//! the chunks the engine pumps in. Its reads block, so they run with the GIL released.
use crate::http::body::{BodyError, RequestBody};
use bytes::Bytes;
use hornbeam_wire::body_reader::{BodyReader, ChunkSource};

pub type InputReader = BodyReader<RequestBody>;

impl ChunkSource for RequestBody {
    type Error = BodyError;

    fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        RequestBody::next_chunk(self)
    }
}
