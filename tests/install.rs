//! Install, uninstall, refresh and status against a temporary tree and an in-memory OS store,
//! with the in-process intercepting proxy for discover and verify.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trust_proxy::analyze::certinfo::Cert;
use trust_proxy::analyze::classify::PublicRoots;
use trust_proxy::discover::proxy::{ProxyEndpoint, ProxySettings};
use trust_proxy::discover::target::Target;
use trust_proxy::discover::{DiscoverConfig, Outcome, Provenance};
use trust_proxy::install::apply::ApplyOptions;
use trust_proxy::install::decide::{Decision, Pin, Policy, Refusal};
use trust_proxy::install::layout::Layout;
use trust_proxy::install::plan::{Effect, Host};
use trust_proxy::install::status;
use trust_proxy::install::verify::Verification;
use trust_proxy::install::{self, InstallError, InstallRequest};
use trust_proxy_platform::{Change, Scope, StoreError, TrustStore};
use trust_proxy_testkit::*;

/// An OS store in memory, so tests can see exactly what was added and removed.
#[derive(Default)]
struct MemStore {
    certs: Mutex<Vec<Vec<u8>>>,
}

impl TrustStore for MemStore {
    fn describe(&self) -> String {
        "memory".into()
    }
    fn list(&self) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, StoreError> {
        Ok(self
            .certs
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.clone().into())
            .collect())
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

fn cert(der: &rustls_pki_types::CertificateDer<'_>) -> Cert {
    Cert::parse(der.as_ref()).unwrap()
}

/// Every file under `root` with its bytes, and symlinks marked, for before/after comparisons.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                out.insert(p.clone(), b"<symlink>".to_vec());
            } else if ft.is_dir() {
                out.insert(p.clone(), b"<dir>".to_vec());
                walk(&p, out);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    walk(root, &mut out);
    out
}

struct Lab {
    dir: tempfile::TempDir,
    root: Arc<Ca>,
    proxy: ProxyHandle,
    store: MemStore,
}

impl Lab {
    fn new() -> Lab {
        let root = Arc::new(Ca::new_root("Install Test Root"));
        let proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
            root.clone(),
            vec![root.cert_der()],
        )))
        .unwrap();
        Lab {
            dir: tempfile::tempdir().unwrap(),
            root,
            proxy,
            store: MemStore::default(),
        }
    }

    fn layout(&self) -> Layout {
        Layout::plain(Scope::User, self.dir.path().join("trust-proxy"))
    }

    fn pin(&self) -> Pin {
        Pin::parse(cert(&self.root.cert_der()).sha256()).unwrap()
    }

    fn request(&self, pins: Vec<Pin>) -> InstallRequest {
        self.request_via(&self.proxy.url(), pins)
    }

    fn request_via(&self, proxy: &str, pins: Vec<Pin>) -> InstallRequest {
        InstallRequest {
            discover: DiscoverConfig {
                targets: vec![Target::parse("pypi.org").unwrap()],
                proxy: ProxySettings {
                    flag: Some(ProxyEndpoint::parse(proxy).unwrap()),
                    no_proxy: Some(("NO_PROXY".into(), "internal.corp".into())),
                    ..Default::default()
                },
                ca_files: vec![],
                public: PublicRoots::mozilla(),
                os_roots: vec![],
                os_store: "memory".into(),
                timeout: Duration::from_secs(5),
                read_file: Box::new(|_| None),
            },
            ca_files: vec![],
            pins,
            policy: Policy {
                interactive: false,
                assume_yes: false,
                trust_on_first_use: false,
                system_scope: false,
            },
            use_os_store: true,
            dry_run: false,
            apply: ApplyOptions::default(),
        }
    }

    fn uninstall(&self, pins: &[Pin]) -> Result<install::InstallReport, InstallError> {
        install::uninstall(
            &self.layout(),
            Host::new(&self.store),
            &[],
            pins,
            false,
            ApplyOptions::default(),
        )
    }

    fn install(&self, req: InstallRequest) -> Result<install::InstallReport, InstallError> {
        install::install(req, &self.layout(), Host::new(&self.store), None)
    }
}

