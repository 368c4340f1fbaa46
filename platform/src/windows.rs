//! Windows: the `Root` certificate store of CurrentUser or LocalMachine, through crypt32.
//!
//! Two views of the stores, on purpose:
//! - `add`, `contains` and `remove` work on the one *physical* registry store trust-proxy writes
//!   (`HKCU` or `HKLM\SOFTWARE\Microsoft\SystemCertificates\Root`). The *logical* CurrentUser\Root
//!   that `CertOpenSystemStore` gives also shows LocalMachine's roots: through it, a CA the machine
//!   already trusts would look "present" to a user install, and a user uninstall would delete the
//!   machine's copy.
//! - `list` and [`trusted_roots`] are what TLS on the machine trusts for the scope: the Root and
//!   AuthRoot stores (and the Group Policy and Enterprise ones) of LocalMachine, plus CurrentUser's
//!   for the user scope, without anything in a Disallowed store ([`distrusted`]).
//!
//! Entries are matched by SHA-1 thumbprint, the key Windows itself files them under
//! (`...\SystemCertificates\Root\Certificates\<thumbprint>`); serial numbers are not unique.

use std::collections::HashSet;
use std::io;

use schannel::cert_context::{CertContext, ValidUses};
use schannel::cert_store::{CertAdd, CertStore};
use schannel::RawPointer;
use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND};
use windows_sys::Win32::Security::Cryptography::{
    CertControlStore, CertOpenStore, CertSetEnhancedKeyUsage, CERT_STORE_CTRL_COMMIT,
    CERT_STORE_OPEN_EXISTING_FLAG, CERT_STORE_PROV_SYSTEM_REGISTRY_W, CERT_STORE_PROV_SYSTEM_W,
    CERT_STORE_READONLY_FLAG, CERT_SYSTEM_STORE_CURRENT_USER_GROUP_POLICY_ID,
    CERT_SYSTEM_STORE_CURRENT_USER_ID, CERT_SYSTEM_STORE_LOCAL_MACHINE_ENTERPRISE_ID,
    CERT_SYSTEM_STORE_LOCAL_MACHINE_GROUP_POLICY_ID, CERT_SYSTEM_STORE_LOCAL_MACHINE_ID,
    CERT_SYSTEM_STORE_LOCATION_SHIFT, CTL_USAGE,
};

use crate::win_str::wide;
use crate::{sha1_thumbprint, CertificateDer, Change, Scope, StoreError, TrustStore};

const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
/// `SERVER_AUTH` as the NUL-terminated ANSI string `CTL_USAGE` points at.
const SERVER_AUTH_C: &[u8] = b"1.3.6.1.5.5.7.3.1\0";

/// A system store location (`CERT_SYSTEM_STORE_*`): where the registry keeps a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Location {
    CurrentUser,
    CurrentUserGroupPolicy,
    LocalMachine,
    LocalMachineGroupPolicy,
    LocalMachineEnterprise,
}

impl Location {
    fn id(self) -> u32 {
        match self {
            Location::CurrentUser => CERT_SYSTEM_STORE_CURRENT_USER_ID,
            Location::CurrentUserGroupPolicy => CERT_SYSTEM_STORE_CURRENT_USER_GROUP_POLICY_ID,
            Location::LocalMachine => CERT_SYSTEM_STORE_LOCAL_MACHINE_ID,
            Location::LocalMachineGroupPolicy => CERT_SYSTEM_STORE_LOCAL_MACHINE_GROUP_POLICY_ID,
            Location::LocalMachineEnterprise => CERT_SYSTEM_STORE_LOCAL_MACHINE_ENTERPRISE_ID,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Location::CurrentUser => "CurrentUser",
            Location::CurrentUserGroupPolicy => "CurrentUserGroupPolicy",
            Location::LocalMachine => "LocalMachine",
            Location::LocalMachineGroupPolicy => "LocalMachineGroupPolicy",
            Location::LocalMachineEnterprise => "LocalMachineEnterprise",
        }
    }
}

