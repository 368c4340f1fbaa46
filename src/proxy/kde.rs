//! KDE's proxy settings: `[Proxy Settings]` in `kioslaverc`, which System Settings writes
//! and KIO, Konqueror, Falkon and Chromium on Plasma read.
//!
//! When it is asked (`resolve`): on a KDE desktop (`XDG_CURRENT_DESKTOP` contains `KDE`) it is
//! the OS setting, asked before GNOME's; elsewhere it is asked only when GNOME gave nothing
//! (no gsettings, or mode `none`), so a Plasma user in a terminal without the desktop variable
//! still gets their proxy, and a GNOME user's settings are not overridden by a stale file.
//!
//! Keys, as KIO reads them: `ProxyType` (0 none, 1 manual, 2 PAC, 3 WPAD, 4 environment),
//! `httpsProxy` (`http://host 3128` as System Settings writes it, or `host:port`; in mode 4
//! the *name* of an environment variable), `Proxy Config Script` (the PAC URL), `NoProxyFor`
//! (comma- or space-separated; in mode 4 a variable name) and `ReversedException` (manual
//! mode: the list names the only hosts that use the proxy).
//!
//! Files, as KConfig cascades them: `$XDG_CONFIG_DIRS/kioslaverc` (default `/etc/xdg`) give
//! defaults, `$XDG_CONFIG_HOME/kioslaverc` (default `~/.config`) overrides them per key. The
//! `[$i]` (immutable) marker of a system file and `[$e]` shell expansion are not honoured.

use crate::discover::proxy::{ProxyEndpoint, ProxyUrlError};
use crate::proxy::os::{OsOrigin, OsProxy};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "kioslaverc";
const GROUP: &str = "Proxy Settings";

/// A kioslaverc is a few kilobytes; a larger file is not one to parse.
const MAX_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KdeError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_BYTES} bytes")]
    TooLarge { path: String },
    #[error("ProxyType {} is not 0 to 4", crate::terminal_text::quoted(.0))]
    ProxyType(String),
    #[error("httpsProxy {}: {source}", crate::terminal_text::quoted(value))]
    Proxy {
        value: String,
        source: ProxyUrlError,
    },
}

/// Whether the session is a KDE one, from `XDG_CURRENT_DESKTOP` (`KDE`, or a list like
/// `KDE:GNOME`).
pub fn is_kde_desktop(xdg_current_desktop: Option<&str>) -> bool {
    xdg_current_desktop.is_some_and(|v| {
        v.split(':')
            .any(|part| part.trim().eq_ignore_ascii_case("kde"))
    })
}

/// The kioslaverc files in the order KConfig reads them (later overrides earlier), from the
/// environment as `get` shows it.
pub fn candidate_files(get: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let system_dirs = non_empty("XDG_CONFIG_DIRS").unwrap_or_else(|| "/etc/xdg".to_string());
    // XDG_CONFIG_DIRS lists the most important first; the least important is read first.
    let mut files: Vec<PathBuf> = system_dirs
        .split(':')
        .filter(|d| Path::new(d).is_absolute())
        .map(|d| Path::new(d).join(FILE_NAME))
        .rev()
        .collect();
    let user_dir = non_empty("XDG_CONFIG_HOME")
        .filter(|d| Path::new(d).is_absolute())
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(".config")));
    if let Some(dir) = user_dir {
        files.push(dir.join(FILE_NAME));
    }
    files
}

