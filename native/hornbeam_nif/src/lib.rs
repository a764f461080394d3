//! The Hornbeam NIF (`py_nif`): its function table and nothing else.
//!
//! | concern                       | module            |
//! |-------------------------------|-------------------|
//! | contexts, jobs, worker thread | `context`         |
//! | fd reactors, `erlang.reactor` | `reactor`         |
//! | HTTP engine (hyper, tokio)    | `http`            |
//! | its NIF entry points          | `server_nif`      |
//! | loading the application       | `app`             |
//! | the application's settings    | `app_config`      |
//! | reading option maps           | `options`         |
//! | WSGI runner                   | `wsgi`            |
//! | ASGI runner                   | `asgi`            |
//! | per-interpreter heap types    | `pyheap`          |
//! | bytes, str, headers, caches   | `pyvalue`         |
//! | `erlang.call`/`send` hosts    | `host`            |
//! | ... on WSGI/ASGI pool threads | `agent`           |
//! | messages for Python (pub/sub) | `mailbox`         |
//! | starting CPython              | `runtime`         |
//! | an interpreter's own thread   | `interp_thread`   |
//! | term <-> Python conversion    | `term`            |
//! | the `_erlang` Python module   | `erlang_module`   |
//! | file descriptors              | `fd`              |
//! | panics -> `{error, Reason}`   | `guard`           |
mod agent;
mod app;
mod app_config;
mod asgi;
mod atoms;
mod client;
mod context;
#[cfg(test)]
mod enif_stubs;
mod erlang_module;
mod fd;
mod guard;
mod host;
mod http;
mod interp_thread;
mod mailbox;
mod options;
mod pyheap;
mod python_info;
mod pyvalue;
mod reactor;
mod runtime;
mod server_nif;
mod term;
mod wsgi;

rustler::init!("py_nif");
