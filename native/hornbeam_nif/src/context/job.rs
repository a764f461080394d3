//! What travels from the BEAM to a context's thread.
use rustler::env::SavedTerm;
use rustler::{LocalPid, OwnedEnv};

pub enum Msg {
    Job(Job),
    /// The answer of an Erlang function that Python called with `erlang.call`.
    CallbackReply {
        id: u64,
        env: OwnedEnv,
        reply: SavedTerm,
    },
    /// Something was cancelled: a job waiting on a callback re-checks its own state.
    Wake,
    Stop,
}

pub struct Job {
    pub id: u64,
    pub kind: JobKind,
    /// The caller: it receives `{Ref, Result}`.
    pub reply_to: LocalPid,
    /// Holds the job's terms (copied from the caller) and later its reply.
    pub env: OwnedEnv,
    pub reply_ref: SavedTerm,
}

pub enum JobKind {
    Call { module: String, function: String, args: SavedTerm, kwargs: SavedTerm },
    Eval { code: String, locals: SavedTerm },
    Exec { code: String },
}
