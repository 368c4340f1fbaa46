//! `trust-proxy verify` across every client present vs its slowest single client, in one run:
//! `bench/verify.sh` (or `cargo run --release --example verify_bench [ROUNDS]`). Not a test:
//! the figures depend on the machine and its load.
//!
//! Against the testkit's intercepting proxy on loopback (it answers 404 inside each tunnel), the
//! target `localhost` on a closed port, every client given the proxy's CA the way its own
//! setting takes it, so every one passes. Each round runs each client alone (`--tools X`) and
//! then all of them together, in rotating order; medians per command, and the ratio of the
//! all-clients run to the slowest single client.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use trust_proxy::tools::clients::find_on_path;
use trust_proxy_testkit::{mint_from, Ca, HttpReply, InterceptingProxy, ProxyConfig};

const PASS_THROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "CARGO_HOME",
    "JAVA_HOME",
    "TMPDIR",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(3);
    let bin = std::env::var("TRUST_PROXY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/trust-proxy")
        });
    let ca = Arc::new(Ca::new_root("Verify Bench Proxy CA"));
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(ca.clone(), vec![ca.cert_der()]))
            .answer_inside(HttpReply::status(404)),
    )?;
    let dir = tempfile::tempdir()?;
    let ca_file = dir.path().join("proxy-ca.pem");
    std::fs::write(&ca_file, ca.cert_pem())?;
    let mut bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    bundle.extend_from_slice(ca.cert_pem().as_bytes());
    let bundle_file = dir.path().join("bundle.pem");
    std::fs::write(&bundle_file, bundle)?;
    let mut env: Vec<(String, String)> = PASS_THROUGH
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    let b = bundle_file.display().to_string();
    for k in [
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "PIP_CERT",
        "CURL_CA_BUNDLE",
        "GIT_SSL_CAINFO",
        "NPM_CONFIG_CAFILE",
        "CARGO_HTTP_CAINFO",
    ] {
        env.push((k.to_string(), b.clone()));
    }
    env.push(("NODE_EXTRA_CA_CERTS".into(), ca_file.display().to_string()));
    env.push((
        "XDG_DATA_HOME".into(),
        dir.path().join("data").display().to_string(),
    ));
    if let Some(keytool) = find_on_path("keytool", std::env::var_os("PATH").as_deref()) {
        let store = dir.path().join("truststore.p12");
        let ok = Command::new(keytool)
            .args([
                "-importcert",
                "-noprompt",
                "-storetype",
                "PKCS12",
                "-keystore",
            ])
            .arg(&store)
            .args(["-storepass", "changeit", "-alias", "proxy", "-file"])
            .arg(&ca_file)
            .output()?;
        if ok.status.success() {
            env.push((
                "JAVA_TOOL_OPTIONS".into(),
                format!(
                    "-Djavax.net.ssl.trustStore={} -Djavax.net.ssl.trustStorePassword=changeit",
                    store.display()
                ),
            ));
        }
    }
    let target = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        format!("localhost:{}", l.local_addr()?.port())
    };
    let url = proxy.url();
    let run =
        |tools: Option<&str>| -> Result<(f64, f64, serde_json::Value), Box<dyn std::error::Error>> {
            let mut cmd = Command::new(&bin);
            cmd.args(["verify", "--json", "--proxy", &url, "--target", &target])
                .env_clear()
                .envs(env.iter().map(|(k, v)| (k, v)));
            if let Some(t) = tools {
                cmd.args(["--tools", t]);
            }
            let cpu_before = children_cpu();
            let start = Instant::now();
            let out = cmd.output()?;
            let secs = start.elapsed().as_secs_f64();
            let cpu = children_cpu() - cpu_before;
            Ok((secs, cpu, serde_json::from_slice(&out.stdout)?))
        };

    // Warm-up (page cache, JDK class data), and which clients are here and pass.
    let (_, _, first) = run(None)?;
    let clients: Vec<(String, String)> = first["clients"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["client"].as_str().unwrap_or("").to_string(),
                        c["status"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    println!("clients present: {clients:?}");
    let tools: Vec<String> = clients
        .iter()
        .filter(|(_, s)| s == "works")
        .map(|(c, _)| c.clone())
        .collect();
    let all_list = tools.join(",");
    let mut single: Vec<Vec<(f64, f64)>> = vec![Vec::new(); tools.len()];
    let mut all: Vec<(f64, f64)> = Vec::new();
    for round in 0..rounds {
        // Rotating order: the all-clients run is not always first or last.
        let slots = tools.len() + 1;
        for k in 0..slots {
            let i = (k + round) % slots;
            match tools.get(i) {
                Some(t) => {
                    let (secs, cpu, json) = run(Some(t))?;
                    if json["exit_code"] != 0 {
                        return Err(format!("{t} alone did not pass: {json}").into());
                    }
                    if let Some(v) = single.get_mut(i) {
                        v.push((secs, cpu));
                    }
                }
                None => {
                    let (secs, cpu, json) = run(Some(&all_list))?;
                    if json["exit_code"] != 0 {
                        return Err(format!("all clients did not pass: {json}").into());
                    }
                    all.push((secs, cpu));
                }
            }
        }
    }
    println!("{rounds} rounds, seconds (median wall, median cpu = user+sys of every process):");
    let mut slowest = ("", 0.0f64);
    let mut cpu_sum = 0.0;
    for (t, v) in tools.iter().zip(&single) {
        let (wall, cpu) = medians(v);
        cpu_sum += cpu;
        println!("  {t:<10} alone   wall {wall:6.2}  cpu {cpu:6.2}");
        if wall > slowest.1 {
            slowest = (t, wall);
        }
    }
    let (wall_all, cpu_all) = medians(&all);
    println!(
        "  all {} together wall {wall_all:6.2}  cpu {cpu_all:6.2} (the singles' cpu add up to {cpu_sum:.2})",
        tools.len()
    );
    println!("  slowest single client: {} {:.2}", slowest.0, slowest.1);
    println!(
        "ratio all/slowest (wall): {:.2}; machine load average now: {}",
        if slowest.1 > 0.0 {
            wall_all / slowest.1
        } else {
            0.0
        },
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    Ok(())
}

fn medians(v: &[(f64, f64)]) -> (f64, f64) {
    let median = |mut s: Vec<f64>| {
        s.sort_by(|a, b| a.total_cmp(b));
        s.get(s.len() / 2).copied().unwrap_or(0.0)
    };
    (
        median(v.iter().map(|x| x.0).collect()),
        median(v.iter().map(|x| x.1).collect()),
    )
}

/// User + system seconds of every child waited for so far (the verify processes and, through
/// them, every client they waited for).
#[cfg(unix)]
fn children_cpu() -> f64 {
    // SAFETY: getrusage fills the struct it is given; zeroed is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

#[cfg(not(unix))]
fn children_cpu() -> f64 {
    0.0
}
