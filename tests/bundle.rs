//! The bundle files checked against the real consumers: `openssl x509 -subject_hash` for the
//! subject hash, `openssl rehash` / `openssl verify -CApath` for the hashed directory, and
//! openssl, Python's ssl module and curl for the PEM bundle. A missing tool skips its test with a
//! message (they are all installed where scripts/test-all.sh runs).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, IsCa, KeyPair,
};
use trust_proxy::analyze::certinfo::Cert;
use trust_proxy::analyze::certload::{load_certs, load_certs_lenient};
use trust_proxy::install::bundle::{
    compose_bundle, hashed_dir_entries, mozilla_roots, openssl_name_hash, openssl_subject_hash,
    public_roots_needed, render_bundle_pem, render_proxy_ca_pem, sync_hashed_dir, BundleCert,
    BundleError, DirChange, Origin,
};
use trust_proxy_platform::Distrust;
use trust_proxy_testkit::pki::pem_encode;
use trust_proxy_testkit::Ca;
use x509_parser::asn1_rs::{Any, FromDer};

const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

// ----- helpers -------------------------------------------------------------------------------

fn have(tool: &str, arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipping: {tool} is not installed");
    }
    ok
}

struct Output {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(tool: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {tool}: {e}"));
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    Output {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn openssl_hash_of_der(der: &[u8]) -> Result<u32, String> {
    let out = run(
        "openssl",
        &["x509", "-inform", "DER", "-noout", "-subject_hash"],
        Some(der),
    );
    if !out.ok {
        return Err(out.stderr);
    }
    u32::from_str_radix(out.stdout.trim(), 16).map_err(|e| format!("{e}: {:?}", out.stdout))
}

fn cert_of(der: &[u8]) -> Cert {
    Cert::parse(der).expect("parse test cert")
}

fn self_signed(dn: DistinguishedName, ca: bool) -> Cert {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    let cert = params.self_signed(&key).expect("self-sign");
    cert_of(cert.der())
}

fn dn(parts: Vec<(DnType, DnValue)>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (ty, v) in parts {
        dn.push(ty, v);
    }
    dn
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(body);
    out
}

/// A copy of `der` with its subject replaced by `name` (the signature no longer verifies, which
/// neither `openssl x509 -subject_hash` nor the hash cares about). This reaches encodings no
/// certificate generator writes: T61String, Latin-1 bytes in a PrintableString, unsorted SETs.
fn with_subject(der: &[u8], name: &[u8]) -> Vec<u8> {
    let (_, cert) = Any::from_der(der).expect("cert");
    let (after_tbs, tbs) = Any::from_der(cert.data).expect("tbs");
    let rest_of_cert = after_tbs;
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut input = tbs.data;
    while !input.is_empty() {
        let (after, _) = Any::from_der(input).expect("field");
        fields.push(&input[..input.len() - after.len()]);
        input = after;
    }
    // [0] version, serial, signature, issuer, validity, subject, ...
    let subject_index = 5;
    let mut body = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        body.extend_from_slice(if i == subject_index { name } else { f });
    }
    let mut cert_body = tlv(0x30, &body);
    cert_body.extend_from_slice(rest_of_cert);
    tlv(0x30, &cert_body)
}

const CN: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
const O: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x0a];
const OU: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x0b];
const SERIAL: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x05];
const EMAIL: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01,
];
const DC: &[u8] = &[
    0x06, 0x0a, 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19,
];

/// (OID TLV, value tag, value bytes).
type Attr<'a> = (&'a [u8], u8, &'a [u8]);

