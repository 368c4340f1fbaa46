//! git: `http.sslCAInfo` in the global git config, naming the FULL bundle (libcurl's CAINFO
//! replaces the default roots).
//!
//! - Linux: git's libcurl reads the distribution's store (Debian 12's git links libcurl-gnutls,
//!   which logs `found 434 certificates in /etc/ssl/certs`, the directory update-ca-certificates
//!   maintains, with `GIT_CURL_VERBOSE=1` in a clean environment), so with the CA in the OS store
//!   nothing is written.
//! - macOS: which TLS library a given git uses (Apple's, Homebrew's) is not settled, so the
//!   bundle is always named: a full bundle is right under every backend.
//! - Windows: with `http.sslBackend=schannel` git verifies with the Windows store and ignores
//!   `sslCAInfo` unless `http.schannelUseSSLCAInfo` is true (git Documentation/config/http.adoc),
//!   so with the CA in the store nothing is written; without it, both keys are. The default
//!   backend of Git for Windows is OpenSSL with its own bundle: the bundle is named. Revocation:
//!   `http.schannelCheckRevoke` became a tristate with `best-effort` as the default in Git for
//!   Windows 2.26.0 (git-for-windows/git#2535; versions before reject the value as a bad
//!   boolean), so trust-proxy never writes it: from 2.26 it is the default already, before it
//!   would break every git command. A note says which case applies.
//!
//! The backend is a config value, not a build option (`git version --build-options` does not
//! print it), so it is read from the `ssl_backend` fact when detection supplies one (from `git
//! config --get http.sslBackend`), else from the global file being edited, else on Windows from
//! the system file next to the program (where the Git for Windows installer writes it).
//!
//! The editor is minimal and exact: it parses the git-config syntax (sections, subsections,
//! quoting, escapes, continuation lines, comments) only to find `[http]` and the key, changes
//! the bytes of that one value (or inserts one line, or appends one section), and keeps every
//! other byte. It refuses rather than guesses: a key given twice in `[http]`, a key to replace
//! with an `[include]` after it (the included file could set it again), a syntax git would
//! reject. A value the person set follows [`super::existing_ca`].

use super::config_text;
use super::existing_ca::{self, Decision};
use super::{paths, Context, FileEdit, Found, Mechanism, Os, ReadFile, Tool, ToolError, ToolId};
use super::{ToolPlan, Version};
use std::ops::Range;
use std::path::{Path, PathBuf};

pub struct Git;

/// The version from which Git for Windows checks revocation best-effort by default.
const BEST_EFFORT_DEFAULT: Version = Version::new(2, 26, 0);

