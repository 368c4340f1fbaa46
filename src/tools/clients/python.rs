//! The Python family: the interpreter's own `ssl` + urllib, requests, httpx (run by that same
//! `python3`), pip and uv. All of them read `HTTPS_PROXY` themselves.

use super::{Env, Recipe, Site};

const URLLIB: &str = include_str!("scripts/python_urllib.py");
const REQUESTS: &str = include_str!("scripts/python_requests.py");
const HTTPX: &str = include_str!("scripts/python_httpx.py");

pub const PYTHON: &[&str] = &["python3", "python"];
pub const PIP: &[&str] = &["pip", "pip3"];
pub const UV: &[&str] = &["uv"];

fn script(file: &'static str, body: &str, site: &Site, default_url: &str, timeout: f64) -> Recipe {
    let url = site.url(default_url, "/");
    Recipe {
        args: vec![file.into(), url.clone().into(), timeout.to_string().into()],
        files: vec![(file, body.as_bytes().to_vec())],
        env: vec![
            // No .pyc files next to the script, no user site surprises in the report.
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        ],
        url,
    }
}

pub fn urllib(site: &Site, timeout: f64) -> Recipe {
    script(
        "verify_urllib.py",
        URLLIB,
        site,
        "https://pypi.org/simple/pip/",
        timeout,
    )
}

pub fn requests(site: &Site, timeout: f64) -> Recipe {
    script(
        "verify_requests.py",
        REQUESTS,
        site,
        "https://files.pythonhosted.org/",
        timeout,
    )
}

pub fn httpx(site: &Site, timeout: f64) -> Recipe {
    script(
        "verify_httpx.py",
        HTTPX,
        site,
        "https://pypi.org/simple/pip/",
        timeout,
    )
}

/// `pip index versions pip`: one fetch of the package's simple page, with pip's own trust
/// (pip.conf `cert`, `PIP_CERT`, truststore or certifi by version).
pub fn pip(site: &Site, timeout: f64) -> Recipe {
    let index = site.url("https://pypi.org/simple/", "/simple/");
    let url = format!("{index}pip/");
    let secs = timeout.ceil().max(1.0).to_string();
    Recipe {
        args: [
            "index",
            "versions",
            "pip",
            // Debug lines: the HTTP status or the connection error of the page fetch, which
            // pip otherwise keeps to itself.
            "-vv",
            "--index-url",
            &index,
            // A certificate error is not worth retrying: pip would back off for seconds.
            "--retries",
            "0",
            "--timeout",
            &secs,
            "--disable-pip-version-check",
            "--no-input",
        ]
        .iter()
        .map(|a| a.into())
        .collect(),
        files: Vec::new(),
        env: Vec::new(),
        url,
    }
}

/// `uv pip compile` of a one-line requirement: uv fetches the package's simple page with its
/// own trust (bundled roots, `system-certs`, or `SSL_CERT_FILE`).
pub fn uv(site: &Site) -> Recipe {
    let index = site.url("https://pypi.org/simple/", "/simple/");
    let url = format!("{index}pip/");
    Recipe {
        args: [
            "pip",
            "compile",
            "requirements.in",
            "--index-url",
            &index,
            "--no-cache",
            "--no-progress",
        ]
        .iter()
        .map(|a| a.into())
        .collect(),
        files: vec![("requirements.in", b"pip\n".to_vec())],
        // A refused connection is retried with backoff for seconds otherwise.
        env: vec![("UV_HTTP_RETRIES".into(), "0".into())],
        url,
    }
}

/// Where each Python client takes its roots from, in the child's environment.
pub fn trust(client: super::ClientId, env: &Env) -> String {
    use super::ClientId;
    match client {
        ClientId::Python => env
            .first_set(&["SSL_CERT_FILE", "SSL_CERT_DIR"])
            .map(|(k, v)| format!("{k}={v} (replaces OpenSSL's default paths)"))
            .unwrap_or_else(|| "OpenSSL's default verify paths".to_string()),
        ClientId::Requests => env
            .first_set(&["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
            .map(|(k, v)| format!("{k}={v} (replaces certifi)"))
            .unwrap_or_else(|| "certifi's bundle".to_string()),
        ClientId::Httpx => env
            .first_set(&["SSL_CERT_FILE", "SSL_CERT_DIR"])
            .map(|(k, v)| format!("{k}={v} (replaces certifi)"))
            .unwrap_or_else(|| "certifi's bundle".to_string()),
        // Before pip's truststore era its requests session lets these two override PIP_CERT and
        // pip.conf `cert` (seen with pip 23.2: requests' merge_environment_settings).
        ClientId::Pip => env
            .first_set(&["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT"])
            .map(|(k, v)| format!("{k}={v} (replaces pip's roots)"))
            .unwrap_or_else(|| {
                "pip's own configuration (pip.conf `cert`), else its defaults (truststore + certifi from pip 24.2 on Python >= 3.10, certifi before)".to_string()
            }),
        _ => env
            .first_set(&["SSL_CERT_FILE", "SSL_CERT_DIR"])
            .map(|(k, v)| format!("{k}={v} (replaces uv's roots, even with system-certs)"))
            .or_else(|| {
                env.first_set(&["UV_SYSTEM_CERTS", "UV_NATIVE_TLS"])
                    .map(|(k, v)| format!("{k}={v} (the OS store)"))
            })
            .unwrap_or_else(|| {
                "uv.toml `system-certs` if set, else uv's bundled Mozilla roots".to_string()
            }),
    }
}
