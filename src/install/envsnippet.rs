//! The environment that points tools which ignore the OS trust store at our bundle, rendered for
//! each shell, plus the two files that reach GUI apps, cron and services: a profile.d script and a
//! marked block in `/etc/environment`.
//!
//! Everything here is a pure function of its arguments (no I/O): the install step writes the
//! files, and the tests source the output in the real shells.
//!
//! Quoting is the whole point of this module. A CA bundle path under a home directory can hold
//! spaces, quotes, `$`, backticks or `%`; a snippet that lets the shell expand any of those either
//! points the tools at the wrong file (verification fails, people turn it off) or runs code. So
//! every value is put in the one quoting form of its shell that takes the bytes literally, and a
//! value that a format cannot carry literally is refused with a typed error, never approximated.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where the install step put the trust material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPaths {
    /// The full bundle: public roots plus the proxy's root (`ca-bundle.pem`), or the distro
    /// bundle once the root is in the OS store. Variables that *replace* a tool's roots point here.
    pub bundle: PathBuf,
    /// An OpenSSL hashed certificate directory (`c_rehash` layout), for `SSL_CERT_DIR`.
    pub cert_dir: PathBuf,
    /// Only the proxy's root and the intermediates the proxy does not send: for variables that
    /// *add* to a tool's roots (Node's `NODE_EXTRA_CA_CERTS`).
    pub proxy_ca: PathBuf,
}

/// The proxy to advertise to tools, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyEnv {
    /// The proxy URL in display form. Environment snippets end up in dotfiles, profile.d and
    /// `/etc/environment` (world-readable), so a password is refused here even though the caller
    /// is expected to pass the display form already.
    pub url: String,
    /// Hosts that bypass the proxy, as the user's `NO_PROXY` says.
    pub no_proxy: Option<String>,
}

/// The shells a snippet can be rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shell {
    Sh,
    Bash,
    Zsh,
    Fish,
    Pwsh,
    /// Output for cmd.exe is a batch file (`%` doubled), to be saved as `.cmd` and `call`ed; it is
    /// not right for pasting at the interactive prompt, where `%%` is not an escape. See
    /// [`render_checked`] for what it refuses.
    Cmd,
}

/// A character that some output format cannot carry literally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    Nul,
    Newline,
    CarriageReturn,
    DoubleQuote,
    Backslash,
    Hash,
    Bang,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Forbidden::Nul => "a NUL byte",
            Forbidden::Newline => "a newline",
            Forbidden::CarriageReturn => "a carriage return",
            Forbidden::DoubleQuote => "a double quote (\")",
            Forbidden::Backslash => "a backslash",
            Forbidden::Hash => "a '#'",
            Forbidden::Bang => "a '!'",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("the proxy URL carries a password; environment files are readable by others, pass the URL without it")]
    ProxyPassword,
    #[error("the proxy URL is empty")]
    EmptyProxyUrl,
    #[error("{name}: the path is not valid UTF-8, which not every shell and tool can carry")]
    NotUtf8 { name: String },
    #[error("{name}: the path {path:?} is not absolute; each tool would resolve it against its own working directory")]
    RelativePath { name: String, path: String },
    #[error("{name}: the value contains {what}, which no environment snippet can carry")]
    UnsafeValue { name: String, what: Forbidden },
    #[error("{name:?} is not a valid environment variable name")]
    InvalidName { name: String },
    #[error("{name}: {format} cannot carry a value containing {what}")]
    Unrepresentable {
        format: &'static str,
        name: String,
        what: Forbidden,
    },
    #[error("{name}: the /etc/environment line would be {len} bytes; pam_env reads lines of at most {max}")]
    LineTooLong {
        name: String,
        len: usize,
        max: usize,
    },
    #[error("unknown shell {0:?} (expected sh, bash, zsh, fish, pwsh or cmd)")]
    UnknownShell(String),
    #[error("line {line}: {what} marker without its partner; fix the file by hand, trust-proxy will not guess which lines it owns")]
    UnbalancedMarker { line: usize, what: &'static str },
    #[error("line {line}: a second {what} marker; fix the file by hand, trust-proxy will not guess which block it owns")]
    DuplicateMarker { line: usize, what: &'static str },
    #[error("the block to insert contains a trust-proxy marker line itself")]
    MarkerInBlock,
}

/// First line of the managed block in `/etc/environment`.
pub const BEGIN_MARKER: &str = "# BEGIN trust-proxy (managed; remove with: trust-proxy uninstall)";
/// Last line of the managed block in `/etc/environment`.
pub const END_MARKER: &str = "# END trust-proxy";
// Any line starting with these counts as a marker, so a marker from an older version or one a
// person edited makes the file "ours but unclear", which is refused instead of silently doubled.
const BEGIN_PREFIX: &str = "# BEGIN trust-proxy";
const END_PREFIX: &str = "# END trust-proxy";

/// All variable names [`variables`] can produce, in its order: what `render_unset` and the
/// uninstall step remove.
pub const ALL_NAMES: [&str; 16] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
    "GIT_SSL_CAINFO",
    "CARGO_HTTP_CAINFO",
    "AWS_CA_BUNDLE",
    "NIX_SSL_CERT_FILE",
    "NODE_EXTRA_CA_CERTS",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Variables that *replace* a tool's roots: they must name the full bundle, because pointing them
/// at a CA-only file breaks every host the proxy does not intercept (bypass lists, other networks).
/// They are the first nine of [`ALL_NAMES`].
const BUNDLE_VARS: &[&str] = ALL_NAMES.split_at(9).0;

/// The variables to set, in a fixed order (stable output, stable diffs of written files).
pub fn variables(
    paths: &EnvPaths,
    proxy: Option<&ProxyEnv>,
) -> Result<Vec<(String, String)>, EnvError> {
    let bundle = |name: &str| path_value(name, &paths.bundle);
    let mut out = Vec::with_capacity(ALL_NAMES.len());
    for &name in BUNDLE_VARS {
        let value = if name == "SSL_CERT_DIR" {
            path_value(name, &paths.cert_dir)?
        } else {
            bundle(name)?
        };
        out.push((name.to_string(), value));
    }
    // Node *adds* NODE_EXTRA_CA_CERTS to its built-in roots, so the CA-only file is right here
    // and the full bundle would only duplicate Mozilla's roots.
    out.push((
        "NODE_EXTRA_CA_CERTS".to_string(),
        path_value("NODE_EXTRA_CA_CERTS", &paths.proxy_ca)?,
    ));
    if let Some(proxy) = proxy {
        if proxy.url.is_empty() {
            return Err(EnvError::EmptyProxyUrl);
        }
        if url_has_password(&proxy.url) {
            return Err(EnvError::ProxyPassword);
        }
        // Both spellings: curl ignores upper-case HTTP_PROXY (httpoxy), Go and Python read
        // either, some tools only the upper-case one.
        for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
            check_value(name, &proxy.url)?;
            out.push((name.to_string(), proxy.url.clone()));
        }
        if let Some(no_proxy) = &proxy.no_proxy {
            for name in ["NO_PROXY", "no_proxy"] {
                check_value(name, no_proxy)?;
                out.push((name.to_string(), no_proxy.clone()));
            }
        }
    }
    Ok(out)
}

