//! Contexts: one interpreter on one OS thread, driven from Erlang by `py_context`.
//!
//! Calls are asynchronous for the BEAM: `context_call` queues a job and returns its id
//! at once; the worker replies `{Ref, Result}` to the caller, which waits in `receive`.
mod job;
mod shared;
pub mod worker;

use crate::atoms;
use crate::guard::guarded;
use hornbeam_python::interp::Mode;
use job::{Job, JobKind, Msg};
use rustler::{Atom, Encoder, Env, LocalPid, Monitor, OwnedEnv, Resource, ResourceArc, Term};
use shared::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub struct ContextResource {
    shared: Arc<Shared>,
    mode: Mode,
    interp_id: i64,
}

#[rustler::resource_impl]
impl Resource for ContextResource {
    /// Last reference gone: end the interpreter (on its own thread).
    fn destructor(self, _env: Env<'_>) {
        stop(&self.shared);
    }

    /// The owning `py_context` process died: its interpreter goes with it, so a
    /// restarted context starts fresh and no thread is left behind.
    fn down<'a>(&'a self, _env: Env<'a>, _pid: LocalPid, _monitor: Monitor) {
        stop(&self.shared);
    }
}

/// Stops taking jobs and interrupts the one running, so the worker reaches `Stop`.
fn stop(shared: &Arc<Shared>) {
    if shared.stop() {
        if let Some(job) = shared.innermost_running() {
            shared.cancel(job);
        }
    }
}

/// `context_new(Mode, Owner, Paths, SiteDirs, PythonHome, SpinMicros)` ->
/// `{ok, Resource, InterpId}`.
/// Creating an interpreter imports `site` and takes milliseconds: a dirty scheduler.
#[rustler::nif(schedule = "DirtyIo")]
fn context_new<'a>(
    env: Env<'a>,
    mode: Atom,
    owner: LocalPid,
    paths: Vec<String>,
    site_dirs: Vec<String>,
    home: Term<'a>,
    spin_us: u64,
) -> Term<'a> {
    guarded(env, || {
        let mode = if mode == atoms::main() { Mode::Main } else { Mode::Sub };
        let home = home.decode::<String>().ok();
        let started = crate::runtime::start(home).and_then(|_| {
            worker::spawn(worker::WorkerConfig {
                mode,
                owner,
                paths,
                site_dirs,
                spin: std::time::Duration::from_micros(spin_us),
            })
        });
        match started {
            Ok((shared, interp_id)) => {
                let resource = ResourceArc::new(ContextResource { shared, mode, interp_id });
                resource.monitor(Some(env), &owner);
                (atoms::ok(), resource, interp_id).encode(env)
            }
            Err(message) => (atoms::error(), message).encode(env),
        }
    })
}

/// Queues a job built by `kind` with its terms copied into a job environment.
fn submit<'a>(
    env: Env<'a>,
    ctx: &ContextResource,
    reply_ref: Term<'a>,
    kind: impl FnOnce(&OwnedEnv) -> JobKind,
) -> Term<'a> {
    let job_env = OwnedEnv::new();
    let kind = kind(&job_env);
    let reply_ref = job_env.save(reply_ref);
    let id = ctx.shared.next_job_id();
    let job = Job { id, kind, reply_to: env.pid(), env: job_env, reply_ref };
    match ctx.shared.send(Msg::Job(job)) {
        Ok(()) => id.encode(env),
        Err(_) => (atoms::error(), atoms::context_stopped()).encode(env),
    }
}

fn bad_arg<'a>(env: Env<'a>, what: &str) -> Term<'a> {
    (
        atoms::error(),
        (atoms::badarg(), Atom::from_str(env, what).unwrap_or_else(|_| atoms::badarg())),
    )
        .encode(env)
}

#[rustler::nif]
fn context_call<'a>(
    env: Env<'a>,
    ctx: ResourceArc<ContextResource>,
    reply_ref: Term<'a>,
    module: String,
    function: String,
    call_args: Term<'a>,
    kwargs: Term<'a>,
) -> Term<'a> {
    guarded(env, || {
        if call_args.list_length().is_err() {
            return bad_arg(env, "args");
        }
        if !kwargs.is_map() {
            return bad_arg(env, "kwargs");
        }
        submit(env, &ctx, reply_ref, |e| JobKind::Call {
            module,
            function,
            args: e.save(call_args),
            kwargs: e.save(kwargs),
        })
    })
}

#[rustler::nif]
fn context_eval<'a>(
    env: Env<'a>,
    ctx: ResourceArc<ContextResource>,
    reply_ref: Term<'a>,
    code: String,
    locals: Term<'a>,
) -> Term<'a> {
    guarded(env, || {
        if !locals.is_map() {
            return bad_arg(env, "locals");
        }
        submit(env, &ctx, reply_ref, |e| JobKind::Eval { code, locals: e.save(locals) })
    })
}

#[rustler::nif]
fn context_exec<'a>(
    env: Env<'a>,
    ctx: ResourceArc<ContextResource>,
    reply_ref: Term<'a>,
    code: String,
) -> Term<'a> {
    guarded(env, || submit(env, &ctx, reply_ref, |_| JobKind::Exec { code }))
}

/// The caller gave up on a job (timeout): it will not run, or it is interrupted, and
/// no reply is sent after this returns.
#[rustler::nif]
fn context_cancel(env: Env<'_>, ctx: ResourceArc<ContextResource>, job_id: u64) -> Term<'_> {
    guarded(env, || {
        ctx.shared.cancel(job_id);
        atoms::ok().encode(env)
    })
}

#[rustler::nif]
fn context_stop(env: Env<'_>, ctx: ResourceArc<ContextResource>) -> Term<'_> {
    guarded(env, || {
        stop(&ctx.shared);
        atoms::ok().encode(env)
    })
}

#[rustler::nif]
fn context_info(env: Env<'_>, ctx: ResourceArc<ContextResource>) -> Term<'_> {
    guarded(env, || {
        let mode = atoms::mode_name(ctx.mode);
        Term::map_from_pairs(
            env,
            &[
                (atoms::mode().encode(env), mode.encode(env)),
                (atoms::interp_id().encode(env), ctx.interp_id.encode(env)),
                (
                    atoms::calls().encode(env),
                    ctx.shared.calls_run.load(Ordering::Relaxed).encode(env),
                ),
            ],
        )
        .unwrap_or_else(|_| atoms::error().encode(env))
    })
}

/// The answer to an `erlang.call` the worker is waiting for.
#[rustler::nif]
fn context_callback_reply<'a>(
    env: Env<'a>,
    ctx: ResourceArc<ContextResource>,
    id: u64,
    reply: Term<'a>,
) -> Term<'a> {
    guarded(env, || {
        let reply_env = OwnedEnv::new();
        let saved = reply_env.save(reply);
        match ctx.shared.send(Msg::CallbackReply { id, env: reply_env, reply: saved }) {
            Ok(()) => atoms::ok().encode(env),
            Err(_) => (atoms::error(), atoms::context_stopped()).encode(env),
        }
    })
}
