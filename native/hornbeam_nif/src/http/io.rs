//! The connection's socket as hyper sees it, with one addition: a way to put an
//! informational response (103 Early Hints) on the wire while the application is still
//! computing the final one. hyper's server has no API for 1xx other than 100-continue.
//!
//! A hint may only go out when none of hyper's bytes are waiting: hyper writes
//! everything it buffered and then flushes, so after a successful flush and before the
//! next write the wire is ours. Hints written then reach the client before the final
//! response, whose head hyper only makes once the service returns. If the socket takes
//! a hint only in part, the rest goes out before hyper's next bytes; if hyper's own
//! bytes are still waiting (a pipelined response the client is slow to read), the hint
//! is dropped: hints are advisory.
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

#[derive(Default)]
struct WireState {
    /// hyper flushed and wrote nothing since.
    quiet: bool,
    /// The part of a hint the socket did not take yet.
    leftover: Vec<u8>,
}

pub struct ConnIo {
    stream: TcpStream,
    wire: Arc<Mutex<WireState>>,
}

/// The service's handle on its connection, for hints.
#[derive(Clone)]
pub struct HintWriter {
    fd: RawFd,
    wire: Arc<Mutex<WireState>>,
}

impl ConnIo {
    pub fn new(stream: TcpStream) -> (ConnIo, HintWriter) {
        let wire = Arc::new(Mutex::new(WireState { quiet: true, leftover: Vec::new() }));
        let hints = HintWriter { fd: stream.as_raw_fd(), wire: wire.clone() };
        (ConnIo { stream, wire }, hints)
    }

    fn wire(&self) -> std::sync::MutexGuard<'_, WireState> {
        self.wire.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes what is left of a hint; `Ready` once nothing is left.
    fn poll_leftover(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let pending = std::mem::take(&mut self.wire().leftover);
            if pending.is_empty() {
                return Poll::Ready(Ok(()));
            }
            match Pin::new(&mut self.stream).poll_write(cx, &pending) {
                Poll::Ready(Ok(n)) => self.wire().leftover = pending[n..].to_vec(),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    self.wire().leftover = pending;
                    return Poll::Pending;
                }
            }
        }
    }
}

impl HintWriter {
    /// Puts `bytes` (a whole 103 response) on the wire now, if the wire is free.
    /// Returns whether the hint was taken. Called from the service, which hyper polls
    /// on the connection's own task, so it never runs while hyper writes.
    pub fn send(&self, bytes: &[u8]) -> bool {
        let mut wire = self.wire.lock().unwrap_or_else(|p| p.into_inner());
        if !wire.quiet || !wire.leftover.is_empty() {
            return false;
        }
        // SAFETY: `fd` is the connection's socket, open while its task (which runs this
        // call) lives; send() only reads `bytes`. Non-blocking, no SIGPIPE.
        let sent = unsafe {
            libc::send(
                self.fd,
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        let sent = if sent < 0 { 0 } else { sent as usize };
        wire.leftover = bytes[sent..].to_vec();
        true
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_leftover(cx))?;
        self.wire().quiet = false;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_leftover(cx))?;
        self.wire().quiet = false;
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_leftover(cx))?;
        ready!(Pin::new(&mut self.stream).poll_flush(cx))?;
        self.wire().quiet = true;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
