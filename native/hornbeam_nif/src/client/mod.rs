//! The engine's HTTP client, behind hface's openers: hyper's HTTP/1.1 and HTTP/2 client
//! connections over tokio TCP and rustls, driven from any asyncio loop inside Hornbeam
//! (an ASGI worker's, a context's) through `_hornbeam_client`.
mod body;
mod connection;
pub mod pymodule;
mod shared;
mod tls;