/// A Name from RDNs of attributes.
fn name(rdns: &[&[Attr<'_>]]) -> Vec<u8> {
    let mut body = Vec::new();
    for rdn in rdns {
        let mut set = Vec::new();
        for (oid, tag, value) in *rdn {
            let mut attr = oid.to_vec();
            attr.extend(tlv(*tag, value));
            set.extend(tlv(0x30, &attr));
        }
        body.extend(tlv(0x31, &set));
    }
    tlv(0x30, &body)
}

fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

fn utf32be(s: &str) -> Vec<u8> {
    s.chars().flat_map(|c| u32::from(c).to_be_bytes()).collect()
}

fn system_certs() -> Option<Vec<Cert>> {
    let bytes = std::fs::read(SYSTEM_BUNDLE).ok()?;
    let (certs, bad) = load_certs_lenient(&bytes).ok()?;
    assert!(bad.is_empty(), "unparsable certificates in {SYSTEM_BUNDLE}");
    Some(certs)
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

// ----- subject hash --------------------------------------------------------------------------

#[test]
fn subject_hash_matches_openssl_for_every_system_root() {
    if !have("openssl", "version") {
        return;
    }
    let Some(certs) = system_certs() else {
        eprintln!("skipping: no {SYSTEM_BUNDLE}");
        return;
    };
    assert!(certs.len() >= 100, "only {} roots", certs.len());
    let mut mismatches = Vec::new();
    for cert in &certs {
        let ours = openssl_subject_hash(cert).expect("hash");
        let theirs = openssl_hash_of_der(cert.der.as_ref()).expect("openssl");
        if ours != theirs {
            mismatches.push(format!("{ours:08x} != {theirs:08x}: {}", cert.info.subject));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    eprintln!(
        "{} system roots: all subject hashes match openssl",
        certs.len()
    );
}

#[test]
fn subject_hash_matches_openssl_for_every_mozilla_root() {
    if !have("openssl", "version") {
        return;
    }
    let certs = mozilla_roots();
    assert_eq!(
        certs.len(),
        webpki_root_certs::TLS_SERVER_ROOT_CERTS.len(),
        "every Mozilla root parses"
    );
    for cert in &certs {
        let ours = openssl_subject_hash(cert).expect("hash");
        let theirs = openssl_hash_of_der(cert.der.as_ref()).expect("openssl");
        assert_eq!(ours, theirs, "{}", cert.info.subject);
    }
}

#[test]
fn subject_hash_matches_openssl_for_generated_names() {
    if !have("openssl", "version") {
        return;
    }
    let p = |s: &str| DnValue::PrintableString(PrintableString::try_from(s).expect("printable"));
    let u = |s: &str| DnValue::Utf8String(s.to_string());
    let cases: Vec<(&str, DistinguishedName)> = vec![
        (
            "mixed case",
            dn(vec![(DnType::CommonName, u("MiXeD Case CA"))]),
        ),
        (
            "extra spaces",
            dn(vec![
                (DnType::OrganizationName, u("  Acme   Corp  ")),
                (DnType::CommonName, u("\tRoot \t  CA\n")),
            ]),
        ),
        (
            "utf-8",
            dn(vec![
                (DnType::CountryName, p("CH")),
                (DnType::LocalityName, u("Zürich")),
                (DnType::CommonName, u("ZÜRICH Straße Ω 日本")),
            ]),
        ),
        ("printable", dn(vec![(DnType::CommonName, p("Same Text"))])),
        ("utf8 twin", dn(vec![(DnType::CommonName, u("same  text"))])),
        (
            "bmp",
            dn(vec![(
                DnType::CommonName,
                DnValue::BmpString(BmpString::try_from("Bmp Zürich").expect("bmp")),
            )]),
        ),
        (
            "universal",
            dn(vec![(
                DnType::CommonName,
                DnValue::UniversalString(UniversalString::try_from("Univ 日本 😀").expect("ucs4")),
            )]),
        ),
        (
            "teletex",
            dn(vec![(
                DnType::CommonName,
                DnValue::TeletexString(TeletexString::try_from("Teletex CA").expect("t61")),
            )]),
        ),
        (
            "email ia5",
            dn(vec![
                (DnType::CommonName, u("Mail CA")),
                (
                    DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
                    DnValue::Ia5String(Ia5String::try_from("Admin@Example.COM").expect("ia5")),
                ),
            ]),
        ),
    ];
    let mut hashes = BTreeMap::new();
    for (label, dn) in cases {
        let cert = self_signed(dn, true);
        let ours = openssl_subject_hash(&cert).expect("hash");
        let theirs = openssl_hash_of_der(cert.der.as_ref()).expect("openssl");
        assert_eq!(ours, theirs, "{label}: {}", cert.info.subject);
        hashes.insert(label, ours);
    }
    // Canonicalisation makes a PrintableString and a differently spaced/cased UTF8String equal.
    assert_eq!(hashes["printable"], hashes["utf8 twin"]);
}

#[test]
fn subject_hash_matches_openssl_req_multivalue_rdn() {
    if !have("openssl", "version") {
        return;
    }
    let d = tmp();
    let subjects = [
        "/CN=Foo  Bar+O=ACME Corp/C=DE",
        "/O=zeta+CN=Alpha+OU=Mid  Dle/emailAddress=Admin@Example.COM",
        "/DC=COM/DC=Example/CN=  Spaced   Out  ",
        "/CN=Zürich Root+L=Genève/O=Bücher GmbH",
        "/C=US/ST=CA/L=San Francisco/O=Example, Inc./OU=IT+OU=Security/CN=Example Root",
    ];
    for (i, subj) in subjects.iter().enumerate() {
        let key = d.path().join(format!("k{i}.pem"));
        let crt = d.path().join(format!("c{i}.pem"));
        let out = run(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-utf8",
                "-multivalue-rdn",
                "-days",
                "2",
                "-subj",
                subj,
                "-keyout",
                key.to_str().expect("utf-8 path"),
                "-out",
                crt.to_str().expect("utf-8 path"),
            ],
            None,
        );
        assert!(out.ok, "openssl req {subj}: {}", out.stderr);
        let bytes = std::fs::read(&crt).expect("read cert");
        let cert = load_certs(&bytes).expect("load").remove(0);
        let ours = openssl_subject_hash(&cert).expect("hash");
        let theirs = openssl_hash_of_der(cert.der.as_ref()).expect("openssl");
        assert_eq!(ours, theirs, "{subj} -> {}", cert.info.subject);
    }
}

#[test]
fn subject_hash_matches_openssl_for_hand_encoded_names() {
    if !have("openssl", "version") {
        return;
    }
    let base = self_signed(dn(vec![(DnType::CommonName, "base".into())]), true);
    let long = "L".repeat(300);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty name", name(&[])),
        ("printable spaces", name(&[&[(CN, 0x13, b"  Foo   BAR  ")]])),
        (
            "utf8 controls",
            name(&[&[(CN, 0x0c, b"a\t\n\x0b\x0c\rB  c")]]),
        ),
        ("utf8 empty", name(&[&[(CN, 0x0c, b"")]])),
        ("utf8 only spaces", name(&[&[(CN, 0x0c, b"   ")]])),
        (
            "utf8 non-ascii upper",
            name(&[&[(CN, 0x0c, "ÉCOLE Zürich".as_bytes())]]),
        ),
        ("t61 latin-1", name(&[&[(CN, 0x14, b"Z\xfcrich  CA")]])),
        ("printable latin-1 byte", name(&[&[(CN, 0x13, b"Caf\xe9")]])),
        ("ia5", name(&[&[(EMAIL, 0x16, b" Admin@Example.COM ")]])),
        // OpenSSL refuses these value types in a name; so must we.
        ("visible", name(&[&[(CN, 0x1a, b"Visible  CASE")]])),
        ("general", name(&[&[(CN, 0x1b, b"General CASE")]])),
        ("integer", name(&[&[(CN, 0x02, b"\x01")]])),
        ("octet string", name(&[&[(CN, 0x04, b"AB")]])),
        // Accepted but not canonicalised: kept byte for byte.
        ("bit string kept", name(&[&[(CN, 0x03, b"\x00AB")]])),
        ("relative-oid kept", name(&[&[(CN, 0x0d, b"\x01\x02")]])),
        ("bmp", name(&[&[(CN, 0x1e, &utf16be(" Bmp  ÜBER "))]])),
        ("universal", name(&[&[(CN, 0x1c, &utf32be("Univ 😀 X"))]])),
        ("numeric kept", name(&[&[(SERIAL, 0x12, b" 12  34 ")]])),
        (
            "dc",
            name(&[&[(DC, 0x16, b"COM")], &[(DC, 0x16, b"Example")]]),
        ),
        // Canonical forms sort differently from the originals: OpenSSL re-sorts the SET.
        (
            "multi-valued reorder by case",
            name(&[&[(CN, 0x13, b"B"), (CN, 0x13, b"a")]]),
        ),
        (
            "multi-valued reorder by length",
            name(&[&[(CN, 0x13, b"yyyyyyyyyyyy"), (OU, 0x0c, b"x")]]),
        ),
        (
            "multi-valued three",
            name(&[
                &[
                    (O, 0x0c, b"Zeta"),
                    (CN, 0x13, b"alpha"),
                    (OU, 0x14, b"  Mid"),
                ],
                &[(CN, 0x0c, b"Second RDN")],
            ]),
        ),
        ("long value", name(&[&[(CN, 0x0c, long.as_bytes())]])),
    ];
    let mut refused = 0;
    for (label, subject) in cases {
        let der = with_subject(base.der.as_ref(), &subject);
        let ours = openssl_name_hash(&subject);
        let Ok(theirs) = openssl_hash_of_der(&der) else {
            assert!(
                ours.is_err(),
                "{label}: openssl cannot load it, yet we hashed it"
            );
            refused += 1;
            continue;
        };
        assert_eq!(ours, Ok(theirs), "{label}");
        // Where x509-parser accepts the certificate, the Cert-level function agrees too.
        if let Ok(cert) = Cert::parse(&der) {
            assert_eq!(
                openssl_subject_hash(&cert).expect("hash"),
                theirs,
                "{label}"
            );
        }
    }
    assert_eq!(refused, 4, "visible, general, integer, octet string");
}

// ----- compose and render --------------------------------------------------------------------

fn test_ca(cn: &str) -> Cert {
    cert_of(Ca::new_root(cn).cert_der().as_ref())
}

#[test]
fn compose_dedupes_keeps_first_origin_and_is_order_independent() {
    let a = test_ca("Alpha Test CA");
    let b = test_ca("Beta Test CA");
    let moz = mozilla_roots();
    let moz0 = moz[0].clone();

    let bundle = compose_bundle(
        &[b.clone(), a.clone(), moz0.clone(), b.clone()],
        true,
        std::slice::from_ref(&a),
        &Distrust::empty(),
    )
    .expect("compose");
    assert_eq!(bundle.len(), moz.len() + 2, "a, b once each; moz0 once");
    let origin_of = |c: &Cert| -> Vec<Origin> {
        bundle
            .iter()
            .filter(|bc| bc.cert == *c)
            .map(|bc| bc.origin)
            .collect()
    };
    assert_eq!(origin_of(&a), vec![Origin::Installed]);
    assert_eq!(origin_of(&b), vec![Origin::OsStore]);
    assert_eq!(origin_of(&moz0), vec![Origin::OsStore]);
    assert_eq!(origin_of(&moz[1]), vec![Origin::Mozilla]);

    // Sorted by subject, then fingerprint.
    for w in bundle.windows(2) {
        let k = |bc: &BundleCert| (bc.cert.info.subject.clone(), bc.cert.sha256().to_string());
        assert!(k(&w[0]) < k(&w[1]));
    }

    // Same inputs, other order: byte-identical output.
    let again = compose_bundle(
        &[moz0, a.clone(), b.clone()],
        true,
        std::slice::from_ref(&a),
        &Distrust::empty(),
    )
    .expect("compose");
    assert_eq!(render_bundle_pem(&bundle), render_bundle_pem(&again));

    let no_moz = compose_bundle(
        std::slice::from_ref(&b),
        false,
        &[a.clone(), a.clone()],
        &Distrust::empty(),
    )
    .expect("compose");
    assert_eq!(no_moz.len(), 2);
    assert!(compose_bundle(&[], false, &[], &Distrust::empty())
        .expect("compose")
        .is_empty());
}

fn distrust_of(certs: &[&Cert]) -> Distrust {
    let ders: Vec<_> = certs.iter().map(|c| c.der.clone()).collect();
    Distrust::new(&ders)
}

/// Every certificate a bundle and its hashed directory would hold, as SHA-256 fingerprints.
fn written(bundle: &[BundleCert]) -> BTreeSet<String> {
    let pem = render_bundle_pem(bundle);
    let certs: Vec<Cert> = bundle.iter().map(|bc| bc.cert.clone()).collect();
    let entries = hashed_dir_entries(&certs).expect("entries");
    let mut out: BTreeSet<String> = load_certs(pem.as_bytes())
        .expect("bundle")
        .iter()
        .map(|c| c.sha256().to_string())
        .collect();
    for (_, pem) in entries {
        for c in load_certs(pem.as_bytes()).expect("entry") {
            out.insert(c.sha256().to_string());
        }
    }
    out
}

#[test]
fn mozilla_roots_only_where_the_os_store_cannot_stand_alone() {
    let os = [test_ca("Alpha Test CA")];
    assert!(!public_roots_needed(&os), "a usable store stands alone");
    assert!(
        public_roots_needed(&[]),
        "no usable store: the compiled-in roots"
    );

    // What build_plan does: with a usable OS store, not one Mozilla root is written, so one the
    // distribution or the administrator removed from the OS store cannot come back.
    let removed_by_admin = mozilla_roots()[0].clone();
    let bundle =
        compose_bundle(&os, public_roots_needed(&os), &[], &Distrust::empty()).expect("compose");
    let files = written(&bundle);
    assert_eq!(files, BTreeSet::from([os[0].sha256().to_string()]));
    assert!(!files.contains(removed_by_admin.sha256()));
}

#[test]
fn a_distrusted_root_reaches_no_file_even_from_the_compiled_in_set() {
    let moz = mozilla_roots();
    let distrusted = moz[3].clone();
    let distrust = distrust_of(&[&distrusted]);
    let os_copy = test_ca("Alpha Test CA");
    let installed = test_ca("Corp Proxy Test CA");

    // No usable OS store: Mozilla's set is the base, minus what the OS distrusts.
    let bundle =
        compose_bundle(&[], true, std::slice::from_ref(&installed), &distrust).expect("compose");
    let files = written(&bundle);
    assert!(!files.contains(distrusted.sha256()));
    assert_eq!(
        files.len(),
        moz.len(),
        "every other Mozilla root and the installed CA"
    );
    assert!(files.contains(installed.sha256()));

    // Listed by the OS store itself (a stale bundle) and distrusted: left out too.
    let bundle = compose_bundle(
        &[os_copy.clone(), distrusted.clone()],
        false,
        &[],
        &distrust_of(&[&os_copy]),
    )
    .expect("compose");
    assert_eq!(
        written(&bundle),
        BTreeSet::from([distrusted.sha256().to_string()])
    );
}

#[test]
fn a_distrusted_ca_is_refused_for_install_however_it_was_reissued() {
    let key = KeyPair::generate().expect("key");
    let issue = |serial: u64| {
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(vec![(
            DnType::CommonName,
            DnValue::Utf8String("Reissued Test CA".into()),
        )]);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        cert_of(params.self_signed(&key).expect("self-sign").der())
    };
    let (first, reissued) = (issue(1), issue(2));
    assert_ne!(first.der, reissued.der);
    let unrelated = test_ca("Alpha Test CA");

    for installed in [&first, &reissued] {
        match compose_bundle(
            &[],
            false,
            std::slice::from_ref(installed),
            &distrust_of(&[&first]),
        ) {
            Err(BundleError::Distrusted { fingerprint, .. }) => {
                assert_eq!(fingerprint, installed.sha256());
            }
            other => panic!("expected Distrusted, got {other:?}"),
        }
    }
    assert!(compose_bundle(
        &[],
        false,
        std::slice::from_ref(&unrelated),
        &distrust_of(&[&first])
    )
    .is_ok());
}

fn hostile_ca() -> Cert {
    self_signed(
        dn(vec![(
            DnType::CommonName,
            DnValue::Utf8String(
                "evil\n-----END CERTIFICATE-----\r\n-----BEGIN CERTIFICATE-----\nMIIB\u{202e}gpj.exe\u{7}"
                    .into(),
            ),
        )]),
        true,
    )
}

#[test]
fn rendered_bundle_round_trips_and_comments_are_inert() {
    let a = test_ca("Alpha Test CA");
    let evil = hostile_ca();
    let bundle = compose_bundle(
        std::slice::from_ref(&a),
        true,
        std::slice::from_ref(&evil),
        &Distrust::empty(),
    )
    .expect("compose");
    let pem = render_bundle_pem(&bundle);
    assert!(!pem.contains('\r'));
    assert!(pem.ends_with("-----END CERTIFICATE-----\n"));
    assert_eq!(pem.matches("-----BEGIN").count(), bundle.len());
    assert_eq!(pem.matches("-----END").count(), bundle.len());
    for line in pem.lines() {
        assert!(
            line.is_empty()
                || line.starts_with("# ")
                || line.starts_with("-----BEGIN CERTIFICATE-----")
                || line.starts_with("-----END CERTIFICATE-----")
                || line
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
            "unexpected line {line:?}"
        );
        assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
    }
    assert!(pem.contains("# origin: trust-proxy\n"));
    assert!(pem.contains("# origin: os store\n"));
    assert!(pem.contains("# origin: mozilla\n"));
    assert!(pem.contains(&format!("# SHA-256 {}\n", evil.sha256())));

    let back = load_certs(pem.as_bytes()).expect("reload");
    let want: Vec<_> = bundle.iter().map(|bc| bc.cert.der.clone()).collect();
    let got: Vec<_> = back.iter().map(|c| c.der.clone()).collect();
    assert_eq!(got, want);
}

#[test]
fn openssl_and_python_read_the_whole_bundle() {
    if !have("openssl", "version") || !have("python3", "--version") {
        return;
    }
    let os = system_certs().unwrap_or_default();
    let installed = [test_ca("Alpha Test CA"), hostile_ca()];
    let bundle = compose_bundle(&os, true, &installed, &Distrust::empty()).expect("compose");
    let n = bundle.len();
    let d = tmp();
    let file = d.path().join("ca-bundle.pem");
    std::fs::write(&file, render_bundle_pem(&bundle)).expect("write");
    let f = file.to_str().expect("utf-8 path");

    let out = run("openssl", &["storeutl", "-noout", "-certs", f], None);
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("Total found: {n}\n")),
        "{}",
        out.stdout
    );

    let p7 = d.path().join("bundle.p7b");
    let out = run(
        "openssl",
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            f,
            "-outform",
            "DER",
            "-out",
            p7.to_str().expect("utf-8 path"),
        ],
        None,
    );
    assert!(out.ok, "{}", out.stderr);
    let from_p7 = load_certs(&std::fs::read(&p7).expect("read p7")).expect("pkcs7");
    let got: BTreeSet<_> = from_p7.iter().map(|c| c.sha256().to_string()).collect();
    let want: BTreeSet<_> = bundle
        .iter()
        .map(|bc| bc.cert.sha256().to_string())
        .collect();
    assert_eq!(from_p7.len(), n);
    assert_eq!(got, want);

    let script = "import ssl, sys\n\
                  ctx = ssl.create_default_context(cafile=sys.argv[1])\n\
                  print(ctx.cert_store_stats()['x509'])\n";
    let out = run("python3", &["-c", script, f], None);
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), n.to_string());
    eprintln!("openssl storeutl, crl2pkcs7 and python ssl all read {n} certificates");
}

