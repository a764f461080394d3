//! A reactor's OS thread: one interpreter, one epoll instance, the connections handed
//! to it, and the protocol objects serving them.
//!
//! Each turn: wait for readiness with the GIL released; read every readable fd, still
//! without the GIL, into a fresh buffer; take the GIL once and run the protocols'
//! callbacks for the whole batch; then serve commands from Erlang. Interest is
//! one-shot: an fd is re-armed for what its callback asked for, so an idle connection
//! costs nothing and a protocol that is writing is not read from (back-pressure).
use super::buffer;
use super::command::{Command, Reply, Shared};
use super::fd_io::{self, ReadOutcome};
use super::stats::{self, Stats};
use super::write_requests;
use crate::atoms;
use crate::host::{self, ErlangHost};
use crate::interp_thread::{self, OnFailure};
use crate::term::{self, PyTypes};
use hornbeam_python::call::{self, PyResult};
use hornbeam_python::error::{raise, Exc, PyErrInfo};
use hornbeam_python::interp::{Interpreter, Mode};
use hornbeam_python::object::PyOwned;
use polling::{Event, Events};
use pyo3::ffi;
use rustler::env::SavedTerm;
use rustler::{Atom, Encoder, LocalPid, OwnedEnv, Term};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

pub struct LoopConfig {
    pub mode: Mode,
    pub owner: LocalPid,
    pub paths: Vec<String>,
    pub site_dirs: Vec<String>,
    pub setup_code: Option<String>,
    pub read_size: usize,
}

/// What a connection waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Want {
    Read,
    Write,
}

/// What a callback asked for.
enum Action {
    Continue,
    ReadPending,
    WritePending,
    Close,
}

struct Conn {
    proto: PyOwned,
    want: Want,
    /// The peer finished sending: the protocol may still write, never read again.
    eof: bool,
    /// "fd 12 (127.0.0.1:50000)", for log lines.
    label: String,
}

/// What the GIL-free half of a turn found for one fd.
enum Ready {
    Read(ReadOutcome),
    Write,
}

/// Python objects this loop calls, looked up once.
struct PyParts {
    types: PyTypes,
    globals: PyOwned,
    init_connection: PyOwned,
    close_connection: PyOwned,
    buffer_type: PyOwned,
    data_received: PyOwned,
    write_ready: PyOwned,
}

/// Field order is drop order: Python objects first, the interpreter last.
struct Reactor {
    py: PyParts,
    conns: RefCell<HashMap<RawFd, Conn>>,
    rx: Receiver<Command>,
    /// Commands that arrived while Python waited in `erlang.call`; served next turn.
    deferred: RefCell<VecDeque<Command>>,
    shared: Arc<Shared>,
    owner: LocalPid,
    read_size: usize,
    next_callback: Cell<u64>,
    stopping: RefCell<Option<Option<Reply>>>,
    interp: Interpreter,
}

/// Starts the loop thread and waits until its interpreter ran the setup code.
pub fn spawn(config: LoopConfig, max_connections: u64) -> Result<(Arc<Shared>, i64), String> {
    let poller =
        Arc::new(polling::Poller::new().map_err(|e| format!("cannot create a poller: {e}"))?);
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared::new(tx, poller, max_connections));
    let thread_shared = shared.clone();
    let mode = config.mode;
    // The thread is detached: it ends when its owner stops it, or by itself after a
    // failed start-up.
    let (_detached, interp_id) = interp_thread::spawn(
        "hornbeam-reactor",
        mode,
        OnFailure::Detach,
        |e| e,
        move |interp, ready| run(config, interp, thread_shared, rx, ready),
    )?;
    Ok((shared, interp_id))
}

