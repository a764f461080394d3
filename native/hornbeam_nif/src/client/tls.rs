//! TLS for the client (hface's `ClientTLSConfig`): rustls with the ring provider, as
//! the server side uses, trusting the given CA certificates or the system's.
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::{Arc, OnceLock};

/// What hface's `ClientTLSConfig` says.
#[derive(Default)]
pub struct Trust {
    /// Accept any certificate (hface's `insecure=True`).
    pub insecure: bool,
    pub cafile: Option<String>,
    pub capath: Option<String>,
    /// PEM text.
    pub cadata: Option<Vec<u8>>,
}

/// A client configuration offering `alpn` (for TCP: `h2`, `http/1.1`; for QUIC: `h3`).
pub fn client_config(trust: &Trust, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let mut config = if trust.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(roots(trust)?).with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

pub fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(name.to_owned()).map_err(|e| format!("invalid server name {name:?}: {e}"))
}

fn roots(trust: &Trust) -> Result<RootCertStore, String> {
    if trust.cafile.is_none() && trust.capath.is_none() && trust.cadata.is_none() {
        return Ok(system_roots().clone());
    }
    let mut roots = RootCertStore::empty();
    if let Some(file) = &trust.cafile {
        let pem = std::fs::read(file).map_err(|e| format!("cafile {file}: {e}"))?;
        add_pem(&mut roots, &pem, file)?;
    }
    if let Some(dir) = &trust.capath {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("capath {dir}: {e}"))?;
        for entry in entries.flatten() {
            // A CA directory holds other files too (hash links, READMEs): only what
            // parses as PEM counts.
            if let Ok(pem) = std::fs::read(entry.path()) {
                let _ = add_pem(&mut roots, &pem, dir);
            }
        }
    }
    if let Some(pem) = &trust.cadata {
        add_pem(&mut roots, pem, "cadata")?;
    }
    if roots.is_empty() {
        return Err("no CA certificate in cafile, capath or cadata".into());
    }
    Ok(roots)
}

fn add_pem(roots: &mut RootCertStore, pem: &[u8], origin: &str) -> Result<(), String> {
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("{origin}: not a PEM certificate: {e}"))?;
        roots.add(cert).map_err(|e| format!("{origin}: {e}"))?;
    }
    Ok(())
}

/// The system's CA certificates, read once per process.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        // Unreadable entries are skipped: one bad file must not leave no trust at all.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        roots
    })
}

/// `insecure=True`: any certificate chain for any name, signatures still checked so the
/// handshake itself is sound.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