#[test]
fn pinned_install_writes_everything_and_verifies() {
    let lab = Lab::new();
    let report = lab.install(lab.request(vec![lab.pin()])).unwrap();
    let layout = lab.layout();
    assert!(!report.unchanged);
    assert_eq!(report.installed.len(), 1);
    assert_eq!(report.installed[0].decision, Decision::Pinned);
    assert_eq!(report.installed[0].provenance, Provenance::Network);
    assert!(lab.store.contains(&lab.root.cert_der()).unwrap());

    let proxy_ca = std::fs::read_to_string(layout.proxy_ca()).unwrap();
    assert!(proxy_ca.contains(lab.root.cert_pem().trim()));
    let bundle = std::fs::read_to_string(layout.own_bundle()).unwrap();
    assert!(bundle.contains(lab.root.cert_pem().trim()));
    assert!(
        bundle.matches("-----BEGIN CERTIFICATE-----").count() > 100,
        "Mozilla roots included"
    );
    let env = std::fs::read_to_string(layout.dir.join("env.sh")).unwrap();
    assert!(env.contains("SSL_CERT_FILE"));
    assert!(
        env.contains(&format!("HTTPS_PROXY='{}'", lab.proxy.url())),
        "{env}"
    );
    assert!(env.contains("NO_PROXY='internal.corp'"), "{env}");
    assert!(std::fs::read_dir(layout.cert_dir()).unwrap().count() > 100);
    assert!(layout.state_file().exists());
    match report.verification {
        Some(Verification::Passed { ref targets }) => assert_eq!(targets.len(), 1),
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn second_install_changes_nothing_and_keeps_mtimes() {
    let lab = Lab::new();
    lab.install(lab.request(vec![lab.pin()])).unwrap();
    let layout = lab.layout();
    let mtime = |p: PathBuf| std::fs::metadata(p).unwrap().modified().unwrap();
    let before = (
        mtime(layout.own_bundle()),
        mtime(layout.state_file()),
        tree(lab.dir.path()),
    );
    std::thread::sleep(Duration::from_millis(20));
    let report = lab.install(lab.request(vec![lab.pin()])).unwrap();
    assert!(report.unchanged, "{:?}", report.steps);
    assert!(report.steps.iter().all(|s| s.effect == Effect::Unchanged));
    let after = (
        mtime(layout.own_bundle()),
        mtime(layout.state_file()),
        tree(lab.dir.path()),
    );
    assert_eq!(before, after);
}

#[test]
fn refusals_write_nothing() {
    let lab = Lab::new();
    let wrong = Pin::parse(&"ab".repeat(32)).unwrap();
    let cases: Vec<(&str, InstallRequest)> = vec![
        ("wrong pin", lab.request(vec![wrong])),
        ("no tty, no pin", lab.request(vec![])),
        ("tofu for system scope", {
            let mut r = lab.request(vec![]);
            r.policy.trust_on_first_use = true;
            r.policy.system_scope = true;
            r
        }),
        ("--yes without pin", {
            let mut r = lab.request(vec![]);
            r.policy.assume_yes = true;
            r.policy.interactive = true;
            r
        }),
    ];
    for (what, req) in cases {
        let err = lab.install(req).unwrap_err();
        assert!(matches!(err, InstallError::Refused(_)), "{what}: {err}");
        assert_eq!(err.exit_code(), 6, "{what}");
        assert!(
            tree(lab.dir.path()).is_empty(),
            "{what}: wrote {:?}",
            tree(lab.dir.path()).keys()
        );
        assert!(lab.store.list().unwrap().is_empty(), "{what}");
    }
    let err = lab
        .install(lab.request(vec![Pin::parse(&"cd".repeat(32)).unwrap()]))
        .unwrap_err();
    assert!(matches!(
        err,
        InstallError::Refused(Refusal::PinMismatch { .. })
    ));
}

#[test]
fn a_person_confirms_or_declines() {
    let lab = Lab::new();
    let mut req = lab.request(vec![]);
    req.policy.interactive = true;
    let mut seen = String::new();
    let mut no = |q: &str| {
        seen = q.to_string();
        false
    };
    let err =
        install::install(req, &lab.layout(), Host::new(&lab.store), Some(&mut no)).unwrap_err();
    assert!(matches!(err, InstallError::Declined(_)));
    assert!(seen.contains("NETWORK ONLY"), "{seen}");
    assert!(seen.contains(cert(&lab.root.cert_der()).sha256()));
    assert!(tree(lab.dir.path()).is_empty());

    let mut req = lab.request(vec![]);
    req.policy.interactive = true;
    let mut yes = |_: &str| true;
    let report =
        install::install(req, &lab.layout(), Host::new(&lab.store), Some(&mut yes)).unwrap();
    assert_eq!(report.installed[0].decision, Decision::Confirmed);
}

#[test]
fn trust_on_first_use_for_user_scope() {
    let lab = Lab::new();
    let mut req = lab.request(vec![]);
    req.policy.trust_on_first_use = true;
    let report = lab.install(req).unwrap();
    assert_eq!(report.installed[0].decision, Decision::TrustOnFirstUse);
}

#[test]
fn root_already_in_os_store_needs_no_pin_and_is_not_added() {
    let lab = Lab::new();
    let _ = lab.store.add(&lab.root.cert_der(), "it").unwrap();
    let mut req = lab.request(vec![]);
    req.discover.os_roots = vec![cert(&lab.root.cert_der())];
    let report = lab.install(req).unwrap();
    assert_eq!(report.installed[0].decision, Decision::OsStore);
    assert!(report.steps.iter().all(|s| s.action != "trust in OS store"));
    // Uninstall must not remove what IT put there.
    lab.uninstall(&[]).unwrap();
    assert!(lab.store.contains(&lab.root.cert_der()).unwrap());
    assert!(
        tree(lab.dir.path()).is_empty(),
        "{:?}",
        tree(lab.dir.path()).keys()
    );
}

#[test]
fn invalid_cas_are_refused() {
    let lab = Lab::new();
    let leaf = lab.root.issue_leaf("not-a-ca.example", None);
    let expired = Ca::new_root_with("Expired Root", &CaOptions::default().expired());
    let intermediate = lab.root.issue_intermediate("Only An Intermediate", None);
    for (what, der) in [
        ("leaf", leaf.cert_der.clone()),
        ("expired", expired.cert_der()),
        ("intermediate", intermediate.cert_der()),
    ] {
        let mut req = lab.request(vec![Pin::parse(cert(&der).sha256()).unwrap()]);
        req.ca_files = vec![cert(&der)];
        let err = lab.install(req).unwrap_err();
        assert!(matches!(err, InstallError::Invalid(_)), "{what}: {err}");
        assert_eq!(err.exit_code(), 7);
        assert!(tree(lab.dir.path()).is_empty(), "{what}");
    }
}

#[test]
fn ca_file_install_without_interception_verify_not_applicable() {
    let lab = Lab::new();
    let it_root = Ca::new_root("IT Published Root");
    // No proxy listening: the probe fails, the pinned file still installs.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut req = lab.request_via(
        &format!("http://127.0.0.1:{port}"),
        vec![Pin::parse(cert(&it_root.cert_der()).sha256()).unwrap()],
    );
    req.ca_files = vec![cert(&it_root.cert_der())];
    let report = lab.install(req).unwrap();
    assert_eq!(report.installed[0].provenance, Provenance::UserFile);
    assert!(matches!(
        report.verification,
        Some(Verification::NotApplicable { .. })
    ));
}

#[test]
fn verify_failure_is_reported_not_rolled_back() {
    let lab = Lab::new();
    let other = Ca::new_root("Not The Proxy's Root");
    let mut req = lab.request(vec![Pin::parse(cert(&other.cert_der()).sha256()).unwrap()]);
    req.ca_files = vec![cert(&other.cert_der())];
    let report = lab.install(req).unwrap();
    assert!(
        matches!(report.verification, Some(Verification::Failed { .. })),
        "{:?}",
        report.verification
    );
    assert_eq!(
        trust_proxy::cli::install_report::install_exit_code(&report),
        9
    );
    assert!(lab.store.contains(&other.cert_der()).unwrap());
}

#[test]
fn nothing_to_install_when_not_intercepted() {
    let lab = Lab::new();
    let mut req = lab.request(vec![lab.pin()]);
    req.discover.public = PublicRoots::from_certs(&[cert(&lab.root.cert_der())], "test").unwrap();
    let err = lab.install(req).unwrap_err();
    assert!(matches!(
        err,
        InstallError::NothingToInstall(_, Outcome::NotIntercepted)
    ));
    assert_eq!(err.exit_code(), 3);
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let lab = Lab::new();
    let mut req = lab.request(vec![lab.pin()]);
    req.dry_run = true;
    let report = lab.install(req).unwrap();
    assert!(report.steps.len() >= 8, "{:?}", report.steps);
    assert!(report
        .steps
        .iter()
        .any(|s| s.action == "trust in OS store" && s.effect == Effect::Create));
    assert!(tree(lab.dir.path()).is_empty());
    assert!(lab.store.list().unwrap().is_empty());
}

#[test]
fn failure_at_every_step_leaves_previous_state_intact() {
    // First install (nothing before) and a rotation (one CA installed, a second one added).
    for rotation in [false, true] {
        let lab = Lab::new();
        let second = Arc::new(Ca::new_root("Rotated Root"));
        let rotated_proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
            second.clone(),
            vec![second.cert_der()],
        )))
        .unwrap();
        let (url, pin) = if rotation {
            lab.install(lab.request(vec![lab.pin()])).unwrap();
            (
                rotated_proxy.url(),
                Pin::parse(cert(&second.cert_der()).sha256()).unwrap(),
            )
        } else {
            (lab.proxy.url(), lab.pin())
        };
        let mut dry = lab.request_via(&url, vec![pin.clone()]);
        dry.dry_run = true;
        let steps = lab.install(dry).unwrap().steps.len();
        for step in 0..steps {
            let files_before = tree(lab.dir.path());
            let store_before = lab.store.list().unwrap();
            let mut req = lab.request_via(&url, vec![pin.clone()]);
            req.apply.fail_before_step = Some(step);
            let err = lab.install(req).unwrap_err();
            assert!(
                err.to_string().contains("nothing changed"),
                "step {step}: {err}"
            );
            let mut files_after = tree(lab.dir.path());
            files_after.retain(|p, _| !p.ends_with(".lock"));
            let mut files_before = files_before.clone();
            files_before.retain(|p, _| !p.ends_with(".lock"));
            assert_eq!(files_before, files_after, "rotation={rotation} step {step}");
            assert_eq!(
                store_before,
                lab.store.list().unwrap(),
                "rotation={rotation} step {step}"
            );
        }
        // And without injected failures the same install goes through.
        lab.install(lab.request_via(&url, vec![pin])).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn planted_symlinks_are_refused() {
    let lab = Lab::new();
    let layout = lab.layout();
    let victim = lab.dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let targets = vec![
        layout.proxy_ca(),
        layout.own_bundle(),
        layout.dir.join("env.sh"),
        layout.state_file(),
        layout.cert_dir(),
    ];
    for target in targets {
        std::fs::create_dir_all(&layout.dir).unwrap();
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        let err = lab.install(lab.request(vec![lab.pin()])).unwrap_err();
        assert!(
            err.to_string().contains(&target.display().to_string()),
            "{}: {err}",
            target.display()
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(lab.store.list().unwrap().is_empty(), "{}", target.display());
        std::fs::remove_file(&target).unwrap();
    }
    // A symlinked parent directory.
    std::fs::remove_dir_all(&layout.dir).unwrap();
    let elsewhere = lab.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &layout.dir).unwrap();
    let err = lab.install(lab.request(vec![lab.pin()])).unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn rotation_then_exact_uninstall() {
    let lab = Lab::new();
    let pristine = tree(lab.dir.path());
    lab.install(lab.request(vec![lab.pin()])).unwrap();
    let second = Arc::new(Ca::new_root("Second Root"));
    let p2 = InterceptingProxy::start(ProxyConfig::new(mint_from(
        second.clone(),
        vec![second.cert_der()],
    )))
    .unwrap();
    let pin2 = Pin::parse(cert(&second.cert_der()).sha256()).unwrap();
    let report = lab
        .install(lab.request_via(&p2.url(), vec![pin2.clone()]))
        .unwrap();
    assert_eq!(
        report.installed.len(),
        2,
        "a new CA is added beside the old one"
    );
    let proxy_ca = std::fs::read_to_string(lab.layout().proxy_ca()).unwrap();
    assert!(
        proxy_ca.contains(lab.root.cert_pem().trim())
            && proxy_ca.contains(second.cert_pem().trim())
    );

    let r = lab.uninstall(&[lab.pin()]).unwrap();
    assert_eq!(r.installed.len(), 1);
    assert!(!lab.store.contains(&lab.root.cert_der()).unwrap());
    assert!(lab.store.contains(&second.cert_der()).unwrap());
    let proxy_ca = std::fs::read_to_string(lab.layout().proxy_ca()).unwrap();
    assert!(!proxy_ca.contains(lab.root.cert_pem().trim()));

    let unknown = lab.uninstall(&[lab.pin()]);
    assert!(matches!(
        unknown,
        Err(InstallError::UnknownFingerprint { .. })
    ));

    lab.uninstall(&[]).unwrap();
    assert!(lab.store.list().unwrap().is_empty());
    assert_eq!(
        tree(lab.dir.path()),
        pristine,
        "uninstall reverses exactly what install did"
    );
    // Idempotent: nothing installed, nothing to do.
    let again = lab.uninstall(&[]).unwrap();
    assert!(again.unchanged);
}

#[test]
fn uninstall_keeps_files_modified_by_someone_else() {
    let lab = Lab::new();
    lab.install(lab.request(vec![lab.pin()])).unwrap();
    let env = lab.layout().dir.join("env.sh");
    std::fs::write(&env, b"# edited by hand\n").unwrap();
    let status = status::status(&lab.layout(), Host::new(&lab.store)).unwrap();
    assert!(!status.healthy);
    assert!(status
        .pieces
        .iter()
        .any(|p| p.status == "modified" && p.path.ends_with("env.sh")));
    let r = lab.uninstall(&[]).unwrap();
    assert!(r.steps.iter().any(|s| s.effect == Effect::KeptModified));
    assert_eq!(std::fs::read(&env).unwrap(), b"# edited by hand\n");
}

#[test]
fn status_and_refresh() {
    let lab = Lab::new();
    lab.install(lab.request(vec![lab.pin()])).unwrap();
    assert!(
        status::status(&lab.layout(), Host::new(&lab.store))
            .unwrap()
            .healthy
    );
    std::fs::remove_file(lab.layout().own_bundle()).unwrap();
    let s = status::status(&lab.layout(), Host::new(&lab.store)).unwrap();
    assert!(s
        .pieces
        .iter()
        .any(|p| p.status == "missing" && p.fix.is_some()));
    install::refresh(
        &lab.layout(),
        Host::new(&lab.store),
        &[],
        ApplyOptions::default(),
    )
    .unwrap();
    assert!(
        status::status(&lab.layout(), Host::new(&lab.store))
            .unwrap()
            .healthy
    );
    // A new OS root shows up in the bundle after a refresh.
    let new_os_root = cert(&Ca::new_root("Pushed Later").cert_der());
    install::refresh(
        &lab.layout(),
        Host::new(&lab.store),
        std::slice::from_ref(&new_os_root),
        ApplyOptions::default(),
    )
    .unwrap();
    let bundle = std::fs::read_to_string(lab.layout().own_bundle()).unwrap();
    assert!(bundle.contains(new_os_root.to_pem().trim()));
}

#[test]
fn md5_root_is_refused() {
    let lab = Lab::new();
    let dir = tempfile::tempdir().unwrap();
    let (key, pem) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-md5", "-days", "30",
        ])
        .args([
            "-subj",
            "/CN=MD5 Signed Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&pem)
        .output();
    match made {
        Ok(out) if out.status.success() => {}
        other => {
            assert!(
                std::env::var("TRUST_PROXY_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "openssl could not make an MD5 root: {other:?}"
            );
            eprintln!("SKIPPED: openssl could not make an MD5-signed root here");
            return;
        }
    }
    let root = trust_proxy::analyze::certload::load_certs(&std::fs::read(&pem).unwrap())
        .unwrap()
        .remove(0);
    assert_eq!(root.info.signature_algorithm, "md5WithRSAEncryption");
    let mut req = lab.request(vec![Pin::parse(root.sha256()).unwrap()]);
    req.ca_files = vec![root];
    let err = lab.install(req).unwrap_err();
    assert!(matches!(err, InstallError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("MD5"), "{err}");
    assert!(tree(lab.dir.path()).is_empty());
    assert!(lab.store.list().unwrap().is_empty());
}

#[test]
fn a_concurrent_run_is_locked_out() {
    let lab = Lab::new();
    let layout = lab.layout();
    let held = trust_proxy::install::apply::Lock::acquire(&layout.dir, &layout.lock_file(), false)
        .unwrap();
    let err = lab.install(lab.request(vec![lab.pin()])).unwrap_err();
    assert!(err.to_string().contains("another trust-proxy run"), "{err}");
    assert!(lab.store.list().unwrap().is_empty());
    drop(held);
    lab.install(lab.request(vec![lab.pin()])).unwrap();
}

/// The session environment (Windows registry, macOS LaunchAgent) in memory.
#[derive(Default)]
struct MemEnv {
    vars: Mutex<BTreeMap<String, String>>,
    fail_set: std::sync::atomic::AtomicBool,
}

impl trust_proxy_platform::PersistentEnv for MemEnv {
    fn describe(&self) -> String {
        "memory env".into()
    }
    fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.vars.lock().unwrap().get(name).cloned())
    }
    fn set(&self, vars: &[(String, String)]) -> Result<(), StoreError> {
        if self.fail_set.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unsupported("injected".into()));
        }
        let mut m = self.vars.lock().unwrap();
        for (k, v) in vars {
            m.insert(k.clone(), v.clone());
        }
        Ok(())
    }
    fn unset(&self, names: &[String]) -> Result<(), StoreError> {
        let mut m = self.vars.lock().unwrap();
        for n in names {
            m.remove(n);
        }
        Ok(())
    }
}

