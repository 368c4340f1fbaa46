//! NSS databases: what Firefox (every OS) and Chromium (Linux) trust besides their built-in
//! roots. Each database found in a user's home is one [`NssStore`], changed through the real
//! `certutil` of the NSS tools; reading, adding and removing sit side by side so they agree on
//! what "ours" means.
//!
//! Ours is the entry whose nickname names the certificate's SHA-256 fingerprint
//! ([`nickname`]) and which holds exactly that certificate: `remove` deletes nothing else, and
//! `add` leaves a copy of the CA that someone else put in the database (IT, the user) alone,
//! because NSS keeps one object per certificate and `certutil -A` on a certificate already
//! present rewrites that object's trust instead of adding a second entry (seen with NSS 3.87).
//!
//! Where: Chromium's shared database `~/.pki/nssdb`, and since M146 `~/.local/share/pki/nssdb`
//! (the old one is still used when it exists); every Firefox profile `profiles.ini` lists
//! (absolute or relative to it), for the deb/tarball Firefox (`~/.mozilla/firefox`) and the
//! snap (`~/snap/firefox/common/.mozilla/firefox`); the snap Chromium's
//! `~/snap/chromium/current/.pki/nssdb`. Only SQLite databases (`cert9.db`, Firefox 58 and later)
//! are changed; SQLite's own locking lets certutil write while the browser runs, and the browser
//! sees the new root after a restart.
//!
//! Firefox 120 and later on Windows and macOS import the OS's third-party roots by default
//! (`security.enterprise_roots.enabled`), so there the OS store is all it needs: trust-proxy
//! changes no NSS database on those systems.

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use crate::run_tool;
use crate::{hex_upper, parse_certificates, sanitize_name, sha256, to_pem};
use crate::{CertificateDer, Change, StoreError, TrustStore};

/// The packages that ship `certutil`, per distribution family, for the error that says which to
/// install.
pub const CERTUTIL_PACKAGES: &str =
    "libnss3-tools (Debian/Ubuntu), nss-tools (Fedora/RHEL), nss (Arch), mozilla-nss-tools (openSUSE)";

/// `profiles.ini` is a few hundred bytes; anything this large is not one.
const MAX_PROFILES_INI: u64 = 256 * 1024;

/// Which browser reads a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NssOwner {
    /// `~/.pki/nssdb`: Chromium before M146, and still when it exists.
    Chromium,
    /// `~/.local/share/pki/nssdb`: Chromium M146 and later.
    ChromiumXdg,
    SnapChromium,
    /// A Firefox profile, by its name in `profiles.ini`.
    Firefox {
        profile: String,
    },
    SnapFirefox {
        profile: String,
    },
    /// As an earlier run described it (uninstall reopens the database from the state file).
    Recorded {
        label: String,
    },
}

impl std::fmt::Display for NssOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NssOwner::Chromium => f.write_str("Chromium (shared NSS database)"),
            NssOwner::ChromiumXdg => f.write_str("Chromium M146+ (shared NSS database)"),
            NssOwner::SnapChromium => f.write_str("Chromium snap"),
            NssOwner::Firefox { profile } => write!(f, "Firefox profile {profile:?}"),
            NssOwner::SnapFirefox { profile } => write!(f, "Firefox snap profile {profile:?}"),
            NssOwner::Recorded { label } => f.write_str(label),
        }
    }
}

/// A database directory found in a home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NssDatabase {
    pub dir: PathBuf,
    pub owner: NssOwner,
}

/// What [`find_databases`] found, what it passed over and why, and where it looked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NssSearch {
    pub found: Vec<NssDatabase>,
    pub skipped: Vec<(PathBuf, String)>,
    pub searched: Vec<PathBuf>,
}

