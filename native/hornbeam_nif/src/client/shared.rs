//! What a client connection's engine task and its Python side share: the events
//! waiting for Python, the request bytes hyper has not taken yet, and the eventfd that
//! wakes the asyncio loop when either changes in a way Python waits for.
use crate::fd::EventFd;
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::Notify;

/// Response body bytes queued for Python before the engine stops reading the
/// connection's streams.
pub const MAX_QUEUED_BYTES: usize = 256 * 1024;
/// Request body bytes handed over by Python and not yet taken by hyper (the peer's
/// window or the socket is full) before `send_data` waits.
pub const MAX_UNSENT_BYTES: usize = 256 * 1024;

/// What the engine tells Python, in order.
pub enum ClientEvent {
    Connected {
        http_version: &'static str,
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// The connection could not be made (connect, TLS or protocol handshake).
    Failed(String),
    /// A response head: `:status` and the regular headers.
    Headers {
        stream: u64,
        status: u16,
        headers: Vec<(Bytes, Bytes)>,
        end_stream: bool,
    },
    Data {
        stream: u64,
        data: Bytes,
        end_stream: bool,
    },
    ResetReceived {
        stream: u64,
        error_code: u32,
    },
    Terminated {
        error_code: u32,
        message: Option<String>,
    },
}

pub struct Shared {
    state: Mutex<State>,
    eventfd: EventFd,
    /// Python took events: stream readers waiting for room may go on.
    room: Notify,
}

#[derive(Default)]
struct State {
    events: VecDeque<ClientEvent>,
    queued_bytes: usize,
    unsent_bytes: usize,
}

impl Shared {
    pub fn new() -> std::io::Result<Shared> {
        Ok(Shared { state: Mutex::default(), eventfd: EventFd::new()?, room: Notify::new() })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn fd(&self) -> i32 {
        self.eventfd.raw()
    }

    /// Clears the eventfd; Python then looks at what changed, so nothing signalled
    /// after this is missed.
    pub fn clear(&self) {
        self.eventfd.reset();
    }

    pub fn push(&self, event: ClientEvent) {
        let was_empty = {
            let mut state = self.state();
            if let ClientEvent::Data { data, .. } = &event {
                state.queued_bytes += data.len();
            }
            let was_empty = state.events.is_empty();
            state.events.push_back(event);
            was_empty
        };
        if was_empty {
            self.eventfd.signal();
        }
    }

    /// The oldest event for Python, if any.
    pub fn take(&self) -> Option<ClientEvent> {
        let (event, room) = {
            let mut state = self.state();
            let event = state.events.pop_front()?;
            let before = state.queued_bytes;
            if let ClientEvent::Data { data, .. } = &event {
                state.queued_bytes -= data.len();
            }
            (event, before >= MAX_QUEUED_BYTES && state.queued_bytes < MAX_QUEUED_BYTES)
        };
        if room {
            self.room.notify_waiters();
        }
        Some(event)
    }

    /// Waits until Python has room for more response data.
    pub async fn wait_for_room(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            // Registered before the check, so a take() in between still wakes us.
            notified.as_mut().enable();
            if self.state().queued_bytes < MAX_QUEUED_BYTES {
                return;
            }
            notified.await;
        }
    }

    /// Python handed `n` request bytes over; true if it should now wait for `has_room`.
    pub fn handed_over(&self, n: usize) -> bool {
        let mut state = self.state();
        state.unsent_bytes += n;
        state.unsent_bytes >= MAX_UNSENT_BYTES
    }

    /// hyper took `n` request bytes (or they were dropped with their stream).
    pub fn taken(&self, n: usize) {
        let wake = {
            let mut state = self.state();
            let before = state.unsent_bytes;
            state.unsent_bytes = before.saturating_sub(n);
            before >= MAX_UNSENT_BYTES && state.unsent_bytes < MAX_UNSENT_BYTES
        };
        if wake {
            self.eventfd.signal();
        }
    }

    pub fn has_room_to_send(&self) -> bool {
        self.state().unsent_bytes < MAX_UNSENT_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taking_events_below_the_limit_makes_room() {
        let shared = Shared::new().unwrap();
        let chunk = Bytes::from(vec![0; MAX_QUEUED_BYTES]);
        shared.push(ClientEvent::Data { stream: 1, data: chunk, end_stream: false });
        assert_eq!(shared.state().queued_bytes, MAX_QUEUED_BYTES);
        assert!(shared.take().is_some());
        assert_eq!(shared.state().queued_bytes, 0);
        assert!(shared.take().is_none());
    }

    #[test]
    fn sending_waits_over_the_limit_until_hyper_takes_bytes() {
        let shared = Shared::new().unwrap();
        assert!(!shared.handed_over(MAX_UNSENT_BYTES - 1));
        assert!(shared.handed_over(1));
        assert!(!shared.has_room_to_send());
        shared.taken(1);
        assert!(shared.has_room_to_send());
    }
}
