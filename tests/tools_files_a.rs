//! Tool files A (cargo, git, curl, wget, aws, gcloud): the exact bytes each plan writes for
//! every starting shape of its config file, that planning again changes nothing, how a CA
//! setting the person made is treated, and, with the real clients installed here, that each
//! one reads the written setting back: a TLS handshake with a loopback server whose CA only the
//! bundle holds fails before and succeeds after (curl, wget, git, cargo, aws), and the tool's
//! own `config get` returns the bundle's path (git, aws, gcloud).
//!
//! Linux only: plans take the OS as a value, so every OS's plan is tested here; the clients'
//! behaviour on macOS and Windows runners is not what these tests establish.
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use trust_proxy::tools::{
    aws::Aws, cargo::Cargo, curl::Curl, gcloud::Gcloud, git::Git, wget::Wget, Context, Found,
    Mechanism, Os, Tool, ToolError, ToolId, ToolPlan, Version,
};
use trust_proxy_testkit::{mint_fixed, Ca, Minted, TlsServer, TlsServerHandle};

const BUNDLE: &str = "/tp/bundle.pem";
const CA_FILE: &str = "/tp/ca.pem";

fn ctx(os: Os, in_store: bool) -> Context {
    Context {
        os,
        home: PathBuf::from("/home/u"),
        env: BTreeMap::new(),
        bundle: PathBuf::from(BUNDLE),
        proxy_ca: PathBuf::from(CA_FILE),
        ca_in_os_store: in_store,
        minted_without_revocation: None,
        strict_x509_findings: Vec::new(),
    }
}