#[test]
fn session_environment_is_set_kept_and_removed_exactly() {
    let lab = Lab::new();
    let env = MemEnv::default();
    env.vars
        .lock()
        .unwrap()
        .insert("PATH".into(), "untouched".into());
    env.vars
        .lock()
        .unwrap()
        .insert("SSL_CERT_FILE".into(), "/old/bundle.pem".into());
    let host = Host::new(&lab.store).with_session_env(Some(&env));

    // A failure after the session env step (the state write is last) puts the old values back.
    let before = env.vars.lock().unwrap().clone();
    let mut dry = lab.request(vec![lab.pin()]);
    dry.dry_run = true;
    let report = install::install(dry, &lab.layout(), host, None).unwrap();
    assert!(report
        .steps
        .iter()
        .any(|s| s.action == "set session environment" && s.effect == Effect::Replace));
    let mut req = lab.request(vec![lab.pin()]);
    req.apply.fail_before_step = Some(report.steps.len() - 1);
    install::install(req, &lab.layout(), host, None).unwrap_err();
    assert_eq!(*env.vars.lock().unwrap(), before);

    install::install(lab.request(vec![lab.pin()]), &lab.layout(), host, None).unwrap();
    let bundle = lab.layout().own_bundle().display().to_string();
    {
        let vars = env.vars.lock().unwrap();
        assert_eq!(vars.get("SSL_CERT_FILE"), Some(&bundle));
        assert_eq!(vars.get("HTTPS_PROXY"), Some(&lab.proxy.url()));
        assert_eq!(vars.get("PATH").map(String::as_str), Some("untouched"));
    }
    let again = install::install(lab.request(vec![lab.pin()]), &lab.layout(), host, None).unwrap();
    assert!(again.unchanged, "{:?}", again.steps);
    assert!(status::status(&lab.layout(), host).unwrap().healthy);
    env.vars
        .lock()
        .unwrap()
        .insert("SSL_CERT_FILE".into(), "/someone/else.pem".into());
    let status = status::status(&lab.layout(), host).unwrap();
    assert!(status
        .pieces
        .iter()
        .any(|p| p.what == "session environment" && p.status == "modified"));
    install::refresh(&lab.layout(), host, &[], ApplyOptions::default()).unwrap();
    assert!(status::status(&lab.layout(), host).unwrap().healthy);

    install::uninstall(
        &lab.layout(),
        host,
        &[],
        &[],
        false,
        ApplyOptions::default(),
    )
    .unwrap();
    let vars = env.vars.lock().unwrap();
    assert_eq!(
        *vars, before,
        "uninstall puts back exactly what was there before"
    );
}

#[test]
fn pins_install_the_pinned_root_and_leave_out_the_others() {
    let lab = Lab::new();
    let other = Arc::new(Ca::new_root("Other Region Root"));
    let (a, b) = (lab.root.clone(), other.clone());
    let mint: MintFn = Arc::new(move |host: &str| {
        let ca = if host == "pypi.org" { &a } else { &b };
        Minted::new(&ca.issue_leaf(host, None), &[ca.cert_der()])
    });
    let proxy = InterceptingProxy::start(ProxyConfig::new(mint)).unwrap();
    let mut req = lab.request_via(&proxy.url(), vec![lab.pin()]);
    req.discover.targets = vec![
        Target::parse("pypi.org").unwrap(),
        Target::parse("crates.io").unwrap(),
    ];
    let report = lab.install(req).unwrap();
    assert_eq!(report.installed.len(), 1);
    assert_eq!(
        report.installed[0].sha256,
        cert(&lab.root.cert_der()).sha256()
    );
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("Other Region Root") && w.contains("not installed")));
    assert!(!lab.store.contains(&other.cert_der()).unwrap());
}

