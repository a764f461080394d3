//! The I/O engine: one tokio runtime per OS process, shared by every server.
//!
//! Its threads only parse, route and write bytes; Python runs on the application's
//! own threads. The thread count is the `io_threads` application setting (default:
//! the number of cores), fixed when the first server starts.
use std::sync::OnceLock;
use tokio::runtime::{Builder, Runtime};

static ENGINE: OnceLock<Result<Runtime, String>> = OnceLock::new();

pub fn get(io_threads: usize) -> Result<&'static Runtime, String> {
    ENGINE
        .get_or_init(|| {
            let threads = if io_threads == 0 {
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
            } else {
                io_threads
            };
            Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("hornbeam-io")
                .enable_io()
                .enable_time()
                .build()
                .map_err(|e| format!("cannot start the I/O engine: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}