/// The NSS databases of the user whose home is `home`.
pub fn find_databases(home: &Path) -> NssSearch {
    let mut search = NssSearch::default();
    let shared = [
        (".pki/nssdb", NssOwner::Chromium),
        (".local/share/pki/nssdb", NssOwner::ChromiumXdg),
        ("snap/chromium/current/.pki/nssdb", NssOwner::SnapChromium),
    ];
    for (rel, owner) in shared {
        search.consider(home.join(rel), owner);
    }
    type ProfileOwner = fn(String) -> NssOwner;
    let firefox_dirs: [(&str, ProfileOwner); 2] = [
        (".mozilla/firefox", |profile| NssOwner::Firefox { profile }),
        ("snap/firefox/common/.mozilla/firefox", |profile| {
            NssOwner::SnapFirefox { profile }
        }),
    ];
    for (rel, owner) in firefox_dirs {
        let base = home.join(rel);
        let ini = base.join("profiles.ini");
        search.searched.push(ini.clone());
        let text = match read_small(&ini) {
            Ok(Some(text)) => text,
            Ok(None) => continue,
            Err(why) => {
                search.skipped.push((ini, why));
                continue;
            }
        };
        for profile in firefox_profiles(&text) {
            match profile.dir(&base) {
                Ok(dir) => search.consider(dir, owner(profile.name.clone())),
                Err(why) => search.skipped.push((ini.clone(), why)),
            }
        }
    }
    search
}

impl NssSearch {
    fn consider(&mut self, dir: PathBuf, owner: NssOwner) {
        if !self.searched.contains(&dir) {
            self.searched.push(dir.clone());
        }
        if self.found.iter().any(|d| d.dir == dir) {
            return;
        }
        if dir.join("cert9.db").is_file() {
            // Someone else's database in this home (a shared profile, a planted one) is not
            // this user's to change.
            let owned = crate::ownership::check_user_file(&dir)
                .and_then(|()| crate::ownership::check_user_file(&dir.join("cert9.db")));
            match owned {
                Ok(()) => self.found.push(NssDatabase { dir, owner }),
                Err(e) => self.skipped.push((dir, e.to_string())),
            }
        } else if dir.join("cert8.db").is_file() {
            self.skipped.push((
                dir,
                "legacy cert8.db database (Firefox before 58): open the profile once in a current Firefox to convert it".into(),
            ));
        }
    }
}

fn read_small(path: &Path) -> Result<Option<String>, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if !meta.is_file() || meta.len() > MAX_PROFILES_INI {
        return Err("not a small regular file".into());
    }
    std::fs::read(path)
        .map(|b| Some(String::from_utf8_lossy(&b).into_owned()))
        .map_err(|e| e.to_string())
}

/// One `[ProfileN]` section of `profiles.ini`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirefoxProfile {
    pub name: String,
    pub path: String,
    pub is_relative: bool,
}

impl FirefoxProfile {
    /// The profile directory: `path` under `base` when relative (never leaving it), else `path`
    /// itself, which must then be absolute.
    pub fn dir(&self, base: &Path) -> Result<PathBuf, String> {
        let path = Path::new(&self.path);
        if self.is_relative {
            let plain = path.components().next().is_some()
                && path.components().all(|c| matches!(c, Component::Normal(_)));
            if !plain {
                return Err(format!(
                    "profile {:?}: relative path {:?} leaves the Firefox directory",
                    self.name, self.path
                ));
            }
            Ok(base.join(path))
        } else if path.is_absolute() {
            Ok(path.to_path_buf())
        } else {
            Err(format!(
                "profile {:?}: path {:?} is neither relative nor absolute",
                self.name, self.path
            ))
        }
    }
}

