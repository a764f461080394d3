//! HTTP/3 load generator for `bench/http3.sh` (Debian's h2load is built without QUIC).
//! One thread, as h2load runs, so that pinning it to one core measures the server.
//!
//! `h3_load rps HOST:PORT PATH CONNECTIONS STREAMS SECONDS`: CONNECTIONS QUIC
//! connections, each keeping STREAMS requests in flight; prints requests per second
//! (every response must be 200, or it panics).
//!
//! `h3_load download HOST:PORT PATH`: one request; prints MB/s of its body.
//!
//! The server's certificate is not verified: this measures, it does not trust.
use bytes::Buf;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: h3_load rps HOST:PORT PATH CONNS STREAMS SECS | h3_load download HOST:PORT PATH";
    let num = |i: usize| -> u64 { args.get(i).and_then(|a| a.parse().ok()).expect(usage) };
    let addr: SocketAddr = args.get(2).expect(usage).parse().expect("HOST:PORT");
    let path = args.get(3).expect(usage);
    let uri: http::Uri = format!("https://localhost:{}{path}", addr.port()).parse().expect("PATH");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _entered = runtime.enter();
    let endpoint = client_endpoint();
    // Each connection's driver is a local task: everything runs on this one thread.
    let local = tokio::task::LocalSet::new();
    let result = match args.get(1).map(String::as_str) {
        Some("rps") => {
            let (conns, streams, secs) = (num(4), num(5), num(6));
            local.block_on(&runtime, rps(&endpoint, addr, uri, conns, streams, secs))
        }
        Some("download") => local.block_on(&runtime, download(&endpoint, addr, uri)),
        _ => panic!("{usage}"),
    };
    println!("{result:.0}");
}

type SendRequest = h3::client::SendRequest<h3_quinn::OpenStreams, bytes::Bytes>;

async fn connect(endpoint: &quinn::Endpoint, addr: SocketAddr) -> SendRequest {
    let quic = endpoint.connect(addr, "localhost").expect("connect").await.expect("handshake");
    let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(quic)).await.expect("h3");
    tokio::task::spawn_local(async move {
        let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
    });
    send
}

/// One request; returns the body's length.
async fn get(send: &mut SendRequest, uri: &http::Uri) -> usize {
    let request = http::Request::get(uri.clone()).body(()).unwrap();
    let mut stream = send.send_request(request).await.expect("send");
    stream.finish().await.expect("finish");
    let response = stream.recv_response().await.expect("response");
    assert_eq!(response.status(), 200, "{uri}");
    let mut length = 0;
    while let Some(chunk) = stream.recv_data().await.expect("body") {
        length += chunk.remaining();
    }
    length
}

/// Requests per second over `conns` connections with `streams` requests in flight each.
async fn rps(
    endpoint: &quinn::Endpoint,
    addr: SocketAddr,
    uri: http::Uri,
    conns: u64,
    streams: u64,
    secs: u64,
) -> f64 {
    // Every connection first: the clock starts once all of them can send.
    let mut connections = Vec::new();
    for _ in 0..conns {
        connections.push(connect(endpoint, addr).await);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for send in connections {
        for _ in 0..streams {
            let (mut send, uri) = (send.clone(), uri.clone());
            tasks.push(tokio::task::spawn_local(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    get(&mut send, &uri).await;
                    done += 1;
                }
                done
            }));
        }
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// MB/s (10^6 bytes) of one response's body.
async fn download(endpoint: &quinn::Endpoint, addr: SocketAddr, uri: http::Uri) -> f64 {
    let mut send = connect(endpoint, addr).await;
    let started = Instant::now();
    let length = get(&mut send, &uri).await;
    length as f64 / 1e6 / started.elapsed().as_secs_f64()
}

fn client_endpoint() -> quinn::Endpoint {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let mut endpoint = quinn::Endpoint::client("0.0.0.0:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    endpoint
}

/// Accepts any certificate, checking only that the handshake is signed by its key.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
