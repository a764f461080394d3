//! One WebSocket request on the app's side (ASGI websocket scope): the connect event,
//! accepting (101) or refusing (403) the handshake, then messages both ways through the
//! engine task in `socket`. Like `conn`, nothing here blocks: an operation completes or
//! registers a waker that queues the request's token.
use super::conn::RequestHandle;
use super::conn::{SendError, Sent, Shared};
use super::inbox::{token, Ready, TokenWaker};
use super::socket::{self, Data, EndCode, Inbound, Outbound, CHANNEL_MESSAGES};
use crate::http::body::ResponseBody;
use crate::http::exchange::{plain_text_headers, JobControl, ResponseHead, WebSocketUpgrade};
use bytes::Bytes;
use hyper::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS,
    SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use hyper::{HeaderMap, Method, StatusCode, Uri};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use tokio::sync::mpsc::{self, error::TrySendError, OwnedPermit};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

pub enum WsReceived {
    Connect,
    Text(String),
    Bytes(Bytes),
    Disconnect { code: u16, reason: String },
}

pub enum WsOutgoing {
    Accept { subprotocol: Option<String>, headers: HeaderMap },
    Send(Data),
    Close { code: u16, reason: String },
}

enum Phase {
    /// The handshake waits for the app's accept or close.
    Handshake {
        respond: oneshot::Sender<ResponseHead>,
        upgrade: WebSocketUpgrade,
    },
    Open {
        inbound: mpsc::Receiver<Inbound>,
        outbound: mpsc::Sender<Outbound>,
        end_code: EndCode,
    },
    /// Over; the code `receive()` reports.
    Closed {
        code: u16,
        reason: String,
    },
}

type Reserve =
    Pin<Box<dyn Future<Output = Result<OwnedPermit<Outbound>, mpsc::error::SendError<()>>> + Send>>;

pub struct WsConn {
    pub id: u64,
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    phase: Phase,
    connect_sent: bool,
    /// The app sent `websocket.close`: it may still receive, not send.
    closing: bool,
    pending: Option<Outbound>,
    reserve: Option<Reserve>,
    receive_waker: Option<Waker>,
    send_waker: Option<Waker>,
    control: Arc<JobControl>,
}

impl WsConn {
    pub fn new(
        id: u64,
        shared: Arc<Shared>,
        respond: oneshot::Sender<ResponseHead>,
        upgrade: WebSocketUpgrade,
        control: Arc<JobControl>,
        method: Method,
        uri: Uri,
    ) -> WsConn {
        control.started_by(RequestHandle::new(&shared, token(id, Ready::Cancel)));
        WsConn {
            id,
            shared,
            method,
            uri,
            phase: Phase::Handshake { respond, upgrade },
            connect_sent: false,
            closing: false,
            pending: None,
            reserve: None,
            receive_waker: None,
            send_waker: None,
            control,
        }
    }

    fn waker(&mut self, what: Ready) -> Waker {
        let slot =
            if what == Ready::Receive { &mut self.receive_waker } else { &mut self.send_waker };
        slot.get_or_insert_with(|| TokenWaker::waker(&self.shared.inbox, token(self.id, what)))
            .clone()
    }

    pub fn receive(&mut self) -> Option<WsReceived> {
        if !self.connect_sent {
            self.connect_sent = true;
            return Some(WsReceived::Connect);
        }
        let waker = self.waker(Ready::Receive);
        let mut cx = Context::from_waker(&waker);
        match &mut self.phase {
            Phase::Handshake { respond, .. } => {
                // Before accepting there is nothing to receive but the client leaving.
                if respond.poll_closed(&mut cx).is_ready() || self.control.is_cancelled() {
                    self.phase = Phase::Closed { code: 1006, reason: String::new() };
                    return self.receive();
                }
                None
            }
            Phase::Open { inbound, .. } => match inbound.poll_recv(&mut cx) {
                Poll::Pending => None,
                Poll::Ready(Some(Inbound::Data(Data::Text(text)))) => Some(WsReceived::Text(text)),
                Poll::Ready(Some(Inbound::Data(Data::Binary(bytes)))) => {
                    Some(WsReceived::Bytes(bytes))
                }
                Poll::Ready(Some(Inbound::Closed { code, reason })) => {
                    self.phase = Phase::Closed { code, reason };
                    self.receive()
                }
                Poll::Ready(None) => {
                    self.phase = Phase::Closed { code: 1006, reason: String::new() };
                    self.receive()
                }
            },
            Phase::Closed { code, reason } => {
                Some(WsReceived::Disconnect { code: *code, reason: reason.clone() })
            }
        }
    }

    pub fn send(&mut self, message: WsOutgoing) -> Result<Sent, SendError> {
        if self.pending.is_some() {
            return Err(SendError::Protocol(
                "send() called again before the previous send() finished".into(),
            ));
        }
        match (message, &mut self.phase) {
            (WsOutgoing::Accept { subprotocol, headers }, Phase::Handshake { .. }) => {
                self.accept(subprotocol, headers)
            }
            (WsOutgoing::Close { .. }, Phase::Handshake { .. }) => {
                self.refuse(StatusCode::FORBIDDEN, "WebSocket connection refused");
                Ok(Sent::Done)
            }
            (WsOutgoing::Send(_), Phase::Handshake { .. }) => Err(SendError::Protocol(
                "Unexpected ASGI message 'websocket.send', before 'websocket.accept'".into(),
            )),
            (WsOutgoing::Accept { .. }, Phase::Open { .. }) => Err(SendError::Protocol(
                "Unexpected ASGI message 'websocket.accept', after the connection was accepted"
                    .into(),
            )),
            (_, Phase::Open { .. }) if self.closing => {
                Err(SendError::Protocol("Unexpected ASGI message after 'websocket.close'".into()))
            }
            (WsOutgoing::Send(message), Phase::Open { .. }) => {
                self.push(Outbound::Message(message))
            }
            (WsOutgoing::Close { code, reason }, Phase::Open { .. }) => {
                self.closing = true;
                self.push(Outbound::Close { code, reason })
            }
            (_, Phase::Closed { .. }) => Err(SendError::Disconnected),
        }
    }

