//! Log lines for the server's Erlang process, which passes them to `logger`. Sending a
//! message is safe from any thread; the process decides where lines go.
use crate::atoms;
use rustler::{Encoder, LocalPid, OwnedEnv};

#[derive(Clone, Copy)]
pub enum Level {
    Error,
    Warning,
    Info,
}

#[derive(Clone)]
pub struct Log {
    owner: LocalPid,
}

impl Log {
    pub fn new(owner: LocalPid) -> Log {
        Log { owner }
    }

    /// Sends `{hornbeam_log, Level, Text}` to the owner.
    pub fn send(&self, level: Level, text: &str) {
        let level_atom = match level {
            Level::Error => atoms::error(),
            Level::Warning => atoms::warning(),
            Level::Info => atoms::info(),
        };
        let owner = self.owner;
        let text = text.to_string();
        let send = move || {
            let mut env = OwnedEnv::new();
            let _ =
                env.send_and_clear(&owner, |e| (atoms::hornbeam_log(), level_atom, text).encode(e));
        };
        // The BEAM forbids sending from its own threads without a process env; the
        // few lines logged while a NIF runs (start-up) go through a helper thread.
        if rustler::thread::is_scheduler_thread() {
            let _ = std::thread::Builder::new().name("hornbeam-log".into()).spawn(send);
        } else {
            send();
        }
    }

    /// Sends `{hornbeam_access, Text}`: one access log line.
    pub fn access(&self, text: &str) {
        let mut env = OwnedEnv::new();
        let _ = env.send_and_clear(&self.owner, |e| (atoms::hornbeam_access(), text).encode(e));
    }

    pub fn error(&self, text: &str) {
        self.send(Level::Error, text)
    }
}
