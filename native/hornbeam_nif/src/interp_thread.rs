//! Starting the OS thread that owns an interpreter, the same way for every kind of
//! worker (WSGI, ASGI, context, reactor): a named thread with room for Python's C stack,
//! its interpreter created on it, and a wait until the worker reports that it is ready
//! or why it could not start.
use hornbeam_python::interp::{Interpreter, Mode};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Python's C stack needs room: recursion limit 1000 plus deep frameworks, more than
/// Rust's 2 MiB default.
const STACK_BYTES: usize = 16 << 20;

/// Where the new thread reports the end of its start-up, once.
pub type Ready<T, E> = mpsc::SyncSender<Result<T, E>>;

/// What happens to a thread whose start-up failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OnFailure {
    /// Wait for it to end (a worker's thread ends right after it reports).
    Join,
    /// Let it end on its own: ending its interpreter waits for every thread the failed
    /// setup code started, which may never end, and the caller must get its error now.
    Detach,
}

/// Spawns a thread named `name` that creates an interpreter of `mode` and hands it,
/// attached, to `body` with the `Ready` to report on. Returns once `body` reported: its
/// value and the thread, or its error (or one made by `error` if the thread could not
/// start, the interpreter could not be created, or the thread died first), the thread
/// then joined or left to end as `on_failure` says.
pub fn spawn<T, E, F>(
    name: &str,
    mode: Mode,
    on_failure: OnFailure,
    error: fn(String) -> E,
    body: F,
) -> Result<(JoinHandle<()>, T), E>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(Interpreter, Ready<T, E>) + Send + 'static,
{
    let (ready, started) = mpsc::sync_channel(1);
    let handle = std::thread::Builder::new()
        .name(name.into())
        .stack_size(STACK_BYTES)
        .spawn(move || match Interpreter::create(mode) {
            Ok(interp) => body(interp, ready),
            Err(why) => {
                let _ = ready.send(Err(error(why)));
            }
        })
        .map_err(|e| error(format!("cannot spawn a {name} thread: {e}")))?;
    let failure = match started.recv() {
        Ok(Ok(value)) => return Ok((handle, value)),
        Ok(Err(e)) => e,
        Err(_) => error(format!("the {name} thread died while starting")),
    };
    if on_failure == OnFailure::Join {
        let _ = handle.join();
    }
    Err(failure)
}
