//! Exercises the Windows backend against a real crypt32 (wine in CI): add a test CA to
//! CurrentUser\Root, list it back, remove it, list again, saying what it saw at each step.
//!
//! `winstore [cycle|add|remove|status|scopes] [--system]`; `status` prints `present`/`absent` so a
//! second process can check what actually persisted (wine keeps the store in its registry).
//! `--system` uses LocalMachine\Root (admin, no confirmation dialog) for throwaway CI machines.
//! `scopes` (needs an administrator: it writes LocalMachine) checks that the two scopes keep to
//! their own physical stores, that the system scope's roots leave out CurrentUser's, that a
//! Disallowed copy removes a root from both, and that an added root carries the server-auth-only
//! enhanced key usage property.

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

    if std::env::args().nth(1).as_deref() == Some("scopes") {
        return scopes::run();
    }

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
        let roots = os_roots(scope)?.iter().any(|c| c == &ca);
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
            let change = store.remove(&ca, "trust-proxy winstore test CA")?;
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

            let change = store.remove(&ca, "trust-proxy winstore test CA")?;
            println!("remove -> {change:?}");
            expect("remove reports Removed", change == Change::Removed);
            expect("absent after remove", !seen("after remove")?);
            let again = store.remove(&ca, "trust-proxy winstore test CA")?;
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

#[cfg(windows)]
mod scopes {
    use std::io;

    use schannel::cert_context::CertContext;
    use schannel::cert_store::{CertAdd, CertStore, CertStoreBuilder};
    use schannel::RawPointer;
    use trust_proxy_platform::{
        os_distrusted, os_roots, os_store, parse_certificates, sha1_thumbprint, CertificateDer,
        Change, Scope, StoreError,
    };
    use windows_sys::Win32::Foundation::CRYPT_E_NOT_FOUND;
    use windows_sys::Win32::Security::Cryptography::{
        CertControlStore, CertGetEnhancedKeyUsage, CertOpenStore,
        CERT_FIND_PROP_ONLY_ENHKEY_USAGE_FLAG, CERT_STORE_CTRL_COMMIT,
        CERT_STORE_PROV_SYSTEM_REGISTRY_W, CERT_SYSTEM_STORE_CURRENT_USER_ID,
        CERT_SYSTEM_STORE_LOCAL_MACHINE_ID, CERT_SYSTEM_STORE_LOCATION_SHIFT, CTL_USAGE,
    };

    struct Checks(bool);

    impl Checks {
        fn expect(&mut self, what: &str, got: bool) {
            println!("  {}: {what}", if got { "ok" } else { "FAIL" });
            self.0 &= got;
        }
    }

    fn has(list: &[CertificateDer<'static>], ca: &CertificateDer<'_>) -> bool {
        list.iter().any(|c| c.as_ref() == ca.as_ref())
    }

    /// Only the registry store of one location, what `WindowsStore` writes: read independently
    /// of the code under test.
    fn physical(location: u32) -> io::Result<CertStore> {
        let name: Vec<u16> = "Root".encode_utf16().chain([0]).collect();
        // SAFETY: NUL-terminated name outliving the call; the handle is owned by CertStore.
        let h = unsafe {
            CertOpenStore(
                CERT_STORE_PROV_SYSTEM_REGISTRY_W,
                0,
                0,
                location << CERT_SYSTEM_STORE_LOCATION_SHIFT,
                name.as_ptr().cast(),
            )
        };
        if h.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a store handle just opened.
        Ok(unsafe { CertStore::from_ptr(h) })
    }

    fn find(store: &CertStore, ca: &CertificateDer<'_>) -> Option<CertContext> {
        let want = sha1_thumbprint(ca.as_ref());
        store.certs().find(|c| sha1_thumbprint(c.to_der()) == want)
    }

    /// The enhanced key usage *property* alone (not the certificate's extension), as OIDs;
    /// empty when the certificate has no such property.
    fn eku_property(cert: &CertContext) -> io::Result<Vec<String>> {
        let mut len = 0u32;
        let flags = CERT_FIND_PROP_ONLY_ENHKEY_USAGE_FLAG;
        // SAFETY: size query with a null buffer.
        if unsafe {
            CertGetEnhancedKeyUsage(cert.as_ptr().cast(), flags, std::ptr::null_mut(), &mut len)
        } == 0
        {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(CRYPT_E_NOT_FOUND) {
                return Ok(Vec::new());
            }
            return Err(e);
        }
        let mut buf = vec![0u64; (len as usize).div_ceil(8)];
        let usage = buf.as_mut_ptr().cast::<CTL_USAGE>();
        // SAFETY: buf is `len` bytes, 8-aligned, as the call asked for.
        if unsafe { CertGetEnhancedKeyUsage(cert.as_ptr().cast(), flags, usage, &mut len) } == 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(CRYPT_E_NOT_FOUND) {
                return Ok(Vec::new());
            }
            return Err(e);
        }
        // SAFETY: filled in by the call above; the strings live in `buf`.
        let oids = unsafe {
            let u = &*usage;
            (0..u.cUsageIdentifier as usize)
                .map(|i| {
                    std::ffi::CStr::from_ptr((*u.rgpszUsageIdentifier.add(i)).cast())
                        .to_string_lossy()
                        .into_owned()
                })
                .collect()
        };
        Ok(oids)
    }