fn run(
    config: LoopConfig,
    interp: Interpreter,
    shared: Arc<Shared>,
    rx: Receiver<Command>,
    ready: interp_thread::Ready<i64, String>,
) {
    // SAFETY: the interpreter was just created on this thread and is attached.
    let py = match unsafe { prepare(&config) } {
        Ok(py) => py,
        Err(e) => {
            let _ = ready.send(Err(format!("{}: {}\n{}", e.type_name, e.message, e.traceback)));
            return;
        }
    };
    stats::bind_thread(shared.stats.clone());
    write_requests::bind_thread();
    let reactor = Rc::new(Reactor {
        py,
        conns: RefCell::new(HashMap::new()),
        rx,
        deferred: RefCell::new(VecDeque::new()),
        shared,
        owner: config.owner,
        read_size: config.read_size,
        next_callback: Cell::new(0),
        stopping: RefCell::new(None),
        interp,
    });
    let host = host::enter(reactor.clone());
    let setup = match &config.setup_code {
        // SAFETY: attached, on the loop thread.
        Some(code) => unsafe { call::exec(code, &reactor.py.globals) },
        None => Ok(()),
    };
    if let Err(e) = setup {
        let _ = ready.send(Err(format!(
            "setup_code raised {}: {}\n{}",
            e.type_name, e.message, e.traceback
        )));
        drop(host);
        return;
    }
    let _ = ready.send(Ok(reactor.interp.id()));

    reactor.serve();

    let done = reactor.stopping.borrow_mut().take().flatten();
    drop(host);
    reactor.interp.attach();
    match Rc::try_unwrap(reactor) {
        Ok(reactor) => drop(reactor), // Python objects, then the interpreter
        Err(_) => unreachable!("the host guard held the only other reference"),
    }
    if let Some(reply) = done {
        answer(reply, |e| atoms::stopped().encode(e));
    }
}

/// Puts the paths on `sys.path`, imports `erlang.reactor` and binds it to this thread.
unsafe fn prepare(config: &LoopConfig) -> PyResult<PyParts> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        call::extend_sys_path(&config.paths, &config.site_dirs)?;
        let types = PyTypes::load()?;
        let module = call::import("erlang.reactor")?;
        let bind = call::getattr_path(module.clone(), "_bind")?;
        call::owned(ffi::PyObject_CallNoArgs(bind.as_ptr()))?;
        let native = call::import("_hornbeam_reactor")?;
        Ok(PyParts {
            types,
            globals: call::new_globals("__reactor__")?,
            init_connection: call::getattr_path(module.clone(), "init_connection")?,
            close_connection: call::getattr_path(module, "close_connection")?,
            buffer_type: call::getattr_path(native, "ReactorBuffer")?,
            data_received: call::owned(ffi::PyUnicode_InternFromString(c"data_received".as_ptr()))?,
            write_ready: call::owned(ffi::PyUnicode_InternFromString(c"write_ready".as_ptr()))?,
        })
    }
}

/// A failed callback: the exception, and whether it only says the peer went away.
struct Raised {
    info: PyErrInfo,
    peer_gone: bool,
}

unsafe fn fetch_raised() -> Raised {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let peer_gone = ffi::PyErr_ExceptionMatches(Exc::ConnectionError.class()) != 0;
        Raised { info: PyErrInfo::fetch(), peer_gone }
    }
}

impl Reactor {
    fn serve(&self) {
        let mut events = Events::new();
        while self.stopping.borrow().is_none() {
            let batch = self.interp.detached(|| self.wait_and_read(&mut events));
            for (fd, ready) in batch {
                // SAFETY: attached, on the loop thread.
                unsafe { self.dispatch(fd, ready) };
            }
            self.serve_commands();
            self.serve_write_requests();
        }
        self.shut_down();
    }

