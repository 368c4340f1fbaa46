//! DHCP option 252 (the WPAD URL a DHCP server hands out), where the OS exposes it. On Linux
//! that is NetworkManager: it asks for option 252 and lists the answer among a device's lease
//! options, which `nmcli -t -f DHCP4 device show` prints as `DHCP4.OPTION[n]:wpad = URL`
//! (beside `requested_wpad = 1`, which only says it was asked for). No `nmcli` on PATH means
//! DHCP is simply not a source here; systemd-networkd and dhclient do not keep option 252
//! anywhere a user process can read.

use crate::tools::engine::run_bounded_in;
use std::path::Path;
use std::time::Duration;

/// nmcli answers from NetworkManager's state in milliseconds; a stuck D-Bus must not hold a run.
pub const NMCLI_DEADLINE: Duration = Duration::from_secs(3);

/// A URL longer than this is not a WPAD URL anyone configured.
const MAX_URL: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// No nmcli here.
    NotASource,
    /// nmcli ran but failed (NetworkManager not running, or no answer in time).
    Failed(String),
    /// The first device's option 252, if any device has one.
    Url(Option<String>),
}

/// Asks NetworkManager through the real `nmcli`, bounded by `deadline`.
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
        Ok(output) => Lease::Url(wpad_urls(&output.stdout).into_iter().next()),
        Err(why) => Lease::Failed(crate::terminal_text::printable(&why)),
    }
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
        // Some servers send the string with its C terminator; browsers drop it too.
        let url = unescape_terse(url.trim())
            .trim_end_matches('\0')
            .to_string();
        let usable = url.len() <= MAX_URL
            && !url.chars().any(char::is_control)
            && url::Url::parse(&url).is_ok_and(|u| {
                (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some()
            });
        if usable && !urls.contains(&url) {
            urls.push(url);
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
