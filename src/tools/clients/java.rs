//! Java: a single-file source program (`java Fetch.java`, JDK 11+) opening an
//! HttpsURLConnection with the JDK's default trust. The JVM ignores `HTTPS_PROXY`: the proxy
//! chosen for it is passed as host and port (no credentials: the JDK refuses Basic for tunnels
//! unless told otherwise).

use super::{Env, Recipe, Site};

const FETCH: &str = include_str!("scripts/Fetch.java");

pub const JAVA: &[&str] = &["java"];

pub fn java(site: &Site, timeout: f64, proxy: Option<(String, u16)>) -> Recipe {
    let url = site.url("https://pypi.org/simple/pip/", "/");
    let mut args: Vec<std::ffi::OsString> = vec![
        // The C1 compiler only and the serial collector: half the CPU of a default start for
        // a program that runs once (the source launcher compiles it first), and the other
        // clients run beside it. Neither touches trust.
        "-XX:TieredStopAtLevel=1".into(),
        "-XX:+UseSerialGC".into(),
        "Fetch.java".into(),
        url.clone().into(),
        timeout.to_string().into(),
    ];
    if let Some((host, port)) = proxy {
        args.push(host.into());
        args.push(port.to_string().into());
    }
    Recipe {
        args,
        files: vec![("Fetch.java", FETCH.as_bytes().to_vec())],
        env: Vec::new(),
        url,
    }
}

pub fn trust(env: &Env) -> String {
    let options = [
        env.get("JAVA_TOOL_OPTIONS").unwrap_or_default(),
        env.get("JDK_JAVA_OPTIONS").unwrap_or_default(),
    ]
    .join(" ");
    match options
        .split_whitespace()
        .find(|o| o.starts_with("-Djavax.net.ssl.trustStore="))
    {
        Some(o) => format!("{o} (replaces the JDK's cacerts)"),
        None => "the JDK's cacerts (Debian: /etc/ssl/certs/java/cacerts)".to_string(),
    }
}
