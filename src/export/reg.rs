//! A `.reg` file that puts the roots into the LocalMachine Root store for `regedit /s` or
//! `reg import` (as an administrator): the store is the registry key
//! `HKLM\SOFTWARE\Microsoft\SystemCertificates\ROOT\Certificates`, one subkey per certificate
//! named by its SHA-1 thumbprint, whose `Blob` value is the certificate as a serialized store
//! element: properties of `{id: u32, reserved: u32 = 1, length: u32, bytes}` (little-endian),
//! here only CERT_CERT_PROP_ID (32), the DER itself. crypt32 derives every other property from
//! it and keeps the entry only when the SHA-1 of the certificate equals the subkey's name.
//!
//! Written as regedit writes: UTF-16LE with a byte-order mark, CRLF, `hex:` continued over lines
//! of at most 80 characters.

use super::inert_text;
use crate::analyze::certinfo::Cert;

pub const ROOT_CERTIFICATES_KEY: &str =
    r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\SystemCertificates\ROOT\Certificates";

/// CERT_CERT_PROP_ID: the encoded certificate.
const CERT_CERT_PROP_ID: u32 = 32;

/// The store element for one certificate: the DER as its only property.
pub fn blob(der: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(der.len().saturating_add(12));
    out.extend_from_slice(&CERT_CERT_PROP_ID.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    // A certificate is far below 4 GiB (certload caps files at 64 MiB); saturate rather than wrap.
    out.extend_from_slice(&u32::try_from(der.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(der);
    out
}

/// `"Blob"=hex:..` continued as regedit does: a backslash after the comma, two spaces before
/// the next line, no line over 80 characters.
fn hex_value(name: &str, bytes: &[u8]) -> String {
    let mut out = format!("\"{name}\"=hex:");
    let mut line_len = out.len();
    let count = bytes.len();
    for (index, byte) in bytes.iter().enumerate() {
        let last = index.saturating_add(1) == count;
        let item = if last {
            format!("{byte:02x}")
        } else {
            format!("{byte:02x},")
        };
        // Room for the item and a trailing backslash.
        if line_len.saturating_add(item.len()).saturating_add(1) > 80 {
            out.push_str("\\\r\n  ");
            line_len = 2;
        }
        out.push_str(&item);
        line_len = line_len.saturating_add(item.len());
    }
    out
}

/// The text of the `.reg` file, before its UTF-16 encoding.
pub fn text(roots: &[Cert]) -> String {
    let mut out = String::from("Windows Registry Editor Version 5.00\r\n\r\n");
    out.push_str("; Written by `trust-proxy export --format reg` from roots whose SHA-256 fingerprint was\r\n");
    out.push_str("; pinned or confirmed. Import as an administrator: reg import FILE (or regedit /s FILE).\r\n");
    for root in roots {
        out.push_str(&format!(
            "\r\n; {}\r\n; SHA-256 {}\r\n[{ROOT_CERTIFICATES_KEY}\\{}]\r\n{}\r\n",
            inert_text(&root.info.subject),
            root.sha256(),
            root.info.sha1_thumbprint,
            hex_value("Blob", &blob(root.der.as_ref())),
        ));
    }
    out
}

/// The `.reg` file's bytes: UTF-16LE with a byte-order mark, as regedit writes version 5 files.
pub fn render(roots: &[Cert]) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text(roots).encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_lines_stay_within_80_columns_and_hold_every_byte() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let value = hex_value("Blob", &bytes);
        assert!(value.split("\r\n").all(|line| line.len() <= 80), "{value}");
        let digits: String = value
            .trim_start_matches("\"Blob\"=hex:")
            .split("\\\r\n  ")
            .collect();
        let parsed: Vec<u8> = digits
            .split(',')
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect();
        assert_eq!(parsed, bytes);
    }

    #[test]
    fn blob_is_the_certificate_property() {
        assert_eq!(
            blob(&[0xAA, 0xBB]),
            [32, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xAA, 0xBB]
        );
    }
}
