//! ASGI 3.0 (spec 2.4): worker interpreters each running an asyncio loop, the scope,
//! `receive`/`send` without blocking, lifespan. The asyncio side is
//! `priv/python/hornbeam_asgi.py`.
//!
//! | concern                                        | module    |
//! |------------------------------------------------|-----------|
//! | the pool of workers, picking one per request    | `pool`    |
//! | one worker's thread, loading the app            | `worker`  |
//! | waking a loop from the engine (eventfd, tokens) | `inbox`   |
//! | one request: body in, response out, disconnect  | `conn`    |
//! | one WebSocket, the app's side                   | `websocket` |
//! | one WebSocket, the engine's task (frames)       | `socket`  |
//! | the WebSocket libraries (tungstenite, yawc)     | `ws_library` |
//! | the HTTP scope                                  | `scope`   |
//! | the Python objects the glue drives              | `pytypes` |
mod conn;
mod inbox;
mod pool;
mod pytypes;
mod scope;
mod socket;
mod websocket;
mod worker;
mod ws_library;

pub use pool::Pool;
pub use socket::WsSettings;
