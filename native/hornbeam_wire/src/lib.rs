//! The parts of Hornbeam's HTTP handling that are plain functions of the request: how
//! a path is percent-decoded, which `Host` a request has, what a trusted proxy says
//! about the client, which size limit a request head breaks, how a body is read in
//! sizes and lines. None of it needs the engine's types, so it lives in a crate of its
//! own with unit tests and property tests (proptest) that feed it arbitrary input.
pub mod body_reader;
pub mod host;
pub mod limits;
pub mod path;
pub mod proxy;
