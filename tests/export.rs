//! `trust-proxy export`: every format read back by a parser trust-proxy does not contain
//! (python3's plistlib, base64 and codecs; openssl), re-exports byte-identical, and the pin rules
//! of install: a refusal writes nothing and leaves an existing file as it was.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use trust_proxy_testkit::*;

fn bin() -> Command {
    trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"))
}

fn run(c: &mut Command) -> (i32, String, String) {
    trust_proxy_testkit::cli::output_text(c).unwrap()
}

fn sha256_hex(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

fn sha1_hex(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    d.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

/// A root whose name tries to break out of every format's syntax.
const HOSTILE_NAME: &str = "Corp Root' \n$(Start-Process calc)`\"</string><!-- \u{202e}";

struct Fixture {
    dir: tempfile::TempDir,
    root: Ca,
    ca_file: PathBuf,
}

fn fixture(name: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::new_root(name);
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, root.cert_pem()).unwrap();
    Fixture { dir, root, ca_file }
}

fn export(f: &Fixture, format: &str, output: &Path, pin: Option<&str>) -> (i32, String, String) {
    let mut c = bin();
    c.arg("export")
        .arg("--ca-file")
        .arg(&f.ca_file)
        .args(["--format", format, "--json", "--output"])
        .arg(output);
    if let Some(pin) = pin {
        c.args(["--fingerprint", pin]);
    }
    run(&mut c)
}

fn python(script: &str, arg: &Path) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(arg)
        .output()
        .expect("python3 (scripts/install-deps.sh installs it)");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn openssl_fingerprint(path: &Path, inform: &str) -> String {
    let out = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-inform",
            inform,
            "-in",
        ])
        .arg(path)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_uppercase()
}

#[test]
fn pem_and_der_are_read_back_by_openssl() {
    let f = fixture("Export PEM DER Root");
    let fp = sha256_hex(&f.root.cert_der());
    for (format, inform) in [("pem", "PEM"), ("der", "DER")] {
        let out = f.dir.path().join(format!("root.{format}"));
        let (code, stdout, stderr) = export(&f, format, &out, Some(&fp));
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert_eq!(openssl_fingerprint(&out, inform), fp, "{format}");
    }
    let der = std::fs::read(f.dir.path().join("root.der")).unwrap();
    assert_eq!(
        der,
        f.root.cert_der().as_ref(),
        "the .cer is the DER itself"
    );
}

const PLIST_CHECK: &str = r#"
import hashlib, json, plistlib, sys, uuid
with open(sys.argv[1], 'rb') as f:
    profile = plistlib.load(f)
assert profile['PayloadType'] == 'Configuration', profile['PayloadType']
assert profile['PayloadVersion'] == 1
assert profile['PayloadScope'] == 'System'
uuid.UUID(profile['PayloadUUID'])
payloads = profile['PayloadContent']
out = {'profile_uuid': profile['PayloadUUID'], 'profile_id': profile['PayloadIdentifier'],
       'display': profile['PayloadDisplayName'], 'payloads': []}
for p in payloads:
    assert p['PayloadType'] == 'com.apple.security.root', p['PayloadType']
    assert p['PayloadVersion'] == 1
    assert isinstance(p['PayloadContent'], bytes)
    assert p['PayloadIdentifier'].startswith(profile['PayloadIdentifier'] + '.')
    out['payloads'].append({'sha256': hashlib.sha256(p['PayloadContent']).hexdigest().upper(),
                            'uuid': str(uuid.UUID(p['PayloadUUID'])).upper(),
                            'name': p['PayloadDisplayName']})
print(json.dumps(out))
"#;

