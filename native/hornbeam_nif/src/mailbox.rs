//! Mailboxes: where Erlang processes leave messages for Python code (a pub/sub
//! subscription, `hornbeam_erlang.subscribe`). Erlang delivers with
//! `mailbox_deliver(Id, Message)` from any process; Python takes messages with
//! `_erlang.mailbox_get`, blocking (GIL released) or not, and an asyncio loop can
//! watch the mailbox's eventfd to learn that a message came.
//!
//! Mailboxes are found by id in a process-wide table rather than passed as
//! resources, so Python holds a plain int and a mailbox Python forgot is found
//! closed by the next delivery, which then ends its Erlang subscriber.
use crate::atoms;
use crate::fd::EventFd;
use crate::guard::guarded;
use crate::host::with_host;
use crate::term;
use hornbeam_python::error::{raise, Exc};
use hornbeam_python::gil::allow_threads;
use hornbeam_python::object::PyOwned;
use hornbeam_python::value::tuple_items;
use pyo3::ffi;
use rustler::env::SavedTerm;
use rustler::{Encoder, Env, LocalPid, OwnedEnv, Term};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Messages a mailbox holds before it refuses more (`full`): a subscriber that stops
/// reading must not grow the VM's memory without bound.
const MAX_QUEUED: usize = 100_000;

struct Mailbox {
    queue: Mutex<VecDeque<(OwnedEnv, SavedTerm)>>,
    arrived: Condvar,
    eventfd: EventFd,
    closed: AtomicBool,
    /// The Erlang process delivering here: told when Python closes the mailbox.
    subscriber: Mutex<Option<LocalPid>>,
}

