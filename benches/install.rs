//! `cargo bench --bench install`: the cost of `install` minus the OS refresh command, for a real
//! Debian-layout store in a temporary tree (anchor file written, refresh skipped) and the real
//! OS roots of this machine in the bundle. Printed against a baseline measured in the same run:
//! writing the same files with plain `std::fs::write` (the I/O floor). Not a test.

#[cfg(target_os = "linux")]
mod linux_bench {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use trust_proxy::analyze::certinfo::Cert;
    use trust_proxy::analyze::classify::PublicRoots;
    use trust_proxy::discover::proxy::ProxySettings;
    use trust_proxy::discover::DiscoverConfig;
    use trust_proxy::install::apply::ApplyOptions;
    use trust_proxy::install::decide::{Pin, Policy};
    use trust_proxy::install::layout::Layout;
    use trust_proxy::install::plan::Host;
    use trust_proxy::install::{self, InstallRequest};
    use trust_proxy_platform::linux::{Family, LinuxStore, NoRefresh};
    use trust_proxy_platform::Scope;

    const ROUNDS: usize = 15;

    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }

    fn request(root: &Cert, os_roots: &[Cert]) -> InstallRequest {
        InstallRequest {
            discover: DiscoverConfig {
                // No targets: the pinned --ca-file path, as on an imaging machine.
                targets: vec![],
                proxy: ProxySettings::default(),
                ca_files: vec![],
                public: PublicRoots::mozilla(),
                os_roots: os_roots.to_vec(),
                os_store: "bench".into(),
                timeout: Duration::from_secs(1),
                read_file: Box::new(|_| None),
            },
            ca_files: vec![root.clone()],
            pins: vec![Pin::parse(root.sha256()).expect("own fingerprint")],
            policy: Policy {
                interactive: false,
                assume_yes: true,
                trust_on_first_use: false,
                system_scope: true,
            },
            use_os_store: true,
            dry_run: false,
            apply: ApplyOptions::default(),
        }
    }

    fn tree_files(dir: &Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                tree_files(&p, out);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }

    pub fn run() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Bench Interception Root");
        let root = Cert::parse(params.self_signed(&key).expect("cert").der()).expect("parse");
        let os_roots: Vec<Cert> = trust_proxy_platform::os_roots(Scope::System)
            .unwrap_or_default()
            .iter()
            .filter_map(|d| Cert::parse_anchor(d).ok())
            .collect();

        let mut first = Vec::new();
        let mut again = Vec::new();
        let mut remove = Vec::new();
        let mut floor = Vec::new();
        let mut files_written = 0;
        for _ in 0..ROUNDS {
            let tmp = tempfile::tempdir().expect("tempdir");
            let sysroot = tmp.path().join("root");
            std::fs::create_dir_all(sysroot.join("usr/local/share/ca-certificates"))
                .expect("mkdir");
            let store =
                LinuxStore::new(&sysroot, Family::Debian).with_refresher(Arc::new(NoRefresh));
            // User scope: the system scope also checks that every parent is root-owned and not
            // world-writable, which a temporary directory under /tmp is not.
            let layout = Layout::plain(Scope::User, sysroot.join("etc/trust-proxy"));

            let t = Instant::now();
            install::install(request(&root, &os_roots), &layout, Host::new(&store), None)
                .expect("install");
            first.push(t.elapsed());

            let t = Instant::now();
            let r = install::install(request(&root, &os_roots), &layout, Host::new(&store), None)
                .expect("again");
            again.push(t.elapsed());
            assert!(r.unchanged);

            // The I/O floor: the same bytes written with plain writes into a fresh tree.
            let mut files = Vec::new();
            tree_files(&sysroot, &mut files);
            files_written = files.len();
            let copy = tmp.path().join("copy");
            let t = Instant::now();
            for (p, b) in &files {
                let dest = copy.join(p.strip_prefix(&sysroot).expect("prefix"));
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).expect("mkdir");
                }
                std::fs::write(&dest, b).expect("write");
            }
            floor.push(t.elapsed());

            let t = Instant::now();
            install::uninstall(
                &layout,
                Host::new(&store),
                &os_roots,
                &[],
                false,
                ApplyOptions::default(),
            )
            .expect("uninstall");
            remove.push(t.elapsed());
        }
        let (first, again, remove, floor) =
            (median(first), median(again), median(remove), median(floor));
        let ratio = |d: Duration| d.as_secs_f64() / floor.as_secs_f64().max(1e-9);
        println!("install bench: {ROUNDS} rounds, {} OS roots + Mozilla's in the bundle, {files_written} files", os_roots.len());
        println!(
            "  baseline: plain writes of the same files   {:>8.2} ms",
            floor.as_secs_f64() * 1e3
        );
        println!(
            "  install (first, refresh skipped)           {:>8.2} ms  ({:.1}x baseline)",
            first.as_secs_f64() * 1e3,
            ratio(first)
        );
        println!(
            "  install again (nothing changes)            {:>8.2} ms  ({:.1}x baseline)",
            again.as_secs_f64() * 1e3,
            ratio(again)
        );
        println!(
            "  uninstall (refresh skipped)                {:>8.2} ms  ({:.1}x baseline)",
            remove.as_secs_f64() * 1e3,
            ratio(remove)
        );
        println!("  goal: install well under 100 ms");
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    linux_bench::run();
    #[cfg(not(target_os = "linux"))]
    println!("install bench: uses the Linux store layout; nothing to measure on this OS");
}