/// The KDE settings from `files` (see [`candidate_files`]); `Ok(None)` when none exists or
/// none has a `[Proxy Settings]` group. `get` reads the environment for mode 4.
pub fn read(
    files: &[PathBuf],
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<OsProxy>, KdeError> {
    let mut entries: HashMap<String, String> = HashMap::new();
    let mut found = false;
    for path in files {
        let Some(text) = read_small(path)? else {
            continue;
        };
        if let Some(group) = parse_group(&text, GROUP) {
            found = true;
            entries.extend(group);
        }
    }
    if !found {
        return Ok(None);
    }
    to_os_proxy(&entries, get).map(Some)
}

fn read_small(path: &Path) -> Result<Option<String>, KdeError> {
    let shown = || path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(KdeError::Read {
                path: shown(),
                source,
            })
        }
    };
    let meta = file.metadata().map_err(|source| KdeError::Read {
        path: shown(),
        source,
    })?;
    if !meta.is_file() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| KdeError::Read {
            path: shown(),
            source,
        })?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(KdeError::TooLarge { path: shown() });
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The entries of `[group]` in KConfig's INI dialect: `key=value`, `#` comments, a group
/// that appears twice merges, the last value of a key wins, localised keys (`key[de]`) and
/// option markers (`key[$e]`) are ignored or stripped, and `\s \t \n \r \\` are unescaped.
/// `None` if the group is absent.
pub fn parse_group(text: &str, group: &str) -> Option<HashMap<String, String>> {
    let mut in_group = false;
    let mut found = false;
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            // `[Group][$i]`: the name is the first bracket's content.
            let name = rest.split(']').next().unwrap_or_default();
            in_group = name == group;
            found |= in_group;
            continue;
        }
        if !in_group {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let key = match key.split_once('[') {
            // `key[$e]` and friends are options on the plain key; `key[de_DE]` is a
            // translation, which proxy keys never have.
            Some((plain, options)) if options.starts_with('$') => plain.trim_end(),
            Some(_) => continue,
            None => key,
        };
        out.insert(key.to_string(), unescape(value.trim()));
    }
    found.then_some(out)
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push(' '),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The settings the entries describe.
pub fn to_os_proxy(
    entries: &HashMap<String, String>,
    get: impl Fn(&str) -> Option<String>,
) -> Result<OsProxy, KdeError> {
    let value = |key: &str| {
        entries
            .get(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut os = OsProxy::new(OsOrigin::Kde);
    let proxy_type = value("ProxyType").unwrap_or_else(|| "0".to_string());
    match proxy_type.as_str() {
        "0" => {}
        "1" => {
            os.manual = true;
            os.https = value("httpsProxy").map(|v| parse_proxy(&v)).transpose()?;
            os.bypass = value("NoProxyFor")
                .map(|v| split_list(&v))
                .unwrap_or_default();
            os.bypass_reversed = value("ReversedException").is_some_and(|v| {
                matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on")
            });
        }
        "2" => os.pac_url = value("Proxy Config Script"),
        "3" => os.auto_detect = true,
        "4" => {
            // Mode 4 stores variable names; the variables hold the proxy and the bypass list.
            let from_env = |key: &str| {
                value(key)
                    .and_then(|name| get(&name))
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
            };
            os.manual = true;
            os.https = from_env("httpsProxy")
                .map(|v| parse_proxy(&v))
                .transpose()?;
            os.bypass = from_env("NoProxyFor")
                .map(|v| split_list(&v))
                .unwrap_or_default();
        }
        other => return Err(KdeError::ProxyType(crate::terminal_text::printable(other))),
    }
    Ok(os)
}

/// `http://host 3128` (System Settings' form: the port after the last space), `host:port`,
/// or a URL. A missing port is ProxyEndpoint's default, as curl assumes.
fn parse_proxy(value: &str) -> Result<ProxyEndpoint, KdeError> {
    let joined = match value.rsplit_once(' ') {
        Some((url, port)) if port.trim().parse::<u16>().is_ok() => {
            format!("{}:{}", url.trim().trim_end_matches('/'), port.trim())
        }
        _ => value.to_string(),
    };
    ProxyEndpoint::parse(&joined).map_err(|source| KdeError::Proxy {
        value: crate::terminal_text::printable(value),
        source,
    })
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(text: &str) -> OsProxy {
        to_os_proxy(&parse_group(text, GROUP).unwrap(), no_env).unwrap()
    }

    /// As Plasma 5/6 System Settings writes it (recorded from a Plasma session).
    const MANUAL: &str = "\
[$Version]
update_info=kioslave.upd:change-proxy-type-to-int

[Proxy Settings]
NoProxyFor=.corp.example,10.0.0.0/8,localhost
Proxy Config Script=
ProxyType=1
ReversedException=false
ftpProxy=
httpProxy=http://proxy.corp.example 3128
httpsProxy=http://proxy.corp.example 3129
socksProxy=
";

    #[test]
    fn reads_recorded_files_in_every_mode() {
        let os = parse(MANUAL);
        assert!(os.manual && !os.auto_detect && os.pac_url.is_none());
        let https = os.https.clone().unwrap();
        assert_eq!(
            (https.host.as_str(), https.port),
            ("proxy.corp.example", 3129)
        );
        assert_eq!(os.bypass, vec![".corp.example", "10.0.0.0/8", "localhost"]);
        assert!(!os.bypass_reversed);

        let colon = parse("[Proxy Settings]\nProxyType=1\nhttpsProxy=proxy.corp:8080\nReversedException=true\nNoProxyFor=only.corp\n");
        assert_eq!(colon.https.unwrap().port, 8080);
        assert!(colon.bypass_reversed);

        let pac = parse("[Proxy Settings]\nProxyType=2\nProxy Config Script=http://wpad.corp/proxy.pac\nhttpsProxy=http://ignored 1\n");
        assert_eq!(pac.pac_url.as_deref(), Some("http://wpad.corp/proxy.pac"));
        assert!(!pac.manual && pac.https.is_none());

        let wpad = parse("[Proxy Settings]\nProxyType=3\n");
        assert!(wpad.auto_detect && wpad.is_configured());

        let none = parse("[Proxy Settings]\nProxyType=0\nhttpsProxy=http://stale 3128\n");
        assert!(!none.is_configured());

        let env = to_os_proxy(
            &parse_group(
                "[Proxy Settings]\nProxyType=4\nhttpsProxy=CORP_PROXY\nNoProxyFor=CORP_NO_PROXY\n",
                GROUP,
            )
            .unwrap(),
            |name| match name {
                "CORP_PROXY" => Some("http://env-named:8081".into()),
                "CORP_NO_PROXY" => Some("a.corp, b.corp".into()),
                _ => None,
            },
        )
        .unwrap();
        assert_eq!(env.https.unwrap().host, "env-named");
        assert_eq!(env.bypass, vec!["a.corp", "b.corp"]);

        assert!(matches!(
            to_os_proxy(
                &parse_group("[Proxy Settings]\nProxyType=9\n", GROUP).unwrap(),
                no_env
            ),
            Err(KdeError::ProxyType(_))
        ));
        assert!(matches!(
            to_os_proxy(
                &parse_group(
                    "[Proxy Settings]\nProxyType=1\nhttpsProxy=socks://x 1\n",
                    GROUP
                )
                .unwrap(),
                no_env
            ),
            Err(KdeError::Proxy { .. })
        ));
    }

    #[test]
    fn kconfig_dialect_details() {
        let text = "# comment\n[Other]\nProxyType=1\n[Proxy Settings][$i]\nProxyType[$e]=1\nhttpsProxy = http://p 3128 \nNoProxyFor=\\sa.corp\nhttpsProxy[de]=http://translated 1\n[Proxy Settings]\nNoProxyFor=b.corp\n";
        let group = parse_group(text, GROUP).unwrap();
        assert_eq!(group.get("ProxyType").map(String::as_str), Some("1"));
        assert_eq!(
            group.get("httpsProxy").map(String::as_str),
            Some("http://p 3128")
        );
        // The group appears twice: entries merge, the later value wins.
        assert_eq!(group.get("NoProxyFor").map(String::as_str), Some("b.corp"));
        assert!(parse_group("[Other]\nx=1\n", GROUP).is_none());
        assert_eq!(unescape("\\sx\\\\y\\"), " x\\y\\");
    }

    #[test]
    fn user_file_overrides_system_file_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let system = dir.path().join("xdg");
        let user = dir.path().join("home/.config");
        std::fs::create_dir_all(&system).unwrap();
        std::fs::create_dir_all(&user).unwrap();
        std::fs::write(
            system.join(FILE_NAME),
            "[Proxy Settings]\nProxyType=1\nhttpsProxy=http://site-default 3128\nNoProxyFor=.corp\n",
        )
        .unwrap();
        std::fs::write(
            user.join(FILE_NAME),
            "[Proxy Settings]\nhttpsProxy=http://mine 8080\n",
        )
        .unwrap();
        let env = |name: &str| match name {
            "XDG_CONFIG_DIRS" => Some(system.display().to_string()),
            "HOME" => Some(dir.path().join("home").display().to_string()),
            _ => None,
        };
        let files = candidate_files(env);
        assert_eq!(files, vec![system.join(FILE_NAME), user.join(FILE_NAME)]);
        let os = read(&files, no_env).unwrap().unwrap();
        assert_eq!(os.https.unwrap().host, "mine");
        assert_eq!(os.bypass, vec![".corp"]);
        // XDG_CONFIG_DIRS lists the most important directory first, so it is read last.
        let dirs = |name: &str| match name {
            "XDG_CONFIG_DIRS" => Some("/important:/fallback".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        assert_eq!(
            candidate_files(dirs),
            vec![
                PathBuf::from("/fallback/kioslaverc"),
                PathBuf::from("/important/kioslaverc"),
                PathBuf::from("/home/u/.config/kioslaverc")
            ]
        );
        let xdg_home = |name: &str| (name == "XDG_CONFIG_HOME").then(|| "/cfg".to_string());
        assert_eq!(
            candidate_files(xdg_home),
            vec![
                PathBuf::from("/etc/xdg/kioslaverc"),
                PathBuf::from("/cfg/kioslaverc")
            ]
        );
        assert!(read(&[dir.path().join("absent")], no_env)
            .unwrap()
            .is_none());
    }

    #[test]
    fn desktop_detection() {
        assert!(is_kde_desktop(Some("KDE")));
        assert!(is_kde_desktop(Some("ubuntu:KDE")));
        assert!(!is_kde_desktop(Some("GNOME")));
        assert!(!is_kde_desktop(Some("XKDEX")));
        assert!(!is_kde_desktop(None));
    }
}
