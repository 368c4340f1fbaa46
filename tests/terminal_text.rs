//! Nothing a certificate or a peer chose reaches the terminal raw: every field of the human
//! discover report, the install confirmation prompt (at a real pseudo-terminal), error text
//! quoting a proxy's reply, and the JSON output (exact values, escaped characters).

use std::process::Command;
use std::sync::Arc;
use trust_proxy_testkit::rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use trust_proxy_testkit::*;

/// The characters a hostile peer plants, each listed here by hand (not taken from the code under
/// test, so a character the sanitizer forgets makes these tests fail).
const PLANTED: &[char] = &[
    '\u{1b}', '\u{7}', '\u{9b}', '\u{85}', '\u{7f}', '\u{202e}', '\u{202c}', '\u{2066}',
    '\u{2069}', '\u{200b}', '\u{200f}', '\u{feff}', '\u{2028}', '\u{2029}',
];

/// Escapes, a C1 CSI, bidi override + isolate, zero-width and line/paragraph separators.
fn hostile(tag: &str) -> String {
    format!(
        "{tag}\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m\u{85}\u{7f} \u{202e}moc.lagep\u{202c} \u{2066}x\u{2069} pay\u{200b}pal\u{200f}\u{feff}\u{2028}Fake: line\u{2029}end"
    )
}

/// What an AIA URL (an IA5String: ASCII only) can carry: ESC, BEL, DEL.
const HOSTILE_AIA: &str = "http://aia.test/r\u{1b}[2J\u{1b}]0;t\u{7}oot\u{7f}.cer";

fn bin() -> Command {
    trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"))
}

fn run(c: &mut Command) -> (i32, String, String) {
    trust_proxy_testkit::cli::output_text(c).unwrap()
}

fn assert_nothing_raw(what: &str, text: &str) {
    let raw: Vec<char> = text.chars().filter(|c| PLANTED.contains(c)).collect();
    assert!(raw.is_empty(), "{what}: raw {raw:?} in\n{text:?}");
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("Fake: line")),
        "{what}: a forged line\n{text}"
    );
}

/// Root and intermediate with hostile names; the intermediate's AIA URL, hostile too, leads to
/// the root (which the proxy does not send); the leaf's subject and a SAN are hostile.
struct HostileChain {
    root: Arc<Ca>,
    proxy: ProxyHandle,
}

fn hostile_chain() -> HostileChain {
    let root = Arc::new(Ca::new_root(&hostile("Root")));
    let int = Arc::new(root.issue_intermediate(&hostile("Int"), Some(HOSTILE_AIA)));
    let int_der = int.cert_der();
    let mint: MintFn = Arc::new(move |_host: &str| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![
            "pypi.org".to_string(),
            "san\u{1b}[5m.evil".to_string(),
        ])
        .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, hostile("Leaf"));
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &int.issuer()).unwrap();
        Minted {
            chain: vec![cert.der().clone(), int_der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    });
    // The fetch sends the URL as url::Url serialises it (ESC percent-encoded); route that path.
    let path = url::Url::parse(HOSTILE_AIA).unwrap().path().to_string();
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint).route(&path, HttpReply::cert_der(&root.cert_der())),
    )
    .unwrap();
    HostileChain { root, proxy }
}

#[test]
fn hostile_subject_issuer_san_and_aia_never_reach_the_human_report_raw() {
    let lab = hostile_chain();
    let (code, out, err) = run(bin().args([
        "discover",
        "--target",
        "pypi.org",
        "--proxy",
        &lab.proxy.url(),
    ]));
    assert_eq!(code, 0, "{out}{err}");
    assert_nothing_raw("discover stdout", &out);
    assert_nothing_raw("discover stderr", &err);
    assert!(
        out.contains(&fingerprint_colons(&lab.root.cert_der())),
        "{out}"
    );
    // The report did show each hostile field, escaped: the root came through the AIA URL.
    for shown in [
        "Root\\x1b[2J\\x1b]0;owned\\x07\\u{9b}31m\\u{85}\\x7f \\u{202e}moc.lagep\\u{202c}",
        "Int\\x1b[2J",
        "Leaf\\x1b[2J",
        "\\u{2066}x\\u{2069} pay\\u{200b}pal\\u{200f}\\u{feff}\\u{2028}Fake: line\\u{2029}end",
        "fetched from http://aia.test/r\\x1b[2J\\x1b]0;t\\x07oot\\x7f.cer",
    ] {
        assert!(out.contains(shown), "{shown}\n{out}");
    }
}

