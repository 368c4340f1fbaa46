//! `--proxy-user USER` finds the password in the OS keyring (service `trust-proxy`, account
//! `USER@HOST:PORT` of the proxy) when TRUST_PROXY_PROXY_PASSWORD is unset, before any prompt.
//! On Linux the store is the kernel keyring: the test puts the entry into its own session
//! keyring (which the child inherits) and invalidates it afterwards; nothing else is touched.
#![cfg(target_os = "linux")]

use std::process::Stdio;
use std::sync::Arc;
use trust_proxy_testkit::*;

const EXE: &str = env!("CARGO_BIN_EXE_trust-proxy");

#[path = "support/kernel_keyring.rs"]
mod kernel_keyring;
use kernel_keyring::StoredPassword;

#[test]
fn the_password_comes_from_the_keyring_entry_for_that_proxy() {
    // Unique per run, so a parallel or earlier run's entry cannot answer for this one.
    let user = format!("kr-{}", std::process::id());
    let password = format!("Keyring-Pw-{}", std::process::id());
    let root = Arc::new(Ca::new_root("Keyring Root"));
    let proxy = InterceptingProxy::start(
        ProxyConfig::new(mint_from(root.clone(), vec![root.cert_der()]))
            .auth(BasicAuth::new(&user, &password)),
    )
    .unwrap();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.addr().port());
    let discover = || {
        let mut c = trust_proxy_testkit::cli::clean_command(EXE);
        c.args(["discover", "--target", "pypi.org", "--proxy", &proxy_url])
            .args(["--proxy-user", &user])
            .env_remove("TRUST_PROXY_PROXY_PASSWORD")
            .stdin(Stdio::null());
        trust_proxy_testkit::cli::output_text(&mut c).unwrap()
    };

    let account = format!("{user}@127.0.0.1:{}", proxy.addr().port());
    let (code, out, err) = discover();
    assert_eq!(code, 2, "no entry, no terminal: {out}{err}");
    assert!(err.contains(&format!("account \"{account}\"")), "{err}");

    // An entry for another proxy is not this one's.
    let other = StoredPassword::new(&format!("{user}@127.0.0.1:1"), &password);
    let (code, _, err) = discover();
    assert_eq!(code, 2, "{err}");
    drop(other);

    let stored = StoredPassword::new(&account, &password);
    let (code, out, err) = discover();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("TLS interception found"), "{out}");
    assert!(!out.contains(&password) && !err.contains(&password));
    drop(stored);
}