static MAILBOXES: LazyLock<Mutex<HashMap<u64, Arc<Mailbox>>>> = LazyLock::new(Default::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn find(id: u64) -> Option<Arc<Mailbox>> {
    MAILBOXES.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Mailbox {
    fn end(&self) {
        self.closed.store(true, Ordering::Release);
        let _queue = lock(&self.queue);
        self.arrived.notify_all();
        self.eventfd.signal();
    }
}

/// `mailbox_bind(Id, Pid)` -> `ok | closed`: `Pid` delivers to mailbox `Id` and is
/// sent `{hornbeam_mailbox_closed, Id}` when Python closes it.
#[rustler::nif]
fn mailbox_bind(env: Env<'_>, id: u64, pid: LocalPid) -> Term<'_> {
    guarded(env, || match find(id) {
        Some(mailbox) if !mailbox.closed.load(Ordering::Acquire) => {
            *lock(&mailbox.subscriber) = Some(pid);
            atoms::ok().encode(env)
        }
        _ => atoms::closed().encode(env),
    })
}

/// `mailbox_deliver(Id, Message)` -> `ok | closed | full`.
#[rustler::nif]
fn mailbox_deliver<'a>(env: Env<'a>, id: u64, message: Term<'a>) -> Term<'a> {
    guarded(env, || {
        let Some(mailbox) = find(id).filter(|m| !m.closed.load(Ordering::Acquire)) else {
            return atoms::closed().encode(env);
        };
        let mut queue = lock(&mailbox.queue);
        if queue.len() >= MAX_QUEUED {
            return atoms::full().encode(env);
        }
        let owned = OwnedEnv::new();
        let saved = owned.save(message);
        queue.push_back((owned, saved));
        drop(queue);
        mailbox.arrived.notify_one();
        mailbox.eventfd.signal();
        atoms::ok().encode(env)
    })
}

/// `mailbox_end(Id)`: the Erlang side is done (its subscriber stopped); Python reads
/// what is queued, then `EOFError`.
#[rustler::nif]
fn mailbox_end(env: Env<'_>, id: u64) -> Term<'_> {
    guarded(env, || {
        if let Some(mailbox) = find(id) {
            mailbox.end();
        }
        atoms::ok().encode(env)
    })
}

unsafe fn id_arg(args: &[*mut ffi::PyObject], what: &str) -> Result<u64, Option<PyOwned>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let Some(&first) = args.first() else {
            return Err(raise(Exc::TypeError, &format!("_erlang.{what} needs a mailbox id")));
        };
        let id = ffi::PyLong_AsUnsignedLongLong(first);
        if id == u64::MAX && !ffi::PyErr_Occurred().is_null() {
            return Err(None);
        }
        Ok(id)
    }
}

/// `_erlang.mailbox_new()` -> `(id, fd)`: a new mailbox and the eventfd that becomes
/// readable when a message arrives.
pub unsafe extern "C" fn py_mailbox_new(
    _module: *mut ffi::PyObject,
    _args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        with_host("mailbox_new", |_host| {
            let eventfd = match EventFd::new() {
                Ok(fd) => fd,
                Err(e) => return raise(Exc::OSError, &format!("mailbox eventfd: {e}")),
            };
            let fd = eventfd.raw();
            let mailbox = Mailbox {
                queue: Mutex::new(VecDeque::new()),
                arrived: Condvar::new(),
                eventfd,
                closed: AtomicBool::new(false),
                subscriber: Mutex::new(None),
            };
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            lock(&MAILBOXES).insert(id, Arc::new(mailbox));
            PyOwned::from_owned(ffi::Py_BuildValue(c"(Ki)".as_ptr(), id, fd))
        })
    }
}

/// `_erlang.mailbox_get(id, timeout)` -> `(message,)`, or `None` if nothing came
/// within `timeout` seconds (0: do not wait); `EOFError` once the mailbox is closed
/// and empty.
pub unsafe extern "C" fn py_mailbox_get(
    _module: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        with_host("mailbox_get", |host| {
            let args = tuple_items(args);
            let id = match id_arg(&args, "mailbox_get") {
                Ok(id) => id,
                Err(raised) => return raised,
            };
            let timeout = match args.get(1) {
                Some(&t) => ffi::PyFloat_AsDouble(t),
                None => 0.0,
            };
            if timeout == -1.0 && !ffi::PyErr_Occurred().is_null() {
                return None;
            }
            let Some(mailbox) = find(id) else {
                return raise(Exc::EOFError, "the subscription is closed");
            };
            // Reset before looking, so a message delivered meanwhile leaves the eventfd
            // readable for the next wait.
            mailbox.eventfd.reset();
            let next = if timeout > 0.0 {
                let deadline = Instant::now() + Duration::from_secs_f64(timeout.min(86_400.0));
                allow_threads(|| {
                    let mut queue = lock(&mailbox.queue);
                    loop {
                        if let Some(item) = queue.pop_front() {
                            return Some(item);
                        }
                        let now = Instant::now();
                        if now >= deadline || mailbox.closed.load(Ordering::Acquire) {
                            return None;
                        }
                        queue = mailbox
                            .arrived
                            .wait_timeout(queue, deadline - now)
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                })
            } else {
                lock(&mailbox.queue).pop_front()
            };
            match next {
                Some((env, saved)) => {
                    let value = env.run(|e| term::to_py(host.types(), saved.load(e), false, 0));
                    match value {
                        Ok(value) => PyOwned::from_owned(ffi::PyTuple_Pack(1, value.as_ptr())),
                        Err(c) => {
                            raise(Exc::TypeError, &format!("a published message: {}", c.message()))
                        }
                    }
                }
                None if mailbox.closed.load(Ordering::Acquire) => {
                    raise(Exc::EOFError, "the subscription is closed")
                }
                None => PyOwned::from_borrowed(ffi::Py_None()),
            }
        })
    }
}

/// `_erlang.mailbox_close(id)`: no more messages; the Erlang subscriber is told to
/// stop. Closing twice is fine.
pub unsafe extern "C" fn py_mailbox_close(
    _module: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        with_host("mailbox_close", |_host| {
            let id = match id_arg(&tuple_items(args), "mailbox_close") {
                Ok(id) => id,
                Err(raised) => return raised,
            };
            let removed = lock(&MAILBOXES).remove(&id);
            if let Some(mailbox) = removed {
                mailbox.end();
                if let Some(pid) = lock(&mailbox.subscriber).take() {
                    let mut env = OwnedEnv::new();
                    let _ = env
                        .send_and_clear(&pid, |e| (atoms::hornbeam_mailbox_closed(), id).encode(e));
                }
            }
            PyOwned::from_borrowed(ffi::Py_None())
        })
    }
}