/// Variables whose tools verify with the OS store on macOS and Windows unless told otherwise,
/// and which then REPLACE it: OpenSSL-family `SSL_CERT_FILE`/`SSL_CERT_DIR` (Go 1.27 and
/// rustls-native-certs, hence uv and rustup, honour them there too and bypass the OS verifier),
/// curl's `CURL_CA_BUNDLE` (Schannel and Apple builds use the OS store) and cargo's
/// `CARGO_HTTP_CAINFO` (Schannel on Windows).
pub const LEFT_TO_THE_OS_STORE: [&str; 4] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "CARGO_HTTP_CAINFO",
];

/// [`variables`] for `os`: on macOS and Windows with the CA in the OS store, the variables of
/// [`LEFT_TO_THE_OS_STORE`] are not set. There most tools already trust the OS store, and a
/// global bundle variable would make them trust a copy that goes stale when the OS's roots
/// change. What only adds (`NODE_EXTRA_CA_CERTS`) and what reaches tools with no OS-store mode
/// (`REQUESTS_CA_BUNDLE`, `PIP_CERT`, `AWS_CA_BUNDLE`, ...) stays. Linux keeps every variable:
/// its OS store is itself a bundle file, which those variables name in the system scope.
pub fn variables_for(
    os: crate::tools::Os,
    ca_in_os_store: bool,
    paths: &EnvPaths,
    proxy: Option<&ProxyEnv>,
) -> Result<Vec<(String, String)>, EnvError> {
    let mut vars = variables(paths, proxy)?;
    if os != crate::tools::Os::Linux && ca_in_os_store {
        vars.retain(|(name, _)| !LEFT_TO_THE_OS_STORE.contains(&name.as_str()));
    }
    Ok(vars)
}

fn path_value(name: &str, path: &Path) -> Result<String, EnvError> {
    let value = path.to_str().ok_or_else(|| EnvError::NotUtf8 {
        name: name.to_string(),
    })?;
    if !path.is_absolute() {
        return Err(EnvError::RelativePath {
            name: name.to_string(),
            path: value.to_string(),
        });
    }
    check_value(name, value)?;
    Ok(value.to_string())
}

/// NUL cannot be in an environment at all; a newline or CR would end the line in every file
/// format here and in most shells' interactive paste.
fn check_value(name: &str, value: &str) -> Result<(), EnvError> {
    let what = if value.contains('\0') {
        Forbidden::Nul
    } else if value.contains('\n') {
        Forbidden::Newline
    } else if value.contains('\r') {
        Forbidden::CarriageReturn
    } else {
        return Ok(());
    };
    Err(EnvError::UnsafeValue {
        name: name.to_string(),
        what,
    })
}

/// Whether the URL's authority has `user:password@`. Parsed by hand rather than with `url`, so
/// that a string `url` rejects (no scheme, odd characters) is still checked, and an empty password
/// (`user:@host`) counts too: the colon says someone meant to put one there.
fn url_has_password(url: &str) -> bool {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    let authority = match rest.find(['/', '?', '#']) {
        Some(i) => &rest[..i],
        None => rest,
    };
    match authority.rfind('@') {
        Some(at) => authority[..at].contains(':'),
        None => false,
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_name(name: &str) -> Result<(), EnvError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(EnvError::InvalidName {
            name: name.to_string(),
        })
    }
}