/// The profiles `profiles.ini` lists, in the format Firefox's own INI parser reads: `[section]`
/// headers and `key=value` lines, `#` and `;` comments. `[Install...]` sections only repeat a
/// profile's path and are not read.
pub fn firefox_profiles(ini: &str) -> Vec<FirefoxProfile> {
    let mut profiles = Vec::new();
    let mut current: Option<(String, Option<String>, bool)> = None;
    let finish = |current: &mut Option<(String, Option<String>, bool)>,
                  profiles: &mut Vec<FirefoxProfile>| {
        if let Some((name, Some(path), is_relative)) = current.take() {
            profiles.push(FirefoxProfile {
                name,
                path,
                is_relative,
            });
        }
    };
    for line in ini.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            finish(&mut current, &mut profiles);
            if section.starts_with("Profile") {
                current = Some((section.to_owned(), None, true));
            }
            continue;
        }
        let (Some((name, path, is_relative)), Some((key, value))) =
            (current.as_mut(), line.split_once('='))
        else {
            continue;
        };
        match key.trim() {
            "Name" => *name = value.trim().to_owned(),
            "Path" => *path = Some(value.trim().to_owned()),
            "IsRelative" => *is_relative = value.trim() != "0",
            _ => {}
        }
    }
    finish(&mut current, &mut profiles);
    profiles
}

