//! Process-wide start of CPython: once per OS process, never finalised.
//!
//! The main interpreter is initialised on a thread of its own ("hornbeam-py-main") that
//! then releases the GIL and parks for the life of the process, so that Python's idea
//! of the main thread stays alive and no BEAM scheduler thread ever owns Python state.
use pyo3::ffi;
use std::ffi::{CStr, CString};
use std::sync::{mpsc, OnceLock};

/// What a native module's `PyInit_*` function looks like.
pub type ModuleInit = unsafe extern "C" fn() -> *mut ffi::PyObject;

/// Compile-time facts about the Python this crate was built against.
pub const PYTHON_EXECUTABLE: &str = env!("HORNBEAM_PYTHON_EXECUTABLE");
pub const PYTHON_HOME: &str = env!("HORNBEAM_PYTHON_HOME");
pub const LIBPYTHON: &str = env!("HORNBEAM_LIBPYTHON");

pub struct RuntimeConfig {
    /// `sys.prefix` of the Python to run; `None` uses the one built against.
    pub home: Option<String>,
    /// Built-in modules registered in every interpreter (multi-phase init).
    pub builtin_modules: Vec<(&'static CStr, ModuleInit)>,
}

pub struct Runtime {
    main_interp: usize,
}

impl Runtime {
    pub fn main_interpreter(&self) -> *mut ffi::PyInterpreterState {
        self.main_interp as *mut ffi::PyInterpreterState
    }
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// Starts Python the first time it is called; later calls return the same outcome and
/// ignore `config` (the runtime cannot be re-configured once started).
pub fn start(config: RuntimeConfig) -> Result<&'static Runtime, String> {
    RUNTIME.get_or_init(|| initialise(config)).as_ref().map_err(Clone::clone)
}

/// The running runtime, if `start` succeeded.
pub fn get() -> Option<&'static Runtime> {
    RUNTIME.get().and_then(|r| r.as_ref().ok())
}

/// `(major, minor)` of the linked libpython.
pub fn version() -> (u32, u32) {
    // SAFETY: `Py_Version` is a constant libpython exports; reading it needs no runtime.
    let hex = unsafe { ffi::Py_Version } as u32;
    (hex >> 24, (hex >> 16) & 0xff)
}

fn initialise(config: RuntimeConfig) -> Result<Runtime, String> {
    promote_libpython_to_global()?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("hornbeam-py-main".into())
        .spawn(move || {
            // SAFETY: runs once per process (guarded by RUNTIME), before any other
            // Python call, on a thread that keeps the main thread state alive forever.
            let outcome = unsafe { init_on_this_thread(&config) };
            let ok = outcome.is_ok();
            let _ = tx.send(outcome);
            if ok {
                loop {
                    std::thread::park();
                }
            }
        })
        .map_err(|e| format!("cannot spawn the Python main thread: {e}"))?;
    rx.recv().map_err(|_| "the Python main thread died during initialisation".to_string())?
}

/// The NIF is loaded RTLD_LOCAL, which hides libpython's symbols from the C extension
/// modules Python later dlopen()s (`math`, `_json`, `_socket`): re-open it globally.
fn promote_libpython_to_global() -> Result<(), String> {
    let path = std::env::var("HORNBEAM_LIBPYTHON").unwrap_or_else(|_| LIBPYTHON.to_string());
    let cpath =
        CString::new(path.clone()).map_err(|_| "libpython path contains NUL".to_string())?;
    // SAFETY: dlopen with a valid C string; the handle is deliberately leaked so the
    // library stays loaded for the life of the process.
    let handle = unsafe { libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if handle.is_null() {
        // SAFETY: dlopen has just failed on this thread, so dlerror returns its message.
        let err = unsafe { CStr::from_ptr(libc::dlerror()) }.to_string_lossy().into_owned();
        return Err(format!("cannot load {path}: {err}"));
    }
    Ok(())
}

unsafe fn init_on_this_thread(config: &RuntimeConfig) -> Result<Runtime, String> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if ffi::Py_IsInitialized() != 0 {
            return Err("Python is already initialised in this process by someone else".into());
        }
        for (name, init) in &config.builtin_modules {
            if ffi::PyImport_AppendInittab(name.as_ptr(), Some(*init)) != 0 {
                return Err(format!("cannot register built-in module {name:?}"));
            }
        }

        let mut cfg = std::mem::MaybeUninit::<ffi::PyConfig>::zeroed();
        ffi::PyConfig_InitPythonConfig(cfg.as_mut_ptr());
        let cfg_ptr = cfg.as_mut_ptr();
        // The BEAM owns signals and stdio: Python must not install handlers or re-buffer.
        (*cfg_ptr).install_signal_handlers = 0;
        (*cfg_ptr).configure_c_stdio = 0;
        (*cfg_ptr).parse_argv = 0;

        let home = config.home.clone().unwrap_or_else(|| PYTHON_HOME.to_string());
        let result = set_string(cfg_ptr, &raw mut (*cfg_ptr).home, &home)
            // sys.executable pointing at a real Python keeps subprocess/multiprocessing sane.
            .and_then(|_| set_string(cfg_ptr, &raw mut (*cfg_ptr).program_name, PYTHON_EXECUTABLE))
            .and_then(|_| check(ffi::Py_InitializeFromConfig(cfg_ptr), "Py_InitializeFromConfig"));
        ffi::PyConfig_Clear(cfg_ptr);
        result?;

        let main_interp = ffi::PyInterpreterState_Main() as usize;
        // Release the GIL; the main thread state stays attached to this parked thread.
        ffi::PyEval_SaveThread();
        Ok(Runtime { main_interp })
    }
}

unsafe fn set_string(
    cfg: *mut ffi::PyConfig,
    field: *mut *mut libc::wchar_t,
    value: &str,
) -> Result<(), String> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let c = CString::new(value).map_err(|_| format!("{value:?} contains NUL"))?;
        check(ffi::PyConfig_SetBytesString(cfg, field, c.as_ptr()), "PyConfig_SetBytesString")
    }
}

pub(crate) unsafe fn check(status: ffi::PyStatus, what: &str) -> Result<(), String> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if ffi::PyStatus_Exception(status) == 0 {
            return Ok(());
        }
        let msg = if status.err_msg.is_null() {
            "unknown error".to_string()
        } else {
            CStr::from_ptr(status.err_msg).to_string_lossy().into_owned()
        };
        Err(format!("{what} failed: {msg}"))
    }
}
