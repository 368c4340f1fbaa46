//! `install --nss` / `--java` through install, apply and uninstall, against a real NSS database
//! (`certutil -N` in a temporary directory) and a private copy of the JDK's keystore (never the
//! machine's): what gets added, what the state records, the rollback of a failed apply, and an
//! uninstall that removes exactly what was added.
#![cfg(target_os = "linux")]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;
use trust_proxy::analyze::certinfo::Cert;
use trust_proxy::analyze::classify::PublicRoots;
use trust_proxy::discover::proxy::ProxySettings;
use trust_proxy::discover::DiscoverConfig;
use trust_proxy::install::apply::ApplyOptions;
use trust_proxy::install::decide::{Pin, Policy};
use trust_proxy::install::layout::Layout;
use trust_proxy::install::plan::{Effect, Host};
use trust_proxy::install::stores::{ExtraStore, ExtraStores, ExtraTarget};
use trust_proxy::install::{self, InstallError, InstallRequest};
use trust_proxy_platform::java::JavaKeystore;
use trust_proxy_platform::{Change, Scope, StoreError, TrustStore};
use trust_proxy_testkit::Ca;

/// The OS store, in memory.
#[derive(Default)]
struct MemStore {
    certs: Mutex<Vec<Vec<u8>>>,
}

impl TrustStore for MemStore {
    fn describe(&self) -> String {
        "memory".into()
    }
    fn list(&self) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, StoreError> {
        let certs = self.certs.lock().unwrap();
        Ok(certs.iter().map(|c| c.clone().into()).collect())
    }
    fn contains(&self, cert: &rustls_pki_types::CertificateDer<'_>) -> Result<bool, StoreError> {
        Ok(self
            .certs
            .lock()
            .unwrap()
            .iter()
            .any(|c| c == cert.as_ref()))
    }
    fn add(
        &self,
        cert: &rustls_pki_types::CertificateDer<'_>,
        _: &str,
    ) -> Result<Change, StoreError> {
        let mut certs = self.certs.lock().unwrap();
        if certs.iter().any(|c| c == cert.as_ref()) {
            return Ok(Change::Unchanged);
        }
        certs.push(cert.to_vec());
        Ok(Change::Added)
    }
    fn remove(
        &self,
        cert: &rustls_pki_types::CertificateDer<'_>,
        _: &str,
    ) -> Result<Change, StoreError> {
        let mut certs = self.certs.lock().unwrap();
        let before = certs.len();
        certs.retain(|c| c != cert.as_ref());
        Ok(if certs.len() < before {
            Change::Removed
        } else {
            Change::Unchanged
        })
    }
}

fn request(root: &Cert, system: bool, apply: ApplyOptions) -> InstallRequest {
    InstallRequest {
        discover: DiscoverConfig {
            // No targets: the pinned --ca-file path, nothing probed.
            targets: vec![],
            proxy: ProxySettings::default(),
            ca_files: vec![],
            public: PublicRoots::mozilla(),
            os_roots: vec![],
            os_store: "memory".into(),
            timeout: Duration::from_secs(1),
            read_file: Box::new(|_| None),
        },
        ca_files: vec![root.clone()],
        pins: vec![Pin::parse(root.sha256()).unwrap()],
        policy: Policy {
            interactive: false,
            assume_yes: true,
            trust_on_first_use: false,
            system_scope: system,
        },
        use_os_store: true,
        dry_run: false,
        apply,
    }
}

fn certutil() -> PathBuf {
    trust_proxy_platform::nss::find_certutil().expect("certutil: run scripts/install-deps.sh")
}