#[test]
fn mobileconfig_is_a_profile_plistlib_reads_with_the_der_in_a_root_payload() {
    let f = fixture(HOSTILE_NAME);
    let fp = sha256_hex(&f.root.cert_der());
    let out = f.dir.path().join("root.mobileconfig");
    let (code, stdout, stderr) = export(&f, "mobileconfig", &out, Some(&fp));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let parsed: serde_json::Value = serde_json::from_str(&python(PLIST_CHECK, &out)).unwrap();
    let payloads = parsed["payloads"].as_array().unwrap();
    assert_eq!(payloads.len(), 1);
    assert_eq!(payloads[0]["sha256"], fp);
    // The hostile name reaches the profile only as inert text.
    let name = payloads[0]["name"].as_str().unwrap();
    assert!(name.starts_with("Corp Root"), "{name}");
    assert!(
        !name.contains(['\'', '\n', '`', '"', '<', '\u{202e}']),
        "{name}"
    );
    assert_ne!(payloads[0]["uuid"], parsed["profile_uuid"]);

    // Re-exporting the same root: the same bytes (UUIDs from the fingerprint), not rewritten.
    let before = std::fs::read(&out).unwrap();
    let mtime = std::fs::metadata(&out).unwrap().modified().unwrap();
    let (code, stdout, _) = export(&f, "mobileconfig", &out, Some(&fp));
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["changed"], false, "{stdout}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(std::fs::metadata(&out).unwrap().modified().unwrap(), mtime);

    // Another root: another profile identity.
    let other = fixture("Export Other Root");
    let other_out = other.dir.path().join("other.mobileconfig");
    let other_fp = sha256_hex(&other.root.cert_der());
    assert_eq!(
        export(&other, "mobileconfig", &other_out, Some(&other_fp)).0,
        0
    );
    let other_parsed: serde_json::Value =
        serde_json::from_str(&python(PLIST_CHECK, &other_out)).unwrap();
    assert_ne!(other_parsed["profile_uuid"], parsed["profile_uuid"]);
    assert_ne!(other_parsed["profile_id"], parsed["profile_id"]);
}

/// Reads the ps1's table the way PowerShell would see the literals: single-quoted strings.
const PS1_CHECK: &str = r#"
import base64, hashlib, json, re, sys
text = open(sys.argv[1], encoding='ascii').read()
entries = re.findall(r"@\{\s*Name\s*=\s*'([^']*)'\s*Subject\s*=\s*'([^']*)'\s*Thumbprint\s*=\s*'([0-9A-F]{40})'\s*Sha256\s*=\s*'([0-9A-F]{64})'\s*Base64\s*=\s*'([A-Za-z0-9+/=]+)'\s*\}", text)
out = []
for name, subject, thumb, sha, b64 in entries:
    der = base64.b64decode(b64, validate=True)
    out.append({'name': name, 'subject': subject, 'thumbprint': thumb, 'sha256': sha,
                'der_sha1': hashlib.sha1(der).hexdigest().upper(),
                'der_sha256': hashlib.sha256(der).hexdigest().upper()})
print(json.dumps({'entries': out, 'imports_into_root': "Import-Certificate -FilePath $file -CertStoreLocation 'Cert:\\LocalMachine\\Root'" in text,
                  'quotes': text.count("'")}))
"#;

#[test]
fn ps1_embeds_the_certificate_with_its_windows_thumbprint_and_fingerprint() {
    let f = fixture(HOSTILE_NAME);
    let der = f.root.cert_der();
    let fp = sha256_hex(&der);
    let out = f.dir.path().join("root.ps1");
    let (code, stdout, stderr) = export(&f, "ps1", &out, Some(&fp));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let parsed: serde_json::Value = serde_json::from_str(&python(PS1_CHECK, &out)).unwrap();
    let entries = parsed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{parsed}");
    let e = &entries[0];
    assert_eq!(e["der_sha256"], fp);
    assert_eq!(e["sha256"], fp);
    assert_eq!(e["der_sha1"], sha1_hex(&der));
    assert_eq!(e["thumbprint"], sha1_hex(&der));
    assert_eq!(parsed["imports_into_root"], true);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains("Start-Process calc)`"),
        "hostile text reached the script"
    );
    assert!(!text.contains('\u{202e}'));
}

/// Reads the .reg as regedit does: UTF-16LE with a BOM, continuation lines, `hex:` bytes; then
/// the serialized certificate element inside `Blob`.
const REG_CHECK: &str = r#"
import hashlib, json, struct, sys
raw = open(sys.argv[1], 'rb').read()
assert raw[:2] == b'\xff\xfe', 'no UTF-16LE BOM'
text = raw[2:].decode('utf-16-le').replace('\\\r\n  ', '')
lines = text.split('\r\n')
assert lines[0] == 'Windows Registry Editor Version 5.00', lines[0]
out = []
key = None
for line in lines:
    if line.startswith('['):
        key = line.strip('[]')
    elif line.startswith('"Blob"=hex:'):
        blob = bytes(int(h, 16) for h in line[len('"Blob"=hex:'):].split(','))
        prop, reserved, length = struct.unpack('<III', blob[:12])
        der = blob[12:]
        assert len(der) == length, (len(der), length)
        out.append({'key': key, 'prop': prop, 'reserved': reserved,
                    'der_sha1': hashlib.sha1(der).hexdigest().upper(),
                    'der_sha256': hashlib.sha256(der).hexdigest().upper()})
