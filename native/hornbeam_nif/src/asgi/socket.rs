//! A WebSocket once the app accepted it: an engine task that reads frames only while
//! the app has room for them (a slow app holds the client back instead of growing
//! memory), writes what the app sends, answers pings, and ends with the close
//! handshake. Protocol limits become close codes: 1009 for a message over
//! `websocket_max_frame_size`, 1007 for text that is not UTF-8, 1002 for other protocol
//! errors, 1001 when the client was idle past `websocket_timeout`.
use bytes::Bytes;
use futures_util::{Sink, SinkExt, StreamExt};
use crate::http::exchange::WebSocketUpgrade;
use crate::http::server::Phase;
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long the peer gets to answer our close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// How long the app gets to read the messages before a broken rule (and so to answer
/// them) before our close goes out.
const REPLY_GRACE: Duration = Duration::from_secs(1);

/// How the reader ended.
enum ReaderEnd {
    /// The peer sent its close (tungstenite answers it), or vanished.
    PeerClosed,
    /// The app dropped its end: it reads no more.
    AppGone,
    /// The peer broke a rule (or idled past the limit): this close code is ours to send.
    Broken(u16),
    /// ... and the app has read everything before it: send this close now.
    Answered(CloseFrame),
}

#[derive(Clone, Copy)]
pub struct WsSettings {
    pub max_message_size: usize,
    pub idle_timeout: Option<Duration>,
}

/// What the app's `receive()` gets.
pub enum Inbound {
    Text(String),
    Bytes(Bytes),
    /// The connection ended; the close code and reason (1006: no close frame).
    Closed { code: u16, reason: String },
}

/// What the app's `send()` puts out.
pub enum Outbound {
    Message(Message),
    Close { code: u16, reason: String },
}

/// The close code sent when the app's channel ends without a close of its own: 1000,
/// or 1011 once the app failed. A flag beside the channel rather than a message in it,
/// so a full queue cannot turn a failure into a normal close.
pub type EndCode = Arc<AtomicU16>;

/// Messages in flight per direction.
pub const CHANNEL_MESSAGES: usize = 4;