/// `openssl s_server` on an ephemeral loopback port, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path, ca: &Ca) -> Option<Server> {
        let leaf = ca.issue_leaf("localhost", None);
        let cert = dir.join("leaf.pem");
        let key = dir.join("leaf.key");
        std::fs::write(&cert, leaf.cert_pem()).expect("write leaf");
        std::fs::write(&key, pem_encode("PRIVATE KEY", leaf.key_der.secret_der()))
            .expect("write key");
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-www", "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take()?;
        let mut port = None;
        for line in BufReader::new(stdout).lines().take(20) {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("ACCEPT ") {
                port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
                break;
            }
        }
        // Dropped (and so killed) if it never said where it listens.
        let mut server = Server { child, port: 0 };
        server.port = port?;
        Some(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn curl(cafile: &Path, port: u16) -> Output {
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}/");
    run(
        "curl",
        &[
            "-q",
            "-sS",
            "--noproxy",
            "*",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            cafile.to_str().expect("utf-8 path"),
            "--resolve",
            &resolve,
            &url,
        ],
        None,
    )
}

fn python_handshake(cafile: &Path, port: u16) -> Output {
    let script = "import socket, ssl, sys\n\
                  ctx = ssl.create_default_context(cafile=sys.argv[1])\n\
                  with socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=10) as s:\n\
                  \x20   with ctx.wrap_socket(s, server_hostname='localhost') as t:\n\
                  \x20       print('verified', t.version())\n";
    run(
        "python3",
        &[
            "-c",
            script,
            cafile.to_str().expect("utf-8 path"),
            &port.to_string(),
        ],
        None,
    )
}

