//! macOS's proxy settings: SystemConfiguration's proxy dictionary (`SCDynamicStoreCopyProxies`,
//! the same one `scutil --proxy` prints and Safari and curl's macOS build follow), for the
//! network service in use.
//!
//! Only the reading ([`read`]) is macOS code; it copies the keys that matter into
//! [`MacProxySettings`], and everything after that is plain code tested on any OS with
//! recorded `scutil --proxy` output ([`parse_scutil`]), the form an administrator can paste.
//! Keys: `HTTPSEnable`/`HTTPSProxy`/`HTTPSPort`, `HTTPEnable` (a manual configuration with no
//! HTTPS proxy sends https URLs direct), `ProxyAutoConfigEnable`/`ProxyAutoConfigURLString`,
//! `ProxyAutoDiscoveryEnable`, `ExceptionsList` and `ExcludeSimpleHostnames` (kept as the
//! Windows-style `<local>` entry, which means the same: names without a dot).

use crate::discover::proxy::{ProxyEndpoint, ProxyUrlError};
use crate::proxy::os::{OsOrigin, OsProxy};

/// The proxy dictionary's keys that decide an https URL, copied out of CoreFoundation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MacProxySettings {
    pub http_enable: bool,
    pub https_enable: bool,
    pub https_proxy: Option<String>,
    pub https_port: Option<i64>,
    pub pac_enable: bool,
    pub pac_url: Option<String>,
    pub auto_discovery_enable: bool,
    pub exceptions: Vec<String>,
    pub exclude_simple_hostnames: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MacProxyError {
    #[error("HTTPSPort {0} is not a TCP port")]
    Port(i64),
    #[error("HTTPSProxy {}: {source}", crate::terminal_text::quoted(host))]
    Proxy { host: String, source: ProxyUrlError },
}

/// The port SystemConfiguration fills in for an enabled HTTPS proxy without one.
const DEFAULT_HTTPS_PROXY_PORT: i64 = 443;

impl MacProxySettings {
    pub fn to_os_proxy(&self) -> Result<OsProxy, MacProxyError> {
        let mut os = OsProxy::new(OsOrigin::MacOs);
        os.auto_detect = self.auto_discovery_enable;
        if self.pac_enable {
            os.pac_url = self
                .pac_url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_string);
        }
        os.manual = self.http_enable || self.https_enable;
        let host = self
            .https_proxy
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty());
        if let (true, Some(host)) = (self.https_enable, host) {
            let port = self.https_port.unwrap_or(DEFAULT_HTTPS_PROXY_PORT);
            let port = u16::try_from(port)
                .ok()
                .filter(|p| *p != 0)
                .ok_or(MacProxyError::Port(port))?;
            // The HTTPS proxy is an HTTP proxy that https URLs are tunnelled through.
            let bracketed = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.to_string()
            };
            let endpoint =
                ProxyEndpoint::parse(&format!("http://{bracketed}:{port}")).map_err(|source| {
                    MacProxyError::Proxy {
                        host: crate::terminal_text::printable(host),
                        source,
                    }
                })?;
            os.https = Some(endpoint);
        }
        os.bypass = self.exceptions.clone();
        if self.exclude_simple_hostnames {
            os.bypass.push("<local>".to_string());
        }
        Ok(os)
    }
}