    /// The GIL-free half of a turn: waits for readiness, then reads every fd that
    /// waits for data into its own buffer.
    fn wait_and_read(&self, events: &mut Events) -> Vec<(RawFd, Ready)> {
        events.clear();
        if let Err(e) = self.shared.poller.wait(events, None) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                self.log(atoms::error(), &format!("reactor: poller wait failed: {e}"));
            }
            return Vec::new();
        }
        Stats::add(&self.shared.stats.wakeups, 1);
        let conns = self.conns.borrow();
        let mut batch = Vec::with_capacity(events.len());
        for event in events.iter() {
            let fd = event.key as RawFd;
            match conns.get(&fd).map(|c| c.want) {
                Some(Want::Read) => batch.push((fd, Ready::Read(fd_io::read(fd, self.read_size)))),
                Some(Want::Write) => batch.push((fd, Ready::Write)),
                None => {} // closed earlier in this turn
            }
        }
        batch
    }

    /// # Safety
    /// Attached, on the loop thread.
    unsafe fn dispatch(&self, fd: RawFd, ready: Ready) {
        // SAFETY: the caller keeps the contract above: Attached, on the loop thread.
        unsafe {
            match ready {
                Ready::Read(ReadOutcome::Data(bytes)) => {
                    Stats::add(&self.shared.stats.bytes_in, bytes.len() as u64);
                    self.deliver(fd, bytes);
                }
                Ready::Read(ReadOutcome::Eof) => {
                    if let Some(conn) = self.conns.borrow_mut().get_mut(&fd) {
                        conn.eof = true;
                    }
                    self.deliver(fd, Vec::new());
                }
                Ready::Read(ReadOutcome::WouldBlock) => self.arm(fd, Want::Read),
                Ready::Read(ReadOutcome::Failed(e)) => {
                    self.log(atoms::debug(), &format!("{}: read failed: {e}", self.label(fd)));
                    self.close(fd);
                }
                Ready::Write => self.call_write_ready(fd),
            }
        }
    }

    /// Hands `bytes` to the protocol's `data_received` as a `ReactorBuffer`.
    unsafe fn deliver(&self, fd: RawFd, bytes: Vec<u8>) {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let Some(proto) = self.proto(fd) else { return };
            let data = buffer::new(self.py.buffer_type.as_ptr(), bytes);
            if data.is_null() {
                let raised = fetch_raised();
                return self.failed(fd, "data_received", raised);
            }
            let result = ffi::PyObject_CallMethodOneArg(
                proto.as_ptr(),
                self.py.data_received.as_ptr(),
                data,
            );
            ffi::Py_DecRef(data);
            self.after_callback(fd, "data_received", Want::Read, result);
        }
    }

    unsafe fn call_write_ready(&self, fd: RawFd) {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let Some(proto) = self.proto(fd) else { return };
            let result =
                ffi::PyObject_CallMethodNoArgs(proto.as_ptr(), self.py.write_ready.as_ptr());
            self.after_callback(fd, "write_ready", Want::Write, result);
        }
    }

    /// Applies what a callback returned (a new reference or NULL with an exception).
    unsafe fn after_callback(
        &self,
        fd: RawFd,
        callback: &str,
        from: Want,
        result: *mut ffi::PyObject,
    ) {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            Stats::add(&self.shared.stats.callbacks, 1);
            let Some(result) = PyOwned::from_owned(result) else {
                let raised = fetch_raised();
                return self.failed(fd, callback, raised);
            };
            let eof = self.conns.borrow().get(&fd).is_some_and(|c| c.eof);
            match parse_action(&result) {
                Some(Action::Close) => self.close(fd),
                Some(Action::Continue) if from == Want::Write => self.arm(fd, Want::Write),
                Some(Action::Continue) | Some(Action::ReadPending) if eof => self.close(fd),
                Some(Action::Continue) | Some(Action::ReadPending) => self.arm(fd, Want::Read),
                // A socket is nearly always writable: write now instead of after another
                // trip through epoll. If it is not, write_ready says "continue".
                Some(Action::WritePending) if from == Want::Read => self.call_write_ready(fd),
                Some(Action::WritePending) => self.arm(fd, Want::Write),
                None => {
                    let shown = repr_of(&result);
                    let class = self.proto_class(fd);
                    self.log(
                        atoms::error(),
                        &format!(
                            "{}: {class}.{callback} returned {shown}, which is not an action \
                         (\"continue\", \"read_pending\", \"write_pending\", \"close\"); closing",
                            self.label(fd)
                        ),
                    );
                    self.close(fd);
                }
            }
        }
    }

    /// A callback raised: log it (briefly if the peer just went away) and close.
    unsafe fn failed(&self, fd: RawFd, callback: &str, raised: Raised) {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let class = self.proto_class(fd);
            let Raised { info, peer_gone } = raised;
            if peer_gone {
                self.log(
                    atoms::info(),
                    &format!(
                        "{}: peer gone in {class}.{callback}: {}",
                        self.label(fd),
                        info.message
                    ),
                );
            } else {
                self.log(
                    atoms::error(),
                    &format!(
                        "{}: {class}.{callback} raised {}: {}; closing\n{}",
                        self.label(fd),
                        info.type_name,
                        info.message,
                        info.traceback
                    ),
                );
            }
            self.close(fd);
        }
    }

    /// Re-arms `fd` for `want` (one-shot).
    fn arm(&self, fd: RawFd, want: Want) {
        let mut conns = self.conns.borrow_mut();
        let Some(conn) = conns.get_mut(&fd) else { return };
        conn.want = want;
        let event = match want {
            Want::Read => Event::readable(fd as usize),
            Want::Write => Event::writable(fd as usize),
        };
        // SAFETY: `fd` is open and registered while it is in `conns`.
        let modified = self.shared.poller.modify(unsafe { BorrowedFd::borrow_raw(fd) }, event);
        drop(conns);
        if let Err(e) = modified {
            self.log(
                atoms::error(),
                &format!("{}: cannot watch the fd: {e}; closing", self.label(fd)),
            );
            // SAFETY: callers are attached, on the loop thread.
            unsafe { self.close(fd) };
        }
    }

    /// Closes a connection: stop watching, `connection_lost`, then close the fd.
    ///
    /// # Safety
    /// Attached, on the loop thread.
    unsafe fn close(&self, fd: RawFd) {
        // SAFETY: the caller keeps the contract above: Attached, on the loop thread.
        unsafe {
            let Some(conn) = self.conns.borrow_mut().remove(&fd) else { return };
            let _ = self.shared.poller.delete(BorrowedFd::borrow_raw(fd));
            let fd_obj = PyOwned::from_owned(ffi::PyLong_FromLong(fd as std::ffi::c_long));
            let lost = fd_obj.and_then(|n| {
                PyOwned::from_owned(ffi::PyObject_CallOneArg(
                    self.py.close_connection.as_ptr(),
                    n.as_ptr(),
                ))
            });
            if lost.is_none() {
                let info = PyErrInfo::fetch();
                self.log(
                    atoms::error(),
                    &format!(
                        "{}: connection_lost raised {}: {}\n{}",
                        conn.label, info.type_name, info.message, info.traceback
                    ),
                );
            }
            drop(conn);
            self.shared.stats.connection_closed();
            // SAFETY: the fd was ours (handed off) and nothing refers to it any more.
            libc::close(fd);
        }
    }

    fn proto(&self, fd: RawFd) -> Option<PyOwned> {
        self.conns.borrow().get(&fd).map(|c| c.proto.clone())
    }

    fn label(&self, fd: RawFd) -> String {
        self.conns.borrow().get(&fd).map_or_else(|| format!("fd {fd}"), |c| c.label.clone())
    }

    unsafe fn proto_class(&self, fd: RawFd) -> String {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let Some(proto) = self.proto(fd) else { return "Protocol".into() };
            PyOwned::from_owned(ffi::PyType_GetName(ffi::Py_TYPE(proto.as_ptr())))
                .and_then(|n| hornbeam_python::error::str_of(&n))
                .unwrap_or_else(|| "Protocol".into())
        }
    }

    /// Arms for writing the fds that `Protocol.request_write()` named this turn. One
    /// already waiting to write, or closed since, needs nothing.
    fn serve_write_requests(&self) {
        for fd in write_requests::take() {
            let reading =
                self.conns.borrow().get(&fd).is_some_and(|c| c.want == Want::Read && !c.eof);
            if reading {
                self.arm(fd, Want::Write);
            }
        }
    }

    /// Serves the commands queued since the last turn.
    fn serve_commands(&self) {
        loop {
            let next = self.deferred.borrow_mut().pop_front();
            let cmd = match next {
                Some(cmd) => cmd,
                None => match self.rx.try_recv() {
                    Ok(cmd) => cmd,
                    Err(_) => return,
                },
            };
            // SAFETY: attached, on the loop thread.
            unsafe { self.command(cmd) };
            if self.stopping.borrow().is_some() {
                return;
            }
        }
    }

    unsafe fn command(&self, cmd: Command) {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            match cmd {
                Command::Handoff { fd, env, client_info } => self.accept(fd, env, client_info),
                Command::Exec { code, reply } => {
                    let outcome = call::exec(&code, &self.py.globals);
                    answer(reply, |e| match outcome {
                        Ok(()) => atoms::ok().encode(e),
                        Err(info) => python_error(e, &info),
                    });
                }
                Command::Eval { code, reply } => {
                    let outcome = call::eval(&code, &self.py.globals, &self.py.globals);
                    answer(reply, |e| match outcome {
                        Ok(value) => match term::from_py(&self.py.types, e, value.as_ptr(), 0) {
                            Ok(t) => (atoms::ok(), t).encode(e),
                            Err(c) => (atoms::error(), c.reason(e)).encode(e),
                        },
                        Err(info) => python_error(e, &info),
                    });
                }
                Command::CallbackReply { .. } => {} // its waiter gave up
                Command::Stop { done } => *self.stopping.borrow_mut() = Some(done),
            }
        }
    }

    /// A handed-off fd: make its protocol, then watch it.
    unsafe fn accept(&self, fd: OwnedFd, env: OwnedEnv, client_info: SavedTerm) {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let raw = fd.as_raw_fd();
            let (info, label) = env.run(|e| {
                let term = client_info.load(e);
                let label = label_of(raw, term);
                if self.conns.borrow().contains_key(&raw) {
                    return (None, label);
                }
                (Some(term::to_py(&self.py.types, term, false, 0)), label)
            });
            let Some(info) = info else {
                // The same fd handed over twice: it belongs to the connection already here.
                self.log(
                    atoms::error(),
                    &format!(
                        "{label}: this fd is already served by this reactor; hand-off ignored"
                    ),
                );
                let _ = fd.into_raw_fd();
                self.shared.stats.release();
                return;
            };
            let raw = fd.into_raw_fd();
            Stats::add(&self.shared.stats.accepted, 1);
            let made = info
                .map_err(|c| PyErrInfo::new("TypeError", format!("client_info: {}", c.message())))
                .and_then(|info| {
                    let args = call::tuple([call::new_int(i64::from(raw))?, info])?;
                    call::call(&self.py.init_connection, &args, None)
                });
            Stats::add(&self.shared.stats.callbacks, 1);
            let (proto, action) = match made.and_then(|pair| split_pair(&pair)) {
                Ok(parts) => parts,
                Err(info) => {
                    self.log(
                        atoms::error(),
                        &format!(
                            "{label}: connection_made raised {}: {}; closing\n{}",
                            info.type_name, info.message, info.traceback
                        ),
                    );
                    self.shared.stats.connection_closed();
                    libc::close(raw);
                    return;
                }
            };
            self.conns
                .borrow_mut()
                .insert(raw, Conn { proto, want: Want::Read, eof: false, label });
            // SAFETY: `raw` is open and stays registered until `close` deletes it first.
            if let Err(e) = self.shared.poller.add(raw, Event::readable(raw as usize)) {
                self.log(atoms::error(), &format!("fd {raw}: cannot watch the fd: {e}; closing"));
                return self.close(raw);
            }
            if action.as_ptr() != ffi::Py_None() {
                self.after_callback(raw, "connection_made", Want::Read, action.into_ptr());
            }
        }
    }

    /// Closes every connection (calling `connection_lost`) and refuses what is queued.
    fn shut_down(&self) {
        let fds: Vec<RawFd> = self.conns.borrow().keys().copied().collect();
        for fd in fds {
            // SAFETY: attached, on the loop thread.
            unsafe { self.close(fd) };
        }
        let queued: Vec<Command> =
            self.deferred.borrow_mut().drain(..).chain(self.rx.try_iter()).collect();
        for cmd in queued {
            match cmd {
                // Dropping the command closes its fd.
                Command::Handoff { .. } => self.shared.stats.release(),
                Command::Exec { reply, .. } | Command::Eval { reply, .. } => {
                    answer(reply, |e| (atoms::error(), atoms::reactor_stopped()).encode(e));
                }
                Command::CallbackReply { .. } | Command::Stop { .. } => {}
            }
        }
    }

    /// Sends `{py_reactor_log, Level, Text}` to the owner, which logs it.
    fn log(&self, level: Atom, text: &str) {
        let mut env = OwnedEnv::new();
        let _ =
            env.send_and_clear(&self.owner, |e| (atoms::py_reactor_log(), level, text).encode(e));
    }
}

