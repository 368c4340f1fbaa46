//! The rendered environment snippets, sourced in the REAL shells, must give every variable its
//! value byte for byte, however hostile the path (spaces, both quotes, `$HOME`, backticks,
//! `$(...)`, `%PATH%`, `!`, `;`, `&`, backslashes, unicode), and must run nothing.
//!
//! A shell that is not installed is reported as skipped (printed, visible with `--nocapture`
//! and in the test's name) and its test passes only in that case; with TRUST_PROXY_REQUIRE_TOOLS=1
//! (set by scripts/test-all.sh, which installs them) a missing bash, dash, zsh or fish fails
//! instead. pwsh is not available from the
//! registries CI can reach (`apt-cache policy powershell`: not in Debian; Microsoft's own apt
//! repository is not one of them), so its test always skips there. The cmd snippet runs in
//! wine's cmd.exe (wine64 is installed by scripts/install-deps.sh).
//!
//! The `/etc/environment` block is checked with a port of pam_env's own reader (never the real
//! file).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use trust_proxy::install::envsnippet::{
    environment_block, profile_d_script, render, render_checked, render_unset,
    replace_marked_block, variables, EnvError, EnvPaths, ProxyEnv, Shell, ALL_NAMES,
};

/// Everything a shell might expand, split, or choke on, in one directory name.
const NASTY: &str = "dir with  spaces 'single' \"double\" $HOME ${HOME} `touch PWNED1` $(touch PWNED2) %PATH% !! !$ ; & | < > * ? [a] ~ \\back\\slash\\ \\' \\\" é ünï ✓ 日本 \u{2019}q\u{2018} tab\tend";

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn nasty_vars(base: &str) -> Result<Vec<(String, String)>, EnvError> {
    let root = PathBuf::from(format!("/tmp/{base}"));
    let paths = EnvPaths {
        bundle: root.join("ca-bundle.pem"),
        cert_dir: root.join("certs"),
        proxy_ca: root.join("proxy ca's.pem"),
    };
    let proxy = ProxyEnv {
        url: "http://alice@proxy.corp:3128".into(),
        no_proxy: Some("localhost,.corp,$HOME,`id`,%USERPROFILE%".into()),
    };
    variables(&paths, Some(&proxy))
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A clean environment: nothing of ours is set beforehand, and HOME is a directory whose name
/// would show up in a value if `$HOME` were expanded.
fn clean_command(program: &Path, dir: &Path, locale: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir.join("home"))
        .env("LC_ALL", locale)
        .env("XDG_CONFIG_HOME", dir.join("home/.config"))
        .env("XDG_DATA_HOME", dir.join("home/.local/share"))
        .current_dir(dir);
    cmd
}