impl Shell {
    pub fn as_str(self) -> &'static str {
        match self {
            Shell::Sh => "sh",
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Pwsh => "pwsh",
            Shell::Cmd => "cmd",
        }
    }

    fn comment(self) -> &'static str {
        match self {
            Shell::Cmd => "REM",
            _ => "#",
        }
    }
}

impl fmt::Display for Shell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Shell {
    type Err = EnvError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Case-insensitive and `.exe`-tolerant, because on Windows names come as `PWSH.EXE`.
        let lower = s.to_ascii_lowercase();
        let base = lower.strip_suffix(".exe").unwrap_or(&lower);
        Ok(match base {
            "sh" => Shell::Sh,
            "bash" => Shell::Bash,
            "zsh" => Shell::Zsh,
            "fish" => Shell::Fish,
            // Windows PowerShell 5.1 takes the same `$env:NAME = '...'` syntax as pwsh 7.
            "pwsh" | "powershell" => Shell::Pwsh,
            "cmd" => Shell::Cmd,
            _ => return Err(EnvError::UnknownShell(s.to_string())),
        })
    }
}

/// Guess the user's shell from the environment (`env` is `std::env::var` in production, a map in
/// tests). A guess only: the output says which shell it is for, and `--shell` overrides it.
pub fn detect_shell(env: impl Fn(&str) -> Option<String>) -> Shell {
    detect_shell_for(cfg!(windows), env)
}

fn detect_shell_for(windows: bool, env: impl Fn(&str) -> Option<String>) -> Shell {
    let from_shell_var = || {
        let shell = env("SHELL")?;
        // basename on either separator: Git Bash on Windows sets SHELL=/usr/bin/bash, and a
        // Windows-style path may carry `\`.
        let base = shell.rsplit(['/', '\\']).next().unwrap_or(&shell);
        match base.parse::<Shell>() {
            Ok(s) => Some(s),
            // dash, ksh, ash, mksh, posh: all take POSIX `export NAME='...'`.
            Err(_) if matches!(base, "dash" | "ksh" | "ash" | "mksh" | "posh" | "yash") => {
                Some(Shell::Sh)
            }
            Err(_) => None,
        }
    };
    if windows {
        // Windows sets PSModulePath system-wide (cmd sees it too, with two entries); PowerShell
        // prepends the user's module folder at start, so three or more entries mean we were
        // started from PowerShell (or from something PowerShell started).
        if let Some(s) = from_shell_var() {
            // MSYS / Git Bash / Cygwin export SHELL; a plain Windows session does not.
            return s;
        }
        if let Some(p) = env("PSModulePath") {
            if p.split(';').filter(|e| !e.is_empty()).count() >= 3 {
                return Shell::Pwsh;
            }
        }
        if env("ComSpec").is_some() {
            return Shell::Cmd;
        }
        return Shell::Sh;
    }
    // On Unix PSModulePath exists only below a running pwsh, which makes it a better hint than
    // SHELL (the login shell, which stays "bash" for someone working in pwsh).
    if env("PSModulePath").is_some_and(|p| !p.is_empty()) {
        return Shell::Pwsh;
    }
    from_shell_var().unwrap_or(Shell::Sh)
}

fn header(shell: Shell, what: &str) -> String {
    // Plain ASCII with no shell metacharacters: a REM line in cmd still undergoes %-expansion.
    let usage = match shell {
        Shell::Cmd => "; save as a .cmd file and call it, do not paste at the prompt",
        _ => "",
    };
    format!(
        "{} trust-proxy: {what}{usage}; undo with: trust-proxy uninstall\n",
        shell.comment()
    )
}

/// Render `vars` for `shell`, refusing (typed error) a name or value that the shell cannot carry
/// literally: an invalid name, NUL, newline or CR anywhere; for cmd also `"` and `!` (see
/// [`Shell::Cmd`]: `%` is doubled for a batch file).
pub fn render_checked(shell: Shell, vars: &[(String, String)]) -> Result<String, EnvError> {
    let mut out = header(shell, "CA bundle and proxy environment for tools");
    for (name, value) in vars {
        out.push_str(&render_line(shell, name, value)?);
    }
    Ok(out)
}

/// Render `vars` for `shell`. Never emits an unsafe line: an entry the shell cannot carry (see
/// [`render_checked`] for which) becomes a comment naming only its position and the reason, not its
/// text, since that text is exactly what the shell would misread.
pub fn render(shell: Shell, vars: &[(String, String)]) -> String {
    let mut out = header(shell, "CA bundle and proxy environment for tools");
    for (i, (name, value)) in vars.iter().enumerate() {
        match render_line(shell, name, value) {
            Ok(line) => out.push_str(&line),
            Err(e) => out.push_str(&skipped_comment(shell, i, &e)),
        }
    }
    out
}

fn skipped_comment(shell: Shell, index: usize, e: &EnvError) -> String {
    let reason = match e {
        EnvError::InvalidName { .. } => "invalid name",
        EnvError::UnsafeValue { .. } | EnvError::Unrepresentable { .. } => {
            "value not representable in this shell"
        }
        _ => "not representable",
    };
    format!(
        "{} trust-proxy: entry {} skipped: {reason}\n",
        shell.comment(),
        index + 1
    )
}