#[test]
fn curl_and_python_verify_a_server_with_the_bundle() {
    if !have("openssl", "version") || !have("curl", "--version") || !have("python3", "--version") {
        return;
    }
    let d = tmp();
    let proxy_ca = Ca::new_root("Intercepting Proxy Test Root");
    let Some(server) = Server::start(d.path(), &proxy_ca) else {
        panic!("openssl s_server did not start");
    };
    let os = system_certs().unwrap_or_default();
    let installed = [cert_of(proxy_ca.cert_der().as_ref())];

    let with_ca = d.path().join("with.pem");
    std::fs::write(
        &with_ca,
        render_bundle_pem(
            &compose_bundle(&os, true, &installed, &Distrust::empty()).expect("compose"),
        ),
    )
    .expect("write");
    let without_ca = d.path().join("without.pem");
    std::fs::write(
        &without_ca,
        render_bundle_pem(&compose_bundle(&os, true, &[], &Distrust::empty()).expect("compose")),
    )
    .expect("write");

    let out = curl(&with_ca, server.port);
    assert!(out.ok, "curl with the CA: {} {}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "200");
    let out = curl(&without_ca, server.port);
    assert_eq!(
        out.code,
        Some(60),
        "curl without the CA must fail verification"
    );

    let out = python_handshake(&with_ca, server.port);
    assert!(out.ok, "python with the CA: {}", out.stderr);
    assert!(out.stdout.starts_with("verified"), "{}", out.stdout);
    let out = python_handshake(&without_ca, server.port);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("CERTIFICATE_VERIFY_FAILED"),
        "{}",
        out.stderr
    );

    // proxy-ca.pem alone (what NODE_EXTRA_CA_CERTS gets) is enough for the proxy's chain.
    let proxy_pem = d.path().join("proxy-ca.pem");
    std::fs::write(&proxy_pem, render_proxy_ca_pem(&installed[0], &[])).expect("write");
    let out = curl(&proxy_pem, server.port);
    assert!(out.ok, "curl with proxy-ca.pem: {}", out.stderr);
}

