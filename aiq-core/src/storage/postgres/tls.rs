//! `DATABASE_URL` parsing with libpq's TLS semantics.
//!
//! tokio-postgres understands `sslmode=disable|prefer|require` but not `verify-ca`,
//! `verify-full` or `sslrootcert`, and leaves the TLS implementation to the caller. This module
//! gives the URL the meaning `psql` gives it:
//! - `disable`: plain TCP;
//! - `prefer` (the default) and `require`: encrypted when the server offers it (required for
//!   `require`), the certificate not checked, as libpq does; managed databases such as
//!   Railway's use self-signed certificates;
//! - `verify-ca`: the certificate must chain to a trusted root (`sslrootcert`, else the Mozilla
//!   roots); `verify-full`: that, and it must name the host.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::storage::StorageError;

/// How far the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verify {
    Nothing,
    Chain,
    ChainAndHost,
}

/// The connection settings and the TLS connector a URL asks for.
pub(super) struct Connection {
    pub(super) config: tokio_postgres::Config,
    pub(super) tls: MakeRustlsConnect,
}

/// A URL split into what tokio-postgres understands and the TLS options it does not.
struct Parsed {
    config: tokio_postgres::Config,
    verify: Verify,
    root_cert: Option<String>,
}

fn invalid(message: impl Into<String>) -> StorageError {
    StorageError::Unavailable(message.into().into())
}

/// Whether `url` is a PostgreSQL URL this backend can use (nothing is opened or read).
pub(crate) fn is_valid_url(url: &str) -> bool {
    (url.starts_with("postgres://") || url.starts_with("postgresql://")) && split(url).is_ok()
}

/// Parses `url` and builds the TLS connector it asks for.
pub(super) fn parse(url: &str) -> Result<Connection, StorageError> {
    let parsed = split(url)?;
    let tls = connector(parsed.verify, parsed.root_cert.as_deref())?;
    Ok(Connection {
        config: parsed.config,
        tls,
    })
}

fn split(url: &str) -> Result<Parsed, StorageError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut verify = Verify::Nothing;
    let mut root_cert = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match (key, value) {
            ("sslmode", "verify-ca") => verify = Verify::Chain,
            ("sslmode", "verify-full") => verify = Verify::ChainAndHost,
            ("sslrootcert", path) => root_cert = Some(path.to_owned()),
            _ => kept.push(pair),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: tokio_postgres::Config = rebuilt
        .parse()
        .map_err(|e| invalid(format!("DATABASE_URL is not a valid PostgreSQL URL: {e}")))?;
    if verify != Verify::Nothing {
        config.ssl_mode(SslMode::Require);
    }
    Ok(Parsed {
        config,
        verify,
        root_cert,
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn connector(verify: Verify, root_cert: Option<&str>) -> Result<MakeRustlsConnect, StorageError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| StorageError::Backend(Box::new(e)))?;
    let config = if verify == Verify::Nothing {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        match root_cert {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| invalid(format!("sslrootcert {path:?} cannot be read: {e}")))?;
                for cert in certs {
                    let cert = cert.map_err(|e| invalid(format!("sslrootcert {path:?}: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| invalid(format!("sslrootcert {path:?}: {e}")))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| StorageError::Backend(Box::new(e)))?;
        let verifier: Arc<dyn ServerCertVerifier> = if verify == Verify::Chain {
            Arc::new(ChainOnly(webpki))
        } else {
            webpki
        };
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth()
    };
    Ok(MakeRustlsConnect::new(config))
}

/// `prefer`/`require`: encryption without authentication of the server, as libpq does. The
/// handshake signatures are still checked, so the session keys belong to whoever holds the
/// certificate's key.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
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

/// `verify-ca`: the chain must be trusted, the name on the certificate is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn railway_urls_parse() {
        for url in [
            "postgresql://postgres:pw@postgres.railway.internal:5432/railway",
            "postgres://postgres:pw@postgres-6_4y.railway.internal:5432/railway",
            "postgresql://postgres:pw@roundhouse.proxy.rlwy.net:41234/railway?sslmode=require",
        ] {
            let connection = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(connection.config.get_dbname(), Some("railway"));
        }
    }

    #[test]
    fn verify_modes_become_require_and_leave_the_url() {
        let connection = parse("postgres://u@h/db?sslmode=verify-full&application_name=x").unwrap();
        assert_eq!(connection.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(connection.config.get_application_name(), Some("x"));
        let connection = parse("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!(connection.config.get_ssl_mode(), SslMode::Disable);
    }

    #[test]
    fn a_missing_root_certificate_is_reported() {
        let err = parse("postgres://u@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/root.pem")
            .err()
            .expect("refused");
        assert!(err.to_string().contains("sslrootcert"), "{err}");
    }
}
