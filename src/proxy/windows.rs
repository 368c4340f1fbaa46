//! Windows's proxy settings, two of them, asked in this order:
//!
//! 1. WinINet, per user (`HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`):
//!    what Edge, Chrome and most desktop programs use. `ProxyEnable` (DWORD), `ProxyServer`
//!    (`host:port` for every scheme, or `http=a:1;https=b:2;socks=c:3`), `ProxyOverride`
//!    (`;`-separated, `<local>` for names without a dot), `AutoConfigURL` (a PAC file) and
//!    auto-detection: the `AutoDetect` DWORD where policy sets it, or bit 8 of the flags in
//!    `Connections\DefaultConnectionSettings`, where the Settings app keeps its switch.
//! 2. WinHTTP, per machine (`HKLM\...\Internet Settings\Connections\WinHttpSettings`, what
//!    `netsh winhttp set proxy` writes and services use), asked when WinINet says nothing.
//!
//! Both blobs share one layout (documented by what `WinHttpGetDefaultProxyConfiguration` and
//! `WinHttpGetIEProxyConfigForCurrentUser` read, e.g. Wine's winhttp): little-endian DWORDs
//! `version` (0x18 WinHTTP, 0x46 WinINet; not checked), `counter`, `flags` (1 direct,
//! 2 proxy, 4 PAC URL, 8 auto-detect), then length-prefixed byte strings: proxy, bypass, and
//! in WinINet's blob the PAC URL.
//!
//! The registry is read with `windows-registry` ([`read_wininet`], [`read_winhttp`]); the
//! values are interpreted by plain code tested on every OS, and the reading runs for real
//! under Wine in `scripts/xplat-check.sh`.

use crate::discover::proxy::{ProxyEndpoint, ProxyUrlError};
use crate::proxy::os::{OsOrigin, OsProxy};

pub const INTERNET_SETTINGS: &str =
    "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings";
pub const CONNECTIONS: &str =
    "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";

/// Connection-settings flag: a named proxy is on.
pub const FLAG_PROXY: u32 = 2;
/// Connection-settings flag: a PAC URL is on.
pub const FLAG_AUTO_CONFIG_URL: u32 = 4;
/// Connection-settings flag: auto-detection (WPAD) is on.
pub const FLAG_AUTO_DETECT: u32 = 8;

/// What WinINet uses for a proxy named without a port.
const DEFAULT_PROXY_PORT: u16 = 80;

/// A blob's strings are host lists; anything near this size is not a proxy setting.
const MAX_BLOB: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WinProxyError {
    #[error("{what}: {message}")]
    Registry { what: String, message: String },
    #[error("{what}: {len} bytes is not a connection-settings blob ({why})")]
    Blob {
        what: &'static str,
        len: usize,
        why: &'static str,
    },
    #[error("proxy {}: {source}", crate::terminal_text::quoted(value))]
    Proxy {
        value: String,
        source: ProxyUrlError,
    },
}

/// The per-user values, as read from the registry (absent values are `None`/false).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WinInetSettings {
    pub proxy_enable: bool,
    pub proxy_server: Option<String>,
    pub proxy_override: Option<String>,
    pub auto_config_url: Option<String>,
    /// The `AutoDetect` value, where it exists.
    pub auto_detect: Option<bool>,
    /// `Connections\DefaultConnectionSettings`, where it exists.
    pub connection_settings: Option<ConnectionSettings>,
}

/// A connection-settings blob (WinHttpSettings or DefaultConnectionSettings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionSettings {
    pub flags: u32,
    pub proxy: String,
    pub bypass: String,
    pub auto_config_url: String,
}

