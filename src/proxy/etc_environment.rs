//! `/etc/environment`: what pam_env puts into every login session on Linux. A session started
//! before an administrator added the proxy there, or a `sudo` that strips `HTTPS_PROXY`, still
//! has it here. Read only; `KEY=value` lines, optionally quoted, the way pam_env reads them
//! (no `export`, no expansion).

use crate::discover::proxy::ProxySettings;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

pub const PATH: &str = "/etc/environment";

/// pam_env's own files are small; anything larger is not one to trust.
const MAX_BYTES: u64 = 64 * 1024;

/// The proxy variables of `path`; `None` when the file is absent, unreadable or oversized (the
/// source is then simply not present).
pub fn read(path: &Path) -> Option<ProxySettings> {
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES.saturating_add(1))
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() as u64 > MAX_BYTES {
        return None;
    }
    Some(parse(&String::from_utf8_lossy(&bytes)))
}

/// The proxy settings the lines of `text` describe.
pub fn parse(text: &str) -> ProxySettings {
    let mut vars: HashMap<String, String> = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        vars.insert(key.trim().to_string(), unquoted.to_string());
    }
    ProxySettings::from_env(|name| vars.get(name).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::target::Target;

    #[test]
    fn reads_proxy_lines_as_pam_env_does() {
        let s = parse(
            "PATH=\"/usr/bin\"\n# https_proxy=http://commented:1\nhttps_proxy=\"http://corp-proxy:3128\"\nno_proxy='.corp,10.0.0.0/8'\n",
        );
        let (var, endpoint) = s.env_proxy.clone().unwrap();
        assert_eq!(var, "https_proxy");
        let endpoint = endpoint.unwrap();
        assert_eq!(
            (endpoint.host.as_str(), endpoint.port),
            ("corp-proxy", 3128)
        );
        assert_eq!(s.no_proxy.unwrap().1, ".corp,10.0.0.0/8");
        let s = parse("ALL_PROXY=proxy.corp:8080\n");
        let choice = s.choose(&Target::parse("x.org").unwrap()).unwrap();
        assert_eq!(choice.endpoint.unwrap().host, "proxy.corp");
        assert!(parse("LANG=C\n").env_proxy.is_none());
    }
}
