//! Optional trust stores, opt-in: NSS databases in the user's home (`install --nss`, user
//! scope: Firefox and Chromium on Linux) and JDK keystores (`install --java`, system scope).
//! The stores themselves are in `platform` (`nss.rs`, `java.rs`); this file decides, per store
//! and CA, what to do, turns that into plan actions, and keeps the record in the state file that
//! lets `uninstall` remove exactly what was added.
//!
//! A distribution's generated Java keystore already holds every CA of the system store, so a
//! CA that is in the system store needs nothing there (and an edit would be lost when the
//! distribution regenerates it).

use crate::analyze::certinfo::Cert;
use crate::analyze::chain::SelfSignedShape;
use crate::install::plan::{Action, Effect};
use crate::install::state::{InstalledCa, State};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trust_proxy_platform::java::JavaKeystore;
use trust_proxy_platform::nss::{NssDatabase, NssOwner, NssStore};
use trust_proxy_platform::{Change, Scope, StoreError, TrustStore};

/// One optional store, with what it takes to reopen it later (from the state file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExtraStore {
    Nss {
        db: PathBuf,
        certutil: PathBuf,
        /// Which browser reads it, for people.
        label: String,
    },
    Java {
        /// The keystore file itself (symlinks resolved).
        keystore: PathBuf,
        keytool: PathBuf,
        java_home: PathBuf,
    },
}

impl ExtraStore {
    pub fn kind(&self) -> &'static str {
        match self {
            ExtraStore::Nss { .. } => "nss",
            ExtraStore::Java { .. } => "java",
        }
    }

    pub fn location(&self) -> &Path {
        match self {
            ExtraStore::Nss { db, .. } => db,
            ExtraStore::Java { keystore, .. } => keystore,
        }
    }

    /// The store, or `None` when it no longer exists (a profile deleted, a JDK uninstalled):
    /// then there is nothing left to remove from it.
    pub fn open(&self) -> Result<Option<Box<dyn TrustStore>>, StoreError> {
        Ok(match self {
            ExtraStore::Nss {
                db,
                certutil,
                label,
            } => db.join("cert9.db").is_file().then(|| {
                Box::new(NssStore::new(
                    NssDatabase {
                        dir: db.clone(),
                        owner: NssOwner::Recorded {
                            label: label.clone(),
                        },
                    },
                    certutil.clone(),
                )) as Box<dyn TrustStore>
            }),
            ExtraStore::Java {
                keystore,
                keytool,
                java_home,
            } => {
                if !keystore.is_file() {
                    return Ok(None);
                }
                Some(Box::new(JavaKeystore::new(keystore, keytool, java_home)?))
            }
        })
    }

    fn store_words(&self) -> &'static str {
        match self {
            ExtraStore::Nss { .. } => "NSS database",
            ExtraStore::Java { .. } => "Java keystore",
        }
    }

    /// `(action, target)` for a plan step.
    pub fn describe(&self, add: bool, cert: &Cert) -> (String, String) {
        let verb = if add { "trust in" } else { "remove from" };
        (
            format!("{verb} {}", self.store_words()),
            format!(
                "{} ({}, {})",
                self.location().display(),
                crate::terminal_text::printable(&cert.info.subject),
                cert.sha256()
            ),
        )
    }

    pub fn predict(&self, add: bool, cert: &Cert) -> Result<Effect, StoreError> {
        let Some(store) = self.open()? else {
            return Ok(if add {
                Effect::Create
            } else {
                Effect::Unchanged
            });
        };
        Ok(match (add, store.contains(&cert.der)?) {
            (true, true) | (false, false) => Effect::Unchanged,
            (true, false) => Effect::Create,
            (false, true) => Effect::Remove,
        })
    }

    pub fn add(&self, cert: &Cert, name: &str) -> Result<Change, StoreError> {
        match self.open()? {
            Some(store) => store.add(&cert.der, name),
            None => Err(StoreError::Unsupported(format!(
                "{} {} no longer exists",
                self.store_words(),
                self.location().display()
            ))),
        }
    }

    pub fn remove(&self, cert: &Cert, name: &str) -> Result<Change, StoreError> {
        match self.open()? {
            Some(store) => store.remove(&cert.der, name),
            None => Ok(Change::Unchanged),
        }
    }
}

/// Which store got which CA, under which name: what uninstall takes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraStoreRecord {
    pub store: ExtraStore,
    pub ca_sha256: String,
    pub name: String,
}

/// A store the CLI found for `--nss` / `--java`.
#[derive(Debug, Clone)]
pub struct ExtraTarget {
    pub store: ExtraStore,
    /// For people: the browser profile, or the JDKs using the keystore and how each was found.
    pub what: String,
    /// A distribution's keystore generated from the system store: who generates it.
    pub generated_by: Option<&'static str>,
}

/// What the CLI found for the optional stores asked for, and what it passed over.
#[derive(Debug, Clone, Default)]
pub struct ExtraStores {
    pub targets: Vec<ExtraTarget>,
    pub notes: Vec<StoreNote>,
}

