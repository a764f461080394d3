//! How the engine wakes a worker's asyncio loop without touching Python: events go into
//! a queue, and an eventfd the loop watches (`loop.add_reader`) becomes readable when
//! the queue stops being empty. The loop drains the whole queue per wake-up, so a busy
//! worker takes many requests per system call.
use crate::fd::EventFd;
use crate::http::exchange::Job;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

// Boxing the job would cost an allocation per request, the common event.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A new request.
    Job(Job),
    /// Something a request waits for may be ready (see `token`).
    Wake(u64),
    /// Stop: run lifespan shutdown and end the loop.
    Stop,
    /// Finish the requests in flight, then stop (`max_requests`).
    Drain,
    /// A connection this worker serves (hface) ended, with every request it carried.
    Closed(u64),
}

/// The token Python receives for `Event::Closed`: the connection's id (never 0) shifted
/// like a request's, with kind 3.
pub fn closed_token(connection: u64) -> u64 {
    (connection << 2) | DRAIN_TOKEN
}

/// The token Python receives for `Event::Drain`: kind 3, which no request token uses.
pub const DRAIN_TOKEN: u64 = 3;

/// What a wake token says is ready: the request's `receive`, its `send` (capacity for a
/// chunk), or a cancellation (the engine gave up on the request: timeout).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ready {
    Receive = 0,
    Send = 1,
    Cancel = 2,
}

/// Request `id`'s token for `what`; Python splits it with `>> 2` and `& 3`.
pub fn token(id: u64, what: Ready) -> u64 {
    (id << 2) | what as u64
}

pub struct Inbox {
    queue: Mutex<Queue>,
    eventfd: EventFd,
    /// How many times the loop drained: the pool's sign that the loop still runs.
    drains: AtomicU64,
}

#[derive(Default)]
struct Queue {
    events: Vec<Event>,
    /// The worker was replaced: new jobs go elsewhere.
    closed: bool,
}

impl Inbox {
    pub fn new() -> io::Result<Inbox> {
        Ok(Inbox {
            queue: Mutex::new(Queue::default()),
            eventfd: EventFd::new()?,
            drains: AtomicU64::new(0),
        })
    }

    pub fn fd(&self) -> RawFd {
        self.eventfd.raw()
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an event; from any thread.
    pub fn push(&self, event: Event) {
        let was_empty = {
            let mut queue = self.queue();
            let was_empty = queue.events.is_empty();
            queue.events.push(event);
            was_empty
        };
        // Only the first event since the last drain needs a wake-up: the drain takes
        // everything queued up to then.
        if was_empty {
            self.eventfd.signal();
        }
    }

    /// Queues a new request, or gives it back if this worker was replaced.
    #[allow(clippy::result_large_err, reason = "the job goes back by value, unboxed, as it came")]
    pub fn push_job(&self, job: Job) -> Result<(), Job> {
        let was_empty = {
            let mut queue = self.queue();
            if queue.closed {
                return Err(job);
            }
            let was_empty = queue.events.is_empty();
            queue.events.push(Event::Job(job));
            was_empty
        };
        if was_empty {
            self.eventfd.signal();
        }
        Ok(())
    }

    /// Refuses new requests and leaves only a stop in the queue, for the loop to find
    /// if it ever runs again. Returns what was queued (the caller drops it outside the
    /// lock: a dropped job's client gets a 500).
    pub fn close(&self) -> Vec<Event> {
        let queued = {
            let mut queue = self.queue();
            queue.closed = true;
            std::mem::replace(&mut queue.events, vec![Event::Stop])
        };
        self.eventfd.signal();
        queued
    }

    /// Refuses new requests (they go to the successor) and asks the loop to finish the
    /// ones it has, then stop.
    pub fn drain_and_stop(&self) {
        let was_empty = {
            let mut queue = self.queue();
            queue.closed = true;
            let was_empty = queue.events.is_empty();
            queue.events.push(Event::Drain);
            was_empty
        };
        if was_empty {
            self.eventfd.signal();
        }
    }

    /// Everything queued, oldest first. The eventfd is reset before the queue is taken,
    /// so an event pushed meanwhile leaves it readable and is never missed.
    pub fn drain(&self) -> Vec<Event> {
        self.drains.fetch_add(1, Ordering::Release);
        self.eventfd.reset();
        std::mem::take(&mut self.queue().events)
    }

    pub fn drains(&self) -> u64 {
        self.drains.load(Ordering::Acquire)
    }
}

/// A `std::task::Waker` that queues one token: lets Rust futures (a body channel, a
/// closed connection) be polled from Python and wake the asyncio loop.
pub struct TokenWaker {
    pub inbox: Arc<Inbox>,
    pub token: u64,
}

impl TokenWaker {
    pub fn waker(inbox: &Arc<Inbox>, token: u64) -> Waker {
        Waker::from(Arc::new(TokenWaker { inbox: inbox.clone(), token }))
    }
}

impl Wake for TokenWaker {
    fn wake(self: Arc<Self>) {
        self.inbox.push(Event::Wake(self.token));
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.inbox.push(Event::Wake(self.token));
    }
}
