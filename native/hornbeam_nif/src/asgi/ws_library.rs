//! The two WebSocket libraries behind `socket`, seen as one stream of `Read` and one
//! sink of `Write`. tungstenite serves every connection that did not negotiate
//! compression: it fails fast on invalid UTF-8 and lets us answer what the app replied
//! before a broken rule. tungstenite has no permessage-deflate (RFC 7692), so a
//! connection that negotiated it is served by yawc, which bounds the inflated size of
//! every message (a compression bomb gets 1009).
//!
//! The one difference `socket` must know: on a broken rule yawc queues its own close
//! frame at once (`closes_on_error`), so nothing else may be sent after it.
use super::socket::{Data, WsSettings};
use crate::http::websocket_handshake::deflate_options;
use futures_util::{future, Sink, SinkExt, Stream, StreamExt};
use hyper::header::HeaderValue;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use yawc::{Frame, OpCode, WebSocketError};

/// What the peer sent, or how reading ended (the stream's end is `Vanished` too).
pub enum Read {
    Data(Data),
    /// A ping (the library answers it) or a pong.
    Control,
    /// The peer's close frame (the library answers it); 1005 when it had no code.
    Closed {
        code: u16,
        reason: String,
    },
    /// The peer broke a rule: the close code and reason to fail the connection with.
    Broken {
        code: u16,
        reason: String,
    },
    /// The connection ended without a close frame.
    Vanished,
}

pub enum Write {
    Data(Data),
    Close { code: u16, reason: String },
}

pub struct Opened {
    pub reads: Pin<Box<dyn Stream<Item = Read> + Send>>,
    pub writes: Pin<Box<dyn Sink<Write, Error = ()> + Send>>,
    /// The library sends its own close when the peer breaks a rule.
    pub closes_on_error: bool,
}

/// Starts the protocol on an upgraded connection: yawc when `deflate` (the agreed
/// extension) is set, tungstenite otherwise.
pub async fn open<S>(io: S, settings: &WsSettings, deflate: Option<&HeaderValue>) -> Opened
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if let Some(agreed) = deflate.and_then(|value| value.to_str().ok()) {
        match yawc::WebSocket::from_stream_with_extensions(
            io,
            yawc::Role::Server,
            Some(agreed),
            yawc_options(settings),
        ) {
            Ok(ws) => {
                let (writes, reads) = YawcFrames(ws).split();
                return Opened {
                    reads: Box::pin(reads.map(read_yawc)),
                    writes: Box::pin(
                        writes
                            .sink_map_err(drop)
                            .with(|write| future::ready(Ok(yawc_frame(write)))),
                    ),
                    closes_on_error: true,
                };
            }
            // `agree_deflate` only answers with terms yawc accepted.
            Err(e) => unreachable!("yawc refused the permessage-deflate terms it agreed to: {e}"),
        }
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(settings.max_message_size))
        .max_frame_size(Some(settings.max_message_size));
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (writes, reads) = ws.split();
    Opened {
        reads: Box::pin(reads.map(read_tungstenite)),
        writes: Box::pin(
            writes.sink_map_err(drop).with(|write| future::ready(Ok(tungstenite_message(write)))),
        ),
        closes_on_error: false,
    }
}

fn yawc_options(settings: &WsSettings) -> yawc::Options {
    // yawc's limits are exclusive, `websocket_max_frame_size` is inclusive. The payload
    // limit bounds each frame inflated, the buffer limit the message assembled.
    let limit = settings.max_message_size.saturating_add(1);
    deflate_options().with_limits(limit, limit).with_utf8()
}

fn read_tungstenite(next: Result<Message, WsError>) -> Read {
    match next {
        Ok(Message::Text(text)) => Read::Data(Data::Text(text.as_str().to_string())),
        Ok(Message::Binary(bytes)) => Read::Data(Data::Binary(bytes)),
        Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => Read::Control,
        Ok(Message::Close(frame)) => {
            let (code, reason) = frame.map_or((1005, String::new()), |f| {
                (u16::from(f.code), f.reason.as_str().to_string())
            });
            Read::Closed { code, reason }
        }
        Err(WsError::Capacity(_)) => broken(1009, "message too big"),
        Err(WsError::Utf8(_)) => broken(1007, "invalid UTF-8 in a text message"),
        Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => Read::Vanished,
        Err(WsError::Protocol(e)) => broken(1002, &e.to_string()),
        Err(_) => Read::Vanished,
    }
}

fn tungstenite_message(write: Write) -> Message {
    match write {
        Write::Data(Data::Text(text)) => Message::Text(text.into()),
        Write::Data(Data::Binary(bytes)) => Message::Binary(bytes),
        Write::Close { code, reason } => {
            Message::Close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() }))
        }
    }
}

fn read_yawc(next: Result<Frame, WebSocketError>) -> Read {
    match next {
        Ok(frame) => match frame.opcode() {
            // yawc checked the text (`with_utf8`).
            OpCode::Text => {
                Read::Data(Data::Text(String::from_utf8_lossy(frame.payload()).into_owned()))
            }
            OpCode::Binary => Read::Data(Data::Binary(frame.into_payload())),
            OpCode::Close => {
                let code = frame.close_code().map_or(1005, u16::from);
                let reason = frame.close_reason().ok().flatten().unwrap_or_default().to_string();
                Read::Closed { code, reason }
            }
            _ => Read::Control,
        },
        Err(WebSocketError::FrameTooLarge) => broken(1009, "message too big"),
        Err(WebSocketError::InvalidUTF8) => broken(1007, "invalid UTF-8 in a text message"),
        Err(WebSocketError::ConnectionClosed | WebSocketError::IoError(_)) => Read::Vanished,
        Err(e) => broken(1002, &e.to_string()),
    }
}

fn yawc_frame(write: Write) -> Frame {
    match write {
        Write::Data(Data::Text(text)) => Frame::text(text),
        Write::Data(Data::Binary(bytes)) => Frame::binary(bytes),
        Write::Close { code, reason } => Frame::close(code.into(), reason),
    }
}

fn broken(code: u16, reason: &str) -> Read {
    Read::Broken { code, reason: reason.to_string() }
}

/// yawc's socket as a stream of frames that keeps the error (its own `Stream` turns
/// every error into the end of the stream).
struct YawcFrames<S>(yawc::WebSocket<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for YawcFrames<S> {
    type Item = Result<Frame, WebSocketError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_next_frame(cx).map(Some)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Frame> for YawcFrames<S> {
    type Error = WebSocketError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().0.poll_ready_unpin(cx)
    }

    fn start_send(self: Pin<&mut Self>, frame: Frame) -> Result<(), Self::Error> {
        self.get_mut().0.start_send_unpin(frame)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // yawc's flush writes only what was sent; the frames it owes the peer (pongs,
        // the close answering a close or a broken rule) go out when it is next polled
        // to read or made ready to write, so flushing makes it ready first.
        let ws = &mut self.get_mut().0;
        ready!(ws.poll_ready_unpin(cx))?;
        ws.poll_flush_unpin(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().0.poll_close_unpin(cx)
    }
}