impl Tool for Git {
    fn id(&self) -> ToolId {
        ToolId::Git
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("git", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let path = paths::gitconfig(ctx);
        let bundle = config_text::path_text(ToolId::Git, &ctx.bundle)?;
        let text = match read(&path)? {
            Some(bytes) => config_text::decode(ToolId::Git, &path, bytes)?,
            None => String::new(),
        };
        let unparsable = |message: String| ToolError::Unparsable {
            tool: ToolId::Git,
            path: path.clone(),
            message,
        };
        let items = parse(&text).map_err(&unparsable)?;
        let mut notes = Vec::new();
        for (url, value) in per_url_values(&items, "sslcainfo") {
            notes.push(format!(
                "git: http.\"{url}\".sslCAInfo = {value} overrides the global setting for that URL; left as it is"
            ));
        }

        let schannel = ctx.os == Os::Windows
            && backend(found, ctx, &items, read).as_deref() == Some("schannel");
        let use_ca_info = last_value(&items, "schannelusesslcainfo").is_some_and(|v| is_true(&v));
        let needed = match ctx.os {
            Os::Linux => !ctx.ca_in_os_store,
            Os::Macos => true,
            Os::Windows => !(schannel && ctx.ca_in_os_store),
        };
        let existing = single_value(&items, "sslcainfo").map_err(&unparsable)?;
        // Under Schannel an sslCAInfo without schannelUseSSLCAInfo is never read.
        let existing_counts = !schannel || use_ca_info;
        let decision = existing_ca::decide(
            ToolId::Git,
            "http.sslCAInfo",
            existing.as_deref().filter(|_| existing_counts),
            needed,
            ctx,
            read,
        );
        let setting = format!("http.sslCAInfo = {bundle}");
        let mut owned = Vec::new();
        let mut new_text = text.clone();
        let mechanism = match decision {
            Decision::NotNeeded => Mechanism::OsStoreAlready {
                why: if schannel {
                    "git uses Schannel, which reads the Windows store".to_owned()
                } else {
                    "git's libcurl reads the system CA bundle".to_owned()
                },
            },
            Decision::Keep(note) => {
                notes.push(note);
                Mechanism::BundleFile {
                    setting: format!("http.sslCAInfo (yours: {})", existing.unwrap_or_default()),
                }
            }
            Decision::AlreadyOurs | Decision::Write(_) => {
                if let Decision::Write(note) = decision {
                    notes.extend(note);
                    new_text = set(&new_text, "sslCAInfo", &quote(bundle)).map_err(&unparsable)?;
                }
                owned.push(setting.clone());
                if schannel && !use_ca_info {
                    new_text =
                        set(&new_text, "schannelUseSSLCAInfo", "true").map_err(&unparsable)?;
                }
                if schannel {
                    owned.push("http.schannelUseSSLCAInfo = true".to_owned());
                }
                Mechanism::BundleFile { setting }
            }
        };
        if schannel && ctx.minted_without_revocation == Some(true) {
            notes.push(revocation_note(
                found.version,
                last_value(&items, "schannelcheckrevoke"),
            ));
        }

        let edits = if owned.is_empty() {
            Vec::new()
        } else {
            vec![FileEdit {
                path: path.clone(),
                contents: new_text.into_bytes(),
                sensitive: false,
                setting: owned.join("; "),
            }]
        };
        Ok(ToolPlan {
            tool: ToolId::Git,
            version: found.version,
            mechanism,
            edits,
            run_after: Vec::new(),
            notes,
        })
    }
}

fn revocation_note(version: Option<Version>, explicit: Option<String>) -> String {
    let why = "the proxy mints certificates without CRL or OCSP pointers";
    if let Some(value) = explicit.filter(|v| !v.eq_ignore_ascii_case("best-effort")) {
        return format!(
            "git: {why}; you set http.schannelCheckRevoke = {value}: with `true` every fetch fails \
             with CRYPT_E_NO_REVOCATION_CHECK; `best-effort` (the default) is the fix: left as you set it"
        );
    }
    match version {
        Some(v) if v >= BEST_EFFORT_DEFAULT => format!(
            "git: {why}; Git for Windows {v} checks revocation best-effort by default, so nothing is written"
        ),
        _ => format!(
            "git: {why}, and Git for Windows before {BEST_EFFORT_DEFAULT} neither defaults to nor \
             accepts http.schannelCheckRevoke best-effort: update Git for Windows"
        ),
    }
}

/// The TLS backend git will use, lower case, when something says.
fn backend(found: &Found, ctx: &Context, global: &[Item], read: ReadFile<'_>) -> Option<String> {
    if let Some(fact) = found
        .facts
        .get("ssl_backend")
        .filter(|v| !v.trim().is_empty())
    {
        return Some(fact.trim().to_lowercase());
    }
    if let Some(value) = last_value(global, "sslbackend") {
        return Some(value.to_lowercase());
    }
    system_configs(found, ctx)
        .iter()
        .filter_map(|file| read(file).ok().flatten())
        .filter_map(|bytes| String::from_utf8(bytes).ok())
        .filter_map(|text| parse(&text).ok())
        .find_map(|items| last_value(&items, "sslbackend"))
        .map(|v| v.to_lowercase())
}

/// Where the system git config may be: `GIT_CONFIG_SYSTEM`, else next to Git for Windows'
/// program (`<root>\cmd\git.exe` -> `<root>\etc\gitconfig`, older `<root>\mingw64\etc\gitconfig`).
fn system_configs(found: &Found, ctx: &Context) -> Vec<PathBuf> {
    if let Some(file) = ctx.var("GIT_CONFIG_SYSTEM") {
        return vec![PathBuf::from(file)];
    }
    let Some(root) = found.program.parent().and_then(Path::parent) else {
        return Vec::new();
    };
    vec![
        root.join("etc").join("gitconfig"),
        root.join("mingw64").join("etc").join("gitconfig"),
    ]
}

fn is_true(value: &str) -> bool {
    matches!(value.to_lowercase().as_str(), "true" | "yes" | "on" | "1")
}

/// A git-config quoted string.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len().saturating_add(2));
    out.push('"');
    for c in value.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One syntactic piece of a git config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `[name]` or `[name "sub"]`: `name` lower-cased; `end` is the end of its physical line.
    Header {
        name: String,
        sub: Option<String>,
        start: usize,
        end: usize,
    },
    /// `key = value` (value `None` for a bare `key`), in the section of the header before it.
    Entry {
        header: Option<usize>,
        key: String,
        value: Option<String>,
        /// The bytes of the value as written (quotes and escapes included, comment excluded),
        /// or where ` = value` would go for a bare key.
        value_span: Range<usize>,
        end: usize,
    },
}

