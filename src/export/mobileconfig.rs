//! A macOS configuration profile trusting the roots: one `com.apple.security.root` payload per
//! root inside a `Configuration` profile. macOS 11 and later cannot set admin trust settings
//! unattended (`security add-trusted-cert` asks for a password even as root); a profile pushed
//! by an MDM is how fleets trust a root there.
//!
//! Every UUID is name-based (v5) from the fingerprints, so exporting the same roots twice gives
//! the same bytes and an MDM sees an update of one profile rather than a new one.

use super::{display_name, inert_text, ExportError};
use crate::analyze::certinfo::Cert;
use plist::{Dictionary, Value};

/// The namespace of trust-proxy's payload UUIDs (itself v5 of the name in the URL namespace), so
/// they never collide with another tool's name-based UUIDs for the same certificate.
fn namespace() -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        b"trust-proxy:export:mobileconfig",
    )
}

/// The profile identifier's stem. MDMs replace a profile with the same PayloadIdentifier.
const IDENTIFIER: &str = "trust-proxy.root-ca";

fn plain_fingerprint(cert: &Cert) -> String {
    cert.sha256().replace(':', "")
}

pub fn render(roots: &[Cert]) -> Result<Vec<u8>, ExportError> {
    let fingerprints: Vec<String> = roots.iter().map(plain_fingerprint).collect();
    // The profile's identity is the set of roots: the same set, the same profile.
    let set_name = format!("profile:{}", fingerprints.join(","));
    let profile_uuid = uuid::Uuid::new_v5(&namespace(), set_name.as_bytes());
    let profile_identifier = format!("{IDENTIFIER}.{}", profile_uuid.simple());

    let payloads: Vec<Value> = roots
        .iter()
        .zip(&fingerprints)
        .map(|(root, fingerprint)| {
            let name = display_name(root);
            let mut payload = Dictionary::new();
            payload.insert(
                "PayloadCertificateFileName".into(),
                format!("{fingerprint}.cer").into(),
            );
            payload.insert(
                "PayloadContent".into(),
                Value::Data(root.der.as_ref().to_vec()),
            );
            payload.insert(
                "PayloadDescription".into(),
                format!(
                    "Trusts the root CA {} (SHA-256 {})",
                    inert_text(&root.info.subject),
                    root.sha256()
                )
                .into(),
            );
            payload.insert("PayloadDisplayName".into(), name.into());
            payload.insert(
                "PayloadIdentifier".into(),
                format!("{profile_identifier}.{fingerprint}").into(),
            );
            payload.insert("PayloadType".into(), "com.apple.security.root".into());
            payload.insert(
                "PayloadUUID".into(),
                // Under the profile's UUID: unique per profile, stable across re-exports.
                uuid::Uuid::new_v5(&profile_uuid, fingerprint.as_bytes())
                    .hyphenated()
                    .to_string()
                    .to_uppercase()
                    .into(),
            );
            payload.insert("PayloadVersion".into(), Value::Integer(1.into()));
            Value::Dictionary(payload)
        })
        .collect();

    let names: Vec<String> = roots.iter().map(display_name).collect();
    let mut profile = Dictionary::new();
    profile.insert("PayloadContent".into(), Value::Array(payloads));
    profile.insert(
        "PayloadDescription".into(),
        "Root CA of the TLS-intercepting proxy, exported by trust-proxy after its fingerprint was pinned or confirmed".into(),
    );
    profile.insert(
        "PayloadDisplayName".into(),
        format!("Proxy root CA: {}", names.join(", ")).into(),
    );
    profile.insert("PayloadIdentifier".into(), profile_identifier.into());
    // A root trusted for the whole machine (a user-scope profile cannot grant full trust).
    profile.insert("PayloadScope".into(), "System".into());
    profile.insert("PayloadType".into(), "Configuration".into());
    profile.insert(
        "PayloadUUID".into(),
        profile_uuid.hyphenated().to_string().to_uppercase().into(),
    );
    profile.insert("PayloadVersion".into(), Value::Integer(1.into()));

    let mut out = Vec::new();
    Value::Dictionary(profile)
        .to_writer_xml(&mut out)
        .map_err(|e| ExportError::Plist(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}
