//! The application both runners serve: finding `module:callable`, the ways loading it
//! can fail, and `python_mode => auto`'s fallback to the main interpreter for an app
//! whose extensions refuse sub-interpreters.
use crate::app_config::{AppConfig, PythonMode};
use crate::http::log::Level;
use crate::http::log::Log;
use hornbeam_python::call;
use hornbeam_python::interp::Mode;
use hornbeam_python::object::PyOwned;

/// What a pool of workers (WSGI or ASGI) needs to start.
pub struct PoolSpec {
    pub app: AppConfig,
    pub root_path: String,
    pub log: Log,
    /// The I/O engine: file responses are read on its blocking pool.
    pub engine: tokio::runtime::Handle,
}

/// Why the application could not start.
#[derive(Debug, Clone)]
pub enum LoadError {
    /// Importing the module raised; the traceback says why.
    Import(String),
    /// The module has no such attribute, or it is not callable.
    CallableNotFound(String),
    /// Setting the interpreter up failed.
    Init(String),
    /// An ASGI lifespan startup failed (or, with `lifespan => on`, is unsupported).
    LifespanFailed(String),
}

impl LoadError {
    /// An extension module refused to load in a sub-interpreter (PEP 684 check).
    pub fn refuses_subinterpreters(&self) -> bool {
        matches!(self, LoadError::Import(tb) if tb.contains("does not support loading in subinterpreters"))
    }
}

pub struct AppRef {
    pub module: String,
    pub callable: String,
}

impl AppRef {
    pub fn of(config: &AppConfig) -> AppRef {
        AppRef { module: config.module.clone(), callable: config.callable.clone() }
    }

    /// Imports the module and finds the callable.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn load(&self) -> Result<PyOwned, LoadError> {
        // SAFETY: the caller keeps the contract above: GIL held.
        unsafe {
            let module = call::import(&self.module)
                .map_err(|e| LoadError::Import(e.traceback_or_message()))?;
            let spec = format!("{}:{}", self.module, self.callable);
            let app = call::getattr_path(module, &self.callable)
                .map_err(|_| LoadError::CallableNotFound(spec.clone()))?;
            if !call::is_callable(&app) {
                return Err(LoadError::CallableNotFound(spec));
            }
            Ok(app)
        }
    }
}

/// Starts the workers with `start(mode)` in the mode `python_mode` asks for. With
/// `auto`, an application that imports an extension refusing sub-interpreters is
/// started again in the main interpreter, and the log says why.
pub fn start_in_mode<P>(
    config: &AppConfig,
    log: &Log,
    start: impl Fn(Mode) -> Result<P, LoadError>,
) -> Result<(P, Mode), LoadError> {
    let first = if config.python_mode == PythonMode::Main { Mode::Main } else { Mode::Sub };
    match start(first) {
        Err(e) if config.python_mode == PythonMode::Auto && e.refuses_subinterpreters() => {
            let LoadError::Import(why) = &e else { unreachable!() };
            let reason = why.lines().last().unwrap_or_default();
            log.send(
                Level::Warning,
                &format!(
                    "{}:{} cannot run in sub-interpreters ({reason}); python_mode auto: using the main interpreter",
                    config.module, config.callable
                ),
            );
            start(Mode::Main).map(|p| (p, Mode::Main))
        }
        other => other.map(|p| (p, first)),
    }
}
