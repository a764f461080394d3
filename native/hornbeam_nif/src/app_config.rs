//! How the application is loaded and run (`worker_class`, `workers`, `python_mode`,
//! lifespan, WebSocket limits...), decoded from the map `hornbeam_config` validated. The
//! engine's own settings are `http::config::ServerConfig`.
use crate::agent::Agents;
use crate::asgi::WsSettings;
use crate::atoms;
use crate::options::{get, limit};
use rustler::{Atom, Term};
use std::sync::Arc;
use std::time::Duration;

/// `python_mode`: which interpreters the workers use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PythonMode {
    /// Sub-interpreters, or the main interpreter when the app refuses them.
    Auto,
    Subinterp,
    Main,
}

/// The interface the application speaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Interface {
    Wsgi,
    Asgi,
    /// hface: `async def handler(conn)` per connection, run by the ASGI workers' loops.
    Hface,
}

/// `lifespan` (ASGI): whether startup/shutdown events are sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lifespan {
    /// Sent; an application that does not handle them runs without.
    Auto,
    /// Sent; an application that does not handle them fails to start.
    On,
    Off,
}

/// How the application is loaded and run.
pub struct AppConfig {
    pub interface: Interface,
    pub lifespan: Lifespan,
    /// How long lifespan shutdown may take when the server stops.
    pub shutdown_timeout: Duration,
    pub websocket: WsSettings,
    pub module: String,
    pub callable: String,
    pub workers: usize,
    pub python_mode: PythonMode,
    pub paths: Vec<String>,
    pub site_dirs: Vec<String>,
    pub python_home: Option<String>,
    pub max_requests: u64,
    pub preload_app: bool,
    /// The Erlang processes that run `erlang.call` for the workers' threads.
    pub agents: Arc<Agents>,
}

impl AppConfig {
    pub fn decode(map: Term<'_>) -> Result<AppConfig, String> {
        let mode: Atom = get(map, "python_mode")?;
        let python_mode = if mode == atoms::main() {
            PythonMode::Main
        } else if mode == atoms::subinterp() {
            PythonMode::Subinterp
        } else if mode == atoms::auto() {
            PythonMode::Auto
        } else {
            return Err("python_mode must be auto, subinterp or main".into());
        };
        let home_term: Term = get(map, "python_home")?;
        let class: Atom = get(map, "worker_class")?;
        let interface = if class == atoms::asgi() {
            Interface::Asgi
        } else if class == atoms::hface() {
            Interface::Hface
        } else {
            Interface::Wsgi
        };
        let lifespan: Atom = get(map, "lifespan")?;
        let lifespan = if lifespan == atoms::on() {
            Lifespan::On
        } else if lifespan == atoms::off() {
            Lifespan::Off
        } else {
            Lifespan::Auto
        };
        Ok(AppConfig {
            interface,
            lifespan,
            shutdown_timeout: Duration::from_millis(get(map, "graceful_timeout")?),
            websocket: WsSettings {
                max_message_size: get::<u64>(map, "websocket_max_frame_size")? as usize,
                idle_timeout: limit(map, "websocket_timeout")?.map(Duration::from_millis),
            },
            module: get(map, "module")?,
            callable: get(map, "callable")?,
            workers: get::<u64>(map, "workers")?.max(1) as usize,
            python_mode,
            paths: get(map, "paths")?,
            site_dirs: get(map, "site_dirs")?,
            python_home: home_term.decode::<String>().ok(),
            max_requests: get(map, "max_requests")?,
            preload_app: get(map, "preload_app")?,
            agents: Arc::new(Agents::new(get(map, "agents")?)),
        })
    }
}