#[test]
fn proxy_ca_pem_is_root_then_unique_intermediates() {
    let root = Ca::new_root("Proxy Root");
    let inter = root.issue_intermediate("Proxy Issuing CA", None);
    let root_c = cert_of(root.cert_der().as_ref());
    let inter_c = cert_of(inter.cert_der().as_ref());
    let pem = render_proxy_ca_pem(&root_c, &[inter_c.clone(), root_c.clone(), inter_c.clone()]);
    let back = load_certs(pem.as_bytes()).expect("reload");
    assert_eq!(back, vec![root_c.clone(), inter_c]);
    assert!(pem.contains("# role: root CA (trust-proxy)\n"));
    assert!(pem.contains("# role: intermediate CA (trust-proxy)\n"));
    assert!(!pem.contains('\r'));
    assert_eq!(pem, render_proxy_ca_pem(&root_c, &back[1..]));
}

// ----- hashed directory ----------------------------------------------------------------------

fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

fn hash_named(names: &BTreeSet<String>) -> BTreeSet<String> {
    names
        .iter()
        .filter(|n| trust_proxy::install::bundle::is_hashed_entry_name(n))
        .cloned()
        .collect()
}

#[test]
fn hashed_dir_names_equal_openssl_rehash_and_verify_works() {
    if !have("openssl", "version") {
        return;
    }
    // Two CAs with one subject (a hash collision by construction), others, and a duplicate.
    let twin1 = Ca::new_root("Collision Test CA");
    let twin2 = Ca::new_root("Collision Test CA");
    let other = Ca::new_root("Other Test CA");
    let outsider = Ca::new_root("Not In The Dir CA");
    let mut certs: Vec<Cert> = [&twin1, &twin2, &other, &twin1]
        .iter()
        .map(|ca| cert_of(ca.cert_der().as_ref()))
        .collect();
    certs.extend(mozilla_roots().into_iter().take(40));
    let entries = hashed_dir_entries(&certs).expect("entries");
    assert_eq!(entries.len(), certs.len() - 1, "the duplicate appears once");
    let twin_hash = openssl_subject_hash(&certs[0]).expect("hash");
    for n in 0..2 {
        let want = format!("{twin_hash:08x}.{n}");
        assert!(entries.iter().any(|(name, _)| *name == want), "{want}");
    }
    assert_eq!(entries, {
        let mut rev = certs.clone();
        rev.reverse();
        hashed_dir_entries(&rev).expect("entries")
    });

    let d = tmp();
    let ours = d.path().join("certs");
    let change = sync_hashed_dir(&ours, &entries).expect("sync");
    assert_eq!(
        change,
        DirChange {
            written: entries.len(),
            unchanged: 0,
            removed: 0
        }
    );

    // openssl rehash on the same certificates, one file each, named by fingerprint so that its
    // (sorted-file-name) processing order is our within-hash order: the names then agree
    // exactly, and each link points at the same certificate as our file of that name.
    let scratch = d.path().join("rehash");
    std::fs::create_dir(&scratch).expect("mkdir");
    for c in &certs {
        let file = scratch.join(format!("{}.pem", c.sha256().replace(':', "")));
        std::fs::write(file, c.to_pem()).expect("write");
    }
    let out = run(
        "openssl",
        &["rehash", scratch.to_str().expect("utf-8 path")],
        None,
    );
    assert!(out.ok, "{}", out.stderr);
    let theirs = hash_named(&names_in(&scratch));
    let ours_names = names_in(&ours);
    assert_eq!(ours_names, theirs);
    for name in &theirs {
        let a = load_certs(&std::fs::read(scratch.join(name)).expect("read")).expect("theirs");
        let b = load_certs(&std::fs::read(ours.join(name)).expect("read")).expect("ours");
        assert_eq!(a, b, "{name}");
    }

    // openssl verify finds both colliding CAs through the directory.
    let dir = ours.to_str().expect("utf-8 path");
    for (ca, expect_ok) in [
        (&twin1, true),
        (&twin2, true),
        (&other, true),
        (&outsider, false),
    ] {
        let leaf = d.path().join("leaf.pem");
        std::fs::write(&leaf, ca.issue_leaf("leaf.test", None).cert_pem()).expect("write");
        let out = run(
            "openssl",
            &[
                "verify",
                "-no-CAfile",
                "-no-CAstore",
                "-CApath",
                dir,
                leaf.to_str().expect("utf-8 path"),
            ],
            None,
        );
        assert_eq!(out.ok, expect_ok, "{} {}", out.stdout, out.stderr);
    }
}