/// Runs `cmd` (which must end with `env -0`) and returns the environment it printed.
fn env_dump(mut cmd: Command) -> Result<HashMap<String, Vec<u8>>, Box<dyn std::error::Error>> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    if !out.stderr.is_empty() {
        return Err(format!(
            "{cmd:?} printed to stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let mut map = HashMap::new();
    for entry in out.stdout.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let eq = entry
            .iter()
            .position(|b| *b == b'=')
            .ok_or("env entry without '='")?;
        map.insert(
            String::from_utf8(entry[..eq].to_vec())?,
            entry[eq + 1..].to_vec(),
        );
    }
    Ok(map)
}

fn assert_all(
    label: &str,
    env: &HashMap<String, Vec<u8>>,
    vars: &[(String, String)],
    dir: &Path,
) -> TestResult {
    for (name, value) in vars {
        let got = env
            .get(name)
            .ok_or_else(|| format!("{label}: {name} not exported"))?;
        assert_eq!(
            got.as_slice(),
            value.as_bytes(),
            "{label}: {name}\n got {:?}\nwant {value:?}",
            String::from_utf8_lossy(got)
        );
    }
    for marker in ["PWNED1", "PWNED2"] {
        assert!(
            !dir.join(marker).exists(),
            "{label}: the snippet ran a command substitution"
        );
    }
    Ok(())
}

/// How a shell sources `file` and then prints its exported environment.
fn source_command(shell: Shell, program: &Path, file: &Path, dir: &Path, locale: &str) -> Command {
    let mut cmd = clean_command(program, dir, locale);
    match shell {
        Shell::Bash => {
            cmd.args([
                "--norc",
                "--noprofile",
                "-c",
                ". \"$1\" && exec env -0",
                "bash",
            ]);
            cmd.arg(file);
        }
        Shell::Zsh => {
            cmd.args(["-f", "-c", ". \"$1\" && exec env -0", "zsh"]);
            cmd.arg(file);
        }
        Shell::Sh => {
            cmd.args(["-c", ". \"$1\" && exec env -0", "sh"]);
            cmd.arg(file);
        }
        Shell::Fish => {
            // fish has no positional arguments for -c in every version: pass the path by env.
            cmd.env("TP_SNIPPET", file);
            cmd.args(["--no-config", "-c", "source $TP_SNIPPET; and exec env -0"]);
        }
        Shell::Pwsh | Shell::Cmd => {}
    }
    cmd
}

fn check_posixish(shell: Shell, program_name: &str) -> TestResult {
    let Some(program) = find_program(program_name) else {
        // test-all.sh installs these (scripts/install-deps.sh): a skip there would be a gap.
        if std::env::var("TRUST_PROXY_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
            return Err(format!("{program_name} is not installed, and CI must run it").into());
        }
        println!("SKIPPED: {program_name} is not installed (apt-get install {program_name})");
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("home"))?;
    let vars = nasty_vars(NASTY)?;
    let snippet = render_checked(shell, &vars)?;
    let file = dir.path().join("snippet");
    std::fs::write(&file, &snippet)?;
    for locale in ["C.UTF-8", "C"] {
        let label = format!("{program_name} ({locale})");
        let env = env_dump(source_command(shell, &program, &file, dir.path(), locale))?;
        assert_all(&label, &env, &vars, dir.path())?;
    }

    // Undo in the same session: source the snippet, then the unset lines.
    let both = dir.path().join("both");
    std::fs::write(
        &both,
        format!("{snippet}{}", render_unset(shell, &ALL_NAMES)),
    )?;
    let env = env_dump(source_command(
        shell,
        &program,
        &both,
        dir.path(),
        "C.UTF-8",
    ))?;
    for name in ALL_NAMES {
        assert!(
            !env.contains_key(name),
            "{program_name}: {name} still set after unset"
        );
    }
    println!("ran: {program_name} ({})", program.display());
    Ok(())
}

#[test]
fn bash_sources_snippet_exactly() -> TestResult {
    check_posixish(Shell::Bash, "bash")
}

#[test]
fn zsh_sources_snippet_exactly() -> TestResult {
    check_posixish(Shell::Zsh, "zsh")
}

#[test]
fn fish_sources_snippet_exactly() -> TestResult {
    check_posixish(Shell::Fish, "fish")
}

#[test]
fn dash_sources_sh_snippet_exactly() -> TestResult {
    check_posixish(Shell::Sh, "dash")
}

/// The profile.d file, run the way login shells read it: by `/bin/sh` (dash on Debian) and by
/// dash explicitly, in case `/bin/sh` is something else here.
#[test]
fn profile_d_script_under_sh_and_dash() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("home"))?;
    let vars = nasty_vars(NASTY)?;
    let script = profile_d_script(&vars);
    assert!(script.starts_with("# trust-proxy"));
    assert!(script.contains("trust-proxy uninstall"));
    let file = dir.path().join("trust-proxy.sh");
    std::fs::write(&file, &script)?;
    let mut ran = 0;
    for program in [PathBuf::from("/bin/sh"), PathBuf::from("/bin/dash")] {
        if !program.exists() {
            println!("SKIPPED: {} does not exist", program.display());
            continue;
        }
        let env = env_dump(source_command(Shell::Sh, &program, &file, dir.path(), "C"))?;
        assert_all(&program.display().to_string(), &env, &vars, dir.path())?;
        println!(
            "ran: {} -> {:?}",
            program.display(),
            std::fs::canonicalize(&program)?
        );
        ran += 1;
    }
    assert!(ran > 0, "no POSIX sh at all");
    Ok(())
}

