//! TLS for the engine: a rustls server configuration (ring provider) from the PEM
//! files `hornbeam_server` read, with ALPN offering the protocols the server speaks.
use rustls::crypto::ring;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The PEM contents of `certfile`, `keyfile` and, for client certificates,
/// `cacertfile`.
pub struct TlsFiles {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
    pub cacert: Option<Vec<u8>>,
}

/// Which option's file is wrong, and why.
pub type TlsError = (&'static str, String);

/// For TCP: TLS 1.2 and 1.3, ALPN offering `h2` and `http/1.1` as configured.
pub fn server_config(
    files: &TlsFiles,
    http1: bool,
    http2: bool,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = certified(files, &[&rustls::version::TLS13, &rustls::version::TLS12])?;
    if http2 {
        config.alpn_protocols.push(b"h2".to_vec());
    }
    if http1 {
        config.alpn_protocols.push(b"http/1.1".to_vec());
    }
    Ok(Arc::new(config))
}

/// For QUIC (RFC 9001): TLS 1.3 only, ALPN `h3`, and no 0-RTT (early data can be
/// replayed, and no application here says which requests are safe to replay).
pub fn quic_server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = certified(files, &[&rustls::version::TLS13])?;
    config.alpn_protocols = vec![b"h3".to_vec()];
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
}

fn certified(
    files: &TlsFiles,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<ServerConfig, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&files.cert)
        .collect::<Result<_, _>>()
        .map_err(|e| ("certfile", format!("not a PEM certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(("certfile", "no certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&files.key)
        .map_err(|e| ("keyfile", format!("no PEM private key: {e}")))?;
    let provider = Arc::new(ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| ("ssl", e.to_string()))?;
    let builder = match &files.cacert {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for ca in CertificateDer::pem_slice_iter(pem) {
                let ca = ca.map_err(|e| ("cacertfile", format!("not a PEM certificate: {e}")))?;
                roots.add(ca).map_err(|e| ("cacertfile", e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(("cacertfile", "no certificate in the file".into()));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| ("cacertfile", e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder
        .with_single_cert(certs, key)
        .map_err(|e| ("keyfile", format!("does not match the certificate: {e}")))
}
