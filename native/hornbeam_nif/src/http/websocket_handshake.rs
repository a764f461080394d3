//! The WebSocket opening handshake as the engine answers it: which requests ask for a
//! WebSocket (RFC 6455 4.2.1 over HTTP/1.1, RFC 8441 over HTTP/2) and which
//! permessage-deflate terms (RFC 7692) we agree to. The frames themselves are the ASGI
//! runner's (`asgi::socket`), once the app accepted.
use hyper::header::{
    self, HeaderMap, HeaderValue, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION,
};
use hyper::{Method, Version};
use yawc::CompressionLevel;

/// A WebSocket handshake: over HTTP/1.1 (RFC 6455: GET, `Upgrade: websocket`,
/// `Connection: upgrade`, version 13), `Some(Some(key))`; over HTTP/2 (RFC 8441: an
/// extended CONNECT with `:protocol` websocket, version 13), `Some(None)`.
pub fn requested<B>(req: &hyper::Request<B>) -> Option<Option<String>> {
    let headers = req.headers();
    if headers.get(SEC_WEBSOCKET_VERSION).is_none_or(|v| v != "13") {
        return None;
    }
    if req.version() == Version::HTTP_2 {
        let protocol = req.extensions().get::<hyper::ext::Protocol>();
        let ok = req.method() == Method::CONNECT
            && protocol.is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"));
        return ok.then_some(None);
    }
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    let ok = req.method() == Method::GET
        && req.version() == Version::HTTP_11
        && has_token(header::UPGRADE, "websocket")
        && has_token(header::CONNECTION, "upgrade");
    if !ok {
        return None;
    }
    headers.get(SEC_WEBSOCKET_KEY).and_then(|k| k.to_str().ok()).map(|k| Some(k.to_string()))
}

/// The `Sec-WebSocket-Extensions` value that accepts the client's permessage-deflate
/// offer, when it offered one in terms we can honour. A client may offer several sets of
/// terms in order of preference (RFC 7692 5), on one header line or several; the first
/// we can honour wins.
pub fn agree_deflate(request_headers: &HeaderMap) -> Option<HeaderValue> {
    request_headers
        .get_all(SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|line| line.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|offer| offer.split(';').next().map(str::trim) == Some("permessage-deflate"))
        .find_map(agree_to_offer)
}

/// yawc negotiates only inside its own handshake, and reads one offer: run it on a probe
/// request holding this offer alone and keep its answer (hyper upgrades the connection
/// itself).
fn agree_to_offer(offer: &str) -> Option<HeaderValue> {
    let mut probe = hyper::Request::builder()
        .header(SEC_WEBSOCKET_VERSION, "13")
        .header(SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
        .header(SEC_WEBSOCKET_EXTENSIONS, offer)
        .body(())
        .ok()?;
    let (answer, _unused_upgrade) =
        yawc::WebSocket::upgrade_with_options(&mut probe, deflate_options()).ok()?;
    answer.headers().get(SEC_WEBSOCKET_EXTENSIONS).cloned()
}

/// Messages shorter than this go out uncompressed (RFC 7692 allows it per message):
/// deflate saves nothing on them. It also keeps yawc 0.5 off an empty message, whose
/// sync flush with nothing pending loops forever (zlib answers Z_BUF_ERROR, never the
/// 00 00 ff ff tail yawc waits for).
const SMALLEST_COMPRESSED: usize = 64;

/// What we agree to: permessage-deflate at zlib's fastest level, with context takeover
/// both ways unless the client asks for none, any window size the client asks for.
pub fn deflate_options() -> yawc::Options {
    yawc::Options::default()
        .with_compression_level(CompressionLevel::fast())
        .with_compression_threshold(SMALLEST_COMPRESSED)
}
