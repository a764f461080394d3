//! The HTTP engine: hyper on a tokio runtime, serving connections accepted on a
//! listening socket Erlang opened. Erlang decides when to start and stop; this module
//! runs every byte in between. It is a leaf: it serves an `exchange::App` and knows
//! nothing of WSGI, ASGI or the NIF (`server_nif` starts it).
//!
//! | concern                                   | module     |
//! |-------------------------------------------|------------|
//! | the tokio runtime                         | `engine`   |
//! | accept loop, connections, drain and stop  | `server`   |
//! | when an HTTP/2 connection is idle         | `idle`     |
//! | one request: limits, timeout, hand-over   | `service`  |
//! | a connection as its requests see it       | `connection` |
//! | the server's phase and counters           | `state`    |
//! | request/response bodies                   | `body`     |
//! | what passes to and from an application    | `exchange` |
//! | settings from Erlang                      | `config`   |
//! | the socket hyper uses, 103 Early Hints    | `io`       |
//! | TLS settings (rustls)                     | `tls`      |
//! | HTTP/3: QUIC (quinn) and h3               | `http3`    |
//! | WebSocket handshake, deflate negotiation  | `websocket_handshake` |
//! | log lines to the Erlang owner             | `log`      |
//!
//! Path decoding, the Host rules and trusted proxy headers are plain functions of the
//! request, in the `hornbeam_wire` crate, where they are unit- and property-tested.
pub mod body;
pub mod config;
pub mod connection;
pub mod engine;
pub mod exchange;
mod http3;
mod idle;
mod io;
pub mod log;
pub mod server;
mod service;
pub mod state;
pub mod tls;
pub mod websocket_handshake;
