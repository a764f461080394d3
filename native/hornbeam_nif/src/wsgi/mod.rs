//! WSGI (PEP 3333): worker interpreters, the environ, `start_response`, `wsgi.input`
//! and `wsgi.errors`, and sending what the application returns.
//!
//! | concern                                  | module      |
//! |------------------------------------------|-------------|
//! | the pool of workers and its queue        | `pool`      |
//! | one worker's thread and its recycling    | `worker`    |
//! | loading the app, running one request     | `runner`    |
//! | the environ                              | `environ`   |
//! | the Python objects the app touches       | `pytypes`   |
//! | response state (head, stream)            | `exchange`  |
//! | request body buffering                   | `input`     |
mod environ;
mod exchange;
mod input;
mod pool;
mod pytypes;
mod runner;
mod worker;

pub use pool::Pool;
