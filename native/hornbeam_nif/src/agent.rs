//! `erlang.call` on the threads of a WSGI or ASGI pool. Those threads have no job loop
//! to receive replies on, so a call blocks its thread (GIL released) until an agent
//! answers: an Erlang process started with the server (`hornbeam_agent`) that runs
//! the function and replies through `agent_reply/2`.
//!
//! Each call carries its own reply slot as a resource. If the agent dies with the
//! request unanswered, the message holding the resource is freed, the resource's
//! destructor marks the slot abandoned and the caller gets an exception: a call never
//! waits on a process that is gone.
use crate::atoms;
use crate::guard::guarded;
use crate::host::{self, ErlangHost};
use crate::term::{self, PyTypes};
use hornbeam_python::error::raise;
use hornbeam_python::ffi;
use hornbeam_python::gil::allow_threads;
use hornbeam_python::object::PyOwned;
use rustler::env::SavedTerm;
use rustler::{Encoder, Env, LocalPid, OwnedEnv, Resource, ResourceArc, Term};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a caller polls for its reply before sleeping on the condition variable.
/// Most calls (ETS reads and writes) are answered well within it, and waking a
/// sleeping thread costs more than the call itself.
const SPIN: Duration = Duration::from_micros(30);

/// The agents of one server; its threads share them round-robin.
pub struct Agents {
    pids: Vec<LocalPid>,
    next: AtomicUsize,
}

impl Agents {
    pub fn new(pids: Vec<LocalPid>) -> Agents {
        Agents { pids, next: AtomicUsize::new(0) }
    }

    pub fn pick(&self) -> Option<LocalPid> {
        if self.pids.is_empty() {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Some(self.pids[n % self.pids.len()])
    }
}

enum Reply {
    Waiting,
    Answered(OwnedEnv, SavedTerm),
    Abandoned,
}

struct ReplySlot {
    /// Set once `reply` left `Waiting`: what the spinning caller polls.
    settled: AtomicBool,
    reply: Mutex<Reply>,
    ready: Condvar,
}

impl ReplySlot {
    fn settle(&self, outcome: Reply) {
        let mut reply = self.reply.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*reply, Reply::Waiting) {
            *reply = outcome;
            self.settled.store(true, Ordering::Release);
            self.ready.notify_one();
        }
    }

    fn wait(&self) -> Reply {
        let spin_until = Instant::now() + SPIN;
        while !self.settled.load(Ordering::Acquire) && Instant::now() < spin_until {
            std::hint::spin_loop();
        }
        let mut reply = self.reply.lock().unwrap_or_else(|p| p.into_inner());
        while matches!(*reply, Reply::Waiting) {
            reply = self.ready.wait(reply).unwrap_or_else(|p| p.into_inner());
        }
        std::mem::replace(&mut *reply, Reply::Abandoned)
    }
}

/// The reply slot of one call, as the agent sees it.
pub struct CallReply(Arc<ReplySlot>);

#[rustler::resource_impl]
impl Resource for CallReply {}

impl Drop for CallReply {
    /// The last reference went without an answer (the agent died): wake the caller.
    fn drop(&mut self) {
        self.0.settle(Reply::Abandoned);
    }
}

/// `agent_reply(Slot, Reply)`: answers the call waiting on `Slot`; `Reply` is what
/// `py_callbacks:invoke/2` returned. A second answer is ignored.
#[rustler::nif]
fn agent_reply<'a>(env: Env<'a>, slot: ResourceArc<CallReply>, reply: Term<'a>) -> Term<'a> {
    guarded(env, || {
        let owned = OwnedEnv::new();
        let saved = owned.save(reply);
        slot.0.settle(Reply::Answered(owned, saved));
        atoms::ok().encode(env)
    })
}

/// The `ErlangHost` of a pool thread.
pub struct AgentHost {
    types: PyTypes,
    agent: LocalPid,
}

impl AgentHost {
    /// # Safety
    /// GIL of this thread's interpreter held.
    pub unsafe fn new(agent: LocalPid) -> hornbeam_python::call::PyResult<AgentHost> {
        Ok(AgentHost { types: PyTypes::load()?, agent })
    }
}

impl ErlangHost for AgentHost {
    fn types(&self) -> &PyTypes {
        &self.types
    }

    fn owner(&self) -> &LocalPid {
        &self.agent
    }

    unsafe fn call_erlang(&self, name: &str, args: &[*mut ffi::PyObject]) -> Option<PyOwned> {
        let slot = Arc::new(ReplySlot { settled: AtomicBool::new(false), reply: Mutex::new(Reply::Waiting), ready: Condvar::new() });
        let mut env = OwnedEnv::new();
        let request = env.run(|e| -> Result<SavedTerm, term::ConvError> {
            let items = args.iter().map(|&a| term::from_py(&self.types, e, a, 1)).collect::<Result<Vec<_>, _>>()?;
            let resource = ResourceArc::new(CallReply(slot.clone()));
            Ok(env.save((atoms::py_call(), resource, name, items).encode(e)))
        });
        let request = match request {
            Ok(request) => request,
            Err(c) => return raise(ffi::PyExc_TypeError, &format!("erlang.call({name:?}): {}", c.message())),
        };
        if env.send_and_clear(&self.agent, |e| request.load(e)).is_err() {
            return raise(ffi::PyExc_RuntimeError, "the Erlang agent of this server is gone");
        }
        // The message now holds the only other reference: dropping ours lets the
        // agent's death free the slot.
        drop(request);
        drop(env);
        match allow_threads(|| slot.wait()) {
            Reply::Answered(env, reply) => env.run(|e| host::callback_result(&self.types, reply.load(e))),
            Reply::Abandoned | Reply::Waiting => {
                raise(ffi::PyExc_RuntimeError, &format!("erlang.call({name:?}): the Erlang agent serving it died"))
            }
        }
    }
}

/// Makes this pool thread an `erlang.call` host served by the next agent, until the
/// guard drops (with the GIL held: it releases Python objects).
///
/// # Safety
/// GIL of this thread's interpreter held.
pub unsafe fn enter(agents: &Agents) -> hornbeam_python::call::PyResult<Option<host::HostGuard>> {
    let Some(pid) = agents.pick() else { return Ok(None) };
    Ok(Some(host::enter(std::rc::Rc::new(AgentHost::new(pid)?))))
}
