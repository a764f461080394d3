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
use hornbeam_python::error::{raise, Exc};
use hornbeam_python::gil::allow_threads;
use hornbeam_python::object::PyOwned;
use pyo3::ffi;
use rustler::env::SavedTerm;
use rustler::{Encoder, Env, LocalPid, OwnedEnv, Resource, ResourceArc, Term};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long a caller polls for its reply before sleeping on the condition variable.
/// Most calls (ETS reads and writes) are answered well within it, and waking a
/// sleeping thread costs more than the call itself.
const SPIN: Duration = Duration::from_micros(30);

/// The agents of one server. Its threads share them: each prefers one, and moves on
/// to the others when that one is gone. The server replaces agents that die
/// (`http_server_replace_agent/3`).
pub struct Agents {
    pids: RwLock<Vec<LocalPid>>,
    next: AtomicUsize,
}

impl Agents {
    pub fn new(pids: Vec<LocalPid>) -> Agents {
        Agents { pids: RwLock::new(pids), next: AtomicUsize::new(0) }
    }

    /// `new` takes over from `old`, which died.
    pub fn replace(&self, old: &LocalPid, new: LocalPid) {
        let mut pids = self.pids.write().unwrap_or_else(|p| p.into_inner());
        pids.retain(|p| p != old);
        pids.push(new);
    }

    fn remove(&self, pid: &LocalPid) {
        self.pids.write().unwrap_or_else(|p| p.into_inner()).retain(|p| p != pid);
    }

    /// The agents to try for a thread whose preferred one is `home`, in order.
    fn candidates(&self, home: usize) -> Vec<LocalPid> {
        let pids = self.pids.read().unwrap_or_else(|p| p.into_inner());
        let n = pids.len();
        (0..n).map(|k| pids[(home + k) % n]).collect()
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
    agents: Arc<Agents>,
    home: usize,
    /// The agent `owner()` reports: the preferred one when the thread started.
    first: LocalPid,
}

impl ErlangHost for AgentHost {
    fn types(&self) -> &PyTypes {
        &self.types
    }

    fn owner(&self) -> &LocalPid {
        &self.first
    }

    unsafe fn call_erlang(&self, name: &str, args: &[*mut ffi::PyObject]) -> Option<PyOwned> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let slot = Arc::new(ReplySlot {
                settled: AtomicBool::new(false),
                reply: Mutex::new(Reply::Waiting),
                ready: Condvar::new(),
            });
            let mut sent = false;
            for agent in self.agents.candidates(self.home) {
                let mut env = OwnedEnv::new();
                let request = env.run(|e| -> Result<SavedTerm, term::ConvError> {
                    let items = args
                        .iter()
                        .map(|&a| term::from_py(&self.types, e, a, 1))
                        .collect::<Result<Vec<_>, _>>()?;
                    let resource = ResourceArc::new(CallReply(slot.clone()));
                    Ok(env.save((atoms::py_call(), resource, name, items).encode(e)))
                });
                let request = match request {
                    Ok(request) => request,
                    Err(c) => {
                        return raise(
                            Exc::TypeError,
                            &format!("erlang.call({name:?}): {}", c.message()),
                        )
                    }
                };
                // Fails only when the agent is no longer alive: try the next one.
                if env.send_and_clear(&agent, |e| request.load(e)).is_ok() {
                    sent = true;
                    break;
                }
                self.agents.remove(&agent);
            }
            if !sent {
                return raise(
                    Exc::RuntimeError,
                    "erlang.call: this server has no Erlang agent left (is it stopping?)",
                );
            }
            match allow_threads(|| slot.wait()) {
                Reply::Answered(env, reply) => {
                    env.run(|e| host::callback_result(&self.types, reply.load(e)))
                }
                Reply::Abandoned | Reply::Waiting => raise(
                    Exc::RuntimeError,
                    &format!("erlang.call({name:?}): the Erlang agent serving it died"),
                ),
            }
        }
    }
}

/// Makes this pool thread an `erlang.call` host served by the next agent, until the
/// guard drops (with the GIL held: it releases Python objects).
///
/// # Safety
/// GIL of this thread's interpreter held.
pub unsafe fn enter(
    agents: &Arc<Agents>,
) -> hornbeam_python::call::PyResult<Option<host::HostGuard>> {
    // SAFETY: the caller keeps the contract above: GIL of this thread's interpreter held.
    unsafe {
        let home = agents.next.fetch_add(1, Ordering::Relaxed);
        let Some(&first) = agents.candidates(home).first() else { return Ok(None) };
        let host = AgentHost { types: PyTypes::load()?, agents: agents.clone(), home, first };
        Ok(Some(host::enter(std::rc::Rc::new(host))))
    }
}