/// Parses the git-config syntax as git's config.c does, or says where it stops.
pub fn parse(text: &str) -> Result<Vec<Item>, String> {
    let b = text.as_bytes();
    let mut items = Vec::new();
    let mut header: Option<usize> = None;
    let mut pos = 0;
    // git ignores a UTF-8 byte order mark at the very start.
    if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        pos = 3;
    }
    let line_end = |from: usize| -> usize {
        b.get(from..)
            .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
            .map_or(b.len(), |i| from.saturating_add(i).saturating_add(1))
    };
    while let Some(&c) = b.get(pos) {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => pos = pos.saturating_add(1),
            b'#' | b';' => pos = line_end(pos),
            b'[' => {
                let start = pos;
                let (name, sub, after) = parse_header(b, pos)
                    .ok_or_else(|| at(text, start, "a malformed [section] header"))?;
                header = Some(items.len());
                items.push(Item::Header {
                    name,
                    sub,
                    start,
                    end: line_end(after),
                });
                pos = after;
            }
            c if c.is_ascii_alphabetic() => {
                let key_start = pos;
                while b
                    .get(pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-')
                {
                    pos = pos.saturating_add(1);
                }
                let key = text.get(key_start..pos).unwrap_or("").to_ascii_lowercase();
                let key_end = pos;
                while matches!(b.get(pos), Some(b' ' | b'\t')) {
                    pos = pos.saturating_add(1);
                }
                let (value, value_span, end) = match b.get(pos) {
                    Some(b'=') => {
                        let (value, span, end) = parse_value(b, pos.saturating_add(1))
                            .ok_or_else(|| at(text, key_start, "a malformed value"))?;
                        let value = String::from_utf8(value)
                            .map_err(|_| at(text, key_start, "a value that is not UTF-8"))?;
                        (Some(value), span, end)
                    }
                    None | Some(b'\n' | b'\r' | b'#' | b';') => {
                        (None, key_end..key_end, line_end(pos))
                    }
                    Some(_) => {
                        return Err(at(
                            text,
                            key_start,
                            "a key followed by neither = nor the line end",
                        ))
                    }
                };
                if header.is_none() {
                    return Err(at(text, key_start, "a setting before any [section]"));
                }
                items.push(Item::Entry {
                    header,
                    key,
                    value,
                    value_span,
                    end,
                });
                pos = end;
            }
            _ => return Err(at(text, pos, "a line git does not accept")),
        }
    }
    Ok(items)
}

fn at(text: &str, pos: usize, what: &str) -> String {
    let line = text
        .get(..pos)
        .map_or(0, |t| t.matches('\n').count())
        .saturating_add(1);
    format!("line {line}: {what}")
}

/// `[name]`, `[name "sub"]` or the old `[name.sub]` from `start` (the `[`): name (lower case),
/// subsection, and the position after `]`.
fn parse_header(b: &[u8], start: usize) -> Option<(String, Option<String>, usize)> {
    let mut pos = start.saturating_add(1);
    let mut name = String::new();
    loop {
        let c = *b.get(pos)?;
        pos = pos.saturating_add(1);
        match c {
            b']' => break,
            b' ' | b'\t' => {
                while matches!(b.get(pos), Some(b' ' | b'\t')) {
                    pos = pos.saturating_add(1);
                }
                if b.get(pos) != Some(&b'"') {
                    return None;
                }
                pos = pos.saturating_add(1);
                let mut sub = Vec::new();
                loop {
                    let c = *b.get(pos)?;
                    pos = pos.saturating_add(1);
                    match c {
                        b'"' => break,
                        b'\n' => return None,
                        b'\\' => {
                            let escaped = *b.get(pos)?;
                            if escaped == b'\n' {
                                return None;
                            }
                            sub.push(escaped);
                            pos = pos.saturating_add(1);
                        }
                        c => sub.push(c),
                    }
                }
                if b.get(pos) != Some(&b']') {
                    return None;
                }
                return (!name.is_empty())
                    .then(|| (name, String::from_utf8(sub).ok(), pos.saturating_add(1)));
            }
            c if c.is_ascii_alphanumeric() || c == b'-' || c == b'.' => {
                name.push(char::from(c.to_ascii_lowercase()))
            }
            _ => return None,
        }
    }
    if name.is_empty() {
        return None;
    }
    // `[http.url]` is the old spelling of `[http "url"]`.
    match name.split_once('.') {
        Some((section, sub)) => Some((section.to_owned(), Some(sub.to_owned()), pos)),
        None => Some((name, None, pos)),
    }
}