#[test]
fn sync_is_idempotent_and_removes_only_its_own_stale_names() {
    let a = test_ca("Alpha Test CA");
    let b = test_ca("Beta Test CA");
    let d = tmp();
    let dir = d.path().join("nested/certs");
    let entries = hashed_dir_entries(&[a.clone(), b.clone()]).expect("entries");
    assert_eq!(
        sync_hashed_dir(&dir, &entries).expect("sync"),
        DirChange {
            written: 2,
            unchanged: 0,
            removed: 0
        }
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join(&entries[0].0)), 0o644);
        assert_eq!(mode(&dir), 0o755 & !umask_bits());
    }
    let before = modified_times(&dir);
    let again = sync_hashed_dir(&dir, &entries).expect("sync");
    assert_eq!(
        again,
        DirChange {
            written: 0,
            unchanged: 2,
            removed: 0
        }
    );
    assert!(!again.changed());
    assert_eq!(
        modified_times(&dir),
        before,
        "unchanged files are not rewritten"
    );

    // Foreign files stay; our stale names go; a changed file is rewritten.
    let keep = [
        "README",
        "foo.pem",
        "deadbeef.r0",
        "DEADBEEF.0",
        "deadbeef.0.bak",
    ];
    for k in keep {
        std::fs::write(dir.join(k), b"not ours").expect("write");
    }
    std::fs::create_dir(dir.join("0badc0de.7")).expect("dir with our pattern");
    std::fs::write(dir.join("deadbeef.0"), b"stale").expect("write");
    std::fs::write(dir.join("deadbeef.11"), b"stale").expect("write");
    let only_a = hashed_dir_entries(std::slice::from_ref(&a)).expect("entries");
    let a_name = only_a[0].0.clone();
    std::fs::write(dir.join(&a_name), b"tampered").expect("write");
    let third = sync_hashed_dir(&dir, &only_a).expect("sync");
    assert_eq!(
        third,
        DirChange {
            written: 1,
            unchanged: 0,
            removed: 3
        },
        "a rewritten; deadbeef.0, deadbeef.11 and b's entry removed"
    );
    assert_eq!(
        std::fs::read(dir.join(&a_name)).expect("read"),
        only_a[0].1.as_bytes()
    );
    let names = names_in(&dir);
    for k in keep {
        assert!(names.contains(k), "{k} kept");
    }
    assert!(
        names.contains("0badc0de.7"),
        "directories are never removed"
    );
    assert_eq!(
        hash_named(&names),
        [a_name, "0badc0de.7".to_string()].into()
    );
}

