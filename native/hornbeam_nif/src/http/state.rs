//! What the accept loop (`server`) and every request's service share: where the server
//! is in its life, and its counters.
use std::sync::atomic::AtomicU64;

/// Where the server is in its life; connections watch it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    Serving,
    /// Finish the request in progress, then close.
    Draining,
    /// Close now.
    Aborting,
}

#[derive(Default)]
pub struct Stats {
    pub accepted: AtomicU64,
    pub requests: AtomicU64,
    /// HTTP/3 connections open now, and request streams since the start.
    pub http3_connections: AtomicU64,
    pub http3_streams: AtomicU64,
}