/// pwsh is not in Debian's repositories, and neither PyPI nor npm ships its binary, so on the
/// project's machines this prints SKIPPED. Where pwsh exists (a developer's Windows or Mac), the
/// snippet is dot-sourced for real and each value written out by .NET, byte for byte.
#[test]
fn pwsh_sources_snippet_exactly() -> TestResult {
    let Some(program) = find_program("pwsh").or_else(|| find_program("pwsh.exe")) else {
        println!("SKIPPED: pwsh is not installed (not available from Debian, PyPI or npm)");
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("home"))?;
    std::fs::create_dir_all(dir.path().join("out"))?;
    let vars = nasty_vars(NASTY)?;
    let file = dir.path().join("snippet.ps1");
    std::fs::write(&file, render_checked(Shell::Pwsh, &vars)?)?;
    let mut cmd = clean_command(&program, dir.path(), "C.UTF-8");
    cmd.env("TP_SNIPPET", &file)
        .env("TP_OUT", dir.path().join("out"))
        .args([
            "-NoProfile",
            "-NonInteractive",
            "-Command",
            ". $env:TP_SNIPPET; $o = $env:TP_OUT; \
             Get-ChildItem Env: | ForEach-Object { \
               [IO.File]::WriteAllBytes((Join-Path $o $_.Name), \
                 [Text.UTF8Encoding]::new($false).GetBytes($_.Value)) }",
        ]);
    let out = cmd.output()?;
    assert!(
        out.status.success(),
        "pwsh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, value) in &vars {
        let got = std::fs::read(dir.path().join("out").join(name))?;
        assert_eq!(got, value.as_bytes(), "pwsh: {name}");
    }
    println!("ran: pwsh ({})", program.display());
    Ok(())
}

/// What cmd can carry, made as hostile as cmd allows: spaces, `%PATH%` and `%%`, `&` and `|`
/// (with a command after them that would leave a file), redirections, `^`, parentheses, single
/// quotes, `;`, `,`, `=`. `"` and `!` are refused by the renderer (tested below); non-ASCII is
/// left out: cmd reads a batch file in the OEM code page (wine 8 does even after `chcp 65001`),
/// so a UTF-8 snippet carries only ASCII exactly.
const CMD_NASTY: &str =
    "Program Files %PATH% 100%% & echo PWNED3>PWNED3 | echo x (x86) ^caret ^^ 'single' ; , = <in >out";

/// wine's `wine` launcher, or Debian's wine64 package, which installs no `wine` on PATH.
fn find_wine() -> Option<PathBuf> {
    find_program("wine").or_else(|| {
        let debian = PathBuf::from("/usr/lib/wine/wine64");
        debian.is_file().then_some(debian)
    })
}

/// A Unix path as wine's `Z:` drive shows it.
fn wine_path(path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let text = path.to_str().ok_or("non-UTF-8 temporary path")?;
    Ok(format!("Z:{}", text.replace('/', "\\")))
}

/// Runs `driver` (a batch file) with wine's cmd.exe and returns the environment its final `set`
/// printed. `/u` makes cmd write UTF-16 to the pipe, so nothing is lost to a code page on the
/// way back. The batch file is called from a driver instead of from `/c "call ..."` because
/// wine turns argv into a command line with `\"`, which cmd does not read as a quote.
fn cmd_env(
    wine: &Path,
    prefix: &Path,
    dir: &Path,
    driver: &Path,
) -> Result<HashMap<String, String>, Box<dyn std::error::Error>> {
    let out = Command::new(wine)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir.join("home"))
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .current_dir(dir)
        .args(["cmd.exe", "/u", "/c"])
        .arg(wine_path(driver)?)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "wine cmd.exe failed: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let units: Vec<u16> = out
        .stdout
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    let text = String::from_utf16(&units)?;
    let mut map = HashMap::new();
    for line in text.split("\r\n") {
        // Windows variable names are case-insensitive: HTTPS_PROXY and https_proxy are one.
        if let Some((name, value)) = line.split_once('=') {
            map.insert(name.to_ascii_uppercase(), value.to_string());
        }
    }
    Ok(map)
}

