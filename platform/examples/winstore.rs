//! Exercises the Windows backend against a real crypt32 (wine in CI): add a test CA to
//! CurrentUser\Root, list it back, remove it, list again, saying what it saw at each step.
//!
//! `winstore [cycle|add|remove|status] [--system]`; `status` prints `present`/`absent` so a second
//! process can check what actually persisted (wine keeps the store in its registry). `--system`
//! uses LocalMachine\Root (admin, no confirmation dialog) for throwaway CI machines.

#[cfg(windows)]
fn main() -> std::process::ExitCode {
    match run() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("winstore: error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

#[cfg(windows)]
fn run() -> Result<bool, trust_proxy_platform::StoreError> {
    use trust_proxy_platform::{
        hex_upper, os_roots, os_store, parse_certificates, sha1_thumbprint, Change, Scope,
    };

    let Some(ca) = parse_certificates(include_bytes!("../testdata/test-ca-a.pem").as_slice()).pop()
    else {
        eprintln!("winstore: test CA did not parse");
        return Ok(false);
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scope = if args.iter().any(|a| a == "--system") {
        Scope::System
    } else {
        Scope::User
    };
    let command = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(String::as_str)
        .unwrap_or("cycle");
    let store = os_store(scope)?;
    let thumb = hex_upper(&sha1_thumbprint(ca.as_ref()));
    println!("store: {}", store.describe());
    println!("test CA thumbprint: {thumb}");

    let seen = |label: &str| -> Result<bool, trust_proxy_platform::StoreError> {
        let all = store.list()?;
        let listed = all.iter().any(|c| c == &ca);
        let contained = store.contains(&ca)?;
        // os_roots() is the CurrentUser view, which includes LocalMachine\Root.
        let roots = os_roots()?.iter().any(|c| c == &ca);
        println!("{label}: list() has {} roots, test CA listed={listed} contains={contained} os_roots={roots}", all.len());
        Ok(listed && contained && roots)
    };

    let mut ok = true;
    let mut expect = |what: &str, got: bool| {
        println!("  {}: {what}", if got { "ok" } else { "FAIL" });
        ok &= got;
    };
    match command {
        "status" => {
            println!("{}", if seen("status")? { "present" } else { "absent" });
            return Ok(true);
        }
        "add" => {
            let change = store.add(&ca, "trust-proxy winstore test CA")?;
            println!("add -> {change:?}");
            expect("present after add", seen("after add")?);
        }
        "remove" => {
            let change = store.remove(&ca)?;
            println!("remove -> {change:?}");
            expect("absent after remove", !seen("after remove")?);
        }
        "cycle" => {
            let before = seen("before")?;
            if before {
                println!("  note: test CA already present (left over from an earlier run)");
            }
            let change = store.add(&ca, "trust-proxy winstore test CA")?;
            println!("add -> {change:?}");
            expect(
                "add reports Added (or Unchanged if left over)",
                change == Change::Added || before,
            );
            expect("present after add", seen("after add")?);
            let again = store.add(&ca, "trust-proxy winstore test CA")?;
            println!("add again -> {again:?}");
            expect("second add is Unchanged", again == Change::Unchanged);

            let change = store.remove(&ca)?;
            println!("remove -> {change:?}");
            expect("remove reports Removed", change == Change::Removed);
            expect("absent after remove", !seen("after remove")?);
            let again = store.remove(&ca)?;
            println!("remove again -> {again:?}");
            expect("second remove is Unchanged", again == Change::Unchanged);
        }
        other => {
            eprintln!("usage: winstore [cycle|add|remove|status] [--system] (got {other:?})");
            return Ok(false);
        }
    }
    Ok(ok)
}

#[cfg(not(windows))]
fn main() {
    eprintln!("winstore: Windows only; build for x86_64-pc-windows-gnu and run it under wine");
}