impl ErlangHost for Reactor {
    fn types(&self) -> &PyTypes {
        &self.py.types
    }

    fn owner(&self) -> &LocalPid {
        &self.owner
    }

    /// Blocks this reactor (GIL released) until the owner answers; commands arriving
    /// meanwhile are kept for the next turn.
    unsafe fn call_erlang(&self, name: &str, args: &[*mut ffi::PyObject]) -> Option<PyOwned> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let id = self.next_callback.get() + 1;
            self.next_callback.set(id);
            if let Err(raised) = host::request_callback(&self.py.types, &self.owner, id, name, args)
            {
                return raised;
            }
            loop {
                match self.interp.detached(|| self.rx.recv()) {
                    Ok(Command::CallbackReply { id: reply_id, env, reply }) if reply_id == id => {
                        return env.run(|e| host::callback_result(&self.py.types, reply.load(e)));
                    }
                    Ok(Command::CallbackReply { .. }) => {}
                    Ok(Command::Stop { done }) => {
                        *self.stopping.borrow_mut() = Some(done);
                        return raise(Exc::RuntimeError, "the reactor is stopping");
                    }
                    Ok(other) => self.deferred.borrow_mut().push_back(other),
                    Err(_) => return raise(Exc::RuntimeError, "the reactor is stopping"),
                }
            }
        }
    }
}

