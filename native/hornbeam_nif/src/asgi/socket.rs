//! A WebSocket once the app accepted it: an engine task that reads frames only while
//! the app has room for them (a slow app holds the client back instead of growing
//! memory), writes what the app sends, answers pings, and ends with the close
//! handshake. Protocol limits become close codes: 1009 for a message over
//! `websocket_max_frame_size`, 1007 for text that is not UTF-8, 1002 for other protocol
//! errors, 1001 when the client was idle past `websocket_timeout`. Which library speaks
//! the protocol is `ws_library`'s business.
use super::ws_library::{self, Opened, Read, Write};
use crate::http::exchange::WebSocketUpgrade;
use crate::http::state::Phase;
use bytes::Bytes;
use futures_util::{Sink, SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{mpsc, oneshot, watch};

/// How long the peer gets to answer our close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// How long the app gets to read the messages before a broken rule (and so to answer
/// them) before our close goes out.
const REPLY_GRACE: Duration = Duration::from_secs(1);

/// How the reader ended.
enum ReaderEnd {
    /// The peer sent its close (the library answers it), or vanished.
    PeerClosed,
    /// The app dropped its end: it reads no more.
    AppGone,
    /// The peer broke a rule (or idled past the limit): this close code is ours to send.
    Broken(u16),
    /// ... and the app has read everything before it: send this close now.
    Answered { code: u16, reason: String },
    /// The peer broke a rule and the library sent its close itself.
    LibraryClosed,
}

#[derive(Clone, Copy)]
pub struct WsSettings {
    pub max_message_size: usize,
    pub idle_timeout: Option<Duration>,
}

/// A message's content, either way.
pub enum Data {
    Text(String),
    Binary(Bytes),
}

/// What the app's `receive()` gets.
pub enum Inbound {
    Data(Data),
    /// The connection ended; the close code and reason (1006: no close frame).
    Closed {
        code: u16,
        reason: String,
    },
}

/// What the app's `send()` puts out.
pub enum Outbound {
    Message(Data),
    Close { code: u16, reason: String },
}

/// The close code sent when the app's channel ends without a close of its own: 1000,
/// or 1011 once the app failed. A flag beside the channel rather than a message in it,
/// so a full queue cannot turn a failure into a normal close.
pub type EndCode = Arc<AtomicU16>;

/// Messages in flight per direction.
pub const CHANNEL_MESSAGES: usize = 4;

type Writes = Pin<Box<dyn Sink<Write, Error = ()> + Send>>;

/// Runs the socket until it closes. `upgrade` lives as long: over HTTP/2 it keeps the
/// stream counted as open.
pub async fn run(
    upgrade: WebSocketUpgrade,
    settings: WsSettings,
    inbound: mpsc::Sender<Inbound>,
    mut outbound: mpsc::Receiver<Outbound>,
    end_code: EndCode,
) {
    let WebSocketUpgrade {
        on_upgrade, stream_open: _stream_open, mut server_phase, deflate, ..
    } = upgrade;
    let upgraded = match on_upgrade.await {
        Ok(upgraded) => upgraded,
        Err(_) => {
            let _ = inbound.send(Inbound::Closed { code: 1006, reason: String::new() }).await;
            return;
        }
    };
    let io = Lingering(Some(TokioIo::new(upgraded)));
    let Opened { mut reads, mut writes, closes_on_error } =
        ws_library::open(io, &settings, deflate.as_ref()).await;
    // How the reader ended, for the writer: it decides which close frame, if any, is ours
    // to send.
    let (ended_tx, mut ended_rx) = oneshot::channel::<ReaderEnd>();
    // Set while the reader waits for the app to read up to a broken rule.
    let breaking = AtomicBool::new(false);
    let breaking = &breaking;

    let reader = async move {
        let (code, reason, end) = loop {
            let Ok(permit) = inbound.reserve().await else {
                // The app is gone and reads no more; the writer sends what it queued
                // last (its close, or 1000).
                break (1001, String::new(), ReaderEnd::AppGone);
            };
            let next = match settings.idle_timeout {
                Some(limit) => match tokio::time::timeout(limit, reads.next()).await {
                    Ok(next) => next,
                    Err(_) => break (1001, "idle timeout".to_string(), ReaderEnd::Broken(1001)),
                },
                None => reads.next().await,
            };
            match next.unwrap_or(Read::Vanished) {
                Read::Data(data) => permit.send(Inbound::Data(data)),
                Read::Control => {}
                Read::Closed { code, reason } => break (code, reason, ReaderEnd::PeerClosed),
                Read::Broken { code, reason } if closes_on_error => {
                    break (code, reason, ReaderEnd::LibraryClosed)
                }
                Read::Broken { code, reason } => break (code, reason, ReaderEnd::Broken(code)),
                Read::Vanished => break (1006, String::new(), ReaderEnd::PeerClosed),
            }
        };
        if let ReaderEnd::Broken(close_code) = end {
            // RFC 6455 lets us fail the connection at once, but the answers to what the
            // app already read go out first: the app gets the close after the messages
            // before it, and once it has read them all (so replied to each), ours goes.
            breaking.store(true, Ordering::Release);
            let mut delivered = false;
            let told = async {
                delivered =
                    inbound.send(Inbound::Closed { code, reason: reason.clone() }).await.is_ok();
                if delivered {
                    let _ = inbound.reserve_many(CHANNEL_MESSAGES).await;
                }
            };
            let _ = tokio::time::timeout(REPLY_GRACE, told).await;
            let answer = ReaderEnd::Answered { code: close_code, reason: reason.clone() };
            if !delivered {
                // The app reads too slowly to wait for: its close code still goes in
                // if there is room, else it sees the channel end (1006).
                let _ = inbound.try_send(Inbound::Closed { code, reason });
            }
            let _ = ended_tx.send(answer);
        } else {
            let _ = ended_tx.send(end);
            let _ = inbound.send(Inbound::Closed { code, reason }).await;
        }
    };

    let writer = async move {
        let mut reader_end = None;
        loop {
            tokio::select! {
                biased;
                end = &mut ended_rx, if reader_end.is_none() => match end.unwrap_or(ReaderEnd::AppGone) {
                    ReaderEnd::Answered { code, reason } => {
                        // The peer broke a rule: what the app replied before it learnt
                        // so goes out, then our close.
                        while let Ok(Outbound::Message(data)) = outbound.try_recv() {
                            if writes.send(Write::Data(data)).await.is_err() {
                                break;
                            }
                        }
                        let _ = writes.send(Write::Close { code, reason }).await;
                        break;
                    }
                    // Nothing may follow the library's close (the flush below sends it).
                    ReaderEnd::PeerClosed | ReaderEnd::LibraryClosed => break,
                    // The app stopped reading: what it queued still goes out, for a
                    // while.
                    other => reader_end = Some(other),
                },
                _ = stopping(&mut server_phase), if reader_end.is_none() => {
                    // The server stops: the client is told it is going away (what the
                    // app already queued went out before).
                    let close = Write::Close { code: 1001, reason: "server shutting down".into() };
                    close_and_wait(&mut writes, close, Some(&mut ended_rx)).await;
                    break;
                }
                out = next_outbound(&mut outbound, reader_end.is_some()) => match out {
                    Some(Outbound::Message(data)) => {
                        if writes.send(Write::Data(data)).await.is_err() {
                            break;
                        }
                    }
                    Some(Outbound::Close { code, reason }) => {
                        close_and_wait(&mut writes, Write::Close { code, reason }, reader_end.is_none().then_some(&mut ended_rx)).await;
                        break;
                    }
                    None => {
                        if reader_end.is_none() && breaking.load(Ordering::Acquire) {
                            // The app ended after the peer broke a rule: that close is
                            // the one to send.
                            if let Ok(Ok(ReaderEnd::Answered { code, reason })) = tokio::time::timeout(REPLY_GRACE, &mut ended_rx).await {
                                let _ = writes.send(Write::Close { code, reason }).await;
                                break;
                            }
                        }
                        // The app ended without closing: close normally, or with 1011
                        // if it failed.
                        let code = end_code.load(Ordering::Acquire);
                        let reason = if code == 1011 { "internal error" } else { "" };
                        close_and_wait(&mut writes, Write::Close { code, reason: reason.into() }, reader_end.is_none().then_some(&mut ended_rx)).await;
                        break;
                    }
                },
            }
        }
        let _ = writes.flush().await;
    };

    tokio::pin!(reader, writer);
    tokio::select! {
        () = &mut reader => writer.await,
        () = &mut writer => {
            // The app closed, or the socket broke: give the peer a moment to answer.
            let _ = tokio::time::timeout(CLOSE_WAIT, reader).await;
        }
    }
    // Dropping both halves drops the connection, which lingers (`Lingering`).
}

/// Sends our close frame; while the reader still runs (`ended` is its end), gives the
/// peer `CLOSE_WAIT` to answer, which ends the reader.
async fn close_and_wait(
    writes: &mut Writes,
    close: Write,
    ended: Option<&mut oneshot::Receiver<ReaderEnd>>,
) {
    let _ = writes.send(close).await;
    if let Some(ended) = ended {
        let _ = tokio::time::timeout(CLOSE_WAIT, ended).await;
    }
}

/// Resolves once the server leaves `Serving` (or is gone).
async fn stopping(phase: &mut watch::Receiver<Phase>) {
    let _ = phase.wait_for(|now| *now != Phase::Serving).await;
}

/// The app's next message; once the connection is closing, `None` if the app sends
/// nothing for `CLOSE_WAIT`.
async fn next_outbound(outbound: &mut mpsc::Receiver<Outbound>, closing: bool) -> Option<Outbound> {
    if closing {
        tokio::time::timeout(CLOSE_WAIT, outbound.recv()).await.ok().flatten()
    } else {
        outbound.recv().await
    }
}

/// The upgraded connection, which ends the way RFC 6455 asks of a server when the
/// library drops it: our side first (FIN), then what the client still sends (the rest of
/// a message we refused, its close frame) is read and dropped until it closes too.
/// Closing with unread data would reset the connection, and the client could lose our
/// close frame. Both libraries own the connection to the end, so this happens on drop,
/// in a task of its own.
struct Lingering<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(Option<S>);

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Drop for Lingering<S> {
    fn drop(&mut self) {
        let (Some(io), Ok(engine)) = (self.0.take(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        engine.spawn(linger(io));
    }
}

async fn linger<S: AsyncRead + AsyncWrite + Unpin>(mut io: S) {
    let _ = io.shutdown().await;
    let mut scratch = vec![0u8; 16384];
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Ok(n) = io.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Lingering<S> {
    fn io(&mut self) -> Pin<&mut S> {
        Pin::new(self.0.as_mut().expect("the connection is only taken on drop"))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncRead for Lingering<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.get_mut().io().poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncWrite for Lingering<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().io().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().io().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.as_ref().is_some_and(|io| io.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().io().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().io().poll_shutdown(cx)
    }
}