fn found(tool: ToolId, version_text: &str, facts: &[(&str, &str)]) -> Found {
    Found {
        tool,
        program: PathBuf::from("/usr/bin").join(tool.as_str()),
        version: Version::find_in(version_text),
        version_text: version_text.to_owned(),
        facts: facts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

type Files = BTreeMap<PathBuf, Vec<u8>>;

fn plan(
    tool: &dyn Tool,
    found: &Found,
    ctx: &Context,
    files: &Files,
) -> Result<ToolPlan, ToolError> {
    let read = |p: &Path| -> Result<Option<Vec<u8>>, ToolError> { Ok(files.get(p).cloned()) };
    tool.plan(found, ctx, &read)
}

/// The one file a plan writes, as text.
fn written(p: &ToolPlan) -> (PathBuf, String) {
    assert_eq!(p.edits.len(), 1, "{p:?}");
    let edit = &p.edits[0];
    (
        edit.path.clone(),
        String::from_utf8(edit.contents.clone()).unwrap(),
    )
}

/// For each (case, starting content or absent, expected content): the plan writes exactly the
/// expected bytes to `file`, and planning again on them gives them back unchanged.
fn check_shapes(
    tool: &dyn Tool,
    found: &Found,
    ctx: &Context,
    file: &Path,
    cases: &[(&str, Option<&str>, &str)],
) {
    for (case, start, want) in cases {
        let mut files = Files::new();
        if let Some(start) = start {
            files.insert(file.to_path_buf(), start.as_bytes().to_vec());
        }
        let first = plan(tool, found, ctx, &files).unwrap_or_else(|e| panic!("{case}: {e}"));
        let (path, got) = written(&first);
        assert_eq!(path, file, "{case}");
        assert_eq!(got, *want, "{case}");
        assert!(
            matches!(first.mechanism, Mechanism::BundleFile { .. }),
            "{case}: {first:?}"
        );
        files.insert(file.to_path_buf(), got.into_bytes());
        let again = plan(tool, found, ctx, &files).unwrap();
        assert_eq!(written(&again).1, *want, "{case}: planning again");
    }
}

fn assert_unparsable(
    tool: &dyn Tool,
    found: &Found,
    ctx: &Context,
    file: &Path,
    contents: impl AsRef<[u8]>,
) {
    let contents = contents.as_ref();
    let files = Files::from([(file.to_path_buf(), contents.to_vec())]);
    match plan(tool, found, ctx, &files) {
        Err(ToolError::Unparsable { .. }) => {}
        other => panic!("{contents:?}: {other:?}"),
    }
}

#[test]
fn cargo_config_shapes() {
    let c = ctx(Os::Linux, false);
    let f = found(ToolId::Cargo, "cargo 1.95.0 (f2d3ce0bd 2026-03-21)", &[]);
    let file = Path::new("/home/u/.cargo/config.toml");
    let set = "[http]\ncainfo = \"/tp/bundle.pem\"\n";
    check_shapes(
        &Cargo,
        &f,
        &c,
        file,
        &[
            ("absent", None, set),
            ("empty", Some(""), set),
            (
                "other keys and comments",
                Some("# mine\n[net]\nretry = 3 # flaky wifi\n\n[http]\ntimeout = 30 # seconds\nmultiplexing = false\n"),
                "# mine\n[net]\nretry = 3 # flaky wifi\n\n[http]\ntimeout = 30 # seconds\nmultiplexing = false\ncainfo = \"/tp/bundle.pem\"\n",
            ),
            (
                "CRLF",
                Some("[net]\r\nretry = 3\r\n"),
                "[net]\r\nretry = 3\r\n\r\n[http]\r\ncainfo = \"/tp/bundle.pem\"\r\n",
            ),
            (
                "dotted keys",
                Some("http.timeout = 30\n"),
                "http.timeout = 30\nhttp.cainfo = \"/tp/bundle.pem\"\n",
            ),
            ("already configured", Some(set), set),
        ],
    );
    for bad in ["[http\n", "http = 3\n", "[http]\ncainfo = 3\n", "\u{0}"] {
        assert_unparsable(&Cargo, &f, &c, file, bad);
    }
}

#[test]
fn cargo_per_os_and_revocation() {
    let f = found(ToolId::Cargo, "cargo 1.95.0", &[]);
    let linux = plan(&Cargo, &f, &ctx(Os::Linux, true), &Files::new()).unwrap();
    assert!(
        matches!(linux.mechanism, Mechanism::OsStoreAlready { .. }),
        "{linux:?}"
    );
    assert!(linux.edits.is_empty());

    let mut windows = ctx(Os::Windows, true);
    let quiet = plan(&Cargo, &f, &windows, &Files::new()).unwrap();
    assert!(
        matches!(quiet.mechanism, Mechanism::OsStoreAlready { .. }) && quiet.edits.is_empty(),
        "{quiet:?}"
    );
    windows.minted_without_revocation = Some(true);
    let revoke = plan(&Cargo, &f, &windows, &Files::new()).unwrap();
    assert!(
        matches!(revoke.mechanism, Mechanism::OsStoreAlready { .. }),
        "{revoke:?}"
    );
    assert_eq!(written(&revoke).1, "[http]\ncheck-revoke = false\n");
    assert!(
        revoke
            .notes
            .iter()
            .any(|n| n.contains("CRYPT_E_NO_REVOCATION_CHECK")),
        "{revoke:?}"
    );
    windows.minted_without_revocation = Some(false);
    assert!(plan(&Cargo, &f, &windows, &Files::new())
        .unwrap()
        .edits
        .is_empty());

    let mut not_in_store = ctx(Os::Windows, false);
    not_in_store.bundle = PathBuf::from("C:\\Users\\u\\trust proxy\\bundle.pem");
    let (_, text) = written(&plan(&Cargo, &f, &not_in_store, &Files::new()).unwrap());
    assert_eq!(
        text,
        "[http]\ncainfo = 'C:\\Users\\u\\trust proxy\\bundle.pem'\n"
    );
}

#[test]
fn git_config_shapes() {
    let c = ctx(Os::Linux, false);
    let f = found(ToolId::Git, "git version 2.47.3", &[]);
    let file = Path::new("/home/u/.gitconfig");
    let set = "[http]\n\tsslCAInfo = \"/tp/bundle.pem\"\n";
    check_shapes(
        &Git,
        &f,
        &c,
        file,
        &[
            ("absent", None, set),
            ("empty", Some(""), set),
            (
                "other sections and comments",
                Some("# global\n[user]\n\tname = A ; me\n[http]\n\tpostBuffer = 524288000\n\n[alias]\n\tco = checkout\n"),
                "# global\n[user]\n\tname = A ; me\n[http]\n\tpostBuffer = 524288000\n\tsslCAInfo = \"/tp/bundle.pem\"\n\n[alias]\n\tco = checkout\n",
            ),
            (
                "CRLF without a last line ending",
                Some("[user]\r\n\tname = A"),
                "[user]\r\n\tname = A\r\n[http]\r\n\tsslCAInfo = \"/tp/bundle.pem\"\r\n",
            ),
            (
                "a per-URL section only",
                Some("[http \"https://corp.example\"]\n\tsslVerify = true\n"),
                "[http \"https://corp.example\"]\n\tsslVerify = true\n[http]\n\tsslCAInfo = \"/tp/bundle.pem\"\n",
            ),
            ("already configured", Some(set), set),
        ],
    );
    for bad in [
        "[http\n",
        "[http]\n\tsslCAInfo = \"open\n",
        "[http]\n\tsslCAInfo = /a\n\tsslCAInfo = /b\n",
        "[http]\n\tsslCAInfo = /gone.pem\n[include]\n\tpath = more\n",
        "name = x\n",
    ] {
        assert_unparsable(&Git, &f, &c, file, bad);
    }
    let linux_store = plan(&Git, &f, &ctx(Os::Linux, true), &Files::new()).unwrap();
    assert!(
        matches!(linux_store.mechanism, Mechanism::OsStoreAlready { .. })
            && linux_store.edits.is_empty()
    );
}

#[test]
fn git_on_windows_follows_the_backend_and_version() {
    let file = PathBuf::from("/home/u/.gitconfig");
    let schannel = found(
        ToolId::Git,
        "git version 2.47.3.windows.1",
        &[("ssl_backend", "schannel")],
    );
    let mut c = ctx(Os::Windows, true);
    c.minted_without_revocation = Some(true);
    let p = plan(&Git, &schannel, &c, &Files::new()).unwrap();
    assert!(
        matches!(p.mechanism, Mechanism::OsStoreAlready { .. }) && p.edits.is_empty(),
        "{p:?}"
    );
    assert!(
        p.notes.iter().any(|n| n.contains("best-effort by default")),
        "{p:?}"
    );

    let old = found(
        ToolId::Git,
        "git version 2.25.1.windows.1",
        &[("ssl_backend", "schannel")],
    );
    let p = plan(&Git, &old, &c, &Files::new()).unwrap();
    assert!(
        p.edits.is_empty() && p.notes.iter().any(|n| n.contains("update Git for Windows")),
        "{p:?}"
    );

    // The backend read from the global file itself when detection did not supply it.
    let plain = found(ToolId::Git, "git version 2.47.3.windows.1", &[]);
    let files = Files::from([(file.clone(), b"[http]\n\tsslBackend = schannel\n".to_vec())]);
    let p = plan(&Git, &plain, &c, &files).unwrap();
    assert!(p.edits.is_empty(), "{p:?}");

    // OpenSSL (the Git for Windows default) reads its own bundle: the full bundle is named.
    let mut not_in_store = ctx(Os::Windows, true);
    not_in_store.bundle = PathBuf::from("C:\\Users\\u\\tp\\bundle.pem");
    let (_, text) = written(&plan(&Git, &plain, &not_in_store, &Files::new()).unwrap());
    assert_eq!(
        text,
        "[http]\n\tsslCAInfo = \"C:\\\\Users\\\\u\\\\tp\\\\bundle.pem\"\n"
    );

    // Schannel without the CA in the store: the CA file is used only with schannelUseSSLCAInfo.
    not_in_store.ca_in_os_store = false;
    let (_, text) = written(&plan(&Git, &schannel, &not_in_store, &Files::new()).unwrap());
    assert_eq!(
        text,
        "[http]\n\tsslCAInfo = \"C:\\\\Users\\\\u\\\\tp\\\\bundle.pem\"\n\tschannelUseSSLCAInfo = true\n"
    );
}

#[test]
fn curl_config_shapes() {
    let c = ctx(Os::Linux, false);
    let f = found(ToolId::Curl, "curl 7.88.1", &[("tls_backend", "openssl")]);
    let file = Path::new("/home/u/.curlrc");
    let set = "cacert = \"/tp/bundle.pem\"\n";
    check_shapes(
        &Curl,
        &f,
        &c,
        file,
        &[
            ("absent", None, set),
            ("empty", Some(""), set),
            (
                "other options and comments",
                Some("# proxy\nproxy = http://p:3128\n--silent"),
                "# proxy\nproxy = http://p:3128\n--silent\ncacert = \"/tp/bundle.pem\"\n",
            ),
            (
                "CRLF",
                Some("--silent\r\n"),
                "--silent\r\ncacert = \"/tp/bundle.pem\"\r\n",
            ),
            (
                "a dead cacert replaced in place",
                Some("--cacert /gone.pem\n--silent\n"),
                "cacert = \"/tp/bundle.pem\"\n--silent\n",
            ),
            ("already configured", Some(set), set),
        ],
    );
    assert_unparsable(&Curl, &f, &c, file, "cacert /a.pem\ncacert /b.pem\n");
    assert_unparsable(&Curl, &f, &c, file, b"cacert = \"/\xff\"\n");
    let in_store = plan(&Curl, &f, &ctx(Os::Linux, true), &Files::new()).unwrap();
    assert!(
        matches!(in_store.mechanism, Mechanism::OsStoreAlready { .. }) && in_store.edits.is_empty()
    );

    let schannel = found(ToolId::Curl, "curl 8.9.1", &[("tls_backend", "schannel")]);
    let mut windows = ctx(Os::Windows, true);
    assert!(plan(&Curl, &schannel, &windows, &Files::new())
        .unwrap()
        .edits
        .is_empty());
    windows.minted_without_revocation = Some(true);
    let p = plan(&Curl, &schannel, &windows, &Files::new()).unwrap();
    assert!(
        matches!(p.mechanism, Mechanism::OsStoreAlready { .. }),
        "{p:?}"
    );
    assert_eq!(written(&p).1, "ssl-revoke-best-effort\n");
    windows.ca_in_os_store = false;
    windows.bundle = PathBuf::from("C:\\Users\\A B\\bundle \"x\".pem");
    let p = plan(&Curl, &schannel, &windows, &Files::new()).unwrap();
    assert_eq!(
        written(&p).1,
        "cacert = \"C:\\\\Users\\\\A B\\\\bundle \\\"x\\\".pem\"\nssl-revoke-best-effort\n"
    );
}

#[test]
fn wget_config_shapes() {
    let c = ctx(Os::Linux, false);
    let f = found(ToolId::Wget, "GNU Wget 1.21.3 built on linux-gnu.", &[]);
    let file = Path::new("/home/u/.wgetrc");
    let set = "ca_certificate = /tp/bundle.pem\n";
    check_shapes(
        &Wget,
        &f,
        &c,
        file,
        &[
            ("absent", None, set),
            ("empty", Some(""), set),
            (
                "other commands and comments",
                Some("# mine\ntries = 3\nuse_proxy = on\n"),
                "# mine\ntries = 3\nuse_proxy = on\nca_certificate = /tp/bundle.pem\n",
            ),
            (
                "CRLF",
                Some("tries = 3\r\n"),
                "tries = 3\r\nca_certificate = /tp/bundle.pem\r\n",
            ),
            (
                "a dead setting replaced in place",
                Some("CA-Certificate = /gone.pem\ntries = 3\n"),
                "ca_certificate = /tp/bundle.pem\ntries = 3\n",
            ),
            ("already configured", Some(set), set),
        ],
    );
    assert_unparsable(
        &Wget,
        &f,
        &c,
        file,
        "ca_certificate = /a\ncacertificate = /b\n",
    );
    let in_store = plan(&Wget, &f, &ctx(Os::Linux, true), &Files::new()).unwrap();
    assert!(
        matches!(in_store.mechanism, Mechanism::OsStoreAlready { .. }) && in_store.edits.is_empty()
    );
    let mut padded = c.clone();
    padded.bundle = PathBuf::from("/tp/bundle.pem ");
    assert!(matches!(
        plan(&Wget, &f, &padded, &Files::new()),
        Err(ToolError::UnsafePath { .. })
    ));
}

#[test]
fn aws_config_shapes() {
    // The AWS CLI ships its own roots: the setting is written with the CA in the OS store too.
    let c = ctx(Os::Linux, true);
    let f = found(
        ToolId::Aws,
        "aws-cli/1.45.11 Python/3.11.7 Linux/6.18 botocore/1.43.11",
        &[],
    );
    let file = Path::new("/home/u/.aws/config");
    let set = "[default]\nca_bundle = /tp/bundle.pem\n";
    check_shapes(
        &Aws,
        &f,
        &c,
        file,
        &[
            ("absent", None, set),
            ("empty", Some(""), set),
            (
                "other profiles and comments",
                Some("[profile dev]\nregion = eu-west-1\n# keep\n[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = 4\n\n# tail\n[sso-session x]\nsso_region = us-east-1\n"),
                "[profile dev]\nregion = eu-west-1\n# keep\n[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = 4\nca_bundle = /tp/bundle.pem\n\n# tail\n[sso-session x]\nsso_region = us-east-1\n",
            ),
            ("CRLF", Some("[default]\r\nregion = eu\r\n"), "[default]\r\nregion = eu\r\nca_bundle = /tp/bundle.pem\r\n"),
            (
                "profile default spelling",
                Some("[profile default]\noutput = json\n"),
                "[profile default]\noutput = json\nca_bundle = /tp/bundle.pem\n",
            ),
            ("already configured", Some(set), set),
        ],
    );
    let p = plan(&Aws, &f, &c, &Files::new()).unwrap();
    assert!(
        p.edits[0].sensitive,
        "~/.aws/config may hold credential settings: 0600"
    );
    for bad in [
        "region = x\n",
        "[default]\n[profile default]\n",
        "[default]\nregion\n",
        "[default]\na=1\na=2\n",
    ] {
        assert_unparsable(&Aws, &f, &c, file, bad);
    }
}

#[test]
fn gcloud_config_shapes() {
    let c = ctx(Os::Linux, true);
    let f = found(ToolId::Gcloud, "Google Cloud SDK 528.0.0", &[]);
    let file = Path::new("/home/u/.config/gcloud/configurations/config_default");
    let set = "[core]\ncustom_ca_certs_file = /tp/bundle.pem\n";
    check_shapes(
        &Gcloud,
        &f,
        &c,
        file,
        &[
            ("absent", None, set),
            ("empty", Some(""), set),
            (
                "other properties",
                Some("[core]\naccount = a@example.com\nproject = p\n\n[compute]\nzone = z\n"),
                "[core]\naccount = a@example.com\nproject = p\ncustom_ca_certs_file = /tp/bundle.pem\n\n[compute]\nzone = z\n",
            ),
            ("CRLF", Some("[compute]\r\nzone = z\r\n"), "[compute]\r\nzone = z\r\n[core]\r\ncustom_ca_certs_file = /tp/bundle.pem\r\n"),
            ("already configured", Some(set), set),
        ],
    );
    assert_unparsable(&Gcloud, &f, &c, file, "[core]\n[core]\n");

    // The active configuration names the file; `%` is doubled for ConfigParser's interpolation.
    let mut pct = c.clone();
    pct.bundle = PathBuf::from("/tp/100%/bundle.pem");
    let files = Files::from([(
        PathBuf::from("/home/u/.config/gcloud/active_config"),
        b"work".to_vec(),
    )]);
    let (path, text) = written(&plan(&Gcloud, &f, &pct, &files).unwrap());
    assert_eq!(
        path,
        PathBuf::from("/home/u/.config/gcloud/configurations/config_work")
    );
    assert_eq!(
        text,
        "[core]\ncustom_ca_certs_file = /tp/100%%/bundle.pem\n"
    );

    let none = Files::from([(
        PathBuf::from("/home/u/.config/gcloud/active_config"),
        b"NONE".to_vec(),
    )]);
    let p = plan(&Gcloud, &f, &c, &none).unwrap();
    assert!(
        matches!(p.mechanism, Mechanism::Unsupported { .. }) && p.edits.is_empty(),
        "{p:?}"
    );
    let bad = Files::from([(
        PathBuf::from("/home/u/.config/gcloud/active_config"),
        b"work\n".to_vec(),
    )]);
    assert!(matches!(
        plan(&Gcloud, &f, &c, &bad),
        Err(ToolError::Unparsable { .. })
    ));
}

/// A CA setting the person made: replaced when it cannot work (missing, CA only, no CA), kept
/// when it already holds the CA and other roots.
#[test]
fn a_setting_the_person_made() {
    let ca = Ca::new_root("Person Test Proxy CA").cert_pem();
    let other = Ca::new_root("Person Test Public Root").cert_pem();
    let c = ctx(Os::Linux, false);
    let mine = "/etc/mine.pem";
    let cases: [(&dyn Tool, Found, &str, &str, &str); 6] = [
        (
            &Cargo,
            found(ToolId::Cargo, "cargo 1.95.0", &[]),
            "/home/u/.cargo/config.toml",
            "[http]\ncainfo = \"/etc/mine.pem\" # mine\n",
            "[http]\ncainfo = \"/tp/bundle.pem\" # mine\n",
        ),
        (
            &Git,
            found(ToolId::Git, "git version 2.47.3", &[]),
            "/home/u/.gitconfig",
            "[http]\n\tsslCAInfo = /etc/mine.pem\n",
            "[http]\n\tsslCAInfo = \"/tp/bundle.pem\"\n",
        ),
        (
            &Curl,
            found(ToolId::Curl, "curl 7.88.1", &[]),
            "/home/u/.curlrc",
            "cacert /etc/mine.pem\n",
            "cacert = \"/tp/bundle.pem\"\n",
        ),
        (
            &Wget,
            found(ToolId::Wget, "GNU Wget 1.21.3", &[]),
            "/home/u/.wgetrc",
            "ca_certificate = /etc/mine.pem\n",
            "ca_certificate = /tp/bundle.pem\n",
        ),
        (
            &Aws,
            found(ToolId::Aws, "aws-cli/1.45.11", &[]),
            "/home/u/.aws/config",
            "[default]\nca_bundle = /etc/mine.pem\n",
            "[default]\nca_bundle = /tp/bundle.pem\n",
        ),
        (
            &Gcloud,
            found(ToolId::Gcloud, "Google Cloud SDK 528.0.0", &[]),
            "/home/u/.config/gcloud/configurations/config_default",
            "[core]\ncustom_ca_certs_file = /etc/mine.pem\n",
            "[core]\ncustom_ca_certs_file = /tp/bundle.pem\n",
        ),
    ];
    for (tool, f, file, theirs, ours) in cases {
        let name = tool.id().as_str();
        let base = Files::from([
            (PathBuf::from(file), theirs.as_bytes().to_vec()),
            (PathBuf::from(CA_FILE), ca.as_bytes().to_vec()),
        ]);
        for (why, contents) in [
            ("missing", None),
            ("CA only", Some(ca.clone())),
            ("no CA", Some(other.clone())),
        ] {
            let mut files = base.clone();
            if let Some(contents) = contents {
                files.insert(PathBuf::from(mine), contents.into_bytes());
            }
            let p = plan(tool, &f, &c, &files).unwrap();
            assert_eq!(written(&p).1, ours, "{name}: {why}");
            assert!(
                p.notes
                    .iter()
                    .any(|n| n.contains("replaced") && n.contains(mine)),
                "{name}: {why}: {p:?}"
            );
        }
        let mut files = base.clone();
        files.insert(PathBuf::from(mine), format!("{other}{ca}").into_bytes());
        let p = plan(tool, &f, &c, &files).unwrap();
        assert!(
            p.edits.is_empty(),
            "{name}: a working bundle of theirs is kept: {p:?}"
        );
        assert!(p.notes.iter().any(|n| n.contains("kept")), "{name}: {p:?}");
    }
}

// ---- The real clients read the setting back ----

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A loopback TLS server presenting a leaf for 127.0.0.1 from `ca`.
fn serve(ca: &Ca) -> TlsServerHandle {
    let leaf = ca.issue_leaf("127.0.0.1", None);
    TlsServer::start_local(mint_fixed(Minted::new(&leaf, &[]))).unwrap()
}

/// Whether the client accepted the server's certificate: it sent its request over the
/// connection. (The handshake completing is not enough: GnuTLS clients such as Debian's git and
/// wget verify the chain after it and then hang up without a word.)
fn accepted(server: &TlsServerHandle) -> bool {
    assert!(
        server.wait_idle(Duration::from_secs(30)),
        "the client did not hang up"
    );
    let handshakes = server.handshakes();
    assert!(!handshakes.is_empty(), "the client never connected");
    handshakes
        .iter()
        .any(|h| h.completed && h.app_data_bytes > 0)
}

/// A home with a bundle at a path that needs quoting in every format (space, backslash, `%`):
/// the CA only the bundle holds plus another root.
struct Lab {
    _dir: tempfile::TempDir,
    home: PathBuf,
    ca: Ca,
    bundle: PathBuf,
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_path_buf();
    let ca = Ca::new_root("Tools A Test Proxy CA");
    let bundle_dir = home.join("trust proxy 100% a\\b");
    std::fs::create_dir_all(&bundle_dir).unwrap();
    let bundle = bundle_dir.join("bundle.pem");
    let other = Ca::new_root("Tools A Test Public Root");
    std::fs::write(&bundle, format!("{}{}", other.cert_pem(), ca.cert_pem())).unwrap();
    std::fs::write(home.join("ca.pem"), ca.cert_pem()).unwrap();
    Lab {
        _dir: dir,
        home,
        ca,
        bundle,
    }
}

impl Lab {
    fn ctx(&self, env: &[(&str, &Path)]) -> Context {
        Context {
            os: Os::Linux,
            home: self.home.clone(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
                .collect(),
            bundle: self.bundle.clone(),
            proxy_ca: self.home.join("ca.pem"),
            ca_in_os_store: false,
            minted_without_revocation: None,
            strict_x509_findings: Vec::new(),
        }
    }

    /// Plans with the real files and writes what the plan says, as the engine would.
    fn configure(&self, tool: &dyn Tool, version_text: &str, env: &[(&str, &Path)]) -> ToolPlan {
        let read = |p: &Path| -> Result<Option<Vec<u8>>, ToolError> {
            match std::fs::read(p) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => panic!("{}: {e}", p.display()),
            }
        };
        let p = tool
            .plan(&found(tool.id(), version_text, &[]), &self.ctx(env), &read)
            .unwrap();
        for edit in &p.edits {
            std::fs::create_dir_all(edit.path.parent().unwrap()).unwrap();
            std::fs::write(&edit.path, &edit.contents).unwrap();
        }
        p
    }
}

/// A client command with nothing from this machine's environment that could choose its roots
/// or send it through a proxy.
fn client(program: &str) -> Command {
    let mut c = Command::new(program);
    for var in [
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "CURL_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "GIT_SSL_CAINFO",
        "GIT_SSL_CAPATH",
        "CARGO_HTTP_CAINFO",
        "AWS_CA_BUNDLE",
        "AWS_PROFILE",
        "CURL_HOME",
        "WGETRC",
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
        "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
        "CLOUDSDK_ACTIVE_CONFIG_NAME",
        "CARGO_HOME",
        "NIX_SSL_CERT_FILE",
    ] {
        c.env_remove(var);
    }
    c.env("NO_PROXY", "*").env("no_proxy", "*");
    c
}

fn run(c: &mut Command) -> String {
    let out = c.output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn real_curl_reads_cacert_from_curlrc() {
    if !have("curl") {
        eprintln!("curl not installed: skipped");
        return;
    }
    let lab = lab();
    let fetch = |lab: &Lab| {
        let server = serve(&lab.ca);
        let url = format!("https://127.0.0.1:{}/", server.addr().port());
        let out =
            run(client("curl")
                .env("CURL_HOME", &lab.home)
                .args(["-sS", "--max-time", "2", &url]));
        (accepted(&server), out)
    };
    let (before, out) = fetch(&lab);
    assert!(
        !before,
        "curl trusted the test CA before configuring: {out}"
    );
    let p = lab.configure(&Curl, "curl 7.88.1", &[("CURL_HOME", &lab.home)]);
    assert_eq!(p.edits[0].path, lab.home.join(".curlrc"));
    let (after, out) = fetch(&lab);
    assert!(after, "curl did not use the bundle from .curlrc: {out}");
}

#[test]
fn real_wget_reads_ca_certificate_from_wgetrc() {
    if !have("wget") {
        eprintln!("wget not installed: skipped");
        return;
    }
    let lab = lab();
    let wgetrc = lab.home.join("wgetrc");
    std::fs::write(&wgetrc, "tries = 1\n").unwrap();
    let fetch = || {
        let server = serve(&lab.ca);
        let url = format!("https://127.0.0.1:{}/", server.addr().port());
        let out = run(client("wget").env("WGETRC", &wgetrc).args([
            "-q",
            "-T",
            "2",
            "-O",
            "/dev/null",
            &url,
        ]));
        (accepted(&server), out)
    };
    let (before, out) = fetch();
    assert!(
        !before,
        "wget trusted the test CA before configuring: {out}"
    );
    lab.configure(&Wget, "GNU Wget 1.21.3", &[("WGETRC", &wgetrc)]);
    let (after, out) = fetch();
    assert!(after, "wget did not use ca_certificate: {out}");
}

#[test]
fn real_git_reads_sslcainfo_from_the_global_config() {
    if !have("git") {
        eprintln!("git not installed: skipped");
        return;
    }
    let lab = lab();
    let global = lab.home.join("gitconfig");
    std::fs::write(
        &global,
        "[user]\n\tname = Test ; tester\n[http]\n\tpostBuffer = 1048576\n",
    )
    .unwrap();
    let fetch = || {
        let server = serve(&lab.ca);
        let url = format!("https://127.0.0.1:{}/repo.git", server.addr().port());
        let out = run(client("git")
            .env("GIT_CONFIG_GLOBAL", &global)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .args([
                "-c",
                "http.lowSpeedLimit=1",
                "-c",
                "http.lowSpeedTime=2",
                "ls-remote",
                &url,
            ]));
        (accepted(&server), out)
    };
    let (before, out) = fetch();
    assert!(!before, "git trusted the test CA before configuring: {out}");
    lab.configure(
        &Git,
        "git version 2.47.3",
        &[("GIT_CONFIG_GLOBAL", &global)],
    );
    let got = run(client("git")
        .args(["config", "--file"])
        .arg(&global)
        .args(["--get", "http.sslcainfo"]));
    assert_eq!(got.trim_end_matches('\n'), lab.bundle.to_str().unwrap());
    let name = run(client("git")
        .args(["config", "--file"])
        .arg(&global)
        .args(["--get", "user.name"]));
    assert_eq!(name, "Test\n", "the rest of the file is as it was");
    let (after, out) = fetch();
    assert!(after, "git did not use http.sslCAInfo: {out}");
}

#[test]
fn real_cargo_reads_cainfo_from_cargo_home() {
    let Ok(cargo) = std::env::var("CARGO") else {
        eprintln!("CARGO not set: skipped");
        return;
    };
    let lab = lab();
    let cargo_home = lab.home.join("cargo home");
    std::fs::create_dir_all(&cargo_home).unwrap();
    std::fs::write(cargo_home.join("config.toml"), "# mine\n[net]\nretry = 0\n").unwrap();
    let project = lab.home.join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/lib.rs"), "").unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ndep = { version = \"1\", registry = \"lab\" }\n",
    )
    .unwrap();
    let fetch = || {
        let server = serve(&lab.ca);
        std::fs::create_dir_all(project.join(".cargo")).unwrap();
        std::fs::write(
            project.join(".cargo/config.toml"),
            format!(
                "[registries.lab]\nindex = \"sparse+https://127.0.0.1:{}/index/\"\n",
                server.addr().port()
            ),
        )
        .unwrap();
        let out = run(client(&cargo)
            .current_dir(&project)
            .env("CARGO_HOME", &cargo_home)
            .env("CARGO_HTTP_TIMEOUT", "2")
            .env("CARGO_NET_RETRY", "0")
            .args(["generate-lockfile", "--quiet"]));
        (accepted(&server), out)
    };
    let (before, out) = fetch();
    assert!(
        !before,
        "cargo trusted the test CA before configuring: {out}"
    );
    lab.configure(&Cargo, "cargo 1.95.0", &[("CARGO_HOME", &cargo_home)]);
    let (after, out) = fetch();
    assert!(after, "cargo did not use [http] cainfo: {out}");
    assert!(std::fs::read_to_string(cargo_home.join("config.toml"))
        .unwrap()
        .starts_with("# mine\n[net]\nretry = 0\n"));
}

#[test]
fn real_aws_reads_ca_bundle_from_the_default_profile() {
    if !have("aws") {
        eprintln!("aws not installed: skipped");
        return;
    }
    let lab = lab();
    let config = lab.home.join("aws").join("config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[default]\nregion = us-east-1\n").unwrap();
    let aws = || {
        let mut c = client("aws");
        c.env("AWS_CONFIG_FILE", &config)
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                lab.home.join("no-credentials"),
            )
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "example")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        c
    };
    let fetch = || {
        let server = serve(&lab.ca);
        let url = format!("https://127.0.0.1:{}", server.addr().port());
        let out = run(aws().args([
            "s3api",
            "list-buckets",
            "--cli-read-timeout",
            "2",
            "--endpoint-url",
            &url,
        ]));
        (accepted(&server), out)
    };
    let (before, out) = fetch();
    assert!(!before, "aws trusted the test CA before configuring: {out}");
    lab.configure(&Aws, "aws-cli/1.45.11", &[("AWS_CONFIG_FILE", &config)]);
    let got = run(aws().args(["configure", "get", "ca_bundle"]));
    assert_eq!(got.trim_end_matches('\n'), lab.bundle.to_str().unwrap());
    let (after, out) = fetch();
    assert!(after, "aws did not use ca_bundle: {out}");
}