    fn accept(&mut self, subprotocol: Option<String>, extra: HeaderMap) -> Result<Sent, SendError> {
        let Phase::Handshake { respond, upgrade } =
            std::mem::replace(&mut self.phase, Phase::Closed { code: 1006, reason: String::new() })
        else {
            unreachable!("accept is only called during the handshake")
        };
        let mut headers = extra;
        // HTTP/1.1 switches protocols (101 with the key's proof); over HTTP/2 the
        // extended CONNECT's stream simply opens (200).
        let status = match &upgrade.key {
            Some(key) => {
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
                let accept_key = derive_accept_key(key.as_bytes());
                headers.insert(
                    SEC_WEBSOCKET_ACCEPT,
                    HeaderValue::from_str(&accept_key).expect("base64 is a valid header value"),
                );
                StatusCode::SWITCHING_PROTOCOLS
            }
            None => StatusCode::OK,
        };
        if let Some(agreed) = &upgrade.deflate {
            headers.insert(SEC_WEBSOCKET_EXTENSIONS, agreed.clone());
        }
        if let Some(protocol) = subprotocol {
            let value = HeaderValue::from_str(&protocol)
                .map_err(|_| SendError::Protocol(format!("invalid subprotocol {protocol:?}")))?;
            headers.insert(SEC_WEBSOCKET_PROTOCOL, value);
        }
        let head = ResponseHead { status, headers, body: ResponseBody::empty() };
        if respond.send(head).is_err() {
            return Err(SendError::Disconnected);
        }
        let (inbound_tx, inbound) = mpsc::channel(CHANNEL_MESSAGES);
        let (outbound, outbound_rx) = mpsc::channel(CHANNEL_MESSAGES);
        let end_code = Arc::new(AtomicU16::new(1000));
        self.shared.engine.spawn(socket::run(
            upgrade,
            self.shared.websocket,
            inbound_tx,
            outbound_rx,
            end_code.clone(),
        ));
        self.phase = Phase::Open { inbound, outbound, end_code };
        Ok(Sent::Done)
    }

    fn refuse(&mut self, status: StatusCode, text: &'static str) {
        if !matches!(self.phase, Phase::Handshake { .. }) {
            return;
        }
        if let Phase::Handshake { respond, .. } =
            std::mem::replace(&mut self.phase, Phase::Closed { code: 1006, reason: String::new() })
        {
            let headers = plain_text_headers(false);
            let _ = respond.send(ResponseHead { status, headers, body: ResponseBody::full(text) });
        }
    }

    fn push(&mut self, out: Outbound) -> Result<Sent, SendError> {
        let Phase::Open { outbound, .. } = &self.phase else { return Err(SendError::Disconnected) };
        match outbound.try_send(out) {
            Ok(()) => Ok(Sent::Done),
            Err(TrySendError::Closed(_)) => Err(SendError::Disconnected),
            Err(TrySendError::Full(out)) => {
                self.pending = Some(out);
                self.reserve = Some(Box::pin(outbound.clone().reserve_owned()));
                self.flush()
            }
        }
    }

    pub fn flush(&mut self) -> Result<Sent, SendError> {
        if self.reserve.is_none() {
            return Ok(Sent::Done);
        }
        let waker = self.waker(Ready::Send);
        let mut cx = Context::from_waker(&waker);
        let reserve = self.reserve.as_mut().expect("checked above");
        match reserve.as_mut().poll(&mut cx) {
            Poll::Pending => Ok(Sent::Wait),
            Poll::Ready(Err(_)) => {
                self.reserve = None;
                self.pending = None;
                Err(SendError::Disconnected)
            }
            Poll::Ready(Ok(permit)) => {
                self.reserve = None;
                permit.send(self.pending.take().expect("a reservation always has a message"));
                Ok(Sent::Done)
            }
        }
    }

    /// The app returned: a handshake it never answered is refused (403); an open
    /// socket closes normally (the engine sends 1000 when the channel drops).
    pub fn finish(&mut self) {
        self.refuse(StatusCode::FORBIDDEN, "WebSocket connection refused");
        self.drop_channels();
    }

    pub fn fail(&mut self, traceback: &str) {
        if !self.control.is_cancelled() {
            self.shared.log.error(&format!(
                "Error handling WebSocket {} {}\n{}",
                self.method,
                self.uri,
                traceback.trim_end()
            ));
        }
        self.refuse(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        if let Phase::Open { end_code, .. } = &self.phase {
            // Goes out after what the app queued, once drop_channels ends the queue.
            end_code.store(1011, Ordering::Release);
        }
        self.drop_channels();
    }

    pub fn cancel(&mut self) {
        self.refuse(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
        self.drop_channels();
    }

    fn drop_channels(&mut self) {
        self.pending = None;
        self.reserve = None;
        if let Phase::Open { .. } = self.phase {
            self.phase = Phase::Closed { code: 1006, reason: String::new() };
        }
    }
}

impl Drop for WsConn {
    fn drop(&mut self) {
        self.control.finish();
        self.shared.load.fetch_sub(1, Ordering::AcqRel);
    }
}