/// A value from after `=` as git's `parse_value` reads it: the decoded bytes, the span of the
/// value as written, and the position after its line.
fn parse_value(b: &[u8], from: usize) -> Option<(Vec<u8>, Range<usize>, usize)> {
    let mut pos = from;
    while matches!(b.get(pos), Some(b' ' | b'\t')) {
        pos = pos.saturating_add(1);
    }
    let start = pos;
    let mut content_end = pos;
    let mut out = Vec::new();
    let mut pending_space = 0usize;
    let (mut quoted, mut comment) = (false, false);
    loop {
        let Some(&c) = b.get(pos) else {
            return (!quoted).then_some((out, start..content_end, pos));
        };
        pos = pos.saturating_add(1);
        // git reads CRLF as LF.
        let c = if c == b'\r' && b.get(pos) == Some(&b'\n') {
            pos = pos.saturating_add(1);
            b'\n'
        } else {
            c
        };
        if c == b'\n' {
            return (!quoted).then_some((out, start..content_end, pos));
        }
        if comment {
            continue;
        }
        if (c == b' ' || c == b'\t') && !quoted {
            if !out.is_empty() {
                pending_space = pending_space.saturating_add(1);
            }
            continue;
        }
        if !quoted && (c == b';' || c == b'#') {
            comment = true;
            continue;
        }
        out.extend(std::iter::repeat_n(b' ', pending_space));
        pending_space = 0;
        match c {
            b'\\' => {
                let mut escaped = *b.get(pos)?;
                pos = pos.saturating_add(1);
                if escaped == b'\r' && b.get(pos) == Some(&b'\n') {
                    pos = pos.saturating_add(1);
                    escaped = b'\n';
                }
                match escaped {
                    b'\n' => {}
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'n' => out.push(b'\n'),
                    b'\\' | b'"' => out.push(escaped),
                    _ => return None,
                }
            }
            b'"' => quoted = !quoted,
            c => out.push(c),
        }
        content_end = pos;
    }
}

fn in_general_http(items: &[Item], header: Option<usize>) -> bool {
    matches!(header.and_then(|h| items.get(h)), Some(Item::Header { name, sub: None, .. }) if name == "http")
}

/// The entries of `[http] key` (key lower case), in file order.
fn entries<'a>(items: &'a [Item], key: &'a str) -> impl Iterator<Item = (usize, &'a Item)> + 'a {
    items.iter().enumerate().filter(move |(_, item)| {
        matches!(item, Item::Entry { header, key: k, .. } if k == key && in_general_http(items, *header))
    })
}

/// The value git would use for `http.<key>` from this file alone (the last one; a bare key is
/// `true`).
fn last_value(items: &[Item], key: &str) -> Option<String> {
    entries(items, key).last().map(|(_, item)| match item {
        Item::Entry { value, .. } => value.clone().unwrap_or_else(|| "true".to_owned()),
        Item::Header { .. } => String::new(),
    })
}

/// The one value of `http.<key>`; given more than once, which one the person meant is a guess.
fn single_value(items: &[Item], key: &str) -> Result<Option<String>, String> {
    let found: Vec<_> = entries(items, key).collect();
    if found.len() > 1 {
        return Err(format!("http.{key} is set {} times in [http]", found.len()));
    }
    Ok(found.first().and_then(|(_, item)| match item {
        Item::Entry { value, .. } => value.clone(),
        Item::Header { .. } => None,
    }))
}

