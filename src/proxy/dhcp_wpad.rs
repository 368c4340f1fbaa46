//! DHCP option 252 (the WPAD URL a DHCP server hands out), where the OS exposes it:
//!
//! - Linux: NetworkManager. It asks for option 252 and lists the answer among a device's lease
//!   options, which `nmcli -t -f DHCP4 device show` prints as `DHCP4.OPTION[n]:wpad = URL`
//!   (beside `requested_wpad = 1`, which only says it was asked for). No `nmcli` on PATH means
//!   DHCP is simply not a source here; systemd-networkd and dhclient do not keep option 252
//!   anywhere a user process can read.
//! - Windows: `WinHttpDetectAutoProxyConfigUrl` with `WINHTTP_AUTO_DETECT_TYPE_DHCP` only
//!   ([`windows`](crate::proxy::windows)); WinHTTP's own DNS walk is not asked for, since ours
//!   stops at the registrable domain and WinHTTP's does not.
//! - macOS: `SCDynamicStoreCopyDHCPInfo` of the primary service and `DHCPInfoGetOptionData`
//!   ([`macos`](crate::proxy::macos)), the public API `ipconfig(8)` itself points to.
//!
//! Whatever the OS hands over is bytes from whoever answered DHCP: [`url_from_bytes`],
//! [`url_from_utf16`] and [`url_from_text`] are the one gate every OS's value goes through.

#[cfg(all(unix, not(target_os = "macos")))]
use crate::tools::engine::run_bounded_in;
#[cfg(all(unix, not(target_os = "macos")))]
use std::path::Path;
use std::time::Duration;

/// nmcli answers from NetworkManager's state in milliseconds, WinHTTP and configd from theirs;
/// a stuck D-Bus or a DHCP INFORM nobody answers must not hold a run.
pub const DHCP_DEADLINE: Duration = Duration::from_secs(3);

/// A URL longer than this is not a WPAD URL anyone configured.
pub const MAX_URL: usize = 2048;

/// Why a value handed over as option 252 is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnusableUrl {
    #[error("it is empty")]
    Empty,
    #[error("it is longer than {MAX_URL} characters")]
    TooLong,
    #[error("it is not text (invalid UTF-8 or UTF-16)")]
    NotText,
    #[error("it contains control characters")]
    ControlCharacter,
    #[error("it is not a URL ({0})")]
    NotAUrl(String),
    #[error("its scheme {0:?} is not http or https")]
    Scheme(String),
    #[error("it names no host")]
    NoHost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// The OS keeps no option 252 a process can read (Linux without nmcli).
    NotASource,
    /// Asking failed, or the value given is not a usable URL: the whole sentence.
    Failed(String),
    /// The OS answered, with no option 252: how it said so.
    NoUrl(String),
    /// The (first) option 252, checked by [`url_from_text`].
    Url(String),
}

/// This OS's option 252 (Windows: WinHTTP), bounded by `deadline`.
#[cfg(windows)]
pub fn read(deadline: Duration) -> Lease {
    crate::proxy::windows::dhcp_wpad_url(deadline)
}

/// This OS's option 252 (macOS: SystemConfiguration), bounded by `deadline`.
#[cfg(target_os = "macos")]
pub fn read(deadline: Duration) -> Lease {
    crate::proxy::macos::dhcp_wpad_url(deadline)
}

#[cfg(not(any(unix, windows)))]
pub fn read(_deadline: Duration) -> Lease {
    Lease::NotASource
}

/// This OS's option 252 (Linux and other Unix: NetworkManager through the real `nmcli`),
/// bounded by `deadline`.
#[cfg(all(unix, not(target_os = "macos")))]
pub fn read(deadline: Duration) -> Lease {
    let Some(nmcli) = crate::proxy::invoking_user::program("nmcli") else {
        return Lease::NotASource;
    };
    // Field names are never translated, but the C locale keeps the values plain too.
    let c_locale = [("LC_ALL", Path::new("C"))];
    match run_bounded_in(
        &nmcli,
        &["-t", "-f", "DHCP4", "device", "show"],
        deadline,
        None,
        &c_locale,
    ) {
        Ok(output) => match wpad_urls(&output.stdout).into_iter().next() {
            Some(url) => Lease::Url(url),
            None => Lease::NoUrl("none in NetworkManager's leases".to_string()),
        },
        Err(why) => Lease::Failed(format!(
            "nmcli failed: {}",
            crate::terminal_text::printable(&why)
        )),
    }
}

/// Runs an OS call that has no time bound of its own on a thread of its own, and stops waiting
/// for it at `deadline` (the thread is left to finish and free what it holds). `what` names the
/// call in the failure.
pub fn within(
    deadline: Duration,
    what: &'static str,
    ask: impl FnOnce() -> Lease + Send + 'static,
) -> Lease {
    let (sender, receiver) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("dhcp-wpad".to_string())
        .spawn(move || {
            // The receiver is gone when the deadline passed: nobody wants the answer then.
            let _ = sender.send(ask());
        });
    if let Err(e) = spawned {
        return Lease::Failed(format!("{what}: no thread to ask on: {e}"));
    }
    match receiver.recv_timeout(deadline) {
        Ok(lease) => lease,
        Err(_) => Lease::Failed(format!(
            "{what} gave no answer within {} ms",
            deadline.as_millis()
        )),
    }
}