/// `certutil` from the standard directories, else an error naming the package to install.
pub fn find_certutil() -> Result<PathBuf, StoreError> {
    let dirs = [
        Path::new("/usr/bin"),
        Path::new("/usr/local/bin"),
        Path::new("/bin"),
        Path::new("/opt/homebrew/opt/nss/bin"),
        Path::new("/usr/local/opt/nss/bin"),
    ];
    run_tool::find_in(&dirs, &["certutil"]).ok_or_else(|| {
        StoreError::Unsupported(format!(
            "certutil (the NSS tools) is not installed (looked in {}): install {CERTUTIL_PACKAGES}",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// The nickname trust-proxy gives `cert` labelled `name`: the label and the full SHA-256
/// fingerprint. No colon: certutil reads `a:b` as token `a`, nickname `b`.
pub fn nickname(cert: &CertificateDer<'_>, name: &str) -> Result<String, StoreError> {
    Ok(format!(
        "{} sha256 {}",
        sanitize_name(name)?,
        hex_upper(&sha256(cert.as_ref()))
    ))
}

/// One NSS database, changed with `certutil`.
#[derive(Debug, Clone)]
pub struct NssStore {
    db: NssDatabase,
    certutil: PathBuf,
}

/// A nickname and its trust attributes as `certutil -L` prints them (`C,,`, `CT,C,C`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    nickname: String,
    trust: String,
}

impl Listed {
    /// Trusted to issue TLS server certificates: `C` in the SSL field.
    fn trusted_for_tls(&self) -> bool {
        self.trust
            .split(',')
            .next()
            .is_some_and(|ssl| ssl.contains('C'))
    }
}

impl NssStore {
    pub fn new(db: NssDatabase, certutil: PathBuf) -> NssStore {
        NssStore { db, certutil }
    }

    pub fn database(&self) -> &NssDatabase {
        &self.db
    }

    fn db_arg(&self) -> OsString {
        let mut arg = OsString::from("sql:");
        arg.push(&self.db.dir);
        arg
    }

    fn certutil(&self, args: &[&OsStr], stdin: Option<&[u8]>) -> Result<Vec<u8>, StoreError> {
        let db = self.db_arg();
        let mut full: Vec<&OsStr> = vec![OsStr::new("-d"), &db];
        full.extend_from_slice(args);
        let output = run_tool::run(&self.certutil, &full, &[], stdin)?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(run_tool::failure(&self.certutil, &full, &output))
        }
    }

    /// Every nickname in the database with its trust.
    fn listing(&self) -> Result<Vec<Listed>, StoreError> {
        let out = self.certutil(&[OsStr::new("-L")], None)?;
        Ok(parse_listing(&String::from_utf8_lossy(&out)))
    }

    /// The certificates filed under `nickname` (NSS gives certificates with one subject one
    /// nickname); none when there is no such nickname.
    fn certificates_of(&self, nickname: &str) -> Result<Vec<CertificateDer<'static>>, StoreError> {
        let args = [
            OsStr::new("-L"),
            OsStr::new("-n"),
            OsStr::new(nickname),
            OsStr::new("-a"),
        ];
        match self.certutil(&args, None) {
            Ok(out) => Ok(parse_certificates(&out)),
            Err(StoreError::Refresh { detail, .. })
                if detail.contains("PR_FILE_NOT_FOUND_ERROR") =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// Where `cert` is in the database, under any nickname.
    fn find(&self, cert: &CertificateDer<'_>) -> Result<Option<Listed>, StoreError> {
        for listed in self.listing()? {
            if self
                .certificates_of(&listed.nickname)?
                .iter()
                .any(|c| c.as_ref() == cert.as_ref())
            {
                return Ok(Some(listed));
            }
        }
        Ok(None)
    }
}

/// The `nickname  trust` lines of `certutil -L`; the header lines have no trust field.
fn parse_listing(text: &str) -> Vec<Listed> {
    let is_trust = |t: &str| {
        t.split(',').count() == 3 && t.chars().all(|c| c == ',' || c.is_ascii_alphabetic())
    };
    text.lines()
        .filter_map(|line| {
            let line = line.trim_end();
            let (nickname, trust) = line.rsplit_once(char::is_whitespace)?;
            let nickname = nickname.trim();
            (is_trust(trust) && !nickname.is_empty()).then(|| Listed {
                nickname: nickname.to_owned(),
                trust: trust.to_owned(),
            })
        })
        .collect()
}

impl TrustStore for NssStore {
    fn describe(&self) -> String {
        format!(
            "NSS database of {} ({})",
            self.db.owner,
            self.db.dir.display()
        )
    }

    fn list(&self) -> Result<Vec<CertificateDer<'static>>, StoreError> {
        let mut out = Vec::new();
        for listed in self.listing()?.iter().filter(|l| l.trusted_for_tls()) {
            out.extend(self.certificates_of(&listed.nickname)?);
        }
        Ok(out)
    }

    fn contains(&self, cert: &CertificateDer<'_>) -> Result<bool, StoreError> {
        Ok(self.find(cert)?.is_some_and(|l| l.trusted_for_tls()))
    }

    fn add(&self, cert: &CertificateDer<'_>, name: &str) -> Result<Change, StoreError> {
        let nick = nickname(cert, name)?;
        match self.find(cert)? {
            Some(listed) if listed.trusted_for_tls() => return Ok(Change::Unchanged),
            Some(listed) => {
                return Err(StoreError::Platform {
                    what: self.describe(),
                    message: format!(
                        "it already holds this certificate as {:?} with trust {:?}, not as a TLS CA; trust-proxy does not change another entry's trust (certutil -M -n NICKNAME -t C,, would)",
                        listed.nickname, listed.trust
                    ),
                })
            }
            None => {}
        }
        // The certificate on stdin: no file another process could swap before certutil reads it.
        let args = [
            OsStr::new("-A"),
            OsStr::new("-t"),
            OsStr::new("C,,"),
            OsStr::new("-n"),
            OsStr::new(&nick),
        ];
        self.certutil(&args, Some(to_pem(cert).as_bytes()))?;
        if self.certificates_of(&nick)? != [cert.clone().into_owned()] {
            return Err(StoreError::Platform {
                what: self.describe(),
                message: format!(
                    "certutil -A succeeded but {nick:?} does not hold the certificate"
                ),
            });
        }
        Ok(Change::Added)
    }

    fn remove(&self, cert: &CertificateDer<'_>, name: &str) -> Result<Change, StoreError> {
        let nick = nickname(cert, name)?;
        // Another certificate under our nickname, or ours beside another: not ours to delete.
        if self.certificates_of(&nick)? != [cert.clone().into_owned()] {
            return Ok(Change::Unchanged);
        }
        self.certutil(
            &[OsStr::new("-D"), OsStr::new("-n"), OsStr::new(&nick)],
            None,
        )?;
        Ok(Change::Removed)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    const CA_A: &str = include_str!("../testdata/test-ca-a.pem");
    const CA_B: &str = include_str!("../testdata/test-ca-b.pem");

    fn cert(pem: &str) -> CertificateDer<'static> {
        parse_certificates(pem.as_bytes()).remove(0)
    }

    /// A fresh, real SQLite NSS database, as Firefox and Chromium make them.
    fn real_db() -> (tempfile::TempDir, NssStore) {
        let certutil = find_certutil().expect("certutil: run scripts/install-deps.sh");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut arg = OsString::from("sql:");
        arg.push(dir.path());
        let out = run_tool::run(
            &certutil,
            &[
                OsStr::new("-N"),
                OsStr::new("--empty-password"),
                OsStr::new("-d"),
                &arg,
            ],
            &[],
            None,
        )
        .expect("certutil -N");
        assert!(out.status.success(), "{out:?}");
        let db = NssDatabase {
            dir: dir.path().to_path_buf(),
            owner: NssOwner::Chromium,
        };
        (dir, NssStore::new(db, certutil))
    }

    fn nicknames(store: &NssStore) -> Vec<(String, String)> {
        store
            .listing()
            .expect("list")
            .into_iter()
            .map(|l| (l.nickname, l.trust))
            .collect()
    }

    #[test]
    fn add_contains_remove_only_ours_in_a_real_database() {
        let (_d, store) = real_db();
        let (a, b) = (cert(CA_A), cert(CA_B));
        // Someone else's CA under their own nickname.
        store
            .certutil(
                &[
                    OsStr::new("-A"),
                    OsStr::new("-t"),
                    OsStr::new("C,,"),
                    OsStr::new("-n"),
                    OsStr::new("IT root"),
                ],
                Some(to_pem(&b).as_bytes()),
            )
            .expect("their add");
        assert!(!store.contains(&a).expect("contains"));
        assert_eq!(store.add(&a, "corp").expect("add"), Change::Added);
        assert!(store.contains(&a).expect("contains"));
        assert_eq!(store.add(&a, "corp").expect("again"), Change::Unchanged);
        let ours = nickname(&a, "corp").expect("nick");
        assert!(ours.ends_with(&hex_upper(&sha256(a.as_ref()))), "{ours}");
        let mut listed = nicknames(&store);
        listed.sort();
        assert_eq!(
            listed,
            vec![
                ("IT root".into(), "C,,".into()),
                (ours.clone(), "C,,".into())
            ]
        );
        assert_eq!(store.list().expect("list").len(), 2);

        // Their CA is never ours to remove, under our name or theirs.
        assert_eq!(store.remove(&b, "corp").expect("remove"), Change::Unchanged);
        assert_eq!(
            store.remove(&b, "IT root").expect("remove"),
            Change::Unchanged
        );
        assert_eq!(store.remove(&a, "corp").expect("remove"), Change::Removed);
        assert_eq!(store.remove(&a, "corp").expect("again"), Change::Unchanged);
        assert!(!store.contains(&a).expect("contains"));
        assert_eq!(nicknames(&store), vec![("IT root".into(), "C,,".into())]);
        assert!(store.contains(&b).expect("contains"));
    }

    #[test]
    fn a_copy_someone_else_added_is_left_as_it_is() {
        let (_d, store) = real_db();
        let a = cert(CA_A);
        store
            .certutil(
                &[
                    OsStr::new("-A"),
                    OsStr::new("-t"),
                    OsStr::new("C,,"),
                    OsStr::new("-n"),
                    OsStr::new("corp root (IT)"),
                ],
                Some(to_pem(&a).as_bytes()),
            )
            .expect("their add");
        assert_eq!(store.add(&a, "corp").expect("add"), Change::Unchanged);
        assert_eq!(store.remove(&a, "corp").expect("remove"), Change::Unchanged);
        assert_eq!(
            nicknames(&store),
            vec![("corp root (IT)".into(), "C,,".into())]
        );

        // Present but not trusted as a CA: certutil -A would rewrite that entry's trust.
        store
            .certutil(
                &[
                    OsStr::new("-M"),
                    OsStr::new("-n"),
                    OsStr::new("corp root (IT)"),
                    OsStr::new("-t"),
                    OsStr::new(",,"),
                ],
                None,
            )
            .expect("their trust");
        assert!(!store.contains(&a).expect("contains"));
        assert!(matches!(
            store.add(&a, "corp"),
            Err(StoreError::Platform { .. })
        ));
        assert_eq!(
            nicknames(&store),
            vec![("corp root (IT)".into(), ",,".into())]
        );
    }

    #[test]
    fn databases_from_profiles_ini_and_the_chromium_places() {
        let home = tempfile::tempdir().expect("home");
        let mk = |rel: &str, file: &str| {
            let dir = home.path().join(rel);
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(dir.join(file), b"").expect("db");
        };
        mk(".pki/nssdb", "cert9.db");
        mk(".local/share/pki/nssdb", "cert9.db");
        mk(".mozilla/firefox/Profiles/abc.default-release", "cert9.db");
        mk(".mozilla/firefox/old.default", "cert8.db");
        mk("elsewhere/profile", "cert9.db");
        // A directory that looks like a profile but is not listed: not a database of Firefox's.
        mk(".mozilla/firefox/zzz.unlisted", "cert9.db");
        mk("snap/firefox/common/.mozilla/firefox/s.default", "cert9.db");
        let abs = home.path().join("elsewhere/profile");
        std::fs::write(
            home.path().join(".mozilla/firefox/profiles.ini"),
            format!(
                "[Install4F96D1932A9F858E]\nDefault=Profiles/abc.default-release\n\n\
                 [Profile0]\nName=default-release\nIsRelative=1\nPath=Profiles/abc.default-release\n\n\
                 [Profile1]\nName=old\nIsRelative=1\nPath=old.default\n\n\
                 [Profile2]\nName=abs\nIsRelative=0\nPath={}\n\n\
                 [Profile3]\nName=evil\nIsRelative=1\nPath=../../.ssh\n\n[General]\nStartWithLastProfile=1\n",
                abs.display()
            ),
        )
        .expect("ini");
        std::fs::write(
            home.path()
                .join("snap/firefox/common/.mozilla/firefox/profiles.ini"),
            "[Profile0]\r\nName=snappy\r\nIsRelative=1\r\nPath=s.default\r\n",
        )
        .expect("ini");

        let search = find_databases(home.path());
        let found: Vec<(PathBuf, NssOwner)> = search
            .found
            .iter()
            .map(|d| {
                (
                    d.dir
                        .strip_prefix(home.path())
                        .unwrap_or(&d.dir)
                        .to_path_buf(),
                    d.owner.clone(),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (".pki/nssdb".into(), NssOwner::Chromium),
                (".local/share/pki/nssdb".into(), NssOwner::ChromiumXdg),
                (
                    ".mozilla/firefox/Profiles/abc.default-release".into(),
                    NssOwner::Firefox {
                        profile: "default-release".into()
                    }
                ),
                (
                    "elsewhere/profile".into(),
                    NssOwner::Firefox {
                        profile: "abs".into()
                    }
                ),
                (
                    "snap/firefox/common/.mozilla/firefox/s.default".into(),
                    NssOwner::SnapFirefox {
                        profile: "snappy".into()
                    }
                ),
            ]
        );
        let skipped: Vec<&str> = search.skipped.iter().map(|(_, why)| why.as_str()).collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].contains("cert8.db"), "{skipped:?}");
        assert!(
            skipped[1].contains("leaves the Firefox directory"),
            "{skipped:?}"
        );
    }

    #[test]
    fn listing_lines_and_header() {
        let text = "\nCertificate Nickname                                         Trust Attributes\n                                                             SSL,S/MIME,JAR/XPI\n\ncorp root (IT)                                               CT,C,C\nNSS Certificate DB:x y                                       ,,  \n";
        assert_eq!(
            parse_listing(text),
            vec![
                Listed {
                    nickname: "corp root (IT)".into(),
                    trust: "CT,C,C".into()
                },
                Listed {
                    nickname: "NSS Certificate DB:x y".into(),
                    trust: ",,".into()
                },
            ]
        );
    }
}