/// An OS store like the p11-kit families': it takes the file but never makes a CA:FALSE
/// certificate a TLS anchor.
#[derive(Default)]
struct CaOnlyStore(MemStore);

impl TrustStore for CaOnlyStore {
    fn describe(&self) -> String {
        "CA-only memory store".into()
    }
    fn list(&self) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, StoreError> {
        self.0.list()
    }
    fn contains(&self, cert: &rustls_pki_types::CertificateDer<'_>) -> Result<bool, StoreError> {
        self.0.contains(cert)
    }
    fn add(
        &self,
        cert: &rustls_pki_types::CertificateDer<'_>,
        n: &str,
    ) -> Result<Change, StoreError> {
        self.0.add(cert, n)
    }
    fn remove(
        &self,
        cert: &rustls_pki_types::CertificateDer<'_>,
        n: &str,
    ) -> Result<Change, StoreError> {
        self.0.remove(cert, n)
    }
    fn accepts_end_entity_anchor(&self) -> bool {
        false
    }
}

/// A self-signed service behind the explicit proxy (the proxy forwards its certificate as is).
struct Service {
    cert: Leaf,
    proxy: ProxyHandle,
}

impl Service {
    fn start(cert: Leaf) -> Service {
        let proxy = InterceptingProxy::start(ProxyConfig::new(mint_fixed(Minted::new(&cert, &[]))))
            .unwrap();
        Service { cert, proxy }
    }

    fn pin(&self) -> Pin {
        Pin::parse(cert(&self.cert.cert_der).sha256()).unwrap()
    }

    fn request(&self, lab: &Lab, target: &str, pins: Vec<Pin>) -> InstallRequest {
        let mut req = lab.request_via(&self.proxy.url(), pins);
        req.discover.targets = vec![Target::parse(target).unwrap()];
        req
    }
}

#[test]
fn self_signed_end_entity_is_installed_for_the_host_that_presented_it() {
    let lab = Lab::new();
    let svc = Service::start(Leaf::self_signed("svc.internal.test"));
    let report = lab
        .install(svc.request(&lab, "svc.internal.test", vec![svc.pin()]))
        .unwrap();
    assert_eq!(report.installed.len(), 1);
    let ca = &report.installed[0];
    assert_eq!(ca.decision, Decision::Pinned);
    assert_eq!(ca.sha256, cert(&svc.cert.cert_der).sha256());
    assert_eq!(ca.service_targets, vec!["svc.internal.test:443"]);
    assert!(lab.store.contains(&svc.cert.cert_der).unwrap());
    let layout = lab.layout();
    let bundle = std::fs::read_to_string(layout.own_bundle()).unwrap();
    assert!(bundle.contains(svc.cert.cert_pem().trim()));
    let hashed: Vec<Vec<u8>> = std::fs::read_dir(layout.cert_dir())
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(hashed
        .iter()
        .any(|b| String::from_utf8_lossy(b).contains(svc.cert.cert_pem().trim())));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("private CA")
                && w.contains("every name it holds: svc.internal.test.")),
        "{:?}",
        report.warnings
    );
    match report.verification {
        Some(Verification::Passed { ref targets }) => assert_eq!(targets.len(), 1),
        ref other => panic!("{other:?}"),
    }
    let json = trust_proxy::cli::install_report::install_json("install", &report, 0);
    assert!(json.contains("service_targets"), "{json}");

    lab.uninstall(&[]).unwrap();
    assert!(!lab.store.contains(&svc.cert.cert_der).unwrap());
    assert!(tree(lab.dir.path()).is_empty());
}

#[test]
fn self_signed_service_is_never_trusted_without_pin_or_person() {
    let lab = Lab::new();
    let svc = Service::start(Leaf::self_signed("svc.internal.test"));
    let err = lab
        .install(svc.request(&lab, "svc.internal.test", vec![]))
        .unwrap_err();
    assert!(
        matches!(err, InstallError::Refused(Refusal::NeedsPin { .. })),
        "{err}"
    );
    assert_eq!(err.exit_code(), 6);
    assert!(tree(lab.dir.path()).is_empty());
    assert!(lab.store.list().unwrap().is_empty());

    let mut req = svc.request(&lab, "svc.internal.test", vec![]);
    req.policy.interactive = true;
    let mut seen = String::new();
    let mut no = |q: &str| {
        seen = q.to_string();
        false
    };
    let err =
        install::install(req, &lab.layout(), Host::new(&lab.store), Some(&mut no)).unwrap_err();
    assert!(matches!(err, InstallError::Declined(_)), "{err}");
    assert!(seen.contains("not interception"), "{seen}");
    assert!(seen.contains("Names    svc.internal.test\n"), "{seen}");
    assert!(seen.contains(cert(&svc.cert.cert_der).sha256()), "{seen}");
    assert!(tree(lab.dir.path()).is_empty());
}

#[test]
fn self_signed_end_entity_is_refused_for_a_host_it_does_not_name() {
    let lab = Lab::new();
    let svc = Service::start(Leaf::self_signed("svc.internal.test"));
    let err = lab
        .install(svc.request(&lab, "registry.internal.test", vec![svc.pin()]))
        .unwrap_err();
    assert_eq!(err.exit_code(), 7, "{err}");
    assert!(err.to_string().contains("registry.internal.test"), "{err}");
    assert!(tree(lab.dir.path()).is_empty());
    assert!(lab.store.list().unwrap().is_empty());
}

#[test]
fn self_signed_end_entity_from_a_file_needs_the_host_that_presents_it() {
    let lab = Lab::new();
    let ee = Leaf::self_signed("svc.internal.test");
    // The probe reaches the corporate proxy, which does not present this certificate.
    let mut req = lab.request(vec![Pin::parse(cert(&ee.cert_der).sha256()).unwrap()]);
    req.ca_files = vec![cert(&ee.cert_der)];
    let err = lab.install(req).unwrap_err();
    assert_eq!(err.exit_code(), 7, "{err}");
    assert!(err.to_string().contains("--target"), "{err}");
    assert!(tree(lab.dir.path()).is_empty());

    // The same file with the service as the target: accepted, and the probe is what binds it.
    let svc = Service::start(ee);
    let mut req = svc.request(&lab, "svc.internal.test", vec![svc.pin()]);
    req.ca_files = vec![cert(&svc.cert.cert_der)];
    let report = lab.install(req).unwrap();
    assert_eq!(
        report.installed[0].service_targets,
        vec!["svc.internal.test:443"]
    );
    assert_eq!(report.installed[0].provenance, Provenance::UserFile);
}

#[test]
fn self_signed_end_entity_must_be_a_sane_tls_server_certificate() {
    use trust_proxy_testkit::rcgen::ExtendedKeyUsagePurpose;
    let lab = Lab::new();
    let year = 2000;
    for (leaf, expect) in [
        (
            Leaf::self_signed_with(
                &["svc.internal.test"],
                &LeafOptions::default(),
                Some(ExtendedKeyUsagePurpose::ClientAuth),
            ),
            "serverAuth",
        ),
        (
            Leaf::self_signed_with(
                &["svc.internal.test"],
                &LeafOptions {
                    validity: Some(((year, 1, 1), (year + 1, 1, 1))),
                    ..Default::default()
                },
                None,
            ),
            "not valid now",
        ),
    ] {
        let svc = Service::start(leaf);
        let err = lab
            .install(svc.request(&lab, "svc.internal.test", vec![svc.pin()]))
            .unwrap_err();
        assert_eq!(err.exit_code(), 7, "{err}");
        assert!(err.to_string().contains(expect), "{err}");
        assert!(tree(lab.dir.path()).is_empty());
    }
}

#[test]
fn self_signed_end_entity_stays_out_of_a_store_that_would_drop_it() {
    let lab = Lab::new();
    let store = CaOnlyStore::default();
    let svc = Service::start(Leaf::self_signed("svc.internal.test"));
    let report = install::install(
        svc.request(&lab, "svc.internal.test", vec![svc.pin()]),
        &lab.layout(),
        Host::new(&store),
        None,
    )
    .unwrap();
    assert!(store.list().unwrap().is_empty());
    assert!(report.steps.iter().all(|s| s.action != "trust in OS store"));
    assert!(
        report.warnings.iter().any(|w| w.contains("own bundle")),
        "{:?}",
        report.warnings
    );
    assert_eq!(
        report.bundle,
        lab.layout().own_bundle().display().to_string()
    );
    assert!(matches!(
        report.verification,
        Some(Verification::Passed { .. })
    ));
}

