//! The NIF entry points of an HTTP server (`http_server_start`, `_stop`, `_info`,
//! `_replace_agent`): they decode the options, start the WSGI or ASGI pool, and give it
//! to the engine (`http`), which knows only the `App` trait it serves.
use crate::app::{LoadError, PoolSpec};
use crate::app_config::{AppConfig, Interface};
use crate::atoms;
use crate::guard::guarded;
use crate::http::config::ServerConfig;
use crate::http::exchange;
use crate::http::server::Server;
use crate::http::{engine, log, tls};
use hornbeam_python::interp::Mode;
use rustler::{Encoder, Env, LocalPid, Monitor, Resource, ResourceArc, Term};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub struct HttpServerResource {
    server: Arc<Server>,
    agents: Arc<crate::agent::Agents>,
    mode: Mode,
    workers: usize,
}

#[rustler::resource_impl]
impl Resource for HttpServerResource {
    /// The owning `hornbeam_server` process died: nobody can stop this server any
    /// more, so it stops now.
    fn down<'a>(&'a self, _env: Env<'a>, _pid: LocalPid, _monitor: Monitor) {
        self.server.abort();
    }

    fn destructor(self, _env: Env<'_>) {
        self.server.abort();
    }
}

rustler::atoms! {
    app_import_failed,
    callable_not_found,
    python_init_failed,
    lifespan_startup_failed,
    invalid_ssl_file,
}

fn load_error_term<'a>(env: Env<'a>, e: &LoadError) -> Term<'a> {
    let reason = match e {
        LoadError::Import(tb) => (app_import_failed(), tb.as_str()).encode(env),
        LoadError::CallableNotFound(spec) => (callable_not_found(), spec.as_str()).encode(env),
        LoadError::Init(why) => (python_init_failed(), why.as_str()).encode(env),
        LoadError::LifespanFailed(why) => (lifespan_startup_failed(), why.as_str()).encode(env),
    };
    (atoms::error(), reason).encode(env)
}

/// `http_server_start(ListenFd, AppOpts, ServerOpts, IoThreads)` ->
/// `{ok, Resource, Mode}` | `{error, Reason}`. Loads the application in every worker
/// first (seconds for a big app): a dirty scheduler. The caller owns the server.
#[rustler::nif(schedule = "DirtyIo")]
fn http_server_start<'a>(
    env: Env<'a>,
    listen_fd: i32,
    app_opts: Term<'a>,
    server_opts: Term<'a>,
    io_threads: u64,
) -> Term<'a> {
    guarded(env, || {
        let owner = env.pid();
        let parsed = AppConfig::decode(app_opts)
            .and_then(|a| ServerConfig::decode(server_opts).map(|s| (a, s)));
        let (app_config, mut server_config) = match parsed {
            Ok(both) => both,
            Err(why) => return (atoms::error(), (atoms::badarg(), why)).encode(env),
        };
        if let Some(files) = &server_config.tls {
            let tcp = tls::server_config(files, server_config.http1, server_config.http2);
            let quic = match server_config.http3 {
                Some(_) => tls::quic_server_config(files).map(Some),
                None => Ok(None),
            };
            match tcp.and_then(|tcp| quic.map(|quic| (tcp, quic))) {
                Ok((tcp, quic)) => {
                    server_config.tls_config = Some(tcp);
                    server_config.quic_tls_config = quic;
                }
                Err((option, why)) => {
                    let option =
                        rustler::Atom::from_str(env, option).unwrap_or_else(|_| atoms::error());
                    return (atoms::error(), (invalid_ssl_file(), option, why)).encode(env);
                }
            }
        }
        server_config.serve_connections = app_config.interface == Interface::Hface;
        if let Err(why) = crate::runtime::start(app_config.python_home.clone()) {
            return (atoms::error(), (python_init_failed(), why)).encode(env);
        }
        let runtime = match engine::get(io_threads as usize) {
            Ok(rt) => rt,
            Err(why) => return (atoms::error(), why).encode(env),
        };
        let log = log::Log::new(owner);
        let agents = app_config.agents.clone();
        let spec = PoolSpec {
            app: app_config,
            root_path: server_config.root_path.clone(),
            log: log.clone(),
            engine: runtime.handle().clone(),
        };
        let started = match spec.app.interface {
            Interface::Wsgi => crate::wsgi::Pool::start(spec).map(|(pool, mode)| {
                (pool.workers(), Arc::new(pool) as Arc<dyn exchange::App>, mode)
            }),
            Interface::Asgi | Interface::Hface => {
                crate::asgi::Pool::start(spec).map(|(pool, mode)| {
                    (pool.workers(), Arc::new(pool) as Arc<dyn exchange::App>, mode)
                })
            }
        };
        let (workers, app, mode) = match started {
            Ok(started) => started,
            Err(e) => return load_error_term(env, &e),
        };
        match Server::start(runtime, listen_fd, server_config, app.clone(), log) {
            Ok(server) => {
                let resource = ResourceArc::new(HttpServerResource {
                    server: Arc::new(server),
                    agents,
                    mode,
                    workers,
                });
                resource.monitor(Some(env), &owner);
                let mode_atom = atoms::mode_name(mode);
                (atoms::ok(), resource, mode_atom).encode(env)
            }
            Err(why) => {
                // The workers hold the queue open: end them, or their threads stay.
                app.shutdown();
                (atoms::error(), why).encode(env)
            }
        }
    })
}

