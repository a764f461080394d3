//! Reactors: file descriptors handed over by Erlang, served by Python protocols
//! (`erlang.reactor`) on a thread that owns one interpreter and one epoll instance.
//! Driven from Erlang by `py_reactor_context`.
//!
//! | concern                                   | module       |
//! |-------------------------------------------|--------------|
//! | the loop thread, connections, actions     | `event_loop` |
//! | commands from the BEAM, shared state      | `command`    |
//! | `ReactorBuffer` (zero-copy read buffers)  | `buffer`     |
//! | `_hornbeam_reactor` Python module         | `pymodule`   |
//! | read/write/fcntl on handed-off fds        | `fd_io`      |
//! | counters                                  | `stats`      |
//! | flushes asked for outside a callback      | `write_requests` |
mod buffer;
mod command;
mod event_loop;
mod fd_io;
pub mod pymodule;
mod stats;
mod write_requests;

use crate::atoms;
use crate::guard::guarded;
use command::{Command, Reply, Shared};
use hornbeam_python::interp::Mode;
use rustler::{Atom, Encoder, Env, LocalPid, Monitor, OwnedEnv, Resource, ResourceArc, Term};
use stats::Stats;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;

pub struct ReactorResource {
    shared: Arc<Shared>,
    mode: Mode,
    interp_id: i64,
}

#[rustler::resource_impl]
impl Resource for ReactorResource {
    /// Last reference gone: close every connection and end the interpreter.
    fn destructor(self, _env: Env<'_>) {
        self.shared.stop(None);
    }

    /// The owning `py_reactor_context` died: its connections go with it.
    fn down<'a>(&'a self, _env: Env<'a>, _pid: LocalPid, _monitor: Monitor) {
        self.shared.stop(None);
    }
}

/// `reactor_new(Mode, Owner, Paths, SiteDirs, PythonHome, SetupCode, MaxConnections,
/// ReadSize)` -> `{ok, Resource, InterpId}` | `{error, Message}`. `SetupCode` is a
/// binary or `undefined`. Starting an interpreter takes milliseconds: a dirty scheduler.
#[rustler::nif(schedule = "DirtyIo")]
#[allow(clippy::too_many_arguments)]
fn reactor_new<'a>(
    env: Env<'a>,
    mode: Atom,
    owner: LocalPid,
    paths: Vec<String>,
    site_dirs: Vec<String>,
    home: Term<'a>,
    setup_code: Term<'a>,
    max_connections: u64,
    read_size: usize,
) -> Term<'a> {
    guarded(env, || {
        let mode = if mode == atoms::main() { Mode::Main } else { Mode::Sub };
        let config = event_loop::LoopConfig {
            mode,
            owner,
            paths,
            site_dirs,
            setup_code: setup_code.decode::<String>().ok(),
            read_size: read_size.max(1),
        };
        let started = crate::runtime::start(home.decode::<String>().ok())
            .and_then(|_| event_loop::spawn(config, max_connections));
        match started {
            Ok((shared, interp_id)) => {
                let resource = ResourceArc::new(ReactorResource { shared, mode, interp_id });
                resource.monitor(Some(env), &owner);
                (atoms::ok(), resource, interp_id).encode(env)
            }
            Err(message) => (atoms::error(), message).encode(env),
        }
    })
}

/// `reactor_handoff(Resource, Fd, ClientInfo)` -> `ok` | `{error, Reason}`. From here
/// on the fd belongs to the reactor: on any error it is closed, never leaked.
#[rustler::nif]
fn reactor_handoff<'a>(
    env: Env<'a>,
    reactor: ResourceArc<ReactorResource>,
    fd: i32,
    client_info: Term<'a>,
) -> Term<'a> {
    guarded(env, || {
        if fd < 0 {
            return (atoms::error(), atoms::ebadf()).encode(env);
        }
        if let Err(e) = fd_io::prepare(fd) {
            // Not an open fd: there is nothing to close.
            let reason = if e.raw_os_error() == Some(libc::EBADF) {
                atoms::ebadf()
            } else {
                atoms::einval()
            };
            return (atoms::error(), reason).encode(env);
        }
        // SAFETY: the caller gives the open fd `fd` to the reactor; it is owned here.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let shared = &reactor.shared;
        if !shared.stats.reserve(shared.max_connections) {
            return (atoms::error(), atoms::max_connections()).encode(env);
        }
        let info_env = OwnedEnv::new();
        let saved = info_env.save(client_info);
        match shared.send(Command::Handoff { fd: owned, env: info_env, client_info: saved }) {
            Ok(()) => atoms::ok().encode(env),
            Err(_) => {
                shared.stats.release();
                (atoms::error(), atoms::reactor_stopped()).encode(env)
            }
        }
    })
}