#[test]
fn self_signed_ca_service_is_installed_as_a_root_and_verified() {
    let lab = Lab::new();
    let svc = Service::start(Leaf::self_signed_ca(&["svc.internal.test"]));
    let report = lab
        .install(svc.request(&lab, "svc.internal.test", vec![svc.pin()]))
        .unwrap();
    assert_eq!(
        report.installed[0].service_targets,
        vec!["svc.internal.test:443"]
    );
    assert!(lab.store.contains(&svc.cert.cert_der).unwrap());
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("CaUsedAsEndEntity")),
        "{:?}",
        report.warnings
    );
    // Verified as OpenSSL-based clients see it (webpki alone would refuse a CA as the leaf).
    match report.verification {
        Some(Verification::Passed { ref targets }) => assert!(targets[0].ok),
        ref other => panic!("{other:?}"),
    }
}

/// The state file as it is on disk, parsed.
fn read_state(layout: &Layout) -> trust_proxy::install::state::State {
    trust_proxy::install::state::State::load(&layout.state_file())
        .unwrap()
        .expect("a state file")
}

#[test]
fn a_run_between_state_read_and_write_is_locked_out() {
    // A refresh (from a timer), an uninstall or an install reads the state; an install of another
    // CA comes in right then. Were the lock taken only after the read, that install would go
    // through and the first run would write back the state it read, forgetting the other CA
    // (which stays trusted in the store, and which no uninstall would ever remove).
    for outer in ["refresh", "uninstall", "install"] {
        let lab = std::rc::Rc::new(Lab::new());
        lab.install(lab.request(vec![lab.pin()])).unwrap();
        let third = Arc::new(Ca::new_root("Installed By The Outer Run"));
        let third_proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
            third.clone(),
            vec![third.cert_der()],
        )))
        .unwrap();
        let second = Arc::new(Ca::new_root("Came In Between"));
        let second_proxy = InterceptingProxy::start(ProxyConfig::new(mint_from(
            second.clone(),
            vec![second.cert_der()],
        )))
        .unwrap();
        let between: std::rc::Rc<std::cell::RefCell<Option<Result<(), String>>>> =
            Default::default();
        let hook = {
            let (lab, between) = (lab.clone(), between.clone());
            let (url, pin) = (second_proxy.url(), second_pin_of(&second));
            move || {
                let result = lab.install(lab.request_via(&url, vec![pin.clone()]));
                *between.borrow_mut() = Some(result.map(|_| ()).map_err(|e| e.to_string()));
            }
        };
        let options = ApplyOptions {
            after_state_read: Some(std::rc::Rc::new(hook)),
            ..Default::default()
        };
        let host = Host::new(&lab.store);
        match outer {
            "refresh" => install::refresh(&lab.layout(), host, &[], options).map(|_| ()),
            "uninstall" => {
                install::uninstall(&lab.layout(), host, &[], &[], false, options).map(|_| ())
            }
            _ => {
                let mut req = lab.request_via(&third_proxy.url(), vec![second_pin_of(&third)]);
                req.apply = options;
                lab.install(req).map(|_| ())
            }
        }
        .unwrap();

        let recorded: Vec<String> =
            trust_proxy::install::state::State::load(&lab.layout().state_file())
                .unwrap()
                .map(|s| s.cas.iter().map(|c| c.sha256.clone()).collect())
                .unwrap_or_default();
        for der in lab.store.list().unwrap() {
            let sha = cert(&der).sha256().to_string();
            assert!(
                recorded.contains(&sha),
                "{outer}: {sha} is trusted in the store but the state forgot it"
            );
        }
        let between = between.borrow_mut().take().expect("the hook ran");
        let err = between.expect_err("the install in between must be locked out");
        assert!(err.contains("another trust-proxy run"), "{outer}: {err}");
        assert!(!lab.store.contains(&second.cert_der()).unwrap(), "{outer}");
        // Once the first run is done, the same install goes through.
        lab.install(lab.request_via(&second_proxy.url(), vec![second_pin_of(&second)]))
            .unwrap();
        assert!(read_state(&lab.layout())
            .cas
            .iter()
            .any(|c| c.sha256 == cert(&second.cert_der()).sha256()));
    }
}

fn second_pin_of(ca: &Ca) -> Pin {
    Pin::parse(cert(&ca.cert_der()).sha256()).unwrap()
}

/// Root is needed to give files away (chown) and to pass the system scope's root-ownership
/// checks; CI runs as root. Elsewhere these tests say so and return.
#[cfg(unix)]
fn running_as_root(test: &str) -> bool {
    let root = trust_proxy_platform::is_elevated();
    if !root {
        eprintln!("SKIPPED {test}: needs root (chown, root-owned system directory)");
    }
    root
}

#[cfg(unix)]
fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