/// `http_server_replace_agent(Resource, Old, New)` -> `ok`: `New` serves `erlang.call`
/// for the workers in place of `Old`, which died.
#[rustler::nif]
fn http_server_replace_agent<'a>(
    env: Env<'a>,
    resource: ResourceArc<HttpServerResource>,
    old: LocalPid,
    new: LocalPid,
) -> Term<'a> {
    guarded(env, || {
        resource.agents.replace(&old, new);
        atoms::ok().encode(env)
    })
}

/// `http_server_stop(Resource, GracefulMs)` -> `ok`: stops accepting, drains, closes,
/// ends the workers. Blocks until done: a dirty scheduler.
#[rustler::nif(schedule = "DirtyIo")]
fn http_server_stop(
    env: Env<'_>,
    server: ResourceArc<HttpServerResource>,
    graceful_ms: u64,
) -> Term<'_> {
    guarded(env, || {
        server.server.stop(Duration::from_millis(graceful_ms));
        atoms::ok().encode(env)
    })
}

#[rustler::nif]
fn http_server_info(env: Env<'_>, server: ResourceArc<HttpServerResource>) -> Term<'_> {
    guarded(env, || {
        let s = &server.server;
        let mode = atoms::mode_name(server.mode);
        let http3_port = match s.http3_port() {
            Some(port) => port.encode(env),
            None => atoms::undefined().encode(env),
        };
        let pairs = [
            (atoms::port().encode(env), s.local.port().encode(env)),
            (atoms::mode().encode(env), mode.encode(env)),
            (atoms::workers().encode(env), server.workers.encode(env)),
            (atoms::connections().encode(env), s.open_connections().encode(env)),
            (atoms::accepted().encode(env), s.stats.accepted.load(Ordering::Relaxed).encode(env)),
            (atoms::requests().encode(env), s.stats.requests.load(Ordering::Relaxed).encode(env)),
            (atoms::workers_replaced().encode(env), s.replaced_workers().encode(env)),
            (atoms::http3_port().encode(env), http3_port.encode(env)),
            (
                atoms::http3_connections().encode(env),
                s.stats.http3_connections.load(Ordering::Relaxed).encode(env),
            ),
            (
                atoms::http3_streams().encode(env),
                s.stats.http3_streams.load(Ordering::Relaxed).encode(env),
            ),
        ];
        Term::map_from_pairs(env, &pairs).unwrap_or_else(|_| atoms::error().encode(env))
    })
}