/// `scutil --proxy` output: `<dictionary> {`, then `Key : value` lines, arrays as
/// `Key : <array> {` with `N : item` lines. Nested dictionaries (`__SCOPED__`) are skipped:
/// the top level is what applies.
pub fn parse_scutil(text: &str) -> MacProxySettings {
    let mut s = MacProxySettings::default();
    let mut depth = 0usize;
    let mut in_exceptions = false;
    for line in text.lines() {
        let line = line.trim();
        if line == "}" {
            depth = depth.saturating_sub(1);
            in_exceptions = false;
            continue;
        }
        let Some((key, value)) = line.split_once(" : ") else {
            if line.ends_with('{') {
                depth = depth.saturating_add(1);
            }
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if value.ends_with('{') {
            depth = depth.saturating_add(1);
            in_exceptions = depth == 2 && key == "ExceptionsList";
            continue;
        }
        if in_exceptions {
            s.exceptions.push(value.to_string());
            continue;
        }
        if depth != 1 {
            continue;
        }
        let flag = value == "1";
        match key {
            "HTTPEnable" => s.http_enable = flag,
            "HTTPSEnable" => s.https_enable = flag,
            "HTTPSProxy" => s.https_proxy = Some(value.to_string()),
            "HTTPSPort" => s.https_port = value.parse().ok(),
            "ProxyAutoConfigEnable" => s.pac_enable = flag,
            "ProxyAutoConfigURLString" => s.pac_url = Some(value.to_string()),
            "ProxyAutoDiscoveryEnable" => s.auto_discovery_enable = flag,
            "ExcludeSimpleHostnames" => s.exclude_simple_hostnames = flag,
            _ => {}
        }
    }
    s
}

/// The current settings from SystemConfiguration; `None` when it has no proxy dictionary.
#[cfg(target_os = "macos")]
pub fn read() -> Option<MacProxySettings> {
    use core_foundation::array::CFArray;
    use core_foundation::base::{CFType, TCFType};
    use core_foundation::number::CFNumber;
    use core_foundation::string::CFString;
    use system_configuration::dynamic_store::SCDynamicStoreBuilder;

    let store = SCDynamicStoreBuilder::new("trust-proxy").build()?;
    let proxies = store.get_proxies()?;
    let value = |key: &'static str| proxies.find(CFString::from_static_string(key));
    let number = |key: &'static str| {
        value(key)
            .and_then(|v| v.downcast::<CFNumber>())
            .and_then(|n| n.to_i64())
    };
    let string = |key: &'static str| {
        value(key)
            .and_then(|v| v.downcast::<CFString>())
            .map(|s| s.to_string())
    };
    let flag = |key: &'static str| number(key).is_some_and(|n| n != 0);
    let exceptions = value("ExceptionsList")
        .and_then(|v| v.downcast::<CFArray>())
        .map(|array| {
            array
                .get_all_values()
                .into_iter()
                .filter(|item| !item.is_null())
                .filter_map(|item| {
                    // SAFETY: a non-null element of a live CFArray is a CF object; the get rule
                    // retains it for as long as this wrapper lives.
                    let item = unsafe { CFType::wrap_under_get_rule(item) };
                    item.downcast::<CFString>().map(|s| s.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    Some(MacProxySettings {
        http_enable: flag("HTTPEnable"),
        https_enable: flag("HTTPSEnable"),
        https_proxy: string("HTTPSProxy"),
        https_port: number("HTTPSPort"),
        pac_enable: flag("ProxyAutoConfigEnable"),
        pac_url: string("ProxyAutoConfigURLString"),
        auto_discovery_enable: flag("ProxyAutoDiscoveryEnable"),
        exceptions,
        exclude_simple_hostnames: flag("ExcludeSimpleHostnames"),
    })
}

/// DHCP option 252 of the primary network service: `SCDynamicStoreCopyDHCPInfo` (service
/// `NULL` = the primary one) and `DHCPInfoGetOptionData`, the public API that `ipconfig(8)`
/// says is the only supported way (its `getoption` is for debugging). The crate does not bind
/// these two, so they are declared here from Apple's header (`SCDynamicStoreCopyDHCPInfo.h`);
/// the bytes go through [`dhcp_wpad::url_from_bytes`](crate::proxy::dhcp_wpad::url_from_bytes).
#[cfg(target_os = "macos")]
pub fn dhcp_wpad_url(deadline: std::time::Duration) -> crate::proxy::dhcp_wpad::Lease {
    crate::proxy::dhcp_wpad::within(
        deadline,
        "SCDynamicStoreCopyDHCPInfo",
        ask_system_configuration,
    )
}

#[cfg(target_os = "macos")]
fn ask_system_configuration() -> crate::proxy::dhcp_wpad::Lease {
    use crate::proxy::dhcp_wpad::{url_from_bytes, Lease};
    use core_foundation::base::TCFType;
    use core_foundation::data::{CFData, CFDataRef};
    use core_foundation::dictionary::{CFDictionary, CFDictionaryRef};
    use core_foundation::string::CFStringRef;
    use std::ffi::c_void;

    /// A site-specific option (RFC 3942's 224-254) that browsers read as the WPAD URL.
    const OPTION_WPAD: u8 = 252;

    #[link(name = "SystemConfiguration", kind = "framework")]
    extern "C" {
        fn SCDynamicStoreCopyDHCPInfo(
            store: *const c_void,
            service_id: CFStringRef,
        ) -> CFDictionaryRef;
        fn DHCPInfoGetOptionData(info: CFDictionaryRef, code: u8) -> CFDataRef;
    }

    // SAFETY: a NULL store asks for a temporary session and a NULL service for the primary
    // one (both documented); the result follows the create rule and is owned below.
    let info = unsafe { SCDynamicStoreCopyDHCPInfo(std::ptr::null(), std::ptr::null()) };
    if info.is_null() {
        return Lease::NoUrl("the primary network service has no DHCP lease".to_string());
    }
    // SAFETY: non-NULL, returned under the create rule: released when `info` drops.
    let info: CFDictionary = unsafe { CFDictionary::wrap_under_create_rule(info) };
    // SAFETY: `info` is the dictionary SCDynamicStoreCopyDHCPInfo returned, alive here.
    let data = unsafe { DHCPInfoGetOptionData(info.as_concrete_TypeRef(), OPTION_WPAD) };
    if data.is_null() {
        return Lease::NoUrl("the primary service's DHCP lease has no option 252".to_string());
    }
    // SAFETY: non-NULL and owned by `info` (the get rule: retained for as long as `data` lives).
    let data = unsafe { CFData::wrap_under_get_rule(data) };
    match url_from_bytes(data.bytes()) {
        Ok(url) => Lease::Url(url),
        Err(why) => Lease::Failed(format!(
            "the DHCP lease's option 252 is not a usable WPAD URL: {why}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `scutil --proxy` on a managed Mac with a manual HTTPS proxy, a PAC file and exceptions.
    const MANAGED: &str = "<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
    1 : 169.254/16
    2 : corp.example
  }
  ExcludeSimpleHostnames : 1
  FTPPassive : 1
  HTTPEnable : 1
  HTTPPort : 3128
  HTTPProxy : proxy.corp.example
  HTTPSEnable : 1
  HTTPSPort : 3129
  HTTPSProxy : proxy.corp.example
  ProxyAutoConfigEnable : 1
  ProxyAutoConfigURLString : http://wpad.corp.example/proxy.pac
  ProxyAutoDiscoveryEnable : 0
  __SCOPED__ : <dictionary> {
    en0 : <dictionary> {
      HTTPSEnable : 0
      HTTPSProxy : scoped.example
    }
  }
}
";

    #[test]
    fn recorded_scutil_output_converts() {
        let settings = parse_scutil(MANAGED);
        assert_eq!(settings.https_proxy.as_deref(), Some("proxy.corp.example"));
        assert!(
            settings.https_enable,
            "the scoped HTTPSEnable 0 must not win"
        );
        let os = settings.to_os_proxy().unwrap();
        assert_eq!(os.origin, OsOrigin::MacOs);
        assert_eq!(
            os.pac_url.as_deref(),
            Some("http://wpad.corp.example/proxy.pac")
        );
        assert!(os.manual && !os.auto_detect);
        let https = os.https.unwrap();
        assert_eq!(
            (https.host.as_str(), https.port),
            ("proxy.corp.example", 3129)
        );
        assert_eq!(
            os.bypass,
            vec!["*.local", "169.254/16", "corp.example", "<local>"]
        );

        // A fresh Mac: nothing configured, so the next source decides.
        let fresh = "<dictionary> {\n  ExceptionsList : <array> {\n    0 : *.local\n    1 : 169.254/16\n  }\n  FTPPassive : 1\n  HTTPEnable : 0\n  HTTPSEnable : 0\n  ProxyAutoConfigEnable : 0\n  ProxyAutoDiscoveryEnable : 0\n}\n";
        assert!(!parse_scutil(fresh).to_os_proxy().unwrap().is_configured());

        // Auto-discovery only; and an HTTP-only manual proxy names none for https.
        let wpad = "<dictionary> {\n  ProxyAutoDiscoveryEnable : 1\n}\n";
        assert!(parse_scutil(wpad).to_os_proxy().unwrap().auto_detect);
        let http_only = "<dictionary> {\n  HTTPEnable : 1\n  HTTPProxy : p\n  HTTPPort : 80\n}\n";
        let os = parse_scutil(http_only).to_os_proxy().unwrap();
        assert!(os.manual && os.https.is_none());

        // A PAC URL that is not enabled is not used.
        let off = "<dictionary> {\n  ProxyAutoConfigEnable : 0\n  ProxyAutoConfigURLString : http://x/p.pac\n}\n";
        assert!(parse_scutil(off).to_os_proxy().unwrap().pac_url.is_none());

        let bad_port =
            "<dictionary> {\n  HTTPSEnable : 1\n  HTTPSProxy : p\n  HTTPSPort : 70000\n}\n";
        assert!(matches!(
            parse_scutil(bad_port).to_os_proxy(),
            Err(MacProxyError::Port(70000))
        ));
        let v6 =
            "<dictionary> {\n  HTTPSEnable : 1\n  HTTPSProxy : fd00::1\n  HTTPSPort : 8080\n}\n";
        assert_eq!(
            parse_scutil(v6).to_os_proxy().unwrap().https.unwrap().host,
            "fd00::1"
        );
    }
}
