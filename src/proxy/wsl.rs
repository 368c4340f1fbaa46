//! WSL: the Linux side of a Windows machine. With `autoProxy` (WSL 2, on by default since
//! 2.0; `[wsl2] autoProxy=false` in `.wslconfig` turns it off) WSL copies the Windows proxy
//! settings into every distribution's environment at start:
//! - `HTTP_PROXY`/`http_proxy` and `HTTPS_PROXY`/`https_proxy`: the Windows HTTP(S) proxy;
//! - `NO_PROXY`/`no_proxy`: its bypass list;
//! - `WSL_PAC_URL` (one spelling only): the PAC URL Windows uses, when one is configured.
//!
//! The proxy variables are the environment source already (`proxy::env`); `WSL_PAC_URL` is
//! read here. It is the Windows host's own setting, so it is the OS settings' PAC URL, asked
//! like GNOME's autoconfig-url: the file it names still comes from the network, so its proxy
//! follows the PAC rules (no credentials, not in snippets unless `--allow-proxy` names it).
//! WSL is recognised by the kernel it runs (`microsoft` in `/proc/sys/kernel/osrelease`) or
//! the `WSL_DISTRO_NAME` WSL sets; outside WSL the variable is not WSL's and is ignored.

use std::io::Read;
use std::path::Path;

pub const PAC_URL_VAR: &str = "WSL_PAC_URL";
pub const DISTRO_VAR: &str = "WSL_DISTRO_NAME";
pub const OSRELEASE: &str = "/proc/sys/kernel/osrelease";

/// Whether this is WSL: the kernel release names Microsoft's kernel (`5.15.167.4-microsoft-
/// standard-WSL2`; WSL 1 reports `4.4.0-19041-Microsoft`), or WSL's distribution variable is set.
pub fn is_wsl(osrelease: Option<&str>, distro_name: Option<&str>) -> bool {
    osrelease.is_some_and(|r| r.to_ascii_lowercase().contains("microsoft"))
        || distro_name.is_some_and(|d| !d.trim().is_empty())
}

/// The kernel release at `path` (a few dozen bytes; more is not a release string).
pub fn read_osrelease(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(256)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// `WSL_PAC_URL` through `get`, when this is WSL and the variable holds a URL.
pub fn pac_url(get: impl Fn(&str) -> Option<String>, osrelease: Option<&str>) -> Option<String> {
    if !is_wsl(osrelease, get(DISTRO_VAR).as_deref()) {
        return None;
    }
    get(PAC_URL_VAR)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// This process: its environment and `/proc/sys/kernel/osrelease`.
pub fn from_process() -> Option<String> {
    pac_url(
        |name| std::env::var(name).ok(),
        read_osrelease(Path::new(OSRELEASE)).as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pac_url_only_inside_wsl() {
        let env = |distro: Option<&'static str>| {
            move |name: &str| match name {
                PAC_URL_VAR => Some(" http://pac.corp.example/proxy.pac ".to_string()),
                DISTRO_VAR => distro.map(str::to_string),
                _ => None,
            }
        };
        let wsl2 = Some("5.15.167.4-microsoft-standard-WSL2\n");
        let wsl1 = Some("4.4.0-19041-Microsoft");
        let plain = Some("6.8.0-49-generic");
        assert_eq!(
            pac_url(env(None), wsl2).as_deref(),
            Some("http://pac.corp.example/proxy.pac")
        );
        assert!(pac_url(env(None), wsl1).is_some());
        assert!(pac_url(env(Some("Ubuntu")), plain).is_some());
        assert_eq!(pac_url(env(None), plain), None);
        assert_eq!(pac_url(env(None), None), None);
        assert_eq!(pac_url(|_| Some("  ".to_string()), wsl2), None);
    }
}