/// The cmd snippet saved as a `.cmd` file in a directory with spaces and `call`ed by wine's
/// cmd.exe, as a user does: every variable must come back byte for byte and nothing may run;
/// then the unset lines must clear them. Skipped without wine, unless TRUST_PROXY_REQUIRE_TOOLS=1
/// (scripts/install-deps.sh installs wine64). Runs in a fresh wine prefix (about 20 s the first
/// time) unless TRUST_PROXY_WINEPREFIX names one to reuse.
#[test]
fn cmd_sets_snippet_exactly_under_wine() -> TestResult {
    let Some(wine) = find_wine() else {
        if std::env::var("TRUST_PROXY_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
            return Err("wine is not installed, and CI must run it".into());
        }
        println!("SKIPPED: wine is not installed (apt-get install wine64)");
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("home"))?;
    let prefix = match std::env::var_os("TRUST_PROXY_WINEPREFIX") {
        Some(p) => PathBuf::from(p),
        None => dir.path().join("wineprefix"),
    };
    let snippet_dir = dir.path().join("snippet dir with spaces");
    std::fs::create_dir_all(&snippet_dir)?;
    let vars = nasty_vars(CMD_NASTY)?;
    let snippet = render_checked(Shell::Cmd, &vars)?;
    let set_file = snippet_dir.join("trust-proxy.cmd");
    let unset_file = snippet_dir.join("trust-proxy-unset.cmd");
    std::fs::write(&set_file, snippet.replace('\n', "\r\n"))?;
    std::fs::write(
        &unset_file,
        render_unset(Shell::Cmd, &ALL_NAMES).replace('\n', "\r\n"),
    )?;
    let driver = dir.path().join("driver.cmd");
    std::fs::write(
        &driver,
        format!("@echo off\r\ncall \"{}\"\r\nset\r\n", wine_path(&set_file)?),
    )?;
    let env = cmd_env(&wine, &prefix, dir.path(), &driver)?;
    for (name, value) in &vars {
        let got = env
            .get(&name.to_ascii_uppercase())
            .ok_or_else(|| format!("cmd: {name} not set; got {env:?}"))?;
        assert_eq!(got, value, "cmd: {name}");
    }
    assert!(
        !dir.path().join("PWNED3").exists() && !snippet_dir.join("PWNED3").exists(),
        "cmd: the snippet ran a command"
    );

    let undo = dir.path().join("undo.cmd");
    std::fs::write(
        &undo,
        format!(
            "@echo off\r\ncall \"{}\"\r\ncall \"{}\"\r\nset\r\n",
            wine_path(&set_file)?,
            wine_path(&unset_file)?
        ),
    )?;
    let env = cmd_env(&wine, &prefix, dir.path(), &undo)?;
    for name in ALL_NAMES {
        assert!(
            !env.contains_key(&name.to_ascii_uppercase()),
            "cmd: {name} still set after unset"
        );
    }
    println!("ran: cmd.exe under {}", wine.display());
    Ok(())
}

/// The exact text and the refusals, checked without any cmd.exe.
#[test]
fn cmd_text_and_refusals() -> TestResult {
    let vars = nasty_vars("Program Files %PATH% & co (x86) ^caret")?;
    let text = render_checked(Shell::Cmd, &vars)?;
    assert!(text.starts_with("REM trust-proxy"));
    assert!(text.contains(
        "set \"SSL_CERT_FILE=/tmp/Program Files %%PATH%% & co (x86) ^caret/ca-bundle.pem\"\n"
    ));
    // The NASTY name has `"` and `!`, which cmd cannot carry: refused, never approximated.
    assert!(matches!(
        render_checked(Shell::Cmd, &nasty_vars(NASTY)?),
        Err(EnvError::Unrepresentable { format: "cmd", .. })
    ));
    let lenient = render(Shell::Cmd, &nasty_vars(NASTY)?);
    assert!(!lenient.contains("PWNED"), "{lenient}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// /etc/environment as pam_env reads it.
//
// A port of Linux-PAM's modules/pam_env/pam_env.c, `_assemble_line` and `_parse_env_file`:
// - lines are read with fgets into a BUF_SIZE buffer (1024 in older releases);
// - leading " \n\t" is skipped; a line whose first other character is `#` is a comment;
// - everything from the first `#` on is dropped, even inside quotes;
// - a line ending (after trailing blanks) in `\` continues on the next line (backslash removed);
// - `export ` is skipped; the key must be [A-Za-z0-9_]+ followed by `=`, else the line is ignored;
// - the value ends at the first `\n` (not `\r`: a CRLF file keeps `\r` in values);
// - if the value starts with `"` or `'`, that quote is dropped and every later quote character is
//   kept except one that is the very last character; nothing is expanded or unescaped;
// - a key without `=` unsets the variable; a later assignment replaces an earlier one.
// ---------------------------------------------------------------------------------------------

const PAM_BUF_SIZE: usize = 1024;

/// fgets(buf, size, f): at most size-1 bytes, stopping after a newline.
fn fgets<'a>(input: &mut &'a [u8], size: usize) -> Option<&'a [u8]> {
    if input.is_empty() || size <= 1 {
        return None;
    }
    let max = size - 1;
    let n = match input.iter().take(max).position(|b| *b == b'\n') {
        Some(i) => i + 1,
        None => max.min(input.len()),
    };
    let (chunk, rest) = input.split_at(n);
    *input = rest;
    Some(chunk)
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\t')
}

