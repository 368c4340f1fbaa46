//! Windows: the `Root` system store of CurrentUser or LocalMachine, through crypt32 (schannel).
//!
//! Entries are matched by SHA-1 thumbprint, the key Windows itself files them under
//! (`...\SystemCertificates\Root\Certificates\<thumbprint>`); serial numbers are not unique.

use std::io;

use schannel::cert_context::{CertContext, ValidUses};
use schannel::cert_store::{CertAdd, CertStore, CertStoreBuilder};
use schannel::RawPointer;
use windows_sys::Win32::Security::Cryptography::{CertControlStore, CERT_STORE_CTRL_COMMIT};

use crate::{sha1_thumbprint, CertificateDer, Change, Scope, StoreError, TrustStore};

const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";

#[derive(Debug, Clone, Copy)]
pub struct WindowsStore {
    scope: Scope,
}

impl WindowsStore {
    /// `Scope::User` is CurrentUser\Root, whose view also includes LocalMachine\Root; adding to it
    /// makes Windows show a confirmation dialog. `Scope::System` is LocalMachine\Root (admin, no
    /// dialog, and the only one services running as SYSTEM see).
    pub fn new(scope: Scope) -> WindowsStore {
        WindowsStore { scope }
    }

    fn name(&self) -> &'static str {
        match self.scope {
            Scope::User => "CurrentUser\\Root",
            Scope::System => "LocalMachine\\Root",
        }
    }

    fn open(&self, read_only: bool) -> Result<CertStore, StoreError> {
        let mut builder = CertStoreBuilder::new();
        if read_only {
            builder.read_only();
        }
        let opened = match self.scope {
            Scope::User => builder.open_current_user("ROOT"),
            Scope::System => builder.open_local_machine("ROOT"),
        };
        opened.map_err(|source| StoreError::Os {
            what: format!("open {}", self.name()),
            source,
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
        let store = self.open(true)?;
        Ok(store
            .certs()
            .filter(usable_for_tls)
            .map(|c| CertificateDer::from(c.to_der().to_vec()))
            .collect())
    }

    fn contains(&self, cert: &CertificateDer<'_>) -> Result<bool, StoreError> {
        let store = self.open(true)?;
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
        let mut store = self.open(false)?;
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
        let store = self.open(false)?;
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
