//! `install --nss` / `--java`: which optional stores this machine has, read from the home, the
//! environment and the file system, for `install::stores` to plan with. NSS databases live in
//! the user's home (user scope); JDK keystores belong to the system (system scope).

use crate::cli::command::CommandError;
use crate::install::stores::{ExtraStore, ExtraStores, ExtraTarget, StoreNote};
use std::path::{Path, PathBuf};
use trust_proxy_platform::java::{self, Jdk, KeystoreOrigin};
use trust_proxy_platform::Scope;

/// Refuses a store asked for in the scope it does not belong to, before anything is probed,
/// with the command to run instead.
pub fn check_scope(nss: bool, java: bool, scope: Scope) -> Result<(), CommandError> {
    if nss && scope == Scope::System {
        return Err(CommandError::Usage(format!(
            "--nss changes the NSS databases in a user's home (Firefox profiles, Chromium), which a system-scope run never writes: run it as that user, without sudo:\n  trust-proxy {}",
            repeat_with(&["--scope", "user"], &["--java"])
        )));
    }
    if java && scope == Scope::User {
        return Err(CommandError::Usage(format!(
            "--java changes each JDK's keystore, which belongs to the system: run it as root:\n  sudo trust-proxy {}",
            repeat_with(&["--scope", "system"], &["--nss"])
        )));
    }
    Ok(())
}

/// This run's arguments (a proxy password replaced by `***`) without `--scope` and `drop`,
/// plus `add`.
fn repeat_with(add: &[&str], drop: &[&str]) -> String {
    let raw: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (args, _) = crate::discover::proxy::redact_command_line(&raw);
    let mut out: Vec<String> = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if skip_value {
            skip_value = false;
            continue;
        }
        if arg == "--scope" {
            skip_value = true;
            continue;
        }
        if arg.starts_with("--scope=") || drop.contains(&arg.as_str()) {
            continue;
        }
        out.push(arg);
    }
    out.extend(add.iter().map(|a| a.to_string()));
    out.join(" ")
}

/// The stores `--nss` and `--java` ask for, found on this machine.
pub fn find(nss: bool, java: bool, scope: Scope) -> Result<ExtraStores, CommandError> {
    let mut extra = ExtraStores::default();
    if nss {
        find_nss(&mut extra)?;
    }
    if java {
        find_java(&mut extra, scope);
    }
    Ok(extra)
}

fn find_nss(extra: &mut ExtraStores) -> Result<(), CommandError> {
    if !cfg!(target_os = "linux") {
        extra.notes.push(StoreNote::new(
            "nss",
            "Firefox, Chromium",
            Path::new("-"),
            "nothing to do: Firefox 120 and later on macOS and Windows trust the OS store's third-party roots (security.enterprise_roots.enabled, on by default), and Chromium uses the OS store there",
        ));
        return Ok(());
    }
    let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) else {
        return Err(CommandError::Local(
            "--nss: no home directory (HOME is not set)".to_string(),
        ));
    };
    let search = trust_proxy_platform::nss::find_databases(&home);
    for (path, why) in &search.skipped {
        extra
            .notes
            .push(StoreNote::new("nss", "skipped", path, why.clone()));
    }
    if search.found.is_empty() {
        let looked: Vec<String> = search
            .searched
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        extra.notes.push(StoreNote::new(
            "nss",
            "no NSS database found",
            &home,
            format!("nothing to do (looked at {})", looked.join(", ")),
        ));
        return Ok(());
    }
    let certutil = trust_proxy_platform::nss::find_certutil()
        .map_err(|e| CommandError::Local(format!("--nss: {e}")))?;
    for db in search.found {
        extra.targets.push(ExtraTarget {
            what: db.owner.to_string(),
            store: ExtraStore::Nss {
                label: db.owner.to_string(),
                db: db.dir,
                certutil: certutil.clone(),
            },
            generated_by: None,
        });
    }
    Ok(())
}

fn find_java(extra: &mut ExtraStores, scope: Scope) {
    let jvm_dirs: Vec<&Path> = if cfg!(target_os = "linux") {
        vec![Path::new("/usr/lib/jvm")]
    } else {
        Vec::new()
    };
    let java_home = std::env::var_os("JAVA_HOME");
    let path_var = std::env::var_os("PATH");
    let candidates = java::candidate_homes(
        java_home.as_deref(),
        path_var.as_deref(),
        &jvm_dirs,
        &java::macos_java_homes(),
    );
    let jdks = java::find_jdks(&candidates);
    if jdks.is_empty() {
        extra.notes.push(StoreNote::new(
            "java",
            "no JDK found",
            Path::new("-"),
            "nothing to do (looked at JAVA_HOME, the java on PATH, /usr/lib/jvm, and java_home -V on macOS; the Windows registry is not read)",
        ));
        return;
    }
    // One target per keystore file: JDKs that link the same file share it.
    let mut by_keystore: Vec<(PathBuf, Vec<Jdk>)> = Vec::new();
    for jdk in jdks {
        let what = jdk_words(&jdk);
        let (Some(keystore), Some(_)) = (&jdk.keystore, &jdk.keytool) else {
            extra.notes.push(StoreNote::new(
                "java",
                &what,
                &jdk.home,
                "skipped: no keystore (lib/security/cacerts) or no keytool in this JDK",
            ));
            continue;
        };
        let real = match std::fs::canonicalize(keystore) {
            Ok(r) => r,
            Err(e) => {
                extra.notes.push(StoreNote::new(
                    "java",
                    &what,
                    keystore,
                    format!("skipped: {e}"),
                ));
                continue;
            }
        };
        match by_keystore.iter_mut().find(|(k, _)| *k == real) {
            Some((_, group)) => group.push(jdk),
            None => by_keystore.push((real, vec![jdk])),
        }
    }
    for (keystore, group) in by_keystore {
        let what = group.iter().map(jdk_words).collect::<Vec<_>>().join("; ");
        let Some(first) = group.first() else {
            continue;
        };
        let (Some(keytool), home) = (first.keytool.clone(), first.home.clone()) else {
            continue;
        };
        // Root runs this keytool on this file: both must be root's alone, all the way up.
        if scope == Scope::System {
            let owned = trust_proxy_platform::ownership::check_system_file(&keytool)
                .and_then(|()| trust_proxy_platform::ownership::check_system_file(&keystore));
            if let Err(e) = owned {
                extra.notes.push(StoreNote::new(
                    "java",
                    &what,
                    &keystore,
                    format!(
                        "skipped: {e} (a root run does not use or change a JDK someone else can)"
                    ),
                ));
                continue;
            }
        }
        let generated_by = match java::keystore_origin(&keystore) {
            KeystoreOrigin::Distro { generated_by } => Some(generated_by),
            KeystoreOrigin::Own => None,
        };
        extra.targets.push(ExtraTarget {
            store: ExtraStore::Java {
                keystore,
                keytool,
                java_home: home,
            },
            what,
            generated_by,
        });
    }
}

fn jdk_words(jdk: &Jdk) -> String {
    format!(
        "JDK {} {} (found by {})",
        jdk.version.as_deref().unwrap_or("(version unknown)"),
        jdk.home.display(),
        jdk.found_by
    )
}
