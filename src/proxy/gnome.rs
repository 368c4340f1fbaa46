//! GNOME's proxy settings (`org.gnome.system.proxy`), read with the real `gsettings` so that
//! whatever backend the desktop uses (dconf, a keyfile, a profile) answers as it answers the
//! browser. One `gsettings list-recursively` under a deadline; no `gsettings` on PATH, or no
//! such schema installed, means the source is not present here.
//!
//! Modes: `none` (no proxy from GNOME: the next source decides), `manual` (the `https` host and
//! port, with `ignore-hosts` as the bypass list), `auto` (the PAC file at `autoconfig-url`; an
//! empty URL is what GNOME calls WPAD, which comes later).

use crate::process::{run_bounded, Ended, RunError, Spawn};
use std::time::Duration;

pub const SCHEMA: &str = "org.gnome.system.proxy";

/// gsettings answers in milliseconds; a hung D-Bus must not hold up a run.
pub const GSETTINGS_DEADLINE: Duration = Duration::from_secs(3);

/// The whole listing is a few hundred bytes.
const MAX_OUTPUT: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GnomeProxy {
    /// Mode `none`.
    None,
    /// Mode `manual`. `https` is None when no HTTPS host is set (port 0 counts as unset, as
    /// GNOME does).
    Manual {
        https: Option<(String, u16)>,
        ignore_hosts: Vec<String>,
    },
    /// Mode `auto`: the PAC location (empty: WPAD).
    Auto { autoconfig_url: String },
}

#[derive(Debug, thiserror::Error)]
pub enum GnomeError {
    #[error("gsettings could not be run: {0}")]
    Run(RunError),
    #[error("gsettings did not answer within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("gsettings printed {0} bytes or more, more than a proxy listing")]
    TooLarge(usize),
    #[error("org.gnome.system.proxy mode {} is not none, manual or auto", crate::terminal_text::quoted(.0))]
    Mode(String),
}

/// Asks the real `gsettings`. `Ok(None)`: gsettings is not installed or the schema is not.
pub fn read(deadline: Duration) -> Result<Option<GnomeProxy>, GnomeError> {
    let Some(gsettings) = crate::proxy::invoking_user::program("gsettings") else {
        return Ok(None);
    };
    let mut spawn = Spawn::new(gsettings, &["list-recursively", SCHEMA], deadline);
    spawn.output_limit = MAX_OUTPUT;
    let finished = run_bounded(&spawn).map_err(GnomeError::Run)?;
    match finished.ended {
        Ended::Exited(0) => {}
        Ended::TimedOut => return Err(GnomeError::Timeout(deadline)),
        // "No such schema": GNOME's schemas are not installed, so nothing set them either.
        Ended::Exited(_) | Ended::Signalled => return Ok(None),
    }
    if finished.stdout.len() >= MAX_OUTPUT {
        return Err(GnomeError::TooLarge(MAX_OUTPUT));
    }
    parse_listing(&finished.stdout).map(Some)
}

/// `gsettings list-recursively` output: `schema key value` per line, values in GVariant text.
pub fn parse_listing(listing: &str) -> Result<GnomeProxy, GnomeError> {
    let mut mode = String::new();
    let mut autoconfig_url = String::new();
    let mut ignore_hosts = Vec::new();
    let mut host = String::new();
    let mut port: u16 = 0;
    for line in listing.lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(schema), Some(key), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        match (schema, key) {
            ("org.gnome.system.proxy", "mode") => mode = gvariant_string(value).unwrap_or_default(),
            ("org.gnome.system.proxy", "autoconfig-url") => {
                autoconfig_url = gvariant_string(value).unwrap_or_default()
            }
            ("org.gnome.system.proxy", "ignore-hosts") => {
                ignore_hosts = gvariant_string_array(value)
            }
            ("org.gnome.system.proxy.https", "host") => {
                host = gvariant_string(value).unwrap_or_default()
            }
            ("org.gnome.system.proxy.https", "port") => port = value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    match mode.as_str() {
        "none" => Ok(GnomeProxy::None),
        "manual" => Ok(GnomeProxy::Manual {
            https: (!host.trim().is_empty() && port != 0).then(|| (host.trim().to_string(), port)),
            ignore_hosts,
        }),
        "auto" => Ok(GnomeProxy::Auto { autoconfig_url }),
        other => Err(GnomeError::Mode(crate::terminal_text::printable(other))),
    }
}

/// A GVariant string literal: `'text'` or `"text"`, backslash escapes; `None` if it is not one.
fn gvariant_string(value: &str) -> Option<String> {
    let mut chars = value.trim().chars();
    let quote = chars.next().filter(|c| *c == '\'' || *c == '"')?;
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            c if c == quote => return Some(out),
            c => out.push(c),
        }
    }
    None
}

/// A GVariant `as` literal: `['a', 'b']`, or `@as []` when empty.
fn gvariant_string_array(value: &str) -> Vec<String> {
    let body = value.trim().trim_start_matches("@as").trim();
    let Some(inner) = body.strip_prefix('[').and_then(|b| b.strip_suffix(']')) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            break;
        };
        // Walk to the closing quote, honouring escapes, to find where the element ends.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                c if c == quote => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let Some((element, tail)) = rest.split_at_checked(end.saturating_add(1)) else {
            break;
        };
        if let Some(s) = gvariant_string(element) {
            out.push(s);
        }
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_recorded_listing() {
        let listing = "org.gnome.system.proxy autoconfig-url ''\norg.gnome.system.proxy ignore-hosts ['localhost', '127.0.0.0/8', \"it's.corp\", 'esc\\\\aped', '*.internal']\norg.gnome.system.proxy mode 'manual'\norg.gnome.system.proxy.http host 'plain'\norg.gnome.system.proxy.http port 80\norg.gnome.system.proxy.https host 'proxy.corp'\norg.gnome.system.proxy.https port 3128\n";
        assert_eq!(
            parse_listing(listing).unwrap(),
            GnomeProxy::Manual {
                https: Some(("proxy.corp".to_string(), 3128)),
                ignore_hosts: vec![
                    "localhost".into(),
                    "127.0.0.0/8".into(),
                    "it's.corp".into(),
                    "esc\\aped".into(),
                    "*.internal".into()
                ],
            }
        );
        let auto = "org.gnome.system.proxy mode 'auto'\norg.gnome.system.proxy autoconfig-url 'http://wpad.corp/proxy.pac'\norg.gnome.system.proxy ignore-hosts @as []\n";
        assert_eq!(
            parse_listing(auto).unwrap(),
            GnomeProxy::Auto {
                autoconfig_url: "http://wpad.corp/proxy.pac".into()
            }
        );
        let no_port = "org.gnome.system.proxy mode 'manual'\norg.gnome.system.proxy.https host 'p'\norg.gnome.system.proxy.https port 0\n";
        assert!(matches!(
            parse_listing(no_port).unwrap(),
            GnomeProxy::Manual { https: None, .. }
        ));
        assert!(parse_listing("org.gnome.system.proxy mode 'bogus'\n").is_err());
        assert_eq!(
            parse_listing("org.gnome.system.proxy mode 'none'\n").unwrap(),
            GnomeProxy::None
        );
    }
}