/// A way to spoil a file's ownership or mode, and its repair.
#[cfg(unix)]
type Tamper = (&'static str, fn(&Path), fn(&Path));

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The Linux system layout (`/etc/trust-proxy`, profile.d, `/etc/environment`) under a
/// temporary root, as `Layout::new` makes it for `/`.
#[cfg(target_os = "linux")]
fn system_layout(lab: &Lab) -> Layout {
    let sysroot = lab.dir.path().join("root");
    std::fs::create_dir_all(sysroot.join("etc/profile.d")).unwrap();
    Layout::new(Scope::System, &sysroot, None).unwrap()
}

#[cfg(target_os = "linux")]
fn system_install(lab: &Lab, layout: &Layout) -> Result<install::InstallReport, InstallError> {
    let mut req = lab.request(vec![lab.pin()]);
    req.policy.system_scope = true;
    install::install(req, layout, Host::new(&lab.store), None)
}

#[cfg(target_os = "linux")]
fn uninstall_in(lab: &Lab, layout: &Layout) -> Result<install::InstallReport, InstallError> {
    install::uninstall(
        layout,
        Host::new(&lab.store),
        &[],
        &[],
        false,
        ApplyOptions::default(),
    )
}

#[cfg(target_os = "linux")]
#[test]
fn system_state_and_its_files_must_be_root_owned_and_writable_by_root_only() {
    if !running_as_root("system_state_and_its_files_must_be_root_owned") {
        return;
    }
    let lab = Lab::new();
    let layout = system_layout(&lab);
    system_install(&lab, &layout).unwrap();
    let tampered: [Tamper; 3] = [
        ("group-writable", |p| chmod(p, 0o664), |p| chmod(p, 0o644)),
        ("world-writable", |p| chmod(p, 0o646), |p| chmod(p, 0o644)),
        (
            "owned by nobody",
            |p| chown(p, 65534, 65534),
            |p| chown(p, 0, 0),
        ),
    ];
    // The state, a file the state says uninstall may delete, and an entry of the hashed
    // directory (trusted through SSL_CERT_DIR).
    let hashed_entry = std::fs::read_dir(layout.cert_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .min()
        .unwrap();
    for target in [layout.state_file(), layout.proxy_ca(), hashed_entry] {
        for (how, tamper, repair) in &tampered {
            tamper(&target);
            let before = tree(lab.dir.path());
            let err = uninstall_in(&lab, &layout).unwrap_err();
            assert!(
                err.to_string().contains(&target.display().to_string()),
                "{how} {}: {err}",
                target.display()
            );
            let err =
                install::refresh(&layout, Host::new(&lab.store), &[], ApplyOptions::default())
                    .unwrap_err();
            assert!(err.to_string().contains(&target.display().to_string()));
            assert_eq!(tree(lab.dir.path()), before, "{how}: nothing changed");
            assert!(lab.store.contains(&lab.root.cert_der()).unwrap());
            repair(&target);
        }
    }
    uninstall_in(&lab, &layout).unwrap();
    assert!(!layout.dir.exists());
    assert!(lab.store.list().unwrap().is_empty());
}

#[cfg(unix)]
#[test]
fn user_state_must_belong_to_the_user_running() {
    if !running_as_root("user_state_must_belong_to_the_user_running") {
        return;
    }
    let lab = Lab::new();
    let layout = lab.layout();
    lab.install(lab.request(vec![lab.pin()])).unwrap();
    // Another account's state (or one it could rewrite) would steer what this run deletes.
    let tampered: [Tamper; 2] = [
        (
            "owned by nobody",
            |p| chown(p, 65534, 65534),
            |p| chown(p, 0, 0),
        ),
        ("group-writable", |p| chmod(p, 0o664), |p| chmod(p, 0o644)),
    ];
    for target in [
        layout.state_file(),
        layout.env_file(trust_proxy::install::envsnippet::Shell::Sh),
    ] {
        for (how, tamper, repair) in &tampered {
            tamper(&target);
            let before = tree(lab.dir.path());
            let err = lab.uninstall(&[]).unwrap_err();
            assert!(
                err.to_string().contains(&target.display().to_string()),
                "{how} {}: {err}",
                target.display()
            );
            assert!(status::status(&layout, Host::new(&lab.store)).is_err());
            assert_eq!(tree(lab.dir.path()), before, "{how}: nothing changed");
            assert!(lab.store.contains(&lab.root.cert_der()).unwrap());
            repair(&target);
        }
    }
    lab.uninstall(&[]).unwrap();
    assert!(lab.store.list().unwrap().is_empty());
}

#[test]
fn a_state_naming_files_trust_proxy_never_writes_is_refused() {
    let lab = Lab::new();
    let layout = lab.layout();
    lab.install(lab.request(vec![lab.pin()])).unwrap();
    let victim = lab.dir.path().join("etc/something");
    std::fs::create_dir_all(victim.parent().unwrap()).unwrap();
    std::fs::write(&victim, b"an administrator's file\n").unwrap();
    let pristine = std::fs::read(layout.state_file()).unwrap();
    // As a whole file to remove (its hash is right: an attacker can read it), and as a file
    // holding a marked block.
    for as_block in [false, true] {
        let mut state: serde_json::Value = serde_json::from_slice(&pristine).unwrap();
        if as_block {
            state["blocks"] = serde_json::json!([victim]);
        } else {
            state["files"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({
                    "path": victim,
                    "sha256": trust_proxy::install::state::sha256_hex(&std::fs::read(&victim).unwrap()),
                }));
        }
        std::fs::write(layout.state_file(), serde_json::to_vec(&state).unwrap()).unwrap();
        let err = lab.uninstall(&[]).unwrap_err();
        assert!(
            err.to_string().contains(&victim.display().to_string()),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"an administrator's file\n"
        );
        assert!(lab.store.contains(&lab.root.cert_der()).unwrap());
    }
    std::fs::write(layout.state_file(), &pristine).unwrap();
    lab.uninstall(&[]).unwrap();
    assert!(victim.exists());
}

/// Every extended attribute of `path`, name and value.
#[cfg(target_os = "linux")]
fn xattrs(path: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut names = vec![0u8; 4096];
    let n = rustix::fs::listxattr(path, &mut names[..]).unwrap();
    names.truncate(n);
    names
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|name| {
            let mut value = vec![0u8; 4096];
            let name_c = std::ffi::CString::new(name).unwrap();
            let n = rustix::fs::getxattr(path, name_c.as_c_str(), &mut value[..]).unwrap();
            value.truncate(n);
            (name.to_vec(), value)
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn etc_environment_comes_back_byte_for_byte_with_its_mode_owner_and_attributes() {
    use std::os::unix::fs::MetadataExt;
    if !running_as_root("etc_environment_comes_back_byte_for_byte") {
        return;
    }
    let lab = Lab::new();
    let layout = system_layout(&lab);
    let env = layout.etc_environment.clone().unwrap();
    // Latin-1 bytes (not UTF-8), no final newline, mode 0640 root:adm, a `user.` attribute.
    let original: &[u8] =
        b"LANG=\"fr_FR.ISO-8859-1\"\n# caf\xe9 cr\xe8me, set by IT\nTZ=\"Europe/Paris\"";
    std::fs::write(&env, original).unwrap();
    chown(&env, 0, 4);
    chmod(&env, 0o640);
    rustix::fs::setxattr(
        &env,
        "user.trust-proxy-test",
        b"kept",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    let attributes = xattrs(&env);
    assert!(attributes.contains_key(&b"user.trust-proxy-test"[..]));
    let metadata = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.mode() & 0o7777, m.uid(), m.gid(), xattrs(p))
    };
    let kept = metadata(&env);

    // A failure after the block was written: the rollback restores bytes and metadata too.
    let mut dry = lab.request(vec![lab.pin()]);
    dry.policy.system_scope = true;
    dry.dry_run = true;
    let steps = install::install(dry, &layout, Host::new(&lab.store), None)
        .unwrap()
        .steps;
    let last = steps.len() - 1;
    assert!(steps
        .iter()
        .take(last)
        .any(|s| s.target == env.display().to_string()));
    let mut req = lab.request(vec![lab.pin()]);
    req.policy.system_scope = true;
    req.apply.fail_before_step = Some(last);
    install::install(req, &layout, Host::new(&lab.store), None).unwrap_err();
    assert_eq!(std::fs::read(&env).unwrap(), original);
    assert_eq!(metadata(&env), kept, "after a rolled-back install");

    system_install(&lab, &layout).unwrap();
    let with_block = std::fs::read(&env).unwrap();
    assert!(
        with_block.starts_with(original),
        "every byte before the block kept"
    );
    assert!(with_block
        .windows(b"SSL_CERT_FILE=".len())
        .any(|w| w == b"SSL_CERT_FILE="));
    assert_eq!(metadata(&env), kept, "after install");

    uninstall_in(&lab, &layout).unwrap();
    assert_eq!(std::fs::read(&env).unwrap(), original);
    assert_eq!(metadata(&env), kept, "after uninstall");
}

#[cfg(target_os = "linux")]
#[test]
fn profile_d_script_is_rewritten_keeping_its_mode_and_attributes() {
    use std::os::unix::fs::MetadataExt;
    if !running_as_root("profile_d_script_is_rewritten_keeping_its_mode_and_attributes") {
        return;
    }
    let lab = Lab::new();
    let layout = system_layout(&lab);
    system_install(&lab, &layout).unwrap();
    let script = layout.profile_d.clone().unwrap();
    let written = std::fs::read(&script).unwrap();
    // The administrator narrowed the mode and a label was set (SELinux labels are xattrs too).
    chmod(&script, 0o640);
    rustix::fs::setxattr(
        &script,
        "user.trust-proxy-test",
        b"label",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    let kept = (
        std::fs::metadata(&script).unwrap().mode() & 0o7777,
        xattrs(&script),
    );
    // Edited by hand: refresh puts trust-proxy's content back, and nothing else changes.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&script)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"export EXTRA=1\n"))
        .unwrap();
    install::refresh(&layout, Host::new(&lab.store), &[], ApplyOptions::default()).unwrap();
    assert_eq!(std::fs::read(&script).unwrap(), written);
    assert_eq!(
        (
            std::fs::metadata(&script).unwrap().mode() & 0o7777,
            xattrs(&script)
        ),
        kept
    );
}

#[test]
fn uninstall_and_refresh_with_nothing_installed_create_nothing() {
    let lab = Lab::new();
    // The per-user directory's parents (~/.local/share) need not exist yet either.
    let layout = Layout::plain(Scope::User, lab.dir.path().join("share/deeper/trust-proxy"));
    let report = install::uninstall(
        &layout,
        Host::new(&lab.store),
        &[],
        &[],
        false,
        ApplyOptions::default(),
    )
    .unwrap();
    assert!(report.unchanged);
    let err =
        install::refresh(&layout, Host::new(&lab.store), &[], ApplyOptions::default()).unwrap_err();
    assert!(err.to_string().contains("nothing is installed"), "{err}");
    assert!(
        tree(lab.dir.path()).is_empty(),
        "{:?}",
        tree(lab.dir.path())
    );
}

#[test]
fn a_distrusted_root_is_refused_before_anyone_is_asked() {
    let lab = Lab::new();
    let distrust = trust_proxy_platform::Distrust::new(&[lab.root.cert_der()]);
    let mut req = lab.request(vec![]);
    req.policy.interactive = true;
    let mut asked = false;
    let mut yes = |_: &str| {
        asked = true;
        true
    };
    let host = Host::new(&lab.store).with_distrust(&distrust);
    let err = install::install(req, &lab.layout(), host, Some(&mut yes)).unwrap_err();
    assert!(
        !asked,
        "a person was asked to confirm a root the OS distrusts"
    );
    assert_eq!(err.exit_code(), 7, "{err}");
    assert!(
        matches!(&err, InstallError::Invalid(i) if matches!(i[..], [trust_proxy::install::validate::Invalid::DistrustedByOs { .. }])),
        "{err:?}"
    );
    assert!(tree(lab.dir.path()).is_empty());

    // A pin does not override the OS's distrust either.
    let host = Host::new(&lab.store).with_distrust(&distrust);
    let err =
        install::install(lab.request(vec![lab.pin()]), &lab.layout(), host, None).unwrap_err();
    assert_eq!(err.exit_code(), 7, "{err}");
    assert!(tree(lab.dir.path()).is_empty());
}

/// One scope on one OS, as `status` meets it: the layout, whether the scope has an OS store
/// (Linux's user scope has none: the CLI passes its `NoOsStore`), and whether it has a session
/// environment (Windows registry, macOS LaunchAgent). `status` itself asks no `cfg!`: it
/// judges the state against the host it is given, so every row runs here.
struct StatusRow {
    name: &'static str,
    scope: Scope,
    /// The Linux system layout (`/etc/trust-proxy`, profile.d, `/etc/environment`, the distro
    /// bundle) under a temporary root, instead of one plain directory.
    linux_system: bool,
    os_store: bool,
    session_env: bool,
    /// The CA is already trusted by the OS (Linux: the system store, seen from the user scope).
    trusted_by_os: bool,
}

const STATUS_ROWS: &[StatusRow] = &[
    StatusRow {
        name: "linux user",
        scope: Scope::User,
        linux_system: false,
        os_store: false,
        session_env: false,
        trusted_by_os: false,
    },
    StatusRow {
        name: "linux user, CA already in the system store",
        scope: Scope::User,
        linux_system: false,
        os_store: false,
        session_env: false,
        trusted_by_os: true,
    },
    StatusRow {
        name: "linux system",
        scope: Scope::System,
        linux_system: true,
        os_store: true,
        session_env: false,
        trusted_by_os: false,
    },
    StatusRow {
        name: "macos user (login keychain, LaunchAgent environment)",
        scope: Scope::User,
        linux_system: false,
        os_store: true,
        session_env: true,
        trusted_by_os: false,
    },
    StatusRow {
        name: "macos system (System keychain)",
        scope: Scope::System,
        linux_system: false,
        os_store: true,
        session_env: false,
        trusted_by_os: false,
    },
    StatusRow {
        name: "windows user (CurrentUser\\Root, HKCU environment)",
        scope: Scope::User,
        linux_system: false,
        os_store: true,
        session_env: true,
        trusted_by_os: false,
    },
    StatusRow {
        name: "windows system (LocalMachine\\Root, HKLM environment)",
        scope: Scope::System,
        linux_system: false,
        os_store: true,
        session_env: true,
        trusted_by_os: true,
    },
];

/// One row's machine: a fresh tree, store and environment, with a CA installed by `--ca-file`
/// and its pin (no probe, so nothing leaves the process).
struct StatusHost {
    _dir: tempfile::TempDir,
    layout: Layout,
    store: Box<dyn TrustStore>,
    env: Option<MemEnv>,
    os_roots: Vec<Cert>,
    use_os_store: bool,
}

impl StatusHost {
    fn new(row: &StatusRow, root: &Ca) -> StatusHost {
        let dir = tempfile::tempdir().unwrap();
        let layout = if row.linux_system {
            let sysroot = dir.path().join("root");
            std::fs::create_dir_all(sysroot.join("etc/profile.d")).unwrap();
            let os_bundle = sysroot.join("etc/ssl/certs/ca-certificates.crt");
            std::fs::create_dir_all(os_bundle.parent().unwrap()).unwrap();
            std::fs::write(&os_bundle, cert(&root.cert_der()).to_pem()).unwrap();
            Layout::new(Scope::System, &sysroot, Some(os_bundle)).unwrap()
        } else {
            Layout::plain(row.scope, dir.path().join("trust-proxy"))
        };
        let store: Box<dyn TrustStore> = if row.os_store {
            Box::new(MemStore::default())
        } else {
            Box::new(trust_proxy::cli::command::NoOsStore)
        };
        let os_roots = if row.trusted_by_os {
            if row.os_store {
                let _ = store.add(&root.cert_der(), "it").unwrap();
            }
            vec![cert(&root.cert_der())]
        } else {
            vec![]
        };
        StatusHost {
            _dir: dir,
            layout,
            store,
            env: row.session_env.then(MemEnv::default),
            os_roots,
            // As the CLI decides it: the OS store whenever the scope has one.
            use_os_store: row.os_store,
        }
    }

    fn host(&self) -> Host<'_> {
        Host::new(self.store.as_ref()).with_session_env(
            self.env
                .as_ref()
                .map(|e| e as &dyn trust_proxy_platform::PersistentEnv),
        )
    }

    fn install(&self, ca_file: &[u8], pin: &str) {
        let req = InstallRequest {
            discover: DiscoverConfig {
                targets: vec![],
                proxy: ProxySettings::default(),
                ca_files: vec![],
                public: PublicRoots::mozilla(),
                os_roots: self.os_roots.clone(),
                os_store: "memory".into(),
                timeout: Duration::from_secs(5),
                read_file: Box::new(|_| None),
            },
            ca_files: trust_proxy::analyze::certload::load_certs(ca_file).unwrap(),
            pins: vec![Pin::parse(pin).unwrap()],
            policy: Policy {
                interactive: false,
                assume_yes: false,
                trust_on_first_use: false,
                system_scope: self.layout.scope == Scope::System,
            },
            use_os_store: self.use_os_store,
            dry_run: false,
            apply: ApplyOptions::default(),
        };
        install::install(req, &self.layout, self.host(), None).unwrap();
    }

    fn status(&self) -> status::StatusReport {
        status::status(&self.layout, self.host()).unwrap()
    }

    /// Runs a fix `status` printed, as the CLI would: only `refresh` and a pinned `--ca-file`
    /// install in this row's scope are expected.
    fn run_fix(&self, fix: &str) {
        // The system scope's fixes are run as root: `sudo` names that, and this test is root.
        let fix = fix.strip_prefix("sudo ").unwrap_or(fix);
        let words: Vec<&str> = fix.split_whitespace().collect();
        let scope = install::scope_name(&self.layout);
        let flag = |name: &str| {
            words
                .iter()
                .position(|w| *w == name)
                .and_then(|i| words.get(i + 1).copied())
        };
        assert_eq!(flag("--scope"), Some(scope), "{fix}");
        match words.get(..2) {
            Some(["trust-proxy", "refresh"]) => {
                assert_eq!(words.len(), 4, "{fix}");
                install::refresh(
                    &self.layout,
                    self.host(),
                    &self.os_roots,
                    ApplyOptions::default(),
                )
                .unwrap();
            }
            Some(["trust-proxy", "install"]) => {
                assert_eq!(words.len(), 8, "{fix}");
                let ca_file = std::fs::read(flag("--ca-file").unwrap()).unwrap();
                self.install(&ca_file, flag("--fingerprint").unwrap());
            }
            _ => panic!("not a command this test knows how to run: {fix}"),
        }
    }
}

/// A way to damage one piece of an installation: what `status` must then name (`what` of the
/// piece), or `None` when the row has no such piece.
type Damage = (&'static str, fn(&StatusHost, &Ca) -> Option<&'static str>);

const DAMAGES: &[Damage] = &[
    ("CA removed from the OS store", |h, root| {
        let state = read_state(&h.layout);
        let relied_on = state.cas[0].added_to_os_store || state.cas[0].in_os_store;
        if !relied_on {
            return None;
        }
        let _ = h.store.remove(&root.cert_der(), "someone").unwrap();
        Some("OS store")
    }),
    ("env snippet edited", |h, _| {
        let path = h
            .layout
            .env_file(trust_proxy::install::envsnippet::Shell::Sh);
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"export SSL_CERT_FILE=/elsewhere\n");
        std::fs::write(&path, text).unwrap();
        Some("file")
    }),
    ("proxy CA file deleted", |h, _| {
        std::fs::remove_file(h.layout.proxy_ca()).unwrap();
        Some("file")
    }),
    ("/etc/environment block removed", |h, _| {
        let path = h.layout.etc_environment.clone()?;
        std::fs::write(path, b"PATH=/usr/bin\n").unwrap();
        Some("environment block")
    }),
    ("session variable changed", |h, _| {
        let env = h.env.as_ref()?;
        let name = env.vars.lock().unwrap().keys().next().cloned().unwrap();
        env.vars.lock().unwrap().insert(name, "/elsewhere".into());
        Some("session environment")
    }),
];

#[test]
fn status_judges_only_what_install_wrote_and_its_fixes_fix() {
    let root = Ca::new_root("Status Matrix Root");
    let root_cert = cert(&root.cert_der());
    let pin = root_cert.sha256().to_string();
    let mut damaged = 0;
    for row in STATUS_ROWS {
        if row.scope == Scope::System && !trust_proxy_platform::is_elevated() {
            eprintln!("SKIPPED status row {}: needs root", row.name);
            continue;
        }
        for (damage, apply_damage) in DAMAGES {
            let h = StatusHost::new(row, &root);
            h.install(root_cert.to_pem().as_bytes(), &pin);
            let s = h.status();
            assert!(s.healthy, "{}: after install: {:?}", row.name, s.pieces);
            assert!(s.pieces.iter().all(|p| p.status == "ok" && p.fix.is_none()));
            let Some(what) = apply_damage(&h, &root) else {
                continue;
            };
            damaged += 1;
            let s = h.status();
            assert!(!s.healthy, "{} / {damage}: {:?}", row.name, s.pieces);
            let broken: Vec<_> = s.pieces.iter().filter(|p| p.status != "ok").collect();
            assert_eq!(broken.len(), 1, "{} / {damage}: {broken:?}", row.name);
            assert_eq!(broken[0].what, what, "{} / {damage}", row.name);
            let fix = broken[0].fix.clone().unwrap();
            // Pasted as it is, it runs with the privileges the scope needs.
            assert_eq!(
                fix.starts_with("sudo trust-proxy "),
                row.scope == Scope::System && cfg!(unix),
                "{} / {damage}: {fix}",
                row.name
            );
            h.run_fix(&fix);
            let s = h.status();
            assert!(
                s.healthy,
                "{} / {damage}: `{fix}` did not repair it: {:?}",
                row.name, s.pieces
            );
        }
    }
    assert!(damaged >= 10, "only {damaged} damages applied");
}

/// Uninstall removes the directories the state says install created, when empty: a state
/// naming one that is not trust-proxy's own directory or above it is not trust-proxy's.
#[test]
fn a_state_naming_directories_outside_trust_proxys_own_is_refused() {
    let lab = Lab::new();
    let layout = lab.layout();
    lab.install(lab.request(vec![lab.pin()])).unwrap();
    let pristine = std::fs::read(layout.state_file()).unwrap();
    let recorded: serde_json::Value = serde_json::from_slice(&pristine).unwrap();
    assert_eq!(recorded["created_dirs"], serde_json::json!([layout.dir]));
    let theirs = lab.dir.path().join("theirs/empty");
    std::fs::create_dir_all(&theirs).unwrap();
    let mut state = recorded.clone();
    state["created_dirs"] = serde_json::json!([theirs, layout.dir]);
    std::fs::write(layout.state_file(), serde_json::to_vec(&state).unwrap()).unwrap();
    let err = lab.uninstall(&[]).unwrap_err();
    assert!(
        err.to_string().contains(&theirs.display().to_string()),
        "{err}"
    );
    assert!(theirs.is_dir());
    std::fs::write(layout.state_file(), &pristine).unwrap();
    lab.uninstall(&[]).unwrap();
    assert!(theirs.is_dir());
    assert!(!layout.dir.exists());
}

/// An optional store install added the CA to (`--nss`, a real NSS database): judged by its
/// record; its fix is the pinned install with the same flag, which adds the recorded CA back; a
/// profile deleted since is shown as gone, which is nothing to repair.
#[test]
fn status_judges_an_optional_store_by_its_record() {
    use trust_proxy::install::stores::{ExtraStore, ExtraStores, ExtraTarget};
    let certutil =
        trust_proxy_platform::nss::find_certutil().expect("certutil: run scripts/install-deps.sh");
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("profile");
    std::fs::create_dir_all(&db).unwrap();
    let mut db_arg = std::ffi::OsString::from("sql:");
    db_arg.push(&db);
    let made = std::process::Command::new(&certutil)
        .arg("-N")
        .arg("--empty-password")
        .arg("-d")
        .arg(&db_arg)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let store = ExtraStore::Nss {
        db: db.clone(),
        certutil,
        label: "test profile".into(),
    };
    let extra = ExtraStores {
        targets: vec![ExtraTarget {
            store: store.clone(),
            what: "test profile".into(),
            generated_by: None,
        }],
        notes: vec![],
    };
    let root = Ca::new_root("Optional Store Root");
    let host = StatusHost::new(&STATUS_ROWS[0], &root);
    let root_cert = cert(&root.cert_der());
    let pin = root_cert.sha256().to_string();
    let install_with_nss = |ca_file: &[u8]| {
        let mut req = Lab::new().request_via("http://127.0.0.1:9", vec![Pin::parse(&pin).unwrap()]);
        req.discover.targets = vec![];
        req.ca_files = trust_proxy::analyze::certload::load_certs(ca_file).unwrap();
        req.use_os_store = false;
        install::install(
            req,
            &host.layout,
            host.host().with_extra_stores(&extra),
            None,
        )
        .unwrap();
    };
    install_with_nss(root_cert.to_pem().as_bytes());
    let s = host.status();
    assert!(s.healthy, "{:?}", s.pieces);
    assert!(s
        .pieces
        .iter()
        .any(|p| p.what == "nss store" && p.status == "ok"));

    let recorded = read_state(&host.layout).extra_stores[0].name.clone();
    assert_eq!(
        store.remove(&root_cert, &recorded).unwrap(),
        Change::Removed
    );
    let s = host.status();
    let broken: Vec<_> = s.pieces.iter().filter(|p| p.status != "ok").collect();
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert_eq!(broken[0].what, "nss store");
    let fix = broken[0].fix.clone().unwrap();
    let words: Vec<&str> = fix.split_whitespace().collect();
    assert_eq!(
        words.get(..2),
        Some(&["trust-proxy", "install"][..]),
        "{fix}"
    );
    assert_eq!(words.last(), Some(&"--nss"), "{fix}");
    assert!(words.contains(&pin.as_str()), "{fix}");
    let ca_file = words
        .iter()
        .position(|w| *w == "--ca-file")
        .and_then(|i| words.get(i + 1))
        .unwrap();
    install_with_nss(&std::fs::read(ca_file).unwrap());
    assert!(host.status().healthy, "{fix} did not repair it");

    std::fs::remove_dir_all(&db).unwrap();
    let s = host.status();
    assert!(s.healthy, "{:?}", s.pieces);
    assert!(s
        .pieces
        .iter()
        .any(|p| p.what == "nss store" && p.status == "gone" && p.fix.is_none()));
}

/// The system scope leaves the tree as install found it too: `/etc/trust-proxy`, which install
/// created, goes; `/etc` and `/etc/profile.d`, which were there, stay.
#[cfg(target_os = "linux")]
#[test]
fn system_uninstall_leaves_the_tree_as_install_found_it() {
    if !running_as_root("system_uninstall_leaves_the_tree_as_install_found_it") {
        return;
    }
    let lab = Lab::new();
    let layout = system_layout(&lab);
    // Every distribution with pam_env ships one (an install that had to create it: the test
    // below).
    std::fs::write(
        lab.dir.path().join("root/etc/environment"),
        b"LANG=C.UTF-8\n",
    )
    .unwrap();
    let before = tree(lab.dir.path());
    system_install(&lab, &layout).unwrap();
    assert_eq!(
        read_state(&layout).created_dirs,
        vec![lab.dir.path().join("root/etc/trust-proxy")]
    );
    uninstall_in(&lab, &layout).unwrap();
    assert_eq!(before, tree(lab.dir.path()));
}

/// An `/etc/environment` that install had to create (a minimal image without one) is removed
/// with the block; had anyone added a line to it, it stays with that line.
#[cfg(target_os = "linux")]
#[test]
fn an_etc_environment_install_created_goes_with_uninstall() {
    if !running_as_root("an_etc_environment_install_created_goes_with_uninstall") {
        return;
    }
    for someone_adds_a_line in [false, true] {
        let lab = Lab::new();
        let layout = system_layout(&lab);
        let env_file = lab.dir.path().join("root/etc/environment");
        let before = tree(lab.dir.path());
        system_install(&lab, &layout).unwrap();
        assert!(env_file.exists());
        assert_eq!(
            read_state(&layout).created_block_files,
            vec![env_file.clone()]
        );
        // A second install keeps the record: the file it finds is the one it created.
        system_install(&lab, &layout).unwrap();
        assert_eq!(
            read_state(&layout).created_block_files,
            vec![env_file.clone()]
        );
        if someone_adds_a_line {
            let mut text = std::fs::read_to_string(&env_file).unwrap();
            text.push_str("EDITOR=vi\n");
            std::fs::write(&env_file, text).unwrap();
        }
        uninstall_in(&lab, &layout).unwrap();
        if someone_adds_a_line {
            assert_eq!(std::fs::read(&env_file).unwrap(), b"EDITOR=vi\n");
        } else {
            assert_eq!(before, tree(lab.dir.path()));
        }
    }
}