/// Option 252 as raw bytes (macOS's CFData; the option on the wire): a C string, so it ends at
/// the first NUL (servers that count the terminator pad with it; browsers stop there too).
pub fn url_from_bytes(bytes: &[u8]) -> Result<String, UnusableUrl> {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    let bytes = bytes.get(..end).unwrap_or_default();
    if bytes.len() > MAX_URL {
        return Err(UnusableUrl::TooLong);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| UnusableUrl::NotText)?;
    url_from_text(text)
}

/// Option 252 as UTF-16 code units (WinHTTP's string, read up to its NUL): ends at the first
/// NUL as [`url_from_bytes`] does.
pub fn url_from_utf16(units: &[u16]) -> Result<String, UnusableUrl> {
    let end = units.iter().position(|u| *u == 0).unwrap_or(units.len());
    let units = units.get(..end).unwrap_or_default();
    if units.len() > MAX_URL {
        return Err(UnusableUrl::TooLong);
    }
    let text = String::from_utf16(units).map_err(|_| UnusableUrl::NotText)?;
    url_from_text(&text)
}

/// The checks every option 252 passes before it is fetched: at most [`MAX_URL`] long, no
/// control characters (the URL is shown in reports) once the surrounding white space is
/// trimmed, an `http:` or `https:` URL with a host. `file:` is refused: a DHCP server must
/// not name a file on this machine.
pub fn url_from_text(text: &str) -> Result<String, UnusableUrl> {
    let text = text.split('\0').next().unwrap_or_default();
    if text.len() > MAX_URL {
        return Err(UnusableUrl::TooLong);
    }
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.is_empty() {
        return Err(UnusableUrl::Empty);
    }
    if text.chars().any(char::is_control) {
        return Err(UnusableUrl::ControlCharacter);
    }
    let url = url::Url::parse(text).map_err(|e| UnusableUrl::NotAUrl(e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(UnusableUrl::Scheme(url.scheme().to_string()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UnusableUrl::NoHost);
    }
    Ok(text.to_string())
}

/// Every `wpad` option in nmcli's listing (terse `-t` form, with `\:` escapes, or the padded
/// human form), in device order. A value that is not a printable http(s) URL is passed over.
pub fn wpad_urls(listing: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for line in listing.lines() {
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        if !field.trim_start().starts_with("DHCP4.OPTION") {
            continue;
        }
        let Some((name, url)) = value.split_once('=') else {
            continue;
        };
        if name.trim() != "wpad" {
            continue;
        }
        if let Ok(url) = url_from_text(&unescape_terse(url.trim())) {
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
    }
    urls
}

/// nmcli's terse mode escapes `:` and `\` in values with a backslash.
fn unescape_terse(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ (':' | '\\'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `nmcli -t -f DHCP4 device show` on a laptop with two devices, the wired one with a
    /// lease that carries option 252 (NetworkManager's internal DHCP client).
    const TERSE: &str = "DHCP4.OPTION[1]:dhcp_client_identifier = 01\\:52\\:54\\:00\\:12\\:34\\:56\nDHCP4.OPTION[2]:dhcp_lease_time = 3600\nDHCP4.OPTION[3]:dhcp_server_identifier = 10.20.0.1\nDHCP4.OPTION[4]:domain_name = eng.corp.example\nDHCP4.OPTION[5]:domain_name_servers = 10.20.0.53\nDHCP4.OPTION[6]:expiry = 1796000000\nDHCP4.OPTION[7]:ip_address = 10.20.4.57\nDHCP4.OPTION[8]:requested_wpad = 1\nDHCP4.OPTION[9]:routers = 10.20.0.1\nDHCP4.OPTION[10]:subnet_mask = 255.255.0.0\nDHCP4.OPTION[11]:wpad = http\\://pac.corp.example\\:8080/proxy.pac\n\nDHCP4.OPTION[1]:requested_wpad = 1\nDHCP4.OPTION[2]:wpad = http\\://second.example/wpad.dat\n";

    /// The same without `-t` (what a person pastes), and dhclient's lease with the NUL.
    const HUMAN: &str = "DHCP4.OPTION[7]:                        requested_wpad = 1\nDHCP4.OPTION[12]:                       wpad = http://wpad.corp.example/wpad.dat\0\nIP4.DNS[1]:                             10.20.0.53\n";

    #[test]
    fn reads_option_252_from_recorded_listings() {
        assert_eq!(
            wpad_urls(TERSE),
            [
                "http://pac.corp.example:8080/proxy.pac",
                "http://second.example/wpad.dat"
            ]
        );
        assert_eq!(wpad_urls(HUMAN), ["http://wpad.corp.example/wpad.dat"]);
        // Asked for but not given; and values that are not usable URLs.
        assert!(wpad_urls("DHCP4.OPTION[8]:requested_wpad = 1\n").is_empty());
        assert!(wpad_urls(
            "DHCP4.OPTION[1]:wpad = file\\:///etc/passwd\nDHCP4.OPTION[2]:wpad = http\\://x/\u{1b}[2J\nDHCP4.OPTION[3]:wpad = \nIP4.OPTION[1]:wpad = http\\://ip4.example/\n"
        )
        .is_empty());
    }
}
