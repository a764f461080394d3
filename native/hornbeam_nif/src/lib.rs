//! The Hornbeam NIF (`py_nif`): its function table and nothing else.
//!
//! | concern                       | module            |
//! |-------------------------------|-------------------|
//! | contexts, jobs, worker thread | `context`         |
//! | term <-> Python conversion    | `term`            |
//! | the `_erlang` Python module   | `erlang_module`   |
//! | file descriptors              | `fd`              |
//! | panics -> `{error, Reason}`   | `guard`           |
mod atoms;
mod context;
mod erlang_module;
mod fd;
mod guard;
mod python_info;
mod term;

rustler::init!("py_nif");