fn reply_to<'a>(env: Env<'a>, reference: Term<'a>) -> Reply {
    let reply_env = OwnedEnv::new();
    let saved = reply_env.save(reference);
    Reply { to: env.pid(), env: reply_env, reference: saved }
}

fn queued<'a>(env: Env<'a>, reactor: &ReactorResource, cmd: Command) -> Term<'a> {
    match reactor.shared.send(cmd) {
        Ok(()) => atoms::ok().encode(env),
        Err(_) => (atoms::error(), atoms::reactor_stopped()).encode(env),
    }
}

/// `reactor_exec(Resource, Ref, Code)`: the caller later gets `{Ref, ok | {error, _}}`.
#[rustler::nif]
fn reactor_exec<'a>(
    env: Env<'a>,
    reactor: ResourceArc<ReactorResource>,
    reference: Term<'a>,
    code: String,
) -> Term<'a> {
    guarded(env, || queued(env, &reactor, Command::Exec { code, reply: reply_to(env, reference) }))
}

/// `reactor_eval(Resource, Ref, Expr)`: the caller later gets `{Ref, {ok, V} | {error, _}}`.
#[rustler::nif]
fn reactor_eval<'a>(
    env: Env<'a>,
    reactor: ResourceArc<ReactorResource>,
    reference: Term<'a>,
    code: String,
) -> Term<'a> {
    guarded(env, || queued(env, &reactor, Command::Eval { code, reply: reply_to(env, reference) }))
}

/// `reactor_stop(Resource, Ref)`: closes every connection and ends the interpreter;
/// the caller gets `{Ref, stopped}` when that is done.
#[rustler::nif]
fn reactor_stop<'a>(
    env: Env<'a>,
    reactor: ResourceArc<ReactorResource>,
    reference: Term<'a>,
) -> Term<'a> {
    guarded(env, || {
        if reactor.shared.stop(Some(reply_to(env, reference))) {
            atoms::ok().encode(env)
        } else {
            (atoms::error(), atoms::reactor_stopped()).encode(env)
        }
    })
}

#[rustler::nif]
fn reactor_stats(env: Env<'_>, reactor: ResourceArc<ReactorResource>) -> Term<'_> {
    guarded(env, || {
        let s = &reactor.shared.stats;
        let mode = atoms::mode_name(reactor.mode);
        let pairs = [
            (atoms::connections(), Stats::get(&s.open).encode(env)),
            (atoms::accepted(), Stats::get(&s.accepted).encode(env)),
            (atoms::closed(), Stats::get(&s.closed).encode(env)),
            (atoms::bytes_in(), Stats::get(&s.bytes_in).encode(env)),
            (atoms::bytes_out(), Stats::get(&s.bytes_out).encode(env)),
            (atoms::callbacks(), Stats::get(&s.callbacks).encode(env)),
            (atoms::wakeups(), Stats::get(&s.wakeups).encode(env)),
            (atoms::max_connections(), reactor.shared.max_connections.encode(env)),
            (atoms::mode(), mode.encode(env)),
            (atoms::interp_id(), reactor.interp_id.encode(env)),
        ];
        let (keys, values): (Vec<Term>, Vec<Term>) =
            pairs.iter().map(|(k, v)| (k.encode(env), *v)).unzip();
        Term::map_from_arrays(env, &keys, &values).unwrap_or_else(|_| atoms::error().encode(env))
    })
}

/// The answer to an `erlang.call` the loop is waiting for.
#[rustler::nif]
fn reactor_callback_reply<'a>(
    env: Env<'a>,
    reactor: ResourceArc<ReactorResource>,
    id: u64,
    reply: Term<'a>,
) -> Term<'a> {
    guarded(env, || {
        let reply_env = OwnedEnv::new();
        let saved = reply_env.save(reply);
        queued(env, &reactor, Command::CallbackReply { id, env: reply_env, reply: saved })
    })
}
