//! Every NIF entry returns `{error, Reason}` instead of unwinding into the VM.
use crate::atoms;
use rustler::{Encoder, Env, Term};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub fn guarded<'a>(env: Env<'a>, body: impl FnOnce() -> Term<'a>) -> Term<'a> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| panic_term(env, panic))
}

/// `{error, {nif_panic, Message}}` for a caught panic.
pub fn panic_term(env: Env<'_>, panic: Box<dyn Any + Send>) -> Term<'_> {
    (atoms::error(), (atoms::nif_panic(), panic_message(&panic))).encode(env)
}

/// What a caught panic said.
pub fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}