fn render_line(shell: Shell, name: &str, value: &str) -> Result<String, EnvError> {
    check_name(name)?;
    check_value(name, value)?;
    Ok(match shell {
        Shell::Sh | Shell::Bash | Shell::Zsh => format!("export {name}={}\n", sh_quote(value)),
        Shell::Fish => format!("set -gx {name} {}\n", fish_quote(value)),
        Shell::Pwsh => format!("$env:{name} = {}\n", pwsh_quote(value)),
        Shell::Cmd => format!("set \"{name}={}\"\n", cmd_batch_value(name, value)?),
    })
}

/// POSIX single quotes take every byte literally except `'` itself, which is closed, escaped and
/// reopened: `'\''`. The same text is right for sh, dash, bash and zsh (no history expansion
/// happens inside single quotes, and `!` is only special interactively outside them).
pub(crate) fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// fish single quotes: only `\\` and `\'` are escapes, everything else (`$`, `~`, `*`, `{`) is
/// literal.
pub(crate) fn fish_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// PowerShell verbatim strings: no `$` or backtick expansion; the only escape is doubling the quote.
/// PowerShell also treats the typographic quotes U+2018..U+201B as single quotes, so each of those
/// is doubled as well (as PowerShell's own `EscapeSingleQuotedStringContent` does), else `’` in a
/// path would end the string early.
pub(crate) fn pwsh_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        out.push(c);
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// cmd.exe has no general escaping; the `set "NAME=value"` form keeps `&|<>^()` and spaces
/// literal, and what is left is:
/// - `%`: the rendered text is meant to be saved as a `.cmd`/`.bat` file and `call`ed (that is
///   what the install step writes), where `%%` is a literal `%`. Pasted at the interactive prompt
///   instead, `%%` stays `%%` and `%NAME%` expands: there is no escape that works in both places,
///   so the snippet is for batch files only, and its first line says so.
/// - `!`: eaten when delayed expansion is on (`cmd /V:ON`, or the registry's DelayedExpansion), and
///   the escape differs between on and off: refused.
/// - `"`: would end the quoted region and expose the rest to the parser: refused.
/// - newline, CR, NUL: impossible in a `set` line (refused by `check_value`).
fn cmd_batch_value(name: &str, value: &str) -> Result<String, EnvError> {
    let refuse = |what| EnvError::Unrepresentable {
        format: "cmd",
        name: name.to_string(),
        what,
    };
    if value.contains('"') {
        return Err(refuse(Forbidden::DoubleQuote));
    }
    if value.contains('!') {
        return Err(refuse(Forbidden::Bang));
    }
    Ok(value.replace('%', "%%"))
}

/// Lines that undo a snippet in the current shell session (the installed files are removed by
/// `trust-proxy uninstall`; a shell that already sourced them keeps the variables until this).
pub fn render_unset(shell: Shell, names: &[&str]) -> String {
    let mut out = header(shell, "remove the CA bundle and proxy environment");
    for (i, name) in names.iter().enumerate() {
        if !valid_name(name) {
            out.push_str(&skipped_comment(
                shell,
                i,
                &EnvError::InvalidName {
                    name: name.to_string(),
                },
            ));
            continue;
        }
        out.push_str(&match shell {
            Shell::Sh | Shell::Bash | Shell::Zsh => format!("unset {name}\n"),
            // `-g`: the snippet set the global (not universal) variable; erasing an unset
            // variable only sets $status, it prints nothing.
            Shell::Fish => format!("set -e -g {name}\n"),
            Shell::Pwsh => format!("Remove-Item Env:{name} -ErrorAction SilentlyContinue\n"),
            Shell::Cmd => format!("set \"{name}=\"\n"),
        });
    }
    out
}

/// `/etc/profile.d/trust-proxy.sh`: read by login shells (sh, dash, bash, zsh in sh mode), hence
/// POSIX syntax only. Entries that cannot be carried become comments, as in [`render`].
pub fn profile_d_script(vars: &[(String, String)]) -> String {
    let mut out = header(
        Shell::Sh,
        "managed file (CA bundle and proxy environment for tools)",
    );
    for (i, (name, value)) in vars.iter().enumerate() {
        match render_line(Shell::Sh, name, value) {
            Ok(line) => out.push_str(&line),
            Err(e) => out.push_str(&skipped_comment(Shell::Sh, i, &e)),
        }
    }
    out
}

/// The oldest pam_env reads lines with `fgets` into a 1024-byte buffer (newline and NUL
/// included), and stops reading the file at a longer line: stay well inside it.
const PAM_ENV_MAX_LINE: usize = 1022;