#[cfg(unix)]
fn umask_bits() -> u32 {
    // The directory is created with 0755 through the process umask; tests run with 022 or 002.
    let d = tmp();
    let probe = d.path().join("probe");
    std::fs::create_dir(&probe).expect("mkdir");
    use std::os::unix::fs::PermissionsExt;
    0o777
        & !std::fs::metadata(&probe)
            .expect("meta")
            .permissions()
            .mode()
}

fn modified_times(dir: &Path) -> BTreeMap<PathBuf, std::time::SystemTime> {
    std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| {
            let e = e.expect("entry");
            let t = e.metadata().expect("meta").modified().expect("mtime");
            (e.path(), t)
        })
        .collect()
}

#[test]
fn sync_rejects_bad_names_and_duplicates() {
    let d = tmp();
    let dir = d.path().join("certs");
    for bad in [
        "../etc/passwd",
        "0a1b2c3d",
        "x.0",
        "0A1B2C3D.0",
        "0a1b2c3d.0/x",
    ] {
        let err = sync_hashed_dir(&dir, &[(bad.to_string(), String::new())]).expect_err(bad);
        assert!(matches!(err, BundleError::BadEntryName(_)), "{err}");
    }
    let e = ("0a1b2c3d.0".to_string(), "x".to_string());
    let err = sync_hashed_dir(&dir, &[e.clone(), e]).expect_err("dup");
    assert!(matches!(err, BundleError::DuplicateEntry(_)), "{err}");
    assert!(!dir.exists(), "nothing created for rejected input");
}