fn per_url_values(items: &[Item], key: &str) -> Vec<(String, String)> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Entry {
                header: Some(h),
                key: k,
                value: Some(v),
                ..
            } if k == key => match items.get(*h) {
                Some(Item::Header {
                    name,
                    sub: Some(url),
                    ..
                }) if name == "http" => Some((url.clone(), v.clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn is_include(item: &Item) -> bool {
    matches!(item, Item::Header { name, .. } if name == "include" || name == "includeif")
}

/// `text` with `[http] <key> = <written>` (`written` already quoted as git reads it): the one
/// existing value replaced, else a line added at the end of the last `[http]` section, else a
/// new `[http]` section appended.
pub fn set(text: &str, key: &str, written: &str) -> Result<String, String> {
    let items = parse(text)?;
    let key_lower = key.to_ascii_lowercase();
    let found: Vec<_> = entries(&items, &key_lower).collect();
    if found.len() > 1 {
        return Err(format!("http.{key} is set {} times in [http]", found.len()));
    }
    if let Some(&(
        index,
        Item::Entry {
            value, value_span, ..
        },
    )) = found.first()
    {
        if items.iter().skip(index).any(is_include) {
            return Err(format!("an [include] after http.{key} may set it again"));
        }
        let with = if value.is_some() {
            written.to_owned()
        } else {
            format!(" = {written}")
        };
        return Ok(config_text::splice(text, value_span.clone(), &with));
    }
    let nl = config_text::newline_of(text);
    let line = format!("\t{key} = {written}");
    let last_http = items
        .iter()
        .rposition(|item| matches!(item, Item::Header { name, sub: None, .. } if name == "http"));
    if let Some(h) = last_http.filter(|h| !items.iter().skip(*h).any(is_include)) {
        let section_end = items
            .iter()
            .skip(h)
            .enumerate()
            .take_while(|(i, item)| *i == 0 || matches!(item, Item::Entry { .. }))
            .map(|(_, item)| match item {
                Item::Header { end, .. } | Item::Entry { end, .. } => *end,
            })
            .max()
            .unwrap_or(text.len());
        return Ok(config_text::insert_line(text, section_end, &line, nl));
    }
    Ok(config_text::append_lines(
        text,
        &["[http]".to_owned(), line],
        nl,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_git_reads_them() {
        let items = parse(
            "[http]\n\tsslCAInfo = \"/a b/c\\\\d\" ; note\n[HTTP \"https://x\"]\n\tsslcainfo = /u\n[http.old]\n\tflag\n",
        )
        .unwrap();
        assert_eq!(
            single_value(&items, "sslcainfo").unwrap().as_deref(),
            Some("/a b/c\\d")
        );
        assert_eq!(
            per_url_values(&items, "sslcainfo"),
            vec![("https://x".into(), "/u".into())]
        );
        assert!(parse("[http]\n\tkey = \"unterminated\n").is_err());
        assert!(parse("[http]\n\tkey = \"unterminated at the end").is_err());
        assert!(parse("key = x\n").is_err());
        assert!(parse("[http]\n\tk = a\\\n  b\n").is_ok());
    }

    #[test]
    fn set_changes_only_the_value() {
        let text = "[http]\r\n\tsslCAInfo = /old ; mine\r\n\tpostBuffer = 1\r\n";
        assert_eq!(
            set(text, "sslCAInfo", "\"/new\"").unwrap(),
            "[http]\r\n\tsslCAInfo = \"/new\" ; mine\r\n\tpostBuffer = 1\r\n"
        );
        assert_eq!(
            set(
                "[http]\n\tproxy = x\n[user]\n\tname = a\n",
                "sslCAInfo",
                "\"/n\""
            )
            .unwrap(),
            "[http]\n\tproxy = x\n\tsslCAInfo = \"/n\"\n[user]\n\tname = a\n"
        );
        assert_eq!(
            set(
                "[http]\n\tproxy = x\n[include]\n\tpath = y\n",
                "sslCAInfo",
                "\"/n\""
            )
            .unwrap(),
            "[http]\n\tproxy = x\n[include]\n\tpath = y\n[http]\n\tsslCAInfo = \"/n\"\n"
        );
        assert!(set(
            "[http]\n\tsslCAInfo = /a\n[include]\n\tpath = y\n",
            "sslCAInfo",
            "\"/n\""
        )
        .is_err());
        assert!(set(
            "[http]\n\tsslCAInfo = /a\n\tsslCAInfo = /b\n",
            "sslCAInfo",
            "\"/n\""
        )
        .is_err());
        assert_eq!(quote("C:\\a \"b\""), "\"C:\\\\a \\\"b\\\"\"");
    }
}
