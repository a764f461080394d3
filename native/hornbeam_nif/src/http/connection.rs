//! A client connection as the requests it carries see it, for applications that serve
//! connections rather than requests (`worker_class => hface`). Each request of such a
//! server carries a `Stream` in its extensions: the connection's `Arc` and the request's
//! stream id. Servers of requests (WSGI, ASGI) carry nothing: tagging costs an
//! allocation per request that they would pay for nothing.
//!
//! The application binds the connection on its first request (which worker serves it)
//! by filling `binding`; the binding is dropped when the connection and every request
//! it carried are gone, which is how the application learns that the connection ended.
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;

/// Ids are unique within the VM's life; 0 is never used.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub struct Connection {
    pub id: u64,
    /// HTTP/1.1 numbers its requests 1, 2, 3...; HTTP/2 1, 3, 5... (the client's odd
    /// stream ids, in the order hyper hands the requests over). HTTP/3 uses QUIC's own.
    next_stream: AtomicU64,
    step: u64,
    /// What the application keeps for the connection; dropped with the connection.
    pub binding: OnceLock<Box<dyn Any + Send + Sync>>,
    /// Asked by the application: close the connection gracefully (HTTP/1.1: after the
    /// response in progress; HTTP/2 and HTTP/3: GOAWAY).
    close: Notify,
}

/// The connection and stream id of one request.
#[derive(Clone)]
pub struct Stream {
    pub connection: Arc<Connection>,
    pub id: u64,
}

impl Connection {
    pub fn http1() -> Arc<Connection> {
        Connection::numbered(1)
    }

    pub fn http2() -> Arc<Connection> {
        Connection::numbered(2)
    }

    /// HTTP/3 requests carry their QUIC stream id (`Connection::stream`).
    pub fn http3() -> Arc<Connection> {
        Connection::numbered(4)
    }

    fn numbered(step: u64) -> Arc<Connection> {
        Arc::new(Connection {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            next_stream: AtomicU64::new(1),
            step,
            binding: OnceLock::new(),
            close: Notify::new(),
        })
    }

    /// The next request's stream, numbered by the connection.
    pub fn next_stream(self: &Arc<Self>) -> Stream {
        let id = self.next_stream.fetch_add(self.step, Ordering::Relaxed);
        Stream { connection: self.clone(), id }
    }

    /// A request's stream with the id its protocol gave it (HTTP/3).
    pub fn stream(self: &Arc<Self>, id: u64) -> Stream {
        Stream { connection: self.clone(), id }
    }

    /// Has the connection closed gracefully, from any thread.
    pub fn request_close(&self) {
        // A stored permit: the connection's task sees it even if it waits later.
        self.close.notify_one();
    }

    /// Resolves once the application asked for the connection to close.
    pub async fn close_requested(&self) {
        self.close.notified().await
    }
}

/// Tags a request with its stream when `connection` is set (a server of connections).
pub fn tag<B>(req: &mut hyper::Request<B>, connection: Option<&Arc<Connection>>) {
    if let Some(connection) = connection {
        req.extensions_mut().insert(connection.next_stream());
    }
}

/// Resolves when the application asks `connection` to close; never without one.
pub async fn close_requested(connection: Option<Arc<Connection>>) {
    match connection {
        Some(connection) => connection.close_requested().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_numbered_per_version() {
        let h1 = Connection::http1();
        let ids: Vec<u64> = (0..3).map(|_| h1.next_stream().id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let h2 = Connection::http2();
        let ids: Vec<u64> = (0..3).map(|_| h2.next_stream().id).collect();
        assert_eq!(ids, [1, 3, 5]);
        assert_ne!(h1.id, h2.id);
        assert_eq!(Connection::http3().stream(8).id, 8);
    }

    #[test]
    fn the_binding_is_dropped_with_the_last_stream() {
        struct Flag(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let connection = Connection::http1();
        let stream = connection.next_stream();
        let _ = connection.binding.set(Box::new(Flag(dropped.clone())));
        drop(connection);
        assert!(!dropped.load(Ordering::SeqCst), "a request still holds the connection");
        drop(stream);
        assert!(dropped.load(Ordering::SeqCst));
    }
}