/// The logical system stores a scope trusts roots from. The logical Root of a location already
/// merges its `.GroupPolicy` and `.Enterprise` physical stores on Windows; they are opened on
/// their own too because not every crypt32 (wine's) merges them, and a duplicate costs nothing.
fn trust_sources(scope: Scope) -> &'static [(Location, &'static str)] {
    const SYSTEM: &[(Location, &str)] = &[
        (Location::LocalMachine, "Root"),
        (Location::LocalMachine, "AuthRoot"),
        (Location::LocalMachineGroupPolicy, "Root"),
        (Location::LocalMachineEnterprise, "Root"),
    ];
    const USER: &[(Location, &str)] = &[
        (Location::LocalMachine, "Root"),
        (Location::LocalMachine, "AuthRoot"),
        (Location::LocalMachineGroupPolicy, "Root"),
        (Location::LocalMachineEnterprise, "Root"),
        (Location::CurrentUser, "Root"),
        (Location::CurrentUserGroupPolicy, "Root"),
    ];
    match scope {
        Scope::System => SYSTEM,
        Scope::User => USER,
    }
}

/// The Disallowed stores that override the trust sources of the same scope.
fn distrust_sources(scope: Scope) -> &'static [(Location, &'static str)] {
    const SYSTEM: &[(Location, &str)] = &[
        (Location::LocalMachine, "Disallowed"),
        (Location::LocalMachineGroupPolicy, "Disallowed"),
        (Location::LocalMachineEnterprise, "Disallowed"),
    ];
    const USER: &[(Location, &str)] = &[
        (Location::LocalMachine, "Disallowed"),
        (Location::LocalMachineGroupPolicy, "Disallowed"),
        (Location::LocalMachineEnterprise, "Disallowed"),
        (Location::CurrentUser, "Disallowed"),
        (Location::CurrentUserGroupPolicy, "Disallowed"),
    ];
    match scope {
        Scope::System => SYSTEM,
        Scope::User => USER,
    }
}

/// Which crypt32 provider opens the store: the logical view, or only the registry store itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// `CERT_STORE_PROV_SYSTEM`: everything the location shows under that name.
    Logical,
    /// `CERT_STORE_PROV_SYSTEM_REGISTRY`: the location's own registry key, nothing merged in.
    Registry,
}

fn open_store(
    location: Location,
    name: &str,
    view: View,
    read_only: bool,
) -> io::Result<CertStore> {
    let name_w = wide(name).map_err(|e| io::Error::other(e.to_string()))?;
    let provider = match view {
        View::Logical => CERT_STORE_PROV_SYSTEM_W,
        View::Registry => CERT_STORE_PROV_SYSTEM_REGISTRY_W,
    };
    let mut flags = location.id() << CERT_SYSTEM_STORE_LOCATION_SHIFT;
    if read_only {
        // Reading never creates a store (or its registry key) that was not there.
        flags |= CERT_STORE_READONLY_FLAG | CERT_STORE_OPEN_EXISTING_FLAG;
    }
    // SAFETY: name_w is NUL-terminated UTF-16 and outlives the call, as the system providers
    // expect of pvPara; encoding type and provider handle are unused by them.
    let handle = unsafe { CertOpenStore(provider, 0, 0, flags, name_w.as_ptr().cast()) };
    if handle.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a store handle just opened, owned from here on by CertStore, which closes it.
    Ok(unsafe { CertStore::from_ptr(handle) })
}

/// Every certificate of the logical store; a store that does not exist on this machine (no
/// Group Policy or Enterprise roots) is empty rather than an error.
fn read_logical(location: Location, name: &str) -> Result<Vec<CertContext>, StoreError> {
    match open_store(location, name, View::Logical, true) {
        Ok(store) => Ok(store.certs().collect()),
        Err(e) if is_absent(&e) => Ok(Vec::new()),
        Err(source) => Err(StoreError::Os {
            what: format!("open {}\\{name}", location.label()),
            source,
        }),
    }
}

fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().and_then(|c| u32::try_from(c).ok()),
        Some(ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND)
    )
}

fn distrusted_thumbprints(scope: Scope) -> Result<HashSet<[u8; 20]>, StoreError> {
    let mut out = HashSet::new();
    for &(location, name) in distrust_sources(scope) {
        for cert in read_logical(location, name)? {
            out.insert(sha1_thumbprint(cert.to_der()));
        }
    }
    Ok(out)
}

/// Certificates the scope's Disallowed stores hold: Windows refuses them whatever Root says.
pub fn distrusted(scope: Scope) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for &(location, name) in distrust_sources(scope) {
        for cert in read_logical(location, name)? {
            if seen.insert(sha1_thumbprint(cert.to_der())) {
                out.push(CertificateDer::from(cert.to_der().to_vec()));
            }
        }
    }
    Ok(out)
}

/// The roots TLS trusts for `scope`: see the module documentation.
pub fn trusted_roots(scope: Scope) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let distrusted = distrusted_thumbprints(scope)?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for &(location, name) in trust_sources(scope) {
        for cert in read_logical(location, name)? {
            let thumb = sha1_thumbprint(cert.to_der());
            if distrusted.contains(&thumb) || !usable_for_tls(&cert) || !seen.insert(thumb) {
                continue;
            }
            out.push(CertificateDer::from(cert.to_der().to_vec()));
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
pub struct WindowsStore {
    scope: Scope,
}

impl WindowsStore {
    /// `Scope::User` writes CurrentUser's own Root registry store; adding to it makes Windows
    /// show a confirmation dialog. `Scope::System` writes LocalMachine's (admin, no dialog, and
    /// the only one services running as SYSTEM see).
    pub fn new(scope: Scope) -> WindowsStore {
        WindowsStore { scope }
    }

    fn location(&self) -> Location {
        match self.scope {
            Scope::User => Location::CurrentUser,
            Scope::System => Location::LocalMachine,
        }
    }

    fn name(&self) -> String {
        format!("{}\\Root (registry store)", self.location().label())
    }

    /// The registry store for writing; created if absent (a fresh wine prefix).
    fn open_writable(&self) -> Result<CertStore, StoreError> {
        open_store(self.location(), "Root", View::Registry, false).map_err(|source| {
            StoreError::Os {
                what: format!("open {}", self.name()),
                source,
            }
        })
    }

    fn matching(&self, store: &CertStore, cert: &[u8]) -> Vec<CertContext> {
        let want = sha1_thumbprint(cert);
        store
            .certs()
            .filter(|c| sha1_thumbprint(c.to_der()) == want)
            .collect()
    }
}

/// Flushes pending changes to the registry now. Windows persists a change at once, but wine's
/// crypt32 queues deletions until the store is freed, and a context reference it keeps after
/// `CertDeleteCertificateFromStore` can postpone that past process exit (seen with wine 8.0).
fn commit(store: &CertStore) -> io::Result<()> {
    // SAFETY: the handle belongs to `store`, which outlives the call; COMMIT takes no parameter.
    let ok =
        unsafe { CertControlStore(store.as_ptr(), 0, CERT_STORE_CTRL_COMMIT, std::ptr::null()) };
    if ok != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Restricts what Windows trusts the root for to TLS server authentication, through the
/// enhanced key usage *property* (`CERT_ENHKEY_USAGE_PROP_ID`): the certificate itself is not
/// changed, and chain building intersects the property with any EKU extension it carries.
fn restrict_to_server_auth(context: &CertContext) -> io::Result<()> {
    let mut oids = [SERVER_AUTH_C.as_ptr().cast_mut()];
    let usage = CTL_USAGE {
        cUsageIdentifier: 1,
        rgpszUsageIdentifier: oids.as_mut_ptr(),
    };
    // SAFETY: the context is valid for the call; `usage` points at one NUL-terminated OID that
    // outlives the call. CertSetEnhancedKeyUsage encodes it and copies the result.
    let ok = unsafe { CertSetEnhancedKeyUsage(context.as_ptr().cast(), &usage) };
    if ok != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A root restricted by its extended key usage to other purposes (code signing, ...) does not
/// anchor TLS. An unreadable EKU property is treated as unrestricted: the entry is still in Root.
fn usable_for_tls(cert: &CertContext) -> bool {
    match cert.valid_uses() {
        Ok(ValidUses::All) | Err(_) => true,
        Ok(ValidUses::Oids(oids)) => oids.iter().any(|o| o == SERVER_AUTH),
    }
}

impl TrustStore for WindowsStore {
    fn describe(&self) -> String {
        format!("Windows certificate store {}", self.name())
    }

    fn list(&self) -> Result<Vec<CertificateDer<'static>>, StoreError> {
        trusted_roots(self.scope)
    }

    fn contains(&self, cert: &CertificateDer<'_>) -> Result<bool, StoreError> {
        let store = match open_store(self.location(), "Root", View::Registry, true) {
            Ok(store) => store,
            Err(e) if is_absent(&e) => return Ok(false),
            Err(source) => {
                return Err(StoreError::Os {
                    what: format!("open {}", self.name()),
                    source,
                })
            }
        };
        Ok(!self.matching(&store, cert.as_ref()).is_empty())
    }

    fn add(&self, cert: &CertificateDer<'_>, name: &str) -> Result<Change, StoreError> {
        // Checked first so an existing entry never triggers the CurrentUser\Root dialog.
        if self.contains(cert)? {
            return Ok(Change::Unchanged);
        }
        let context = CertContext::new(cert.as_ref()).map_err(|source| StoreError::Os {
            what: "decode certificate".into(),
            source,
        })?;
        // Properties of the context are copied into the store with it; this is the name
        // certmgr.msc shows.
        context
            .set_friendly_name(name)
            .map_err(|source| StoreError::Os {
                what: "set friendly name".into(),
                source,
            })?;
        restrict_to_server_auth(&context).map_err(|source| StoreError::Os {
            what: "restrict the certificate to server authentication".into(),
            source,
        })?;
        let mut store = self.open_writable()?;
        store
            .add_cert(&context, CertAdd::ReplaceExisting)
            .map_err(|source| StoreError::Os {
                what: format!("add to {}", self.name()),
                source,
            })?;
        let committed = commit(&store);
        drop(store);
        // Read back through a fresh handle: success must mean the next process sees it too.
        if !self.contains(cert)? {
            return Err(not_persisted(format!("add to {}", self.name()), committed));
        }
        Ok(Change::Added)
    }

    fn remove(&self, cert: &CertificateDer<'_>, _name: &str) -> Result<Change, StoreError> {
        if !self.contains(cert)? {
            return Ok(Change::Unchanged);
        }
        let store = self.open_writable()?;
        // Collected before deleting: deleting while enumerating would free the iterator's cursor.
        let found = self.matching(&store, cert.as_ref());
        if found.is_empty() {
            return Ok(Change::Unchanged);
        }
        for context in found {
            context.delete().map_err(|source| StoreError::Os {
                what: format!("delete from {}", self.name()),
                source,
            })?;
        }
        let committed = commit(&store);
        drop(store);
        if self.contains(cert)? {
            return Err(not_persisted(
                format!("delete from {}", self.name()),
                committed,
            ));
        }
        Ok(Change::Removed)
    }
}

fn not_persisted(what: String, committed: io::Result<()>) -> StoreError {
    StoreError::Os {
        what: format!("{what} did not persist"),
        source: match committed {
            Err(e) => e,
            Ok(()) => io::Error::other("a fresh handle still sees the old state"),
        },
    }
}