#[cfg(unix)]
#[test]
fn sync_refuses_symlinks() {
    use std::os::unix::fs::symlink;
    let a = test_ca("Alpha Test CA");
    let entries = hashed_dir_entries(std::slice::from_ref(&a)).expect("entries");
    let d = tmp();
    let real = d.path().join("real");
    std::fs::create_dir(&real).expect("mkdir");

    // The directory itself is a symlink.
    let link = d.path().join("link");
    symlink(&real, &link).expect("symlink");
    let err = sync_hashed_dir(&link, &entries).expect_err("symlinked dir");
    assert!(err.to_string().contains("symlink"), "{err}");
    // A parent is a symlink.
    let err = sync_hashed_dir(&link.join("sub"), &entries).expect_err("symlinked parent");
    assert!(err.to_string().contains("symlink"), "{err}");
    assert!(
        names_in(&real).is_empty(),
        "nothing written through the links"
    );

    // An entry we would write is a symlink: refused, target untouched.
    let dir = d.path().join("certs");
    let victim = d.path().join("victim");
    std::fs::write(&victim, b"keep").expect("write");
    std::fs::create_dir(&dir).expect("mkdir");
    symlink(&victim, dir.join(&entries[0].0)).expect("symlink");
    let err = sync_hashed_dir(&dir, &entries).expect_err("symlinked entry");
    assert!(err.to_string().contains("symlink"), "{err}");
    assert_eq!(std::fs::read(&victim).expect("read"), b"keep");

    // A stale hash-named symlink: refused rather than followed or silently kept.
    std::fs::remove_file(dir.join(&entries[0].0)).expect("rm");
    symlink(&victim, dir.join("deadbeef.0")).expect("symlink");
    let err = sync_hashed_dir(&dir, &entries).expect_err("stale symlink");
    assert!(matches!(err, BundleError::SymlinkEntry { .. }), "{err}");
    assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
}