/// `_assemble_line`: Ok(None) at EOF, Err on overflow or a continuation at EOF (pam_env stops
/// reading the file there).
fn assemble_line(input: &mut &[u8]) -> Result<Option<Vec<u8>>, &'static str> {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        if buffer.len() >= PAM_BUF_SIZE {
            return Err("overflow");
        }
        let Some(chunk) = fgets(input, PAM_BUF_SIZE - buffer.len()) else {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err("incomplete read")
            };
        };
        let ws = chunk.iter().take_while(|b| is_blank(**b)).count();
        let s = &chunk[ws..];
        if s.is_empty() || s[0] == b'#' {
            continue; // nothing in this line
        }
        if let Some(h) = s.iter().position(|b| *b == b'#') {
            buffer.extend_from_slice(&s[..h]);
            return Ok(Some(buffer));
        }
        let mut end = s.len();
        while end > 0 && matches!(s[end - 1], b' ' | b'\t' | b'\n') {
            end -= 1;
        }
        if end > 0 && s[end - 1] == b'\\' {
            buffer.extend_from_slice(&s[..end - 1]);
            continue;
        }
        buffer.extend_from_slice(s);
        return Ok(Some(buffer));
    }
}

/// `_parse_env_file`, applied to an empty environment.
fn pam_env_read(file: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut env = HashMap::new();
    let mut input = file;
    while let Ok(Some(line)) = assemble_line(&mut input) {
        let mut key: &[u8] = &line;
        key = &key[key.iter().take_while(|b| is_blank(**b)).count()..];
        if key.first() == Some(&b'#') {
            continue;
        }
        if key.starts_with(b"export ") {
            key = &key[7..];
        }
        let end = key
            .iter()
            .position(|b| *b == b'\n' || *b == b'#')
            .unwrap_or(key.len());
        let key = &key[..end];
        if key.first() == Some(&b'=') {
            continue;
        }
        let name_len = key.iter().position(|b| *b == b'=').unwrap_or(key.len());
        let name = &key[..name_len];
        if !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            continue;
        }
        let name = String::from_utf8_lossy(name).into_owned();
        if name_len == key.len() {
            env.remove(&name);
            continue;
        }
        let raw = &key[name_len + 1..];
        let value = if matches!(raw.first(), Some(b'"' | b'\'')) {
            let mut v = Vec::new();
            for (t, &c) in raw.iter().enumerate().skip(1) {
                if (c != b'"' && c != b'\'') || t + 1 < raw.len() {
                    v.push(c);
                }
            }
            v
        } else {
            raw.to_vec()
        };
        env.insert(name, value);
    }
    env
}

#[test]
fn pam_env_port_follows_the_documented_rules() {
    let env = pam_env_read(
        b"# comment\n  export A=\"x y\"\nB='q'\"z\"\nC=\"cut#here\"\nD=\"v\"\r\nE=plain\nE\nF=\"1\"\nF=\"2\"\n",
    );
    assert_eq!(env.get("A").map(Vec::as_slice), Some(&b"x y"[..]));
    assert_eq!(env.get("B").map(Vec::as_slice), Some(&b"q'\"z"[..]));
    assert_eq!(env.get("C").map(Vec::as_slice), Some(&b"cut"[..]));
    assert_eq!(env.get("D").map(Vec::as_slice), Some(&b"v\"\r"[..]));
    assert_eq!(env.get("E"), None);
    assert_eq!(env.get("F").map(Vec::as_slice), Some(&b"2"[..]));
}

#[test]
fn environment_block_reads_back_through_pam_env() -> TestResult {
    // pam_env cannot carry `"`, `\` or `#` in the way its other readers agree on: the NASTY
    // name minus those, which keeps `$HOME`, backticks, `%PATH%`, `!`, both kinds of unicode quote.
    let safe: String = NASTY.chars().filter(|c| !"\"\\#".contains(*c)).collect();
    let vars = nasty_vars(&safe)?;
    let block = environment_block(&vars)?;
    for original in [
        "",
        "PATH=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\"",
        "PATH=\"/usr/bin\"\nSSL_CERT_FILE=\"/old/bundle.pem\"\n",
        "# set by IT\nLANG=C.UTF-8\n\n",
    ] {
        let file = replace_marked_block(original, Some(&block))?;
        let env = pam_env_read(file.as_bytes());
        for (name, value) in &vars {
            assert_eq!(
                env.get(name).map(Vec::as_slice),
                Some(value.as_bytes()),
                "{name} in {file:?}"
            );
        }
        if original.contains("PATH=") {
            assert!(env.contains_key("PATH"), "the file's own lines still read");
        }
        assert_eq!(replace_marked_block(&file, None)?, original);
    }
    // And the refusals are real: `#` would be cut by pam_env, `"` and `\` read differently.
    for bad in ["a#b", "a\"b", "a\\b"] {
        assert!(matches!(
            environment_block(&nasty_vars(bad)?),
            Err(EnvError::Unrepresentable { .. })
        ));
    }
    Ok(())
}
