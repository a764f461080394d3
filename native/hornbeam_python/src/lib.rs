//! The CPython embedding layer of Hornbeam, free of any Erlang dependency: its unsafe
//! parts are unit-tested with `cargo test` against a real interpreter, and nothing in
//! it may assume a BEAM.
//!
//! Rules it enforces (docs/architecture.md, "Embedding rules"):
//! - libpython is re-opened `RTLD_NOW | RTLD_GLOBAL` before initialisation;
//! - the main interpreter is initialised once, on a thread of its own, and never finalised;
//! - every interpreter (OWN_GIL sub-interpreter or main-interpreter thread) lives on one
//!   OS thread, and Python objects never leave it (`PyOwned` is `!Send`).

pub mod call;
pub mod error;
pub mod gil;
pub mod interp;
pub mod interrupt;
pub mod object;
pub mod runtime;
pub mod table;
pub mod value;