#[test]
fn root_not_found_advice_is_escaped_and_whole() {
    let hidden = Ca::new_root(&hostile("Hidden"));
    let int = Arc::new(hidden.issue_intermediate(&hostile("Int"), None));
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
        int.clone(),
        vec![int.cert_der()],
    )))
    .unwrap();
    let (code, out, err) =
        run(bin().args(["discover", "--target", "pypi.org", "--proxy", &proxy.url()]));
    assert_eq!(code, 4, "{out}{err}");
    assert_nothing_raw("root not found", &out);
    // The advice names the hostile issuer and still ends with what to do.
    let advice = out
        .lines()
        .find(|l| l.trim_start().starts_with("What to do"))
        .unwrap_or_default();
    assert!(advice.contains("Hidden"), "{out}");
    assert!(
        advice.ends_with("then run again with --ca-file PATH."),
        "{advice}"
    );
}

#[test]
fn json_keeps_hostile_values_exact_but_writes_them_escaped() {
    let lab = hostile_chain();
    let (code, out, err) = run(bin().args([
        "discover",
        "--json",
        "--target",
        "pypi.org",
        "--proxy",
        &lab.proxy.url(),
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let raw: Vec<char> = out.chars().filter(|c| PLANTED.contains(c)).collect();
    assert!(raw.is_empty(), "raw {raw:?} in the JSON text");
    assert!(out.contains("\\u202e") && out.contains("\\u001b"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let root = &v["roots"][0];
    assert_eq!(
        root["certificate"]["subject"],
        format!("CN={}", hostile("Root"))
    );
    assert_eq!(root["found_at"], HOSTILE_AIA);
    assert_eq!(
        v["targets"][0]["presented_chain"][0]["subject"],
        format!("CN={}", hostile("Leaf"))
    );
    assert_eq!(
        v["targets"][0]["presented_chain"][0]["issuer"],
        format!("CN={}", hostile("Int"))
    );
}

#[test]
fn a_proxy_reply_quoting_hostile_bytes_is_escaped_in_the_error() {
    let ca = Arc::new(Ca::new_root("Plain Root"));
    for reply in [
        // A challenge scheme is quoted in the error: header values may carry any non-ASCII.
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: \u{9b}2J\u{202e}Basic\u{2066}\u{85} realm=\"r\u{202e}\"",
        // One it rejects: the error quotes the first bytes, ESC included.
        "HTTP/1.1 403 \u{1b}[2J\u{1b}]0;owned\u{7}",
    ] {
        let proxy = InterceptingProxy::start(
            ProxyConfig::new(mint_from(ca.clone(), vec![]))
                .behaviour(Behaviour::Status(reply.to_string())),
        )
        .unwrap();
        let (code, out, err) =
            run(bin().args(["discover", "--target", "pypi.org", "--proxy", &proxy.url()]));
        assert_eq!(code, 5, "{out}{err}");
        assert!(out.contains("407") || out.contains("403"), "{out}");
        assert_nothing_raw(reply, &out);
        assert_nothing_raw(reply, &err);
    }
}

/// The confirmation prompt as a person sees it: `script` gives the binary a pseudo-terminal
/// for stdin and stderr (so trust-proxy asks), and the answer is "no".
#[cfg(target_os = "linux")]
#[test]
fn the_confirmation_prompt_shows_hostile_names_escaped() {
    use std::io::Write;
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("script (util-linux) not installed; skipped");
        return;
    }
    let lab = hostile_chain();
    let home = tempfile::tempdir().unwrap();
    // trust-proxy's own escapes (colour, the progress line) are switched off, so that any
    // escape on the screen came from the peer; tests/terminal.rs covers those.
    let cmd = format!(
        "{} install --quiet --scope user --no-os-store --target pypi.org --proxy {}",
        env!("CARGO_BIN_EXE_trust-proxy"),
        lab.proxy.url()
    );
    // `script -q -e -c CMD /dev/null`: quiet, child's exit code, no typescript file.
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("NO_COLOR", "1")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"no\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{screen}");
    assert!(screen.contains("Type 'yes' to confirm"), "{screen}");
    assert_nothing_raw("prompt", &screen);
    assert!(
        screen.contains("\\u{202e}moc.lagep\\u{202c}"),
        "the prompt shows the name, escaped\n{screen}"
    );
    assert!(
        screen.contains(&fingerprint_colons(&lab.root.cert_der())),
        "{screen}"
    );
    assert!(!home.path().join("data").exists());
}

fn fingerprint_colons(der: &CertificateDer<'_>) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
