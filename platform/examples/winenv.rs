//! Exercises `persistent_env` (registry + WM_SETTINGCHANGE) and `secure_system_dir` against a
//! real Windows API (wine in CI), printing what it saw so a second process can check what
//! persisted.
//!
//! `winenv set|status|unset [--system]` works on two test variables, one with spaces and one with
//! `%` (stored literally as REG_SZ: no expansion). `status` prints, last, `present` (both values
//! exact), `absent` (neither) or `mixed`, and also what this process's own environment holds:
//! a new process gets its environment from those registry keys.
//! `winenv types [--system]` checks exact restores: a REG_EXPAND_SZ value replaced by `set` and
//! then set back to its recorded text (what uninstall does) is REG_EXPAND_SZ again, read back
//! with the registry API; a REG_SZ one stays REG_SZ.
//! `winenv dir [PATH]` runs `secure_system_dir` on PATH (default
//! `%ProgramData%\trust-proxy-winenv-test`) and prints the descriptor read back before and after;
//! `winenv plain [PATH]` first creates PATH with std (inheriting `%ProgramData%`'s ACL), the state
//! the DACL repair is for. Exit 0: accepted, 1: refused (the reason is printed), 2: other error.

#[cfg(windows)]
fn main() -> std::process::ExitCode {
    match run() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("winenv: error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

#[cfg(windows)]
const VARS: [(&str, &str); 2] = [
    (
        "TRUST_PROXY_TEST_PATH",
        r"C:\Program Files\trust proxy\ca bundle.pem",
    ),
    ("TRUST_PROXY_TEST_PCT", "100%USERPROFILE% literal %"),
];

#[cfg(windows)]
fn run() -> Result<bool, trust_proxy_platform::StoreError> {
    use trust_proxy_platform::{persistent_env, Scope};

    let args: Vec<String> = std::env::args().skip(1).collect();
    let scope = if args.iter().any(|a| a == "--system") {
        Scope::System
    } else {
        Scope::User
    };
    let mut plain = args.iter().filter(|a| !a.starts_with("--"));
    let command = plain.next().map(String::as_str).unwrap_or("status");
    let path_arg = plain.next();
    if command == "dir" || command == "plain" {
        return dir(command == "plain", path_arg);
    }
    if command == "types" {
        return types::run(scope);
    }

    let Some(env) = persistent_env(scope)? else {
        println!("no persistent environment on this OS");
        return Ok(false);
    };
    println!("store: {}", env.describe());
    let names: Vec<String> = VARS.iter().map(|(n, _)| n.to_string()).collect();
    match command {
        "set" | "unset" => {
            let started = std::time::Instant::now();
            if command == "set" {
                let vars: Vec<(String, String)> = VARS
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect();
                env.set(&vars)?;
            } else {
                env.unset(&names)?;
            }
            println!(
                "{command}: returned after {} ms (with the WM_SETTINGCHANGE broadcast, sent only after a change)",
                started.elapsed().as_millis()
            );
            for w in env.warnings() {
                println!("warning: {w}");
            }
            Ok(true)
        }
        "status" => {
            let (mut exact, mut missing) = (0, 0);
            for (name, want) in VARS {
                let got = env.get(name)?;
                let inherited = std::env::var(name).ok();
                println!("{name}: registry={got:?} process-env={inherited:?}");
                match got {
                    Some(v) if v == want => exact += 1,
                    None => missing += 1,
                    Some(_) => {}
                }
            }
            let verdict = match (exact, missing) {
                (2, _) => "present",
                (_, 2) => "absent",
                _ => "mixed",
            };
            println!("{verdict}");
            Ok(true)
        }
        other => {
            eprintln!("winenv: unknown command {other:?} (set, status, unset, dir, plain)");
            Ok(false)
        }
    }
}

#[cfg(windows)]
mod types {
    use std::ptr;

    use trust_proxy_platform::{persistent_env, Scope, StoreError};
    use windows_sys::Win32::Foundation::ERROR_SUCCESS;
    use windows_sys::Win32::System::Registry::{
        RegCloseKey, RegGetValueW, RegOpenKeyExW, RegSetValueExW, HKEY, HKEY_CURRENT_USER,
        HKEY_LOCAL_MACHINE, KEY_QUERY_VALUE, KEY_SET_VALUE, REG_EXPAND_SZ, REG_SZ, RRF_NOEXPAND,
        RRF_RT_ANY,
    };

    const NAME: &str = "TRUST_PROXY_TEST_EXPAND";
    const ORIGINAL: &str = r"%USERPROFILE%\certs\corp root.pem";
    const OURS: &str = r"C:\ProgramData\trust-proxy\ca-bundle.pem";

    fn w(s: &str) -> Vec<u16> {
        s.encode_utf16().chain([0]).collect()
    }

    fn key(scope: Scope) -> Result<HKEY, String> {
        let (root, path) = match scope {
            Scope::User => (HKEY_CURRENT_USER, "Environment"),
            Scope::System => (
                HKEY_LOCAL_MACHINE,
                r"SYSTEM\CurrentControlSet\Control\Session Manager\Environment",
            ),
        };
        let mut key: HKEY = ptr::null_mut();
        let path = w(path);
        // SAFETY: NUL-terminated path; key receives the handle, closed by the caller.
        let rc = unsafe {
            RegOpenKeyExW(
                root,
                path.as_ptr(),
                0,
                KEY_QUERY_VALUE | KEY_SET_VALUE,
                &mut key,
            )
        };
        if rc == ERROR_SUCCESS {
            Ok(key)
        } else {
            Err(format!("open environment key: {rc}"))
        }
    }

    /// The type and text of the value, read with the registry API, not the code under test.
    fn read(scope: Scope) -> Result<Option<(u32, String)>, String> {
        let k = key(scope)?;
        let name = w(NAME);
        let mut kind = 0u32;
        let mut buf = vec![0u16; 1024];
        let mut len = (buf.len() * 2) as u32;
        // SAFETY: buf holds `len` bytes; the key is open.
        let rc = unsafe {
            RegGetValueW(
                k,
                ptr::null(),
                name.as_ptr(),
                RRF_RT_ANY | RRF_NOEXPAND,
                &mut kind,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        // SAFETY: opened above, closed once.
        unsafe { RegCloseKey(k) };
        if rc == 2 {
            return Ok(None);
        }
        if rc != ERROR_SUCCESS {
            return Err(format!("read {NAME}: {rc}"));
        }
        buf.truncate(len as usize / 2);
        while buf.last() == Some(&0) {
            buf.pop();
        }
        Ok(Some((kind, String::from_utf16_lossy(&buf))))
    }

    fn write(scope: Scope, kind: u32, value: &str) -> Result<(), String> {
        let k = key(scope)?;
        let name = w(NAME);
        let data = w(value);
        // SAFETY: data is NUL-terminated UTF-16 of the byte length passed.
        let rc = unsafe {
            RegSetValueExW(
                k,
                name.as_ptr(),
                0,
                kind,
                data.as_ptr().cast(),
                (data.len() * 2) as u32,
            )
        };
        // SAFETY: opened above, closed once.
        unsafe { RegCloseKey(k) };
        if rc == ERROR_SUCCESS {
            Ok(())
        } else {
            Err(format!("write {NAME}: {rc}"))
        }
    }

    fn kind_name(kind: u32) -> &'static str {
        match kind {
            REG_SZ => "REG_SZ",
            REG_EXPAND_SZ => "REG_EXPAND_SZ",
            _ => "other",
        }
    }

    pub fn run(scope: Scope) -> Result<bool, StoreError> {
        let Some(env) = persistent_env(scope)? else {
            return Ok(false);
        };
        let fail = |m: String| StoreError::Platform {
            what: "winenv types".into(),
            message: m,
        };
        let mut ok = true;
        for before in [REG_EXPAND_SZ, REG_SZ] {
            write(scope, before, ORIGINAL).map_err(fail)?;
            // What install records, then sets; then what uninstall sets back.
            let recorded = env.get(NAME)?;
            env.set(&[(NAME.to_string(), OURS.to_string())])?;
            let installed = read(scope).map_err(fail)?;
            env.set(&[(NAME.to_string(), recorded.clone().unwrap_or_default())])?;
            let restored = read(scope).map_err(fail)?;
            env.unset(&[NAME.to_string()])?;
            let gone = read(scope).map_err(fail)?;
            let show = |v: &Option<(u32, String)>| {
                v.as_ref()
                    .map(|(k, t)| format!("{} {t:?}", kind_name(*k)))
                    .unwrap_or_else(|| "absent".into())
            };
            println!(
                "{} before: recorded {recorded:?}; installed {}; restored {}; after unset {}",
                kind_name(before),
                show(&installed),
                show(&restored),
                show(&gone)
            );
            let good = installed == Some((REG_SZ, OURS.to_string()))
                && restored == Some((before, ORIGINAL.to_string()))
                && gone.is_none();
            println!(
                "  {}: {} restored with its type",
                if good { "ok" } else { "FAIL" },
                kind_name(before)
            );
            ok &= good;
        }
        Ok(ok)
    }
}

#[cfg(windows)]
fn dir(plain: bool, path: Option<&String>) -> Result<bool, trust_proxy_platform::StoreError> {
    use std::path::PathBuf;

    let default_path = path.is_none();
    let path = match path {
        Some(p) => PathBuf::from(p),
        None => {
            let base = std::env::var_os("ProgramData").unwrap_or_else(|| r"C:\ProgramData".into());
            PathBuf::from(base).join(if plain {
                "trust-proxy-winenv-plain"
            } else {
                "trust-proxy-winenv-test"
            })
        }
    };
    if plain {
        // What an older version, another tool or a user could have left in %ProgramData%.
        match std::fs::create_dir(&path) {
            Ok(()) => println!("created {} with an inherited ACL", path.display()),
            Err(e) => println!("create {}: {e}", path.display()),
        }
    }
    println!("before: {}", sddl_of(&path));
    let result = trust_proxy_platform::secure_system_dir(&path);
    match &result {
        Ok(()) => println!("secure_system_dir({}): ok", path.display()),
        Err(e) => println!("secure_system_dir({}): refused: {e}", path.display()),
    }
    println!("after: {}", sddl_of(&path));
    // Whether the DACL is enforced: this process is a member of Administrators under wine, so a
    // write succeeding proves nothing; a denied write would show enforcement of *something*.
    if !path.is_dir() {
        return Ok(result.is_ok());
    }
    let probe = path.join("probe.txt");
    match std::fs::write(&probe, b"x") {
        Ok(()) => {
            println!("write inside as this (admin) user: ok");
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => println!("write inside as this (admin) user: {e}"),
    }
    if default_path {
        // A test directory: leave the prefix (or machine) as it was. Only removes it if empty.
        let _ = std::fs::remove_dir(&path);
    }
    Ok(result.is_ok())
}

/// The owner and DACL of `path` as SDDL, read back through the API.
#[cfg(windows)]
fn sddl_of(path: &std::path::Path) -> String {
    use std::os::windows::ffi::OsStrExt;
    use std::ptr;
    use windows_sys::Win32::Foundation::{LocalFree, ERROR_SUCCESS};
    use windows_sys::Win32::Security::Authorization::{
        ConvertSecurityDescriptorToStringSecurityDescriptorW, GetNamedSecurityInfoW,
        SDDL_REVISION_1, SE_FILE_OBJECT,
    };
    use windows_sys::Win32::Security::{
        DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
    };

    let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
    let info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    let mut sd: PSECURITY_DESCRIPTOR = ptr::null_mut();
    // SAFETY: `wide` is NUL-terminated; only the descriptor is requested, freed below.
    let rc = unsafe {
        GetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            info,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != ERROR_SUCCESS {
        return format!("(GetNamedSecurityInfoW failed: {rc})");
    }
    let mut text: *mut u16 = ptr::null_mut();
    // SAFETY: sd is valid until freed; the string is LocalAlloc'd and freed below.
    let ok = unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            info,
            &mut text,
            ptr::null_mut(),
        )
    };
    let out = if ok != 0 && !text.is_null() {
        // SAFETY: the string is NUL-terminated.
        let len = (0..).take_while(|&i| unsafe { *text.add(i) } != 0).count();
        // SAFETY: `len` units are readable.
        String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(text, len) })
    } else {
        "(conversion failed)".into()
    };
    // SAFETY: each freed once, after last use.
    unsafe {
        LocalFree(text.cast());
        LocalFree(sd);
    }
    out
}

#[cfg(not(windows))]
fn main() {
    eprintln!("winenv: Windows only (run it under wine: see scripts/xplat-check.sh)");
}