/// The body of the `/etc/environment` block (without markers; [`replace_marked_block`] adds them):
/// `NAME="value"` lines, as pam_env reads them (no expansion, no escapes).
///
/// Refused, because pam_env or the other readers of this file (systemd's `EnvironmentFile=`, shells
/// that source it) would read something else: `#` (pam_env cuts the line there, even inside
/// quotes), `"` and `\` (quotes and escapes in systemd's and the shells' reading), newline, CR and
/// NUL, and lines too long for pam_env's buffer. `$` and backticks are kept: pam_env does not expand
/// this file, and systemd does not expand `EnvironmentFile=` values either.
pub fn environment_block(vars: &[(String, String)]) -> Result<String, EnvError> {
    let mut out = String::new();
    for (name, value) in vars {
        check_name(name)?;
        check_value(name, value)?;
        for (c, what) in [
            ('"', Forbidden::DoubleQuote),
            ('\\', Forbidden::Backslash),
            ('#', Forbidden::Hash),
        ] {
            if value.contains(c) {
                return Err(EnvError::Unrepresentable {
                    format: "/etc/environment",
                    name: name.clone(),
                    what,
                });
            }
        }
        let line = format!("{name}=\"{value}\"");
        if line.len() > PAM_ENV_MAX_LINE {
            return Err(EnvError::LineTooLong {
                name: name.clone(),
                len: line.len(),
                max: PAM_ENV_MAX_LINE,
            });
        }
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// Insert, replace (`Some`) or remove (`None`) the one trust-proxy block in a file such as
/// `/etc/environment`, leaving every other byte as it was.
///
/// A new block is appended at the end, so that its values win over earlier lines (pam_env keeps the
/// last assignment). If the file did not end in a newline, one `\n` is added before the block and
/// the block's END line is written *without* a newline: that is how removal knows to take the
/// added `\n` away again, so removing the block gives back the original bytes exactly. Our own
/// lines always end in `\n` even in a CRLF file, because pam_env would keep a `\r` in the value.
///
/// A BEGIN without END, END before BEGIN, or a second BEGIN or END is refused: the file was edited
/// by hand and guessing which lines are ours could delete someone else's.
pub fn replace_marked_block(existing: &str, block: Option<&str>) -> Result<String, EnvError> {
    let replaced = replace_marked_block_bytes(existing.as_bytes(), block)?;
    // Cut and joined at `\n` bytes only, so UTF-8 in gives UTF-8 out.
    Ok(String::from_utf8_lossy(&replaced).into_owned())
}

/// [`replace_marked_block`] on the file's bytes as they are: `/etc/environment` may hold
/// Latin-1 or any other bytes (pam_env does not care), and every one of them comes back.
pub fn replace_marked_block_bytes(
    existing: &[u8],
    block: Option<&str>,
) -> Result<Vec<u8>, EnvError> {
    let body = match block {
        Some(b) => {
            if lines(b.as_bytes()).any(is_any_marker) {
                return Err(EnvError::MarkerInBlock);
            }
            let mut b = b.as_bytes().to_vec();
            if !b.is_empty() && !b.ends_with(b"\n") {
                b.push(b'\n');
            }
            Some(b)
        }
        None => None,
    };

    match find_block(existing)? {
        Some(found) => {
            let part = |from: usize, to: usize| existing.get(from..to).unwrap_or_default();
            let before = part(0, found.begin_start);
            let after = part(found.end_end, existing.len());
            let end_line = part(found.body_end, found.end_end);
            Ok(match body {
                Some(body) => {
                    // Keep the marker lines' own bytes (a CRLF there, a missing final newline):
                    // only the body is ours to change.
                    let begin_line = part(found.begin_start, found.body_start);
                    [before, begin_line, &body, end_line, after].concat()
                }
                None => {
                    // The END line without newline is the sign that we added the `\n` before
                    // BEGIN to a file that had none.
                    let before = if !end_line.ends_with(b"\n") && after.is_empty() {
                        before.strip_suffix(b"\n").unwrap_or(before)
                    } else {
                        before
                    };
                    [before, after].concat()
                }
            })
        }
        None => Ok(match body {
            None => existing.to_vec(),
            Some(body) => {
                let (begin, end) = (BEGIN_MARKER.as_bytes(), END_MARKER.as_bytes());
                if existing.is_empty() || existing.ends_with(b"\n") {
                    [existing, begin, b"\n", &body, end, b"\n"].concat()
                } else {
                    [existing, b"\n", begin, b"\n", &body, end].concat()
                }
            }
        }),
    }
}

/// The lines of `text`, each with its `\n` if it has one.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split_inclusive(|b| *b == b'\n')
}

struct FoundBlock {
    begin_start: usize,
    body_start: usize,
    body_end: usize,
    end_end: usize,
}

fn marker_kind(line: &[u8]) -> Option<bool> {
    let t = line.trim_ascii();
    if t.starts_with(BEGIN_PREFIX.as_bytes()) {
        Some(true)
    } else if t.starts_with(END_PREFIX.as_bytes()) {
        Some(false)
    } else {
        None
    }
}

fn is_any_marker(line: &[u8]) -> bool {
    marker_kind(line).is_some()
}

fn find_block(text: &[u8]) -> Result<Option<FoundBlock>, EnvError> {
    let mut begin: Option<(usize, usize, usize)> = None; // (line number, start, end of line)
    let mut end: Option<(usize, usize, usize)> = None;
    let mut offset = 0usize;
    for (i, line) in lines(text).enumerate() {
        let lineno = i.saturating_add(1);
        let line_end = offset.saturating_add(line.len());
        let span = (lineno, offset, line_end);
        offset = line_end;
        match marker_kind(line) {
            Some(true) => {
                if begin.is_some() {
                    return Err(EnvError::DuplicateMarker {
                        line: lineno,
                        what: "BEGIN",
                    });
                }
                if end.is_some() {
                    // An END before the (first) BEGIN.
                    return Err(EnvError::UnbalancedMarker {
                        line: end.map_or(lineno, |e| e.0),
                        what: "END",
                    });
                }
                begin = Some(span);
            }
            Some(false) => {
                if end.is_some() {
                    return Err(EnvError::DuplicateMarker {
                        line: lineno,
                        what: "END",
                    });
                }
                end = Some(span);
            }
            None => {}
        }
    }
    match (begin, end) {
        (None, None) => Ok(None),
        (Some((line, ..)), None) => Err(EnvError::UnbalancedMarker {
            line,
            what: "BEGIN",
        }),
        (None, Some((line, ..))) => Err(EnvError::UnbalancedMarker { line, what: "END" }),
        (Some((_, begin_start, body_start)), Some((end_line, body_end, end_end))) => {
            if body_end < body_start {
                return Err(EnvError::UnbalancedMarker {
                    line: end_line,
                    what: "END",
                });
            }
            Ok(Some(FoundBlock {
                begin_start,
                body_start,
                body_end,
                end_end,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn paths() -> EnvPaths {
        EnvPaths {
            bundle: PathBuf::from("/etc/trust-proxy/ca-bundle.pem"),
            cert_dir: PathBuf::from("/etc/trust-proxy/certs"),
            proxy_ca: PathBuf::from("/etc/trust-proxy/proxy-ca.pem"),
        }
    }

    fn v(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn macos_and_windows_leave_bundle_variables_to_the_os_store() -> Result<(), EnvError> {
        use crate::tools::Os;
        let names = |os, in_store| -> Result<Vec<String>, EnvError> {
            Ok(variables_for(os, in_store, &paths(), None)?
                .into_iter()
                .map(|(n, _)| n)
                .collect())
        };
        let all: Vec<String> = ALL_NAMES.iter().take(10).map(|n| n.to_string()).collect();
        assert_eq!(names(Os::Linux, true)?, all);
        assert_eq!(names(Os::Macos, false)?, all);
        assert_eq!(names(Os::Windows, false)?, all);
        for os in [Os::Macos, Os::Windows] {
            let kept = names(os, true)?;
            assert_eq!(
                kept,
                [
                    "REQUESTS_CA_BUNDLE",
                    "PIP_CERT",
                    "GIT_SSL_CAINFO",
                    "AWS_CA_BUNDLE",
                    "NIX_SSL_CERT_FILE",
                    "NODE_EXTRA_CA_CERTS"
                ]
            );
        }
        Ok(())
    }

    #[test]
    fn variables_order_and_targets() -> Result<(), EnvError> {
        let proxy = ProxyEnv {
            url: "http://alice@proxy.corp:3128".into(),
            no_proxy: Some("localhost,.corp".into()),
        };
        let vars = variables(&paths(), Some(&proxy))?;
        let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ALL_NAMES);
        let get = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("SSL_CERT_FILE"), Some("/etc/trust-proxy/ca-bundle.pem"));
        assert_eq!(get("SSL_CERT_DIR"), Some("/etc/trust-proxy/certs"));
        assert_eq!(
            get("NODE_EXTRA_CA_CERTS"),
            Some("/etc/trust-proxy/proxy-ca.pem")
        );
        // Nothing that replaces the roots may point at the CA-only file.
        for name in BUNDLE_VARS {
            assert_ne!(get(name), Some("/etc/trust-proxy/proxy-ca.pem"), "{name}");
        }
        assert_eq!(get("https_proxy"), Some("http://alice@proxy.corp:3128"));
        assert_eq!(get("no_proxy"), Some("localhost,.corp"));

        let no_np = ProxyEnv {
            url: "http://proxy:3128".into(),
            no_proxy: None,
        };
        assert_eq!(variables(&paths(), Some(&no_np))?.len(), 14);
        assert_eq!(variables(&paths(), None)?.len(), 10);
        Ok(())
    }

    #[test]
    fn passwords_and_bad_values_refused() {
        for url in [
            "http://alice:secret@proxy:3128",
            "http://alice:@proxy:3128",
            "alice:pw@proxy:3128",
            "https://a:b@[::1]:443/path",
        ] {
            let p = ProxyEnv {
                url: url.into(),
                no_proxy: None,
            };
            assert_eq!(
                variables(&paths(), Some(&p)),
                Err(EnvError::ProxyPassword),
                "{url}"
            );
        }
        // A colon in the path or the port is not a password.
        assert!(!url_has_password("http://proxy:3128/a:b@c"));
        assert!(!url_has_password("http://alice@proxy:3128"));

        let mut p = paths();
        p.bundle = PathBuf::from("/tmp/a\nb");
        assert!(matches!(
            variables(&p, None),
            Err(EnvError::UnsafeValue {
                what: Forbidden::Newline,
                ..
            })
        ));
        p.bundle = PathBuf::from("relative/ca.pem");
        assert!(matches!(
            variables(&p, None),
            Err(EnvError::RelativePath { .. })
        ));
        let np = ProxyEnv {
            url: "http://proxy:1".into(),
            no_proxy: Some("a\0b".into()),
        };
        assert!(matches!(
            variables(&paths(), Some(&np)),
            Err(EnvError::UnsafeValue {
                what: Forbidden::Nul,
                ..
            })
        ));
    }

    #[test]
    fn shell_names_round_trip() {
        for s in [
            Shell::Sh,
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Pwsh,
            Shell::Cmd,
        ] {
            assert_eq!(s.to_string().parse::<Shell>(), Ok(s));
        }
        assert_eq!("PWSH.EXE".parse::<Shell>(), Ok(Shell::Pwsh));
        assert_eq!("powershell".parse::<Shell>(), Ok(Shell::Pwsh));
        assert!(matches!(
            "tcsh".parse::<Shell>(),
            Err(EnvError::UnknownShell(_))
        ));
    }

    #[test]
    fn shell_detection() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            let m: HashMap<&str, &str> = pairs.iter().copied().collect();
            move |k: &str| m.get(k).map(|v| v.to_string())
        };
        assert_eq!(
            detect_shell_for(false, env(&[("SHELL", "/usr/bin/zsh")])),
            Shell::Zsh
        );
        assert_eq!(
            detect_shell_for(false, env(&[("SHELL", "/usr/local/bin/fish")])),
            Shell::Fish
        );
        assert_eq!(
            detect_shell_for(false, env(&[("SHELL", "/bin/dash")])),
            Shell::Sh
        );
        assert_eq!(
            detect_shell_for(false, env(&[("SHELL", "/bin/tcsh")])),
            Shell::Sh
        );
        assert_eq!(detect_shell_for(false, env(&[])), Shell::Sh);
        assert_eq!(
            detect_shell_for(
                false,
                env(&[
                    ("SHELL", "/bin/bash"),
                    ("PSModulePath", "/opt/microsoft/powershell/7/Modules")
                ])
            ),
            Shell::Pwsh
        );
        let win_cmd: &'static [(&str, &str)] = &[
            ("ComSpec", r"C:\Windows\system32\cmd.exe"),
            (
                "PSModulePath",
                r"C:\Program Files\WindowsPowerShell\Modules;C:\Windows\system32\WindowsPowerShell\v1.0\Modules",
            ),
        ];
        let win_ps: &'static [(&str, &str)] = &[
            ("ComSpec", r"C:\Windows\system32\cmd.exe"),
            (
                "PSModulePath",
                r"C:\Users\a\Documents\WindowsPowerShell\Modules;C:\Program Files\WindowsPowerShell\Modules;C:\Windows\system32\WindowsPowerShell\v1.0\Modules",
            ),
        ];
        let git_bash: &'static [(&str, &str)] = &[
            ("ComSpec", r"C:\Windows\system32\cmd.exe"),
            ("SHELL", "/usr/bin/bash"),
        ];
        assert_eq!(detect_shell_for(true, env(win_cmd)), Shell::Cmd);
        assert_eq!(detect_shell_for(true, env(win_ps)), Shell::Pwsh);
        assert_eq!(detect_shell_for(true, env(git_bash)), Shell::Bash);
        assert_eq!(detect_shell_for(true, env(&[])), Shell::Sh);
    }

    #[test]
    fn quoting_forms() -> Result<(), EnvError> {
        let vars = v(&[("A", r#"it's "x" $HOME `id` \ %P% !"#)]);
        let sh = render_checked(Shell::Bash, &vars)?;
        assert!(sh.ends_with("export A='it'\\''s \"x\" $HOME `id` \\ %P% !'\n"));
        let fish = render_checked(Shell::Fish, &vars)?;
        assert!(fish.ends_with("set -gx A 'it\\'s \"x\" $HOME `id` \\\\ %P% !'\n"));
        let ps = render_checked(Shell::Pwsh, &v(&[("A", "a'b\u{2019}c$d`e")]))?;
        assert!(ps.ends_with("$env:A = 'a''b\u{2019}\u{2019}c$d`e'\n"));
        let cmd = render_checked(Shell::Cmd, &v(&[("A", r"C:\a b\%P%&|<>^()")]))?;
        assert!(cmd.ends_with("set \"A=C:\\a b\\%%P%%&|<>^()\"\n"));
        for s in [Shell::Sh, Shell::Fish, Shell::Pwsh, Shell::Cmd] {
            let out = render_checked(s, &[])?;
            assert!(out.starts_with(s.comment()));
            assert!(out.contains("trust-proxy uninstall"));
        }
        Ok(())
    }

    #[test]
    fn cmd_refuses_what_it_cannot_carry() {
        for (value, what) in [("a\"b", Forbidden::DoubleQuote), ("a!b", Forbidden::Bang)] {
            assert_eq!(
                render_checked(Shell::Cmd, &v(&[("A", value)])),
                Err(EnvError::Unrepresentable {
                    format: "cmd",
                    name: "A".into(),
                    what
                })
            );
            // The lenient form drops the entry and shows none of its text.
            let out = render(Shell::Cmd, &v(&[("A", value), ("B", "ok")]));
            assert!(!out.contains(value), "{out}");
            assert!(out.contains("REM trust-proxy: entry 1 skipped"), "{out}");
            assert!(out.ends_with("set \"B=ok\"\n"));
        }
        assert!(matches!(
            render_checked(Shell::Bash, &v(&[("A", "x\ny")])),
            Err(EnvError::UnsafeValue { .. })
        ));
        assert!(matches!(
            render_checked(Shell::Bash, &v(&[("A;rm -rf ~;B", "x")])),
            Err(EnvError::InvalidName { .. })
        ));
        let out = render(Shell::Bash, &v(&[("A;rm -rf ~;B", "x")]));
        assert!(!out.contains("rm -rf"));
    }

    #[test]
    fn unset_forms() {
        let names = ["SSL_CERT_FILE", "bad name"];
        assert!(render_unset(Shell::Zsh, &names).contains("\nunset SSL_CERT_FILE\n"));
        assert!(render_unset(Shell::Fish, &names).contains("\nset -e -g SSL_CERT_FILE\n"));
        assert!(render_unset(Shell::Pwsh, &names)
            .contains("\nRemove-Item Env:SSL_CERT_FILE -ErrorAction SilentlyContinue\n"));
        assert!(render_unset(Shell::Cmd, &names).contains("\nset \"SSL_CERT_FILE=\"\n"));
        assert!(!render_unset(Shell::Sh, &names).contains("unset bad"));
    }

    #[test]
    fn environment_block_refusals() {
        for (value, what) in [
            ("a\"b", Forbidden::DoubleQuote),
            ("a#b", Forbidden::Hash),
            ("a\\b", Forbidden::Backslash),
        ] {
            assert!(matches!(
                environment_block(&v(&[("A", value)])),
                Err(EnvError::Unrepresentable { what: w, .. }) if w == what
            ));
        }
        let long = format!("/{}", "a".repeat(2000));
        assert!(matches!(
            environment_block(&v(&[("A", &long)])),
            Err(EnvError::LineTooLong { .. })
        ));
        assert_eq!(
            environment_block(&v(&[("A", "/x y/$HOME/'q'")])),
            Ok("A=\"/x y/$HOME/'q'\"\n".to_string())
        );
    }

    #[test]
    fn marked_block_round_trips() -> Result<(), EnvError> {
        let block = "SSL_CERT_FILE=\"/etc/trust-proxy/ca-bundle.pem\"\n";
        let other = "A=\"1\"\n";
        let mut inputs: Vec<String> = [
            "",
            "\n",
            "PATH=\"/usr/bin\"",
            "PATH=\"/usr/bin\"\n",
            "PATH=\"/usr/bin\"\r\nLANG=\"C\"\r\n",
            "PATH=\"/usr/bin\"\r\nLANG=\"C\"",
            "# comment\n\nFOO=bar\n\n\n",
            "x\r",
            "no newline at all # with comment",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // A few hundred pseudo-random files from a small alphabet (xorshift: no dependency).
        let alphabet = ["A=\"1\"", "\n", "\r\n", "# c", " ", "\r", "é", "#", "B=2"];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..300 {
            let mut s = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 9) {
                s.push_str(alphabet[((seed >> (k * 5)) % alphabet.len() as u64) as usize]);
            }
            inputs.push(s);
        }
        for input in &inputs {
            let with = replace_marked_block(input, Some(block))?;
            assert!(with.starts_with(input.as_str()), "{input:?}");
            assert_eq!(with.matches(BEGIN_MARKER).count(), 1);
            // Idempotent, replaceable, removable back to the exact bytes.
            assert_eq!(replace_marked_block(&with, Some(block))?, with);
            let replaced = replace_marked_block(&with, Some(other))?;
            assert!(replaced.contains(other) && !replaced.contains(block));
            assert_eq!(replace_marked_block(&replaced, None)?, *input, "{input:?}");
            assert_eq!(replace_marked_block(&with, None)?, *input, "{input:?}");
            assert_eq!(replace_marked_block(input, None)?, *input);
        }
        Ok(())
    }

    #[test]
    fn marked_block_keeps_bytes_that_are_not_utf8() -> Result<(), EnvError> {
        let block = "SSL_CERT_FILE=\"/etc/trust-proxy/ca-bundle.pem\"\n";
        for input in [
            &b"LANG=fr_FR.ISO-8859-1\n# caf\xe9\n"[..],
            b"A=\xff\xfe",
            b"\xe9\r\n\x00\n",
        ] {
            let with = replace_marked_block_bytes(input, Some(block))?;
            assert!(with.starts_with(input), "{input:?}");
            assert_eq!(replace_marked_block_bytes(&with, None)?, input, "{input:?}");
        }
        Ok(())
    }

    #[test]
    fn marker_problems_refused() {
        let b = format!("{BEGIN_MARKER}\n");
        let e = format!("{END_MARKER}\n");
        assert!(matches!(
            replace_marked_block(&format!("A=1\n{b}B=2\n"), None),
            Err(EnvError::UnbalancedMarker {
                line: 2,
                what: "BEGIN"
            })
        ));
        assert!(matches!(
            replace_marked_block(&format!("{e}A=1\n"), Some("")),
            Err(EnvError::UnbalancedMarker { what: "END", .. })
        ));
        assert!(matches!(
            replace_marked_block(&format!("{e}{b}"), None),
            Err(EnvError::UnbalancedMarker { .. })
        ));
        assert!(matches!(
            replace_marked_block(&format!("{b}{e}{b}{e}"), None),
            Err(EnvError::DuplicateMarker {
                line: 3,
                what: "BEGIN"
            })
        ));
        assert!(matches!(
            replace_marked_block(&format!("{b}{e}{e}"), None),
            Err(EnvError::DuplicateMarker { what: "END", .. })
        ));
        assert_eq!(
            replace_marked_block("", Some(&format!("X=1\n{e}"))),
            Err(EnvError::MarkerInBlock)
        );
    }
}
