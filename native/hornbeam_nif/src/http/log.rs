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
    to: Destination,
}

#[derive(Clone)]
enum Destination {
    Process(LocalPid),
    /// Unit tests run without a BEAM to send to: their lines are kept instead.
    #[cfg(test)]
    Captured(std::sync::Arc<std::sync::Mutex<Vec<String>>>),
}

impl Log {
    pub fn new(owner: LocalPid) -> Log {
        Log { to: Destination::Process(owner) }
    }

    /// A log whose lines (errors, warnings, access lines alike) land in the vector.
    #[cfg(test)]
    pub fn capture() -> (Log, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        (Log { to: Destination::Captured(lines.clone()) }, lines)
    }

    /// The process to send `text` to; `None` once a test captured the line.
    #[cfg_attr(not(test), allow(unused_variables, reason = "only a captured log keeps the text"))]
    fn recipient(&self, text: &str) -> Option<LocalPid> {
        match &self.to {
            Destination::Process(owner) => Some(*owner),
            #[cfg(test)]
            Destination::Captured(lines) => {
                lines.lock().unwrap().push(text.to_string());
                None
            }
        }
    }

    /// Sends `{hornbeam_log, Level, Text}` to the owner.
    pub fn send(&self, level: Level, text: &str) {
        let Some(owner) = self.recipient(text) else { return };
        let level_atom = match level {
            Level::Error => atoms::error(),
            Level::Warning => atoms::warning(),
            Level::Info => atoms::info(),
        };
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
        let Some(owner) = self.recipient(text) else { return };
        let mut env = OwnedEnv::new();
        let _ = env.send_and_clear(&owner, |e| (atoms::hornbeam_access(), text).encode(e));
    }

    pub fn error(&self, text: &str) {
        self.send(Level::Error, text)
    }
}