#[test]
fn real_gcloud_reads_custom_ca_certs_file_from_the_active_configuration() {
    if !have("gcloud") {
        eprintln!("gcloud not installed: skipped");
        return;
    }
    let lab = lab();
    let config_dir = lab.home.join("gcloud");
    std::fs::create_dir_all(config_dir.join("configurations")).unwrap();
    std::fs::write(config_dir.join("active_config"), "work").unwrap();
    std::fs::write(
        config_dir.join("configurations/config_work"),
        "[core]\nproject = lab-project\n\n[compute]\nzone = europe-west1-b\n",
    )
    .unwrap();
    let get = |property: &str| {
        run(client("gcloud")
            .env("CLOUDSDK_CONFIG", &config_dir)
            .args(["config", "get", property]))
    };
    assert!(!get("core/custom_ca_certs_file").contains("bundle.pem"));
    lab.configure(
        &Gcloud,
        "Google Cloud SDK 528.0.0",
        &[("CLOUDSDK_CONFIG", &config_dir)],
    );
    let got = get("core/custom_ca_certs_file");
    assert_eq!(
        got.lines().next().unwrap_or(""),
        lab.bundle.to_str().unwrap(),
        "{got}"
    );
    assert_eq!(get("compute/zone").lines().next(), Some("europe-west1-b"));
}