unsafe fn parse_action(result: &PyOwned) -> Option<Action> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let obj = result.as_ptr();
        if ffi::PyUnicode_Check(obj) == 0 {
            return None;
        }
        let is = |s: &std::ffi::CStr| ffi::PyUnicode_CompareWithASCIIString(obj, s.as_ptr()) == 0;
        if is(c"continue") {
            Some(Action::Continue)
        } else if is(c"write_pending") {
            Some(Action::WritePending)
        } else if is(c"read_pending") {
            Some(Action::ReadPending)
        } else if is(c"close") {
            Some(Action::Close)
        } else {
            None
        }
    }
}

unsafe fn repr_of(obj: &PyOwned) -> String {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let text = PyOwned::from_owned(ffi::PyObject_Repr(obj.as_ptr()))
            .and_then(|r| hornbeam_python::error::str_of(&r));
        ffi::PyErr_Clear();
        let mut text = text.unwrap_or_else(|| "an unprintable object".into());
        if text.len() > 200 {
            text.truncate(text.floor_char_boundary(200));
            text.push_str("...");
        }
        text
    }
}

/// `init_connection` returns `(protocol, action or None)`.
unsafe fn split_pair(pair: &PyOwned) -> PyResult<(PyOwned, PyOwned)> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if ffi::PyTuple_Check(pair.as_ptr()) == 0 || ffi::PyTuple_Size(pair.as_ptr()) != 2 {
            return Err(PyErrInfo::new(
                "TypeError",
                "erlang.reactor.init_connection must return (protocol, action)",
            ));
        }
        let proto = PyOwned::from_borrowed(ffi::PyTuple_GetItem(pair.as_ptr(), 0));
        let action = PyOwned::from_borrowed(ffi::PyTuple_GetItem(pair.as_ptr(), 1));
        proto.zip(action).ok_or_else(|| PyErrInfo::fetch())
    }
}