    fn commit(store: &CertStore) {
        // SAFETY: valid handle; COMMIT takes no parameter.
        unsafe { CertControlStore(store.as_ptr(), 0, CERT_STORE_CTRL_COMMIT, std::ptr::null()) };
    }

    fn disallowed(add: Option<&CertificateDer<'_>>, remove: &CertificateDer<'_>) -> io::Result<()> {
        let mut store = CertStoreBuilder::new().open_local_machine("Disallowed")?;
        if let Some(ca) = add {
            store.add_cert(&CertContext::new(ca.as_ref())?, CertAdd::ReplaceExisting)?;
        } else if let Some(c) = find(&store, remove) {
            c.delete()?;
        }
        commit(&store);
        Ok(())
    }

    pub fn run() -> Result<bool, StoreError> {
        let Some(ca) =
            parse_certificates(include_bytes!("../testdata/test-ca-b.pem").as_slice()).pop()
        else {
            return Ok(false);
        };
        let os = |what: &str, e: io::Error| StoreError::Os {
            what: what.into(),
            source: e,
        };
        let user = os_store(Scope::User)?;
        let system = os_store(Scope::System)?;
        let mut c = Checks(true);
        // A clean start whatever an earlier, failed run left.
        let _ = user.remove(&ca, "trust-proxy winstore scopes");
        let _ = system.remove(&ca, "trust-proxy winstore scopes");
        let _ = disallowed(None, &ca);

        println!("machine install (LocalMachine\\Root)");
        let added = system.add(&ca, "trust-proxy winstore scopes")?;
        c.expect("system add reports Added", added == Change::Added);
        c.expect(
            "user store does not contain the machine's copy",
            !user.contains(&ca)?,
        );
        c.expect(
            "os_roots(User) includes machine roots",
            has(&os_roots(Scope::User)?, &ca),
        );
        c.expect(
            "os_roots(System) has it",
            has(&os_roots(Scope::System)?, &ca),
        );
        let removed = user.remove(&ca, "trust-proxy winstore scopes")?;
        c.expect(
            "user remove leaves the machine's copy alone (Unchanged)",
            removed == Change::Unchanged,
        );
        let lm = physical(CERT_SYSTEM_STORE_LOCAL_MACHINE_ID).map_err(|e| os("open LM", e))?;
        c.expect(
            "machine copy still in LocalMachine's registry store",
            find(&lm, &ca).is_some(),
        );

        println!("user install (CurrentUser\\Root) beside the machine's");
        let added = user.add(&ca, "trust-proxy winstore scopes")?;
        c.expect(
            "user add writes its own copy (Added)",
            added == Change::Added,
        );
        let cu = physical(CERT_SYSTEM_STORE_CURRENT_USER_ID).map_err(|e| os("open CU", e))?;
        match find(&cu, &ca) {
            Some(cert) => {
                let eku = eku_property(&cert).map_err(|e| os("read EKU property", e))?;
                println!("  EKU property of the user copy: {eku:?}");
                c.expect(
                    "EKU property is serverAuth only",
                    eku == ["1.3.6.1.5.5.7.3.1"],
                );
            }
            None => c.expect("user copy in CurrentUser's registry store", false),
        }
        let removed = system.remove(&ca, "trust-proxy winstore scopes")?;
        c.expect("system remove reports Removed", removed == Change::Removed);
        c.expect(
            "user copy survives the machine uninstall",
            user.contains(&ca)?,
        );
        c.expect(
            "os_roots(System) leaves out a root only CurrentUser trusts",
            !has(&os_roots(Scope::System)?, &ca),
        );
        c.expect("os_roots(User) has it", has(&os_roots(Scope::User)?, &ca));

        println!("machine distrust (LocalMachine\\Disallowed)");
        disallowed(Some(&ca), &ca).map_err(|e| os("add to Disallowed", e))?;
        c.expect(
            "os_distrusted(System) has it",
            has(&os_distrusted(Scope::System)?, &ca),
        );
        c.expect(
            "os_distrusted(User) has it",
            has(&os_distrusted(Scope::User)?, &ca),
        );
        c.expect(
            "os_roots(User) drops a distrusted root",
            !has(&os_roots(Scope::User)?, &ca),
        );
        c.expect("list() drops it too", !has(&user.list()?, &ca));
        disallowed(None, &ca).map_err(|e| os("remove from Disallowed", e))?;
        c.expect(
            "not distrusted once removed",
            !has(&os_distrusted(Scope::System)?, &ca),
        );

        let removed = user.remove(&ca, "trust-proxy winstore scopes")?;
        c.expect("user remove reports Removed", removed == Change::Removed);
        c.expect(
            "gone from both",
            !user.contains(&ca)? && !system.contains(&ca)?,
        );
        Ok(c.0)
    }
}

#[cfg(not(windows))]
fn main() {
    eprintln!("winstore: Windows only; build for x86_64-pc-windows-gnu and run it under wine");
}
