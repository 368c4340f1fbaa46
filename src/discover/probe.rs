//! The probe handshake: rustls with SNI and a verifier that records the presented chain and then
//! aborts. No certificate is trusted and no application data is ever sent.

use crate::discover::tunnel::{io_error, Stream, TunnelError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::io;
use std::sync::{Arc, Mutex};

/// What the server (or the proxy posing as it) presented.
#[derive(Debug, Clone)]
pub struct Presented {
    pub chain: Vec<CertificateDer<'static>>,
    pub tls_version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Tunnel(#[from] TunnelError),
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    #[error("the server refused the TLS handshake (alert {0}): it may want a client certificate, or a TLS version or cipher other than the TLS 1.2 and 1.3 ones trust-proxy offers")]
    Alert(String),
    #[error("the server did not answer in TLS ({0}): is this a TLS port?")]
    NotTls(String),
    #[error("the TLS handshake finished without the server showing a certificate")]
    NoCertificate,
}

impl ProbeError {
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeError::Tunnel(t) => t.kind(),
            ProbeError::Tls(_) | ProbeError::NoCertificate => "tls",
            ProbeError::Alert(_) => "tls_alert",
            ProbeError::NotTls(_) => "not_tls",
        }
    }
}

/// Runs the handshake over `stream` until the server's certificate message has been seen.
pub fn capture_chain(mut stream: Stream, server_name: &str) -> Result<Presented, ProbeError> {
    let recorder = Arc::new(Recorder::default());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ProbeError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|e| ProbeError::Tls(format!("invalid server name: {e}")))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| ProbeError::Tls(e.to_string()))?;

    let outcome = drive(&mut conn, &mut stream);
    let version = conn
        .protocol_version()
        .map(|v| match v {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
            other => format!("{other:?}"),
        })
        .unwrap_or_default();
    let chain = recorder.chain.lock().ok().and_then(|mut c| c.take());
    match (chain, outcome) {
        (Some(chain), _) => Ok(Presented {
            chain,
            tls_version: version,
        }),
        (None, Err(e)) => Err(e),
        (None, Ok(())) => Err(ProbeError::NoCertificate),
    }
}

/// Pumps the handshake; ends when the recorder aborts it (the normal way) or the peer fails.
fn drive(conn: &mut rustls::ClientConnection, stream: &mut Stream) -> Result<(), ProbeError> {
    while conn.is_handshaking() {
        while conn.wants_write() {
            conn.write_tls(stream)
                .map_err(|e| io_error("starting the TLS handshake", e))?;
        }
        let n = conn
            .read_tls(stream)
            .map_err(|e| map_read_error(e, "waiting for the server's TLS reply"))?;
        if n == 0 {
            return Err(TunnelError::Closed {
                stage: "in the middle of the TLS handshake".to_string(),
            }
            .into());
        }
        if let Err(e) = conn.process_new_packets() {
            // Let the peer know why we stop (the alert may follow other queued records, and a
            // plain write takes one buffer at a time); a failure here changes nothing.
            while conn.wants_write() {
                if conn.write_tls(stream).is_err() {
                    break;
                }
            }
            return Err(classify(e));
        }
    }
    Ok(())
}

fn map_read_error(e: io::Error, stage: &str) -> ProbeError {
    ProbeError::Tunnel(io_error(stage, e))
}

fn classify(e: rustls::Error) -> ProbeError {
    match e {
        rustls::Error::AlertReceived(a) => ProbeError::Alert(format!("{a:?}")),
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
            ProbeError::NotTls("its reply is not a TLS record".to_string())
        }
        rustls::Error::InvalidMessage(_) => {
            ProbeError::NotTls("its reply is a malformed TLS message".to_string())
        }
        other => ProbeError::Tls(other.to_string()),
    }
}

/// Records the chain and refuses it, which makes rustls abort before any application data.
#[derive(Debug, Default)]
struct Recorder {
    chain: Mutex<Option<Vec<CertificateDer<'static>>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut slot) = self.chain.lock() {
            *slot = Some(chain);
        }
        Err(rustls::Error::General(
            "chain recorded; probe stops here".to_string(),
        ))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General(
            "probe never gets this far".to_string(),
        ))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General(
            "probe never gets this far".to_string(),
        ))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
