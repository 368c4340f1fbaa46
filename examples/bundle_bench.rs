//! Time to compose, render and hash a CA bundle for a large OS store, to show it is linear:
//! `cargo run --release --example bundle_bench` prints the timings for 1,000 and 10,000
//! certificates and their ratio (about 10 when linear). Not a test: timings depend on the machine.

use std::time::{Duration, Instant};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SerialNumber};
use trust_proxy::analyze::certinfo::Cert;
use trust_proxy::install::bundle::{
    compose_bundle, hashed_dir_entries, render_bundle_pem, sync_hashed_dir,
};
use trust_proxy_platform::Distrust;

/// `n` distinct self-signed certificates; every seventh repeats the previous subject, so that the
/// hashed directory has collisions to number, as real stores do for re-issued roots.
fn generate(n: usize) -> Result<Vec<Vec<u8>>, Box<dyn std::error::Error>> {
    // One key for all: key generation is not what is measured, and the DER still differs.
    let key = KeyPair::generate()?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let subject_index = if i % 7 == 6 { i - 1 } else { i };
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::OrganizationName,
            format!("Bench Org {}", subject_index % 97),
        );
        dn.push(
            DnType::CommonName,
            format!("Bench Root CA {subject_index:05}"),
        );
        let mut params = CertificateParams::default();
        params.distinguished_name = dn;
        params.serial_number = Some(SerialNumber::from_slice(&(i as u64 + 1).to_be_bytes()));
        out.push(params.self_signed(&key)?.der().to_vec());
    }
    Ok(out)
}

struct Timing {
    parse: Duration,
    compute: Duration,
    /// The same without Mozilla's roots, whose parsing (signature checks of ~150 RSA roots) is a
    /// constant that hides the linear part at 1,000 certificates.
    compute_os_only: Duration,
    sync_first: Duration,
    sync_again: Duration,
    /// Baseline in the same run: the same files written with plain `std::fs::write` into a fresh
    /// directory, no safety checks, then one `sync -f` (syncfs) as the real sync does. Creating
    /// and flushing 10,000 files is filesystem-bound, and syncfs also flushes whatever else is
    /// dirty on that filesystem, so other I/O on the machine shows up in both.
    plain_writes: Duration,
    bundle_bytes: usize,
    entries: usize,
}

fn measure(ders: &[Vec<u8>]) -> Result<Timing, Box<dyn std::error::Error>> {
    let t = Instant::now();
    let certs = ders
        .iter()
        .map(|d| Cert::parse_anchor(d))
        .collect::<Result<Vec<_>, _>>()?;
    let parse = t.elapsed();

    // Best of three: the first run also warms caches and the allocator.
    let mut compute = Duration::MAX;
    let mut result = None;
    for _ in 0..3 {
        let t = Instant::now();
        let bundle = compose_bundle(&certs[1..], true, &certs[..1], &Distrust::empty())?;
        let pem = render_bundle_pem(&bundle);
        let all: Vec<Cert> = bundle.into_iter().map(|bc| bc.cert).collect();
        let entries = hashed_dir_entries(&all)?;
        compute = compute.min(t.elapsed());
        result = Some((pem, entries));
    }
    let (pem, entries) = result.ok_or("no run")?;
    let mut compute_os_only = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let bundle = compose_bundle(&certs[1..], false, &certs[..1], &Distrust::empty())?;
        let pem = render_bundle_pem(&bundle);
        let all: Vec<Cert> = bundle.into_iter().map(|bc| bc.cert).collect();
        let entries = hashed_dir_entries(&all)?;
        compute_os_only = compute_os_only.min(t.elapsed());
        std::hint::black_box((pem, entries));
    }

    let dir = tempfile::tempdir()?;
    let target = dir.path().join("certs");
    let t = Instant::now();
    sync_hashed_dir(&target, &entries)?;
    let sync_first = t.elapsed();
    let t = Instant::now();
    let again = sync_hashed_dir(&target, &entries)?;
    let sync_again = t.elapsed();
    assert_eq!(again.written, 0, "second sync rewrote files");
    let plain = dir.path().join("plain");
    let t = Instant::now();
    std::fs::create_dir(&plain)?;
    for (name, pem) in &entries {
        std::fs::write(plain.join(name), pem)?;
    }
    std::process::Command::new("sync")
        .arg("-f")
        .arg(&plain)
        .status()?;
    let plain_writes = t.elapsed();
    Ok(Timing {
        parse,
        compute,
        compute_os_only,
        sync_first,
        sync_again,
        plain_writes,
        bundle_bytes: pem.len(),
        entries: entries.len(),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Optional sizes on the command line (`-- 2000 20000`); the default is the pair.
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = match args[..] {
        [small, large] => [small, large],
        _ => [1_000, 10_000],
    };
    let mut results = Vec::new();
    for n in sizes {
        let ders = generate(n)?;
        let t = measure(&ders)?;
        println!(
            "{n:>6} certs: compose+render+hash {:>6.1} ms (without Mozilla's roots {:>6.1} ms) | \
             parse {:>6.1} ms | first sync {:>7.1} ms (plain writes {:>7.1} ms, ratio {:.2}) | \
             unchanged sync {:>6.1} ms | bundle {} KiB, {} dir entries",
            t.compute.as_secs_f64() * 1e3,
            t.compute_os_only.as_secs_f64() * 1e3,
            t.parse.as_secs_f64() * 1e3,
            t.sync_first.as_secs_f64() * 1e3,
            t.plain_writes.as_secs_f64() * 1e3,
            t.sync_first.as_secs_f64() / t.plain_writes.as_secs_f64().max(1e-9),
            t.sync_again.as_secs_f64() * 1e3,
            t.bundle_bytes / 1024,
            t.entries,
        );
        results.push(t);
    }
    let ratio = |f: fn(&Timing) -> Duration| {
        f(&results[1]).as_secs_f64() / f(&results[0]).as_secs_f64().max(1e-9)
    };
    println!(
        "{} vs {} ratio: compose+render+hash {:.1} (without Mozilla's roots {:.1}), \
         parse {:.1}, unchanged sync {:.1} ({} = linear)",
        sizes[1],
        sizes[0],
        ratio(|t| t.compute),
        ratio(|t| t.compute_os_only),
        ratio(|t| t.parse),
        ratio(|t| t.sync_again),
        sizes[1] / sizes[0].max(1),
    );
    Ok(())
}