impl ExtraStores {
    pub const fn none() -> ExtraStores {
        ExtraStores {
            targets: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// One line of the report per store (and CA): what was found and what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreNote {
    pub kind: String,
    pub what: String,
    pub location: String,
    pub result: String,
}

impl StoreNote {
    pub fn new(kind: &str, what: &str, location: &Path, result: impl Into<String>) -> StoreNote {
        StoreNote {
            kind: kind.to_owned(),
            what: what.to_owned(),
            location: location.display().to_string(),
            result: result.into(),
        }
    }
}

/// Which scope each kind of store belongs to: NSS databases live in a home, JDK keystores in
/// the system.
pub fn scope_of(kind: &str) -> Scope {
    if kind == "nss" {
        Scope::User
    } else {
        Scope::System
    }
}

/// The actions that put every CA of `after` into each target, recording each addition in
/// `after`; the report lines say what happens to each.
pub fn install_actions(
    extra: &ExtraStores,
    after: &mut State,
) -> Result<(Vec<Action>, Vec<StoreNote>), crate::install::InstallError> {
    let mut actions = Vec::new();
    let mut notes = extra.notes.clone();
    for target in &extra.targets {
        let store = &target.store;
        let note =
            |result: String| StoreNote::new(store.kind(), &target.what, store.location(), result);
        for ca in after.cas.clone() {
            let cert = crate::install::parse_pem(&ca.pem)?;
            let recorded = after
                .extra_stores
                .iter()
                .any(|r| r.store == *store && r.ca_sha256 == ca.sha256);
            match decide(target, &ca, &cert, recorded) {
                Choice::Add => {
                    let already = match store.open()? {
                        Some(s) => s.contains(&cert.der)?,
                        None => false,
                    };
                    if already && !recorded {
                        notes.push(note(format!(
                            "{}: already trusted there (not by trust-proxy); left as it is",
                            ca.sha256
                        )));
                        continue;
                    }
                    actions.push(Action::ExtraStoreAdd {
                        store: store.clone(),
                        cert: cert.clone(),
                        name: ca.store_name.clone(),
                    });
                    if !recorded {
                        after.extra_stores.push(ExtraStoreRecord {
                            store: store.clone(),
                            ca_sha256: ca.sha256.clone(),
                            name: ca.store_name.clone(),
                        });
                    }
                    notes.push(note(format!("{}: trust-proxy adds it", short(&ca.sha256))));
                }
                Choice::Note(why) => notes.push(note(format!("{}: {why}", short(&ca.sha256)))),
            }
        }
    }
    Ok((actions, notes))
}

/// The start of a colon-hex fingerprint, enough to tell the installed CAs apart in a report.
fn short(sha256: &str) -> String {
    let head: String = sha256.chars().take(23).collect();
    format!("CA {head}…")
}

enum Choice {
    Add,
    Note(String),
}

fn decide(target: &ExtraTarget, ca: &InstalledCa, cert: &Cert, recorded: bool) -> Choice {
    if recorded {
        return Choice::Add;
    }
    if let Some(generated_by) = target.generated_by {
        return Choice::Note(if ca.in_os_store {
            format!("covered by the system store: this keystore is generated from it by {generated_by}; nothing to do")
        } else {
            format!("not changed: this keystore is generated from the system store by {generated_by}, and the CA is not in the system store (--no-os-store); an edit would be lost at the next regeneration")
        });
    }
    let end_entity =
        cert.is_self_signed() && SelfSignedShape::of(cert) == SelfSignedShape::EndEntity;
    if end_entity && matches!(target.store, ExtraStore::Nss { .. }) {
        return Choice::Note(
            "not added: a self-signed server certificate is no CA, and NSS would need it as a trusted peer (P,,), which trust-proxy does not set".to_string(),
        );
    }
    Choice::Add
}

/// The removals for the CAs `removed` (SHA-256), dropping their records from `after`.
pub fn uninstall_actions(
    before: &State,
    after: &mut State,
    removed: &[String],
) -> Result<Vec<Action>, crate::install::InstallError> {
    let mut actions = Vec::new();
    for record in &before.extra_stores {
        if !removed.contains(&record.ca_sha256) {
            continue;
        }
        let Some(ca) = before.cas.iter().find(|c| c.sha256 == record.ca_sha256) else {
            continue;
        };
        actions.push(Action::ExtraStoreRemove {
            store: record.store.clone(),
            cert: crate::install::parse_pem(&ca.pem)?,
            name: record.name.clone(),
        });
    }
    after
        .extra_stores
        .retain(|r| !removed.contains(&r.ca_sha256));
    Ok(actions)
}

/// A state's records are refused unless each store belongs in the state's scope and, for the
/// system scope, its tool and keystore can only have been put there by root: a privileged
/// uninstall runs that tool on that file.
pub fn check_records(scope: Scope, state: &State) -> Result<(), StoreError> {
    for record in &state.extra_stores {
        if scope_of(record.store.kind()) != scope {
            return Err(StoreError::Unsupported(format!(
                "the state names a {} store ({}) in the {} scope, where trust-proxy never writes one",
                record.store.kind(),
                record.store.location().display(),
                if scope == Scope::System { "system" } else { "user" }
            )));
        }
        if let ExtraStore::Java {
            keystore, keytool, ..
        } = &record.store
        {
            for path in [keystore, keytool] {
                if std::fs::symlink_metadata(path).is_ok() {
                    trust_proxy_platform::ownership::check_system_file(path)?;
                }
            }
        }
    }
    Ok(())
}