/// Runs the socket until it closes. `upgrade` lives as long: over HTTP/2 it keeps the
/// stream counted as open.
pub async fn run(upgrade: WebSocketUpgrade, settings: WsSettings, inbound: mpsc::Sender<Inbound>, mut outbound: mpsc::Receiver<Outbound>, end_code: EndCode) {
    let WebSocketUpgrade { on_upgrade, stream_open: _stream_open, mut server_phase, .. } = upgrade;
    let upgraded = match on_upgrade.await {
        Ok(upgraded) => upgraded,
        Err(_) => {
            let _ = inbound.send(Inbound::Closed { code: 1006, reason: String::new() }).await;
            return;
        }
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(settings.max_message_size))
        .max_frame_size(Some(settings.max_message_size));
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
    let (mut sink, mut stream) = ws.split();
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
                Some(limit) => match tokio::time::timeout(limit, stream.next()).await {
                    Ok(next) => next,
                    Err(_) => break (1001, "idle timeout".to_string(), ReaderEnd::Broken(1001)),
                },
                None => stream.next().await,
            };
            match next {
                Some(Ok(Message::Text(text))) => permit.send(Inbound::Text(text.as_str().to_string())),
                Some(Ok(Message::Binary(bytes))) => permit.send(Inbound::Bytes(bytes)),
                // tungstenite answers pings itself; pongs and raw frames need nothing.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.as_str().to_string()));
                    break (code, reason, ReaderEnd::PeerClosed);
                }
                Some(Err(WsError::Capacity(_))) => break (1009, "message too big".to_string(), ReaderEnd::Broken(1009)),
                Some(Err(WsError::Utf8(_))) => break (1007, "invalid UTF-8 in a text message".to_string(), ReaderEnd::Broken(1007)),
                // The peer vanished without a close frame: nothing to answer.
                Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => break (1006, String::new(), ReaderEnd::PeerClosed),
                Some(Err(WsError::Protocol(e))) => break (1002, e.to_string(), ReaderEnd::Broken(1002)),
                Some(Err(_)) | None => break (1006, String::new(), ReaderEnd::PeerClosed),
            }
        };
        if let ReaderEnd::Broken(close_code) = end {
            // RFC 6455 lets us fail the connection at once, but the answers to what the
            // app already read go out first: the app gets the close after the messages
            // before it, and once it has read them all (so replied to each), ours goes.
            breaking.store(true, Ordering::Release);
            let frame = CloseFrame { code: CloseCode::from(close_code), reason: reason.clone().into() };
            let mut delivered = false;
            let told = async {
                delivered = inbound.send(Inbound::Closed { code, reason: reason.clone() }).await.is_ok();
                if delivered {
                    let _ = inbound.reserve_many(CHANNEL_MESSAGES).await;
                }
            };
            let _ = tokio::time::timeout(REPLY_GRACE, told).await;
            if !delivered {
                // The app reads too slowly to wait for: its close code still goes in
                // if there is room, else it sees the channel end (1006).
                let _ = inbound.try_send(Inbound::Closed { code, reason });
            }
            let _ = ended_tx.send(ReaderEnd::Answered(frame));
        } else {
            let _ = ended_tx.send(end);
            let _ = inbound.send(Inbound::Closed { code, reason }).await;
        }
        stream
    };

    let writer = async move {
        let mut reader_end = None;
        loop {
            tokio::select! {
                biased;
                end = &mut ended_rx, if reader_end.is_none() => match end.unwrap_or(ReaderEnd::AppGone) {
                    ReaderEnd::Answered(frame) => {
                        // The peer broke a rule: what the app replied before it learnt
                        // so goes out, then our close.
                        while let Ok(Outbound::Message(message)) = outbound.try_recv() {
                            if sink.send(message).await.is_err() {
                                break;
                            }
                        }
                        let _ = sink.send(Message::Close(Some(frame))).await;
                        break;
                    }
                    // The peer closed, or the app stopped reading: what the app queued
                    // still goes out, for a while.
                    other => reader_end = Some(other),
                },
                _ = stopping(&mut server_phase), if reader_end.is_none() => {
                    // The server stops: the client is told it is going away (what the
                    // app already queued went out before).
                    let frame = CloseFrame { code: CloseCode::Away, reason: "server shutting down".into() };
                    close_and_wait(&mut sink, frame, Some(&mut ended_rx)).await;
                    break;
                }
                out = next_outbound(&mut outbound, reader_end.is_some()) => match out {
                    Some(Outbound::Message(message)) => {
                        if sink.send(message).await.is_err() {
                            break;
                        }
                    }
                    Some(Outbound::Close { code, reason }) => {
                        let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                        close_and_wait(&mut sink, frame, reader_end.is_none().then_some(&mut ended_rx)).await;
                        break;
                    }
                    None => {
                        if reader_end.is_none() && breaking.load(Ordering::Acquire) {
                            // The app ended after the peer broke a rule: that close is
                            // the one to send.
                            if let Ok(Ok(ReaderEnd::Answered(frame))) = tokio::time::timeout(REPLY_GRACE, &mut ended_rx).await {
                                let _ = sink.send(Message::Close(Some(frame))).await;
                                break;
                            }
                        }
                        if !matches!(reader_end, Some(ReaderEnd::PeerClosed)) {
                            // The app ended without closing: close normally, or with
                            // 1011 if it failed. (A peer that closed got tungstenite's
                            // reply already.)
                            let code = end_code.load(Ordering::Acquire);
                            let reason = if code == 1011 { "internal error" } else { "" };
                            let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                            close_and_wait(&mut sink, frame, reader_end.is_none().then_some(&mut ended_rx)).await;
                        }
                        break;
                    }
                },
            }
        }
        // Sends a close reply tungstenite queued.
        let _ = sink.flush().await;
        sink
    };

    tokio::pin!(reader, writer);
    let (stream, sink) = tokio::select! {
        stream = &mut reader => (Some(stream), writer.await),
        sink = &mut writer => {
            // The app closed, or the socket broke: give the peer a moment to answer.
            (tokio::time::timeout(CLOSE_WAIT, reader).await.ok(), sink)
        }
    };
    if let Some(Ok(mut ws)) = stream.map(|stream| sink.reunite(stream)) {
        linger(ws.get_mut()).await;
    }
}

/// Sends our close frame; while the reader still runs (`ended` is its end), gives the
/// peer `CLOSE_WAIT` to answer, which ends the reader.
async fn close_and_wait<S: Sink<Message> + Unpin>(sink: &mut S, frame: CloseFrame, ended: Option<&mut oneshot::Receiver<ReaderEnd>>) {
    let _ = sink.send(Message::Close(Some(frame))).await;
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

/// Ends the TCP connection the way RFC 6455 asks of a server: our side first (FIN),
/// then what the client still sends (the rest of a message we refused, its close
/// frame) is read and dropped until it closes too. Closing with unread data would reset
/// the connection, and the client could lose our close frame.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S) {
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