impl WinInetSettings {
    pub fn to_os_proxy(&self) -> Result<OsProxy, WinProxyError> {
        let mut os = OsProxy::new(OsOrigin::WinInet);
        let blob_flags = self.connection_settings.as_ref().map_or(0, |c| c.flags);
        os.auto_detect = self
            .auto_detect
            .unwrap_or(blob_flags & FLAG_AUTO_DETECT != 0);
        os.pac_url = non_empty(self.auto_config_url.as_deref());
        if self.proxy_enable {
            os.manual = true;
            if let Some(server) = non_empty(self.proxy_server.as_deref()) {
                os.https = proxy_for_https(&server)?;
            }
            os.bypass = split_list(self.proxy_override.as_deref().unwrap_or_default());
        }
        Ok(os)
    }
}

impl ConnectionSettings {
    /// The WinHTTP machine proxy: only a named proxy counts (WinHTTP's default configuration
    /// has no PAC or auto-detection of its own).
    pub fn to_winhttp_proxy(&self) -> Result<OsProxy, WinProxyError> {
        let mut os = OsProxy::new(OsOrigin::WinHttp);
        if self.flags & FLAG_PROXY != 0 && !self.proxy.trim().is_empty() {
            os.manual = true;
            os.https = proxy_for_https(&self.proxy)?;
            os.bypass = split_list(&self.bypass);
        }
        Ok(os)
    }
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The proxy `ProxyServer` names for https URLs: the `https=` entry of the per-scheme form,
/// or the one server of the plain form. `None`: the per-scheme form has no https entry, so
/// Windows sends https URLs direct.
pub fn proxy_for_https(proxy_server: &str) -> Result<Option<ProxyEndpoint>, WinProxyError> {
    let entries: Vec<&str> = proxy_server
        .split([';', ' ', '\t'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let per_scheme = entries.iter().any(|e| e.contains('='));
    let server = if per_scheme {
        entries.iter().find_map(|e| {
            e.split_once('=')
                .filter(|(scheme, _)| scheme.trim().eq_ignore_ascii_case("https"))
                .map(|(_, server)| server.trim())
        })
    } else {
        entries.first().copied()
    };
    match server.filter(|s| !s.is_empty()) {
        Some(server) => parse_server(server).map(Some),
        None => Ok(None),
    }
}

/// `host`, `host:port`, `[v6]:port` or with `http://`; WinINet's port default is 80.
fn parse_server(server: &str) -> Result<ProxyEndpoint, WinProxyError> {
    let with_scheme = if server.contains("://") {
        server.to_string()
    } else {
        format!("http://{server}")
    };
    let error = |source| WinProxyError::Proxy {
        value: crate::terminal_text::printable(server),
        source,
    };
    let mut endpoint = ProxyEndpoint::parse(&with_scheme).map_err(error)?;
    let explicit_port = url::Url::parse(&with_scheme)
        .ok()
        .and_then(|u| u.port_or_known_default().filter(|_| u.port().is_some()));
    if explicit_port.is_none() && with_scheme.starts_with("http://") {
        endpoint.port = DEFAULT_PROXY_PORT;
    }
    Ok(endpoint)
}

/// `ProxyOverride` / a WinHTTP bypass list: entries separated by `;` or white space, kept as
/// written (`<local>` included).
pub fn split_list(text: &str) -> Vec<String> {
    text.split([';', ' ', '\t', '\r', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// A connection-settings blob; `what` names it in errors. Strings are single-byte (the
/// documented readers widen them byte by byte, as Latin-1).
pub fn parse_connection_blob(
    what: &'static str,
    bytes: &[u8],
) -> Result<ConnectionSettings, WinProxyError> {
    let bad = |why| WinProxyError::Blob {
        what,
        len: bytes.len(),
        why,
    };
    if bytes.len() > MAX_BLOB {
        return Err(bad("too large"));
    }
    let mut reader = BlobReader { bytes, at: 0 };
    let _version = reader.dword().ok_or_else(|| bad("no header"))?;
    let _counter = reader.dword().ok_or_else(|| bad("no header"))?;
    let flags = reader.dword().ok_or_else(|| bad("no flags"))?;
    // Wine's WinHTTP writes just the header when nothing is set; the strings are optional
    // from the end, but one that is present must fit.
    let mut strings = [String::new(), String::new(), String::new()];
    for slot in strings.iter_mut() {
        match reader.string() {
            Ok(Some(s)) => *slot = s,
            Ok(None) => break,
            Err(()) => return Err(bad("a string runs past the end")),
        }
    }
    let [proxy, bypass, auto_config_url] = strings;
    Ok(ConnectionSettings {
        flags,
        proxy,
        bypass,
        auto_config_url,
    })
}

struct BlobReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl BlobReader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn dword(&mut self) -> Option<u32> {
        let raw: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(u32::from_le_bytes(raw))
    }

    /// `Ok(None)` at the end of the blob; `Err` when a length runs past it.
    fn string(&mut self) -> Result<Option<String>, ()> {
        if self.at >= self.bytes.len() {
            return Ok(None);
        }
        let len = self.dword().ok_or(())?;
        let len = usize::try_from(len).map_err(|_| ())?;
        let raw = self.take(len).ok_or(())?;
        Ok(Some(raw.iter().map(|b| char::from(*b)).collect()))
    }
}

/// The DNS suffixes WPAD walks on Windows, from `Tcpip\Parameters`: the `SearchList` an admin
/// or policy set (comma-separated) when there is one, else the primary suffix (`Domain`, the
/// computer's; then `DhcpDomain`, what DHCP gave), as the resolver itself picks them. Empty
/// entries and duplicates are dropped.
pub fn search_domains_from(
    search_list: Option<&str>,
    domain: Option<&str>,
    dhcp_domain: Option<&str>,
) -> Vec<String> {
    let listed: Vec<&str> = search_list
        .unwrap_or_default()
        .split([',', ' '])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    let chosen = if listed.is_empty() {
        [domain, dhcp_domain]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .take(1)
            .collect()
    } else {
        listed
    };
    let mut out: Vec<String> = Vec::new();
    for d in chosen {
        let d = d.trim_end_matches('.').to_ascii_lowercase();
        if !d.is_empty() && !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

#[cfg(windows)]
mod registry {
    use super::*;
    use windows_registry::{Key, CURRENT_USER, LOCAL_MACHINE};

    /// HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) and (ERROR_PATH_NOT_FOUND), as the i32 the
    /// crate reports: an absent key or value.
    const NOT_FOUND: [u32; 2] = [0x8007_0002, 0x8007_0003];

    fn is_not_found(code: i32) -> bool {
        NOT_FOUND.contains(&u32::from_ne_bytes(code.to_ne_bytes()))
    }

    fn registry_error(what: String, e: impl std::fmt::Display) -> WinProxyError {
        WinProxyError::Registry {
            what,
            message: e.to_string(),
        }
    }

    /// `Ok(None)` when the key does not exist.
    fn open(root: &Key, hive: &str, path: &str) -> Result<Option<Key>, WinProxyError> {
        match root.open(path) {
            Ok(key) => Ok(Some(key)),
            Err(e) if is_not_found(e.code().0) => Ok(None),
            Err(e) => Err(registry_error(format!("open {hive}\\{path}"), e)),
        }
    }

    fn optional<T>(
        result: windows_registry::Result<T>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<T>, WinProxyError> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(e) if is_not_found(e.code().0) => Ok(None),
            Err(e) => Err(registry_error(what(), e)),
        }
    }

    fn blob(
        key: &Key,
        hive: &str,
        name: &'static str,
    ) -> Result<Option<ConnectionSettings>, WinProxyError> {
        let value = optional(key.get_value(name), || {
            format!("read {hive}\\{CONNECTIONS}\\{name}")
        })?;
        value.map(|v| parse_connection_blob(name, &v)).transpose()
    }

    /// The per-user WinINet settings; `Ok(None)` when the key does not exist.
    pub fn read_wininet() -> Result<Option<WinInetSettings>, WinProxyError> {
        let Some(key) = open(CURRENT_USER, "HKCU", INTERNET_SETTINGS)? else {
            return Ok(None);
        };
        let what = |name: &'static str| move || format!("read HKCU\\{INTERNET_SETTINGS}\\{name}");
        let connection_settings = match open(CURRENT_USER, "HKCU", CONNECTIONS)? {
            Some(connections) => blob(&connections, "HKCU", "DefaultConnectionSettings")?,
            None => None,
        };
        Ok(Some(WinInetSettings {
            proxy_enable: optional(key.get_u32("ProxyEnable"), what("ProxyEnable"))?
                .is_some_and(|v| v != 0),
            proxy_server: optional(key.get_string("ProxyServer"), what("ProxyServer"))?,
            proxy_override: optional(key.get_string("ProxyOverride"), what("ProxyOverride"))?,
            auto_config_url: optional(key.get_string("AutoConfigURL"), what("AutoConfigURL"))?,
            auto_detect: optional(key.get_u32("AutoDetect"), what("AutoDetect"))?.map(|v| v != 0),
            connection_settings,
        }))
    }

    /// [`search_domains_from`] the machine's `Tcpip\Parameters`; none when unreadable.
    pub fn dns_search_domains() -> Vec<String> {
        const TCPIP: &str = r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters";
        let Ok(Some(key)) = open(LOCAL_MACHINE, "HKLM", TCPIP) else {
            return Vec::new();
        };
        let text = |name: &str| key.get_string(name).ok();
        search_domains_from(
            text("SearchList").as_deref(),
            text("Domain").as_deref(),
            text("DhcpDomain").as_deref(),
        )
    }

    /// The machine-wide WinHTTP blob; `Ok(None)` when it is not set.
    pub fn read_winhttp() -> Result<Option<ConnectionSettings>, WinProxyError> {
        match open(LOCAL_MACHINE, "HKLM", CONNECTIONS)? {
            Some(key) => blob(&key, "HKLM", "WinHttpSettings"),
            None => Ok(None),
        }
    }
}

#[cfg(windows)]
pub use registry::{dns_search_domains, read_winhttp, read_wininet};

/// DHCP option 252 through WinHTTP: `WinHttpDetectAutoProxyConfigUrl` with
/// `WINHTTP_AUTO_DETECT_TYPE_DHCP` alone (WinHTTP's DNS walk is not bounded by the registrable
/// domain; ours runs after this). Chosen over `DhcpRequestParams` per adapter: one documented
/// call that asks the adapters itself, one string to free, where the other needs the adapter
/// list, a request buffer per adapter and a DHCP INFORM of our own.
#[cfg(windows)]
mod dhcp {
    use crate::proxy::dhcp_wpad::{self, Lease, MAX_URL};
    use std::time::Duration;
    use windows_sys::core::PWSTR;
    use windows_sys::Win32::Foundation::{GetLastError, GlobalFree};
    use windows_sys::Win32::Networking::WinHttp::{
        WinHttpDetectAutoProxyConfigUrl, ERROR_WINHTTP_AUTODETECTION_FAILED,
        WINHTTP_AUTO_DETECT_TYPE_DHCP,
    };

    /// The string WinHTTP allocated; freed with `GlobalFree` as documented, on every way out.
    struct WinHttpString(PWSTR);

    impl WinHttpString {
        /// The code units up to the terminating NUL, at most `max` of them: a string without
        /// a NUL within `max` is cut there, and [`dhcp_wpad::url_from_utf16`] refuses it as
        /// too long.
        fn units(&self, max: usize) -> Vec<u16> {
            let mut units = Vec::new();
            if self.0.is_null() {
                return units;
            }
            for offset in 0..max {
                // SAFETY: WinHTTP returned a NUL-terminated string; reading stops at its NUL,
                // so every unit read is inside it.
                let unit = unsafe { *self.0.add(offset) };
                if unit == 0 {
                    break;
                }
                units.push(unit);
            }
            units
        }
    }

    impl Drop for WinHttpString {
        fn drop(&mut self) {
            if !self.0.is_null() {
                // SAFETY: WinHTTP allocated it for us to free with GlobalFree, once.
                unsafe { GlobalFree(self.0.cast()) };
            }
        }
    }

    /// WinHTTP may send a DHCP INFORM and wait for it: asked on a thread, bounded by `deadline`.
    pub fn dhcp_wpad_url(deadline: Duration) -> Lease {
        dhcp_wpad::within(
            deadline,
            "WinHttpDetectAutoProxyConfigUrl (DHCP)",
            ask_winhttp,
        )
    }

    fn ask_winhttp() -> Lease {
        let mut raw: PWSTR = std::ptr::null_mut();
        // SAFETY: a valid flag and a valid out pointer; the string it may set is owned below.
        let ok =
            unsafe { WinHttpDetectAutoProxyConfigUrl(WINHTTP_AUTO_DETECT_TYPE_DHCP, &mut raw) };
        // SAFETY: no call in between could have changed this thread's last error.
        let error = if ok == 0 {
            unsafe { GetLastError() }
        } else {
            0
        };
        let url = WinHttpString(raw);
        if ok == 0 {
            return if error == ERROR_WINHTTP_AUTODETECTION_FAILED {
                Lease::NoUrl("WinHTTP found none (ERROR_WINHTTP_AUTODETECTION_FAILED)".to_string())
            } else {
                Lease::Failed(format!(
                    "WinHttpDetectAutoProxyConfigUrl failed (Windows error {error})"
                ))
            };
        }
        if url.0.is_null() {
            return Lease::NoUrl("WinHTTP answered without a URL".to_string());
        }
        match dhcp_wpad::url_from_utf16(&url.units(MAX_URL.saturating_add(1))) {
            Ok(found) => Lease::Url(found),
            Err(why) => Lease::Failed(format!(
                "WinHTTP's option 252 is not a usable WPAD URL: {why}"
            )),
        }
    }
}

#[cfg(windows)]
pub use dhcp::dhcp_wpad_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_suffixes_as_the_resolver_picks_them() {
        assert_eq!(
            search_domains_from(
                Some("Corp.Example., eng.corp.example,,corp.example"),
                Some("x.test"),
                None
            ),
            ["corp.example", "eng.corp.example"]
        );
        assert_eq!(
            search_domains_from(Some(" "), Some(""), Some("dhcp.example")),
            ["dhcp.example"]
        );
        assert_eq!(
            search_domains_from(None, Some("eng.corp.example"), Some("dhcp.example")),
            ["eng.corp.example"]
        );
        assert!(search_domains_from(None, None, None).is_empty());
    }

    fn blob(version: u32, flags: u32, strings: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for dword in [version, 7, flags] {
            out.extend_from_slice(&dword.to_le_bytes());
        }
        for s in strings {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    #[test]
    fn proxy_server_in_both_forms() {
        let plain = proxy_for_https("proxy.corp:8080").unwrap().unwrap();
        assert_eq!((plain.host.as_str(), plain.port), ("proxy.corp", 8080));
        let per_scheme = proxy_for_https("http=a.corp:1;https=b.corp:2;socks=c.corp:3")
            .unwrap()
            .unwrap();
        assert_eq!((per_scheme.host.as_str(), per_scheme.port), ("b.corp", 2));
        // Per-scheme without https: Windows sends https direct.
        assert_eq!(proxy_for_https("http=a.corp:1;ftp=f:21").unwrap(), None);
        let no_port = proxy_for_https("HTTPS=b.corp").unwrap().unwrap();
        assert_eq!(no_port.port, DEFAULT_PROXY_PORT);
        let with_scheme = proxy_for_https("https=http://b.corp:3128")
            .unwrap()
            .unwrap();
        assert_eq!(with_scheme.port, 3128);
        let v6 = proxy_for_https("[fd00::1]:3128").unwrap().unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("fd00::1", 3128));
        assert!(proxy_for_https("socks://x:1").is_err());
    }

    #[test]
    fn wininet_values_convert() {
        let settings = WinInetSettings {
            proxy_enable: true,
            proxy_server: Some("http=a:1;https=proxy.corp:3128".into()),
            proxy_override: Some("*.corp.example;10.*;<local>".into()),
            auto_config_url: Some(" ".into()),
            auto_detect: None,
            connection_settings: Some(ConnectionSettings {
                flags: 1 | FLAG_PROXY | FLAG_AUTO_DETECT,
                ..ConnectionSettings::default()
            }),
        };
        let os = settings.to_os_proxy().unwrap();
        assert!(os.manual && os.auto_detect && os.pac_url.is_none());
        assert_eq!(os.https.unwrap().host, "proxy.corp");
        assert_eq!(os.bypass, vec!["*.corp.example", "10.*", "<local>"]);

        // ProxyEnable 0: the server and overrides are left over, not in force; an explicit
        // AutoDetect value wins over the blob's flag.
        let off = WinInetSettings {
            proxy_server: Some("stale:1".into()),
            auto_config_url: Some("http://wpad.corp/proxy.pac".into()),
            auto_detect: Some(false),
            connection_settings: Some(ConnectionSettings {
                flags: FLAG_AUTO_DETECT,
                ..ConnectionSettings::default()
            }),
            ..WinInetSettings::default()
        };
        let os = off.to_os_proxy().unwrap();
        assert!(!os.manual && !os.auto_detect && os.https.is_none());
        assert_eq!(os.pac_url.as_deref(), Some("http://wpad.corp/proxy.pac"));
        assert!(!WinInetSettings::default()
            .to_os_proxy()
            .unwrap()
            .is_configured());
    }

    #[test]
    fn connection_blobs_parse_and_bound() {
        // `netsh winhttp reset proxy`: direct, nothing else.
        let reset = blob(0x18, 1, &["", ""]);
        let parsed = parse_connection_blob("WinHttpSettings", &reset).unwrap();
        assert_eq!(parsed.flags, 1);
        assert!(!parsed.to_winhttp_proxy().unwrap().is_configured());

        let set = blob(0x18, 3, &["proxy.corp:8080", "<local>;*.corp"]);
        let os = parse_connection_blob("WinHttpSettings", &set)
            .unwrap()
            .to_winhttp_proxy()
            .unwrap();
        assert_eq!(os.origin, OsOrigin::WinHttp);
        assert_eq!(os.https.unwrap().port, 8080);
        assert_eq!(os.bypass, vec!["<local>", "*.corp"]);

        let wininet = blob(
            0x46,
            1 | FLAG_AUTO_CONFIG_URL | FLAG_AUTO_DETECT,
            &["", "", "http://w/p.pac"],
        );
        let parsed = parse_connection_blob("DefaultConnectionSettings", &wininet).unwrap();
        assert_eq!(parsed.auto_config_url, "http://w/p.pac");
        assert_eq!(parsed.flags & FLAG_AUTO_DETECT, FLAG_AUTO_DETECT);

        // Header only (Wine's empty WinHttpSettings), truncated header, length past the end.
        assert!(parse_connection_blob("x", &blob(0x18, 1, &[])).is_ok());
        assert!(parse_connection_blob("x", &[0x18, 0, 0, 0, 0]).is_err());
        let mut overrun = blob(0x18, 3, &["proxy:1"]);
        overrun.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse_connection_blob("x", &overrun),
            Err(WinProxyError::Blob { .. })
        ));
        assert!(parse_connection_blob("x", &vec![0; MAX_BLOB + 1]).is_err());
    }
}
