//! What travels from the BEAM to a reactor's loop thread, and the state they share.
//!
//! `open` gates the channel as in `context::shared`: every send holds its read side,
//! `stop` its write side, so nothing is queued after `Stop` and the loop, draining
//! after it, sees every command that was accepted.
use super::stats::Stats;
use polling::Poller;
use rustler::env::SavedTerm;
use rustler::{LocalPid, OwnedEnv};
use std::os::fd::OwnedFd;
use std::sync::mpsc::Sender;
use std::sync::{Arc, RwLock};

pub enum Command {
    /// A new connection. The fd closes by itself if the command is dropped unserved.
    Handoff {
        fd: OwnedFd,
        env: OwnedEnv,
        client_info: SavedTerm,
    },
    Exec {
        code: String,
        reply: Reply,
    },
    Eval {
        code: String,
        reply: Reply,
    },
    /// The answer of an Erlang function that Python called with `erlang.call`.
    CallbackReply {
        id: u64,
        env: OwnedEnv,
        reply: SavedTerm,
    },
    /// Close every connection and end; `done` is told `{Ref, stopped}` afterwards.
    Stop {
        done: Option<Reply>,
    },
}

/// Where an answer goes: `{Ref, Result}` to `to`.
pub struct Reply {
    pub to: LocalPid,
    pub env: OwnedEnv,
    pub reference: SavedTerm,
}

pub struct Shared {
    tx: Sender<Command>,
    open: RwLock<bool>,
    pub poller: Arc<Poller>,
    pub stats: Arc<Stats>,
    pub max_connections: u64,
}

impl Shared {
    pub fn new(tx: Sender<Command>, poller: Arc<Poller>, max_connections: u64) -> Shared {
        Shared {
            tx,
            open: RwLock::new(true),
            poller,
            stats: Arc::new(Stats::default()),
            max_connections,
        }
    }

    /// Queues a command and wakes the loop; gives it back if the reactor stopped.
    pub fn send(&self, cmd: Command) -> Result<(), Command> {
        let open = self.open.read().unwrap_or_else(|p| p.into_inner());
        if !*open {
            return Err(cmd);
        }
        self.tx.send(cmd).map_err(|e| e.0)?;
        let _ = self.poller.notify();
        Ok(())
    }

    /// Refuses further commands and asks the loop to stop. `false` if already stopping.
    pub fn stop(&self, done: Option<Reply>) -> bool {
        let mut open = self.open.write().unwrap_or_else(|p| p.into_inner());
        if !*open {
            return false;
        }
        *open = false;
        let _ = self.tx.send(Command::Stop { done });
        let _ = self.poller.notify();
        true
    }
}