/// "fd 12 (127.0.0.1:50000)" from the `addr` and `port` of the client info, if any.
fn label_of(fd: RawFd, info: Term) -> String {
    let get = |key: Atom| info.map_get(key.encode(info.get_env())).ok();
    let addr = get(atoms::addr()).and_then(|a| a.decode::<String>().ok());
    let port = get(atoms::port()).and_then(|p| p.decode::<i64>().ok());
    match (addr, port) {
        (Some(a), Some(p)) => format!("fd {fd} ({a}:{p})"),
        (Some(a), None) => format!("fd {fd} ({a})"),
        _ => format!("fd {fd}"),
    }
}

fn python_error<'a>(e: rustler::Env<'a>, info: &PyErrInfo) -> Term<'a> {
    let type_atom = Atom::from_str(e, &info.type_name).unwrap_or_else(|_| atoms::python());
    (atoms::error(), (atoms::python(), type_atom, info.message.as_str(), info.traceback.as_str()))
        .encode(e)
}

/// Sends `{Ref, Value}` to the waiting process.
fn answer(reply: Reply, value: impl for<'a> FnOnce(rustler::Env<'a>) -> Term<'a>) {
    let Reply { to, mut env, reference } = reply;
    let _ = env.send_and_clear(&to, |e| (reference.load(e), value(e)).encode(e));
}
