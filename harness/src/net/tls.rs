//! TLS for `wss://` with rustls (ring provider): system roots, an extra CA file, an insecure
//! mode for self-signed test servers, and a server name override for SNI.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// TLS settings.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// A PEM file of CA certificates to trust, besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate. For test servers with self-signed certificates only.
    pub insecure: bool,
    /// The server name to send in SNI and verify, instead of the URL's host.
    pub sni: Option<String>,
}

/// Why TLS could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// The CA file could not be read or holds no certificate.
    #[error("cannot use CA file {path}: {reason}")]
    CaFile {
        /// The path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The server's certificate or key file could not be read or used.
    #[error("cannot use {path}: {reason}")]
    ServerFile {
        /// The path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The server name is not a valid DNS name or IP address.
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The rustls server configuration for `wsconform serve --tls-cert CERT --tls-key KEY` (PEM
/// files: the certificate chain, and its private key).
pub fn server_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let file = |path: &std::path::Path, reason: String| TlsError::ServerFile {
        path: path.display().to_string(),
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(file(cert, "no certificate in it".into()));
    }
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key)
        .map_err(|e| file(key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(config))
}

impl TlsOptions {
    /// The rustls client configuration.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let config = if self.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
                .with_no_client_auth()
        } else {
            builder
                .with_root_certificates(self.roots()?)
                .with_no_client_auth()
        };
        Ok(Arc::new(config))
    }

    /// The name to present for `host`.
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, TlsError> {
        let name = self.sni.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_owned()).map_err(|_| TlsError::ServerName(name.to_owned()))
    }

    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        // System roots; a machine without any still works with --ca.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = &self.ca_file {
            let ca_error = |reason: String| TlsError::CaFile {
                path: path.display().to_string(),
                reason,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| ca_error(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ca_error(e.to_string()))?;
            if certs.is_empty() {
                return Err(ca_error("no PEM certificate in it".into()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| ca_error(e.to_string()))?;
            }
        }
        Ok(roots)
    }
}

/// `--insecure`: accepts any certificate, but still checks handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
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
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