print(json.dumps(out))
"#;

#[test]
fn reg_holds_the_certificate_under_its_thumbprint_in_localmachine_root() {
    let f = fixture("Export Reg Root");
    let der = f.root.cert_der();
    let fp = sha256_hex(&der);
    let out = f.dir.path().join("root.reg");
    let (code, stdout, stderr) = export(&f, "reg", &out, Some(&fp));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let parsed: serde_json::Value = serde_json::from_str(&python(REG_CHECK, &out)).unwrap();
    let entries = parsed.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{parsed}");
    let e = &entries[0];
    assert_eq!(
        e["key"],
        format!(
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\{}",
            sha1_hex(&der)
        )
    );
    assert_eq!(e["prop"], 32, "CERT_CERT_PROP_ID");
    assert_eq!(e["reserved"], 1);
    assert_eq!(e["der_sha256"], fp);
    assert_eq!(e["der_sha1"], sha1_hex(&der));
}

#[test]
fn refusals_write_nothing_and_keep_an_existing_file() {
    let f = fixture("Export Refused Root");
    let out = f.dir.path().join("root.mobileconfig");
    // No pin and no terminal: refused as install refuses.
    let (code, _, stderr) = export(&f, "mobileconfig", &out, None);
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("--fingerprint"), "{stderr}");
    assert!(!out.exists());
    // A wrong pin: refused, and what was there stays.
    std::fs::write(&out, b"previous profile").unwrap();
    let (code, _, stderr) = export(&f, "mobileconfig", &out, Some(&"00".repeat(32)));
    assert_eq!(code, 6, "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous profile");
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no temporary file left: {leftovers:?}");
}

#[test]
fn a_symlink_at_the_output_is_refused() {
    let f = fixture("Export Symlink Root");
    let fp = sha256_hex(&f.root.cert_der());
    let target = f.dir.path().join("elsewhere");
    std::fs::write(&target, b"not yours").unwrap();
    let link = f.dir.path().join("root.pem");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (code, _, stderr) = export(&f, "pem", &link, Some(&fp));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(std::fs::read(&target).unwrap(), b"not yours");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn a_der_export_of_two_roots_asks_which() {
    let a = fixture("Export Two Root A");
    let b = Ca::new_root("Export Two Root B");
    let both = a.dir.path().join("both.pem");
    std::fs::write(&both, format!("{}{}", a.root.cert_pem(), b.cert_pem())).unwrap();
    let out = a.dir.path().join("root.cer");
    let mut c = bin();
    c.arg("export")
        .arg("--ca-file")
        .arg(&both)
        .args(["--format", "der", "--output"])
        .arg(&out)
        .args(["--fingerprint", &sha256_hex(&a.root.cert_der())])
        .args(["--fingerprint", &sha256_hex(&b.cert_der())]);
    let (code, _, stderr) = run(&mut c);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("one certificate"), "{stderr}");
    assert!(!out.exists());
}

/// From discover through an intercepting proxy: the network-only root needs the pin; with it,
/// the exported PEM is the proxy's root.
#[test]
fn export_from_discover_follows_the_pin_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = Arc::new(Ca::new_root("Export Proxy Root"));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        root.clone(),
        vec![root.cert_der()],
    )))
    .unwrap();
    let out = dir.path().join("root.pem");
    let probe = |c: &mut Command| {
        c.args([
            "export", "--format", "pem", "--target", "pypi.org", "--proxy",
        ])
        .arg(proxy.url())
        .arg("--output")
        .arg(&out);
    };
    let mut unpinned = bin();
    probe(&mut unpinned);
    let (code, _, stderr) = run(&mut unpinned);
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("network only"), "{stderr}");
    assert!(!out.exists());

    let mut pinned = bin();
    probe(&mut pinned);
    pinned.args(["--fingerprint", &sha256_hex(&root.cert_der())]);
    let (code, stdout, stderr) = run(&mut pinned);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        openssl_fingerprint(&out, "PEM"),
        sha256_hex(&root.cert_der())
    );
}