/// A bundle path a config format cannot carry is refused, never written half-way.
#[test]
fn paths_a_format_cannot_carry() {
    use std::os::unix::ffi::OsStrExt;
    let tools: [(&dyn Tool, &str); 6] = [
        (&Cargo, "cargo 1.95.0"),
        (&Git, "git version 2.47.3"),
        (&Curl, "curl 7.88.1"),
        (&Wget, "GNU Wget 1.21.3"),
        (&Aws, "aws-cli/1.45.11"),
        (&Gcloud, "Google Cloud SDK 528.0.0"),
    ];
    let not_utf8 = PathBuf::from(std::ffi::OsStr::from_bytes(b"/tp/\xff/bundle.pem"));
    for bad in [PathBuf::from("/tp/a\nb/bundle.pem"), not_utf8] {
        for (tool, version) in tools {
            let mut c = ctx(Os::Linux, false);
            c.bundle = bad.clone();
            let got = plan(tool, &found(tool.id(), version, &[]), &c, &Files::new());
            assert!(
                matches!(got, Err(ToolError::UnsafePath { .. })),
                "{}: {bad:?}: {got:?}",
                tool.id().as_str()
            );
        }
    }
}

/// The AWS CLI and gcloud run on their own bundled Python: with a CA that fails Python 3.13's
/// VERIFY_X509_STRICT, the plan says configuring cannot fix a 3.13 one, and still configures.
#[test]
fn python_based_clis_say_when_strict_x509_will_still_fail() {
    let files = Files::new();
    let mut strict = ctx(Os::Linux, true);
    strict.strict_x509_findings = vec!["basicConstraints not marked critical".to_owned()];
    for (tool, found) in [
        (
            &Aws as &dyn Tool,
            found(ToolId::Aws, "aws-cli/2.9.19 Python/3.13.1", &[]),
        ),
        (
            &Gcloud as &dyn Tool,
            found(ToolId::Gcloud, "Google Cloud SDK 528.0.0", &[]),
        ),
    ] {
        let plain = plan(tool, &found, &ctx(Os::Linux, true), &files).unwrap();
        assert!(
            !plain.notes.join("\n").contains("VERIFY_X509_STRICT"),
            "{plain:?}"
        );
        let noted = plan(tool, &found, &strict, &files).unwrap();
        let notes = noted.notes.join("\n");
        assert!(
            notes.contains("VERIFY_X509_STRICT") && notes.contains("re-issued"),
            "{noted:?}"
        );
        assert_eq!(noted.edits.len(), 1, "{noted:?}");
    }
}