fn new_nss_db(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut arg = OsString::from("sql:");
    arg.push(dir);
    let out = Command::new(certutil())
        .args([
            OsString::from("-N"),
            "--empty-password".into(),
            "-d".into(),
            arg,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// `(nickname, trust)` lines of `certutil -L`, header left out.
fn nss_listing(dir: &Path) -> Vec<String> {
    let mut arg = OsString::from("sql:");
    arg.push(dir);
    let out = Command::new(certutil())
        .args([OsString::from("-L"), "-d".into(), arg])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(4)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn nss_target(db: &Path) -> ExtraTarget {
    ExtraTarget {
        store: ExtraStore::Nss {
            db: db.to_path_buf(),
            certutil: certutil(),
            label: "test profile".into(),
        },
        what: "test profile".into(),
        generated_by: None,
    }
}

#[test]
fn nss_install_rollback_and_uninstall_with_a_real_database() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("nssdb");
    new_nss_db(&db);
    // Someone else's CA, which nothing here may touch.
    let theirs = Ca::new_root("Their Root");
    let mut arg = OsString::from("sql:");
    arg.push(&db);
    let mut add = Command::new(certutil())
        .args([
            OsString::from("-A"),
            "-d".into(),
            arg,
            "-t".into(),
            "C,,".into(),
            "-n".into(),
            "their root".into(),
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut add.stdin.take().unwrap(), theirs.cert_pem().as_bytes())
        .unwrap();
    assert!(add.wait().unwrap().success());
    let untouched = nss_listing(&db);

    let root = Cert::parse(Ca::new_root("Corp Proxy Root").cert_der().as_ref()).unwrap();
    let layout = Layout::plain(Scope::User, home.path().join("trust-proxy"));
    let os = MemStore::default();
    let extra = ExtraStores {
        targets: vec![nss_target(&db)],
        notes: vec![],
    };
    let host = Host::new(&os).with_extra_stores(&extra);

    // The state file is written last: failing there undoes the NSS addition too.
    let failing = ApplyOptions {
        fail_before_step: Some(8),
        ..Default::default()
    };
    let err = install::install(request(&root, false, failing), &layout, host, None).unwrap_err();
    assert!(matches!(err, InstallError::Apply(_)), "{err}");
    assert!(
        err.to_string().contains("every earlier step was undone"),
        "{err}"
    );
    assert_eq!(nss_listing(&db), untouched);

    let dry = install::install(
        InstallRequest {
            dry_run: true,
            ..request(&root, false, ApplyOptions::default())
        },
        &layout,
        host,
        None,
    )
    .unwrap();
    let step = dry
        .steps
        .iter()
        .find(|s| s.action == "trust in NSS database")
        .unwrap();
    assert_eq!(step.effect, Effect::Create);
    assert_eq!(nss_listing(&db), untouched);

    let report = install::install(
        request(&root, false, ApplyOptions::default()),
        &layout,
        host,
        None,
    )
    .unwrap();
    let step = report
        .steps
        .iter()
        .find(|s| s.action == "trust in NSS database")
        .unwrap();
    assert_eq!(step.effect, Effect::Create);
    let listed = nss_listing(&db);
    let fingerprint = root.sha256().replace(':', "");
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed
            .iter()
            .any(|l| l.contains(&fingerprint) && l.ends_with("C,,")),
        "{listed:?}"
    );
    let state = std::fs::read_to_string(layout.state_file()).unwrap();
    assert!(
        state.contains("\"extra_stores\"") && state.contains("\"kind\": \"nss\""),
        "{state}"
    );

    // A second install changes nothing; an install without --nss keeps the record.
    let again = install::install(
        request(&root, false, ApplyOptions::default()),
        &layout,
        host,
        None,
    )
    .unwrap();
    assert!(again.unchanged, "{:?}", again.steps);
    install::install(
        request(&root, false, ApplyOptions::default()),
        &layout,
        Host::new(&os),
        None,
    )
    .unwrap();

    // Uninstall takes out exactly ours, from the state alone (no --nss, no store list).
    let removed = install::uninstall(
        &layout,
        Host::new(&os),
        &[],
        &[],
        false,
        ApplyOptions::default(),
    )
    .unwrap();
    let step = removed
        .steps
        .iter()
        .find(|s| s.action == "remove from NSS database")
        .unwrap();
    assert_eq!(step.effect, Effect::Remove);
    assert_eq!(nss_listing(&db), untouched);
    assert!(!layout.state_file().exists());
}

#[test]
fn uninstall_survives_a_deleted_profile() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("profile");
    new_nss_db(&db);
    let root = Cert::parse(Ca::new_root("Corp Proxy Root").cert_der().as_ref()).unwrap();
    let layout = Layout::plain(Scope::User, home.path().join("trust-proxy"));
    let os = MemStore::default();
    let extra = ExtraStores {
        targets: vec![nss_target(&db)],
        notes: vec![],
    };
    install::install(
        request(&root, false, ApplyOptions::default()),
        &layout,
        Host::new(&os).with_extra_stores(&extra),
        None,
    )
    .unwrap();
    std::fs::remove_dir_all(&db).unwrap();
    let report = install::uninstall(
        &layout,
        Host::new(&os),
        &[],
        &[],
        false,
        ApplyOptions::default(),
    )
    .unwrap();
    let step = report
        .steps
        .iter()
        .find(|s| s.action == "remove from NSS database")
        .unwrap();
    assert_eq!(step.effect, Effect::Unchanged);
    assert!(!layout.state_file().exists());
}

#[test]
fn a_state_naming_a_store_outside_its_scope_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("nssdb");
    new_nss_db(&db);
    let root = Cert::parse(Ca::new_root("Corp Proxy Root").cert_der().as_ref()).unwrap();
    let layout = Layout::plain(Scope::User, home.path().join("trust-proxy"));
    let os = MemStore::default();
    let extra = ExtraStores {
        targets: vec![nss_target(&db)],
        notes: vec![],
    };
    install::install(
        request(&root, false, ApplyOptions::default()),
        &layout,
        Host::new(&os).with_extra_stores(&extra),
        None,
    )
    .unwrap();
    // Planted: a keystore record in a user's state would make the user's state steer keytool.
    let state = std::fs::read_to_string(layout.state_file()).unwrap();
    let planted = state.replace(
        "\"kind\": \"nss\"",
        "\"kind\": \"java\", \"keystore\": \"/nonexistent/cacerts\", \"keytool\": \"/tmp/x\", \"java_home\": \"/tmp\"",
    );
    assert_ne!(planted, state);
    std::fs::write(layout.state_file(), planted).unwrap();
    let err = install::uninstall(
        &layout,
        Host::new(&os),
        &[],
        &[],
        false,
        ApplyOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("java store"), "{err}");
}

/// A copy of the JDK's keystore: the machine's own is never written.
fn keystore_copy(dir: &Path) -> (ExtraStore, PathBuf) {
    use trust_proxy_platform::java;
    let candidates = java::candidate_homes(
        None,
        std::env::var_os("PATH").as_deref(),
        &[Path::new("/usr/lib/jvm")],
        &[],
    );
    let jdk = java::find_jdks(&candidates)
        .into_iter()
        .find(|j| j.keytool.is_some() && j.keystore.is_some())
        .expect("a JDK with keytool: run scripts/install-deps.sh");
    let real = std::fs::canonicalize(jdk.keystore.clone().unwrap()).unwrap();
    let copy = dir.join("cacerts");
    std::fs::copy(&real, &copy).unwrap();
    (
        ExtraStore::Java {
            keystore: copy,
            keytool: jdk.keytool.clone().unwrap(),
            java_home: jdk.home.clone(),
        },
        real,
    )
}

#[test]
fn java_keystores_own_ones_get_the_ca_distro_ones_are_reported_covered() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: the system scope (where --java belongs) needs root");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (own, real) = keystore_copy(work.path());
    let real_before = std::fs::read(&real).unwrap();
    let ExtraStore::Java {
        keystore,
        keytool,
        java_home,
    } = own.clone()
    else {
        unreachable!()
    };
    let store = JavaKeystore::new(&keystore, &keytool, &java_home).unwrap();
    let shipped = store.list().unwrap();

    let root = Cert::parse(Ca::new_root("Corp Proxy Root").cert_der().as_ref()).unwrap();
    let layout = Layout::plain(Scope::System, work.path().join("etc-trust-proxy"));
    let os = MemStore::default();
    // The distribution's keystore is only described: it is never opened or changed.
    let distro = ExtraTarget {
        store: ExtraStore::Java {
            keystore: PathBuf::from("/nonexistent/distro/cacerts"),
            keytool: keytool.clone(),
            java_home: java_home.clone(),
        },
        what: "distro JDK".into(),
        generated_by: Some("the distribution's hook"),
    };
    let extra = ExtraStores {
        targets: vec![
            ExtraTarget {
                store: own.clone(),
                what: "own JDK".into(),
                generated_by: None,
            },
            distro,
        ],
        notes: vec![],
    };
    let host = Host::new(&os).with_extra_stores(&extra);
    let report = install::install(
        request(&root, true, ApplyOptions::default()),
        &layout,
        host,
        None,
    )
    .unwrap();
    let results: Vec<(&str, &str)> = report
        .stores
        .iter()
        .map(|n| (n.what.as_str(), n.result.as_str()))
        .collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(results[0].1.ends_with("trust-proxy adds it"), "{results:?}");
    assert!(
        results[1].1.contains("covered by the system store"),
        "{results:?}"
    );
    let steps: Vec<&str> = report.steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(
        steps.iter().filter(|s| s.contains("Java keystore")).count(),
        1,
        "{steps:?}"
    );
    assert!(store.contains(&root.der).unwrap());
    assert_eq!(store.list().unwrap().len(), shipped.len() + 1);

    install::uninstall(
        &layout,
        Host::new(&os),
        &[],
        &[],
        false,
        ApplyOptions::default(),
    )
    .unwrap();
    assert!(!store.contains(&root.der).unwrap());
    assert_eq!(store.list().unwrap(), shipped);
    assert_eq!(
        std::fs::read(&real).unwrap(),
        real_before,
        "the machine's keystore"
    );
}
