//! Java: every JDK trusts its own keystore, not the OS store. JSSE reads
//! `<java.home>/lib/security/jssecacerts` when it exists, else `cacerts` next to it
//! (`<jdk>/jre/lib/security/` for Java 8). Each keystore found is one [`JavaKeystore`], changed
//! through that JDK's own `keytool`; reading, adding and removing sit side by side.
//!
//! Distribution JDKs link `cacerts` to a keystore the distribution generates from the system
//! store ([`keystore_origin`]): Debian/Ubuntu `/etc/ssl/certs/java/cacerts`, kept in sync by
//! ca-certificates-java's `update-ca-certificates` hook (run in the lab), Fedora's
//! `update-ca-trust`, Arch's `trust extract-compat`, openSUSE's `update-ca-certificates`
//! (documented, not run). A CA in the system store is already there, and an edit would be lost
//! on the next regeneration: such a keystore is reported as covered and never edited.
//!
//! `keytool` writes a keystore in place (same inode, seen with JDK 17): a crash mid-write would
//! leave every TLS client of that JDK without roots. So `keytool -keystore` works on a private
//! copy, and the result replaces the keystore atomically, keeping its owner, mode and
//! attributes. (`keytool -cacerts`, JDK 9+, names the same file as `-keystore` with the path;
//! the copy needs the path.)
//!
//! Ours is the entry whose alias names the certificate's SHA-256 fingerprint ([`alias`]) and
//! holds exactly that certificate; the same CA under another alias (the distribution's, IT's)
//! is left alone.
//!
//! Where JDKs are looked for: `JAVA_HOME`, the `java` on `PATH` resolved through its symlinks,
//! every directory in `/usr/lib/jvm` (Linux), and on macOS what `/usr/libexec/java_home -V`
//! lists ([`parse_java_home_v`]; type-checked only). On Windows the installers record homes in
//! the registry (`HKLM\SOFTWARE\JavaSoft\JDK\<version>\JavaHome`, Adoptium under
//! `HKLM\SOFTWARE\Eclipse Adoptium\JDK\<version>\hotspot\MSI\Path`): not read; `JAVA_HOME` and
//! `PATH` find the JDK the tools use.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::run_tool;
use crate::{fs_safe, hex_upper, parse_certificates, sanitize_name, sha256, to_pem};
use crate::{CertificateDer, Change, StoreError, TrustStore};

/// The password every JDK ships its keystore with; JSSE needs none to read it.
const STOREPASS: &str = "changeit";

/// A JDK (or JRE) installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jdk {
    /// Canonical, symlinks resolved.
    pub home: PathBuf,
    /// `JAVA_VERSION` from the `release` file.
    pub version: Option<String>,
    /// How it was found: `JAVA_HOME`, `PATH`, `/usr/lib/jvm`, `java_home -V`.
    pub found_by: String,
    /// The keystore JSSE reads by default, as the JDK names it (may be a symlink).
    pub keystore: Option<PathBuf>,
    pub keytool: Option<PathBuf>,
}

impl Jdk {
    /// The JDK whose home is `dir` (a JDK 8 `jre` directory counts as its JDK), if it is one.
    pub fn at(dir: &Path, found_by: &str) -> Option<Jdk> {
        let mut home = std::fs::canonicalize(dir).ok()?;
        if home.file_name() == Some(OsStr::new("jre")) {
            if let Some(parent) = home.parent().filter(|p| is_file(&p.join(exe("bin/java")))) {
                home = parent.to_path_buf();
            }
        }
        let keytool = [exe("bin/keytool"), exe("jre/bin/keytool")]
            .iter()
            .map(|rel| home.join(rel))
            .find(|p| is_file(p));
        let has_java = is_file(&home.join(exe("bin/java")));
        if keytool.is_none() && !has_java {
            return None;
        }
        // Java 8 keeps java.home in jre/; 9 and later in the JDK itself.
        let security = if home.join("jre/lib/security").is_dir() {
            home.join("jre/lib/security")
        } else {
            home.join("lib/security")
        };
        let keystore = ["jssecacerts", "cacerts"]
            .iter()
            .map(|n| security.join(n))
            .find(|p| p.is_file());
        Some(Jdk {
            version: release_version(&home),
            home,
            found_by: found_by.to_owned(),
            keystore,
            keytool,
        })
    }
}

fn is_file(p: &Path) -> bool {
    p.is_file()
}

fn exe(rel: &str) -> String {
    if cfg!(windows) {
        format!("{rel}.exe")
    } else {
        rel.to_owned()
    }
}

fn release_version(home: &Path) -> Option<String> {
    let text = std::fs::read_to_string(home.join("release")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("JAVA_VERSION="))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty() && v.len() < 64)
}

/// Candidate homes, each with how it was found: `JAVA_HOME`, the `java` on `path_var`, every
/// entry of `jvm_dirs`' directories, then `extra` (macOS `java_home -V`).
pub fn candidate_homes(
    java_home: Option<&OsStr>,
    path_var: Option<&OsStr>,
    jvm_dirs: &[&Path],
    extra: &[PathBuf],
) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    if let Some(home) = java_home.filter(|h| !h.is_empty()) {
        out.push((PathBuf::from(home), "JAVA_HOME".to_owned()));
    }
    if let Some(java) = path_var.and_then(|p| {
        std::env::split_paths(p)
            .filter(|d| d.is_absolute())
            .map(|d| d.join(exe("java")))
            .find(|j| j.is_file())
    }) {
        // /usr/bin/java -> /etc/alternatives/java -> <home>/bin/java
        if let Some(home) = std::fs::canonicalize(&java)
            .ok()
            .and_then(|real| real.parent().and_then(Path::parent).map(Path::to_path_buf))
        {
            out.push((home, format!("PATH ({})", java.display())));
        }
    }
    for dir in jvm_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for path in names {
            out.push((path, dir.display().to_string()));
        }
    }
    for home in extra {
        out.push((home.clone(), "java_home -V".to_owned()));
    }
    out
}

/// The JDKs among `candidates`, each once (by canonical home), in the order found.
pub fn find_jdks(candidates: &[(PathBuf, String)]) -> Vec<Jdk> {
    let mut jdks: Vec<Jdk> = Vec::new();
    for (dir, found_by) in candidates {
        let Some(jdk) = Jdk::at(dir, found_by) else {
            continue;
        };
        match jdks.iter_mut().find(|j| j.home == jdk.home) {
            Some(seen) => {
                if !seen.found_by.contains(found_by.as_str()) {
                    seen.found_by = format!("{}, {found_by}", seen.found_by);
                }
            }
            None => jdks.push(jdk),
        }
    }
    jdks
}

/// The homes `/usr/libexec/java_home -V` lists: each JVM line ends with its home after the
/// last quoted field (`    17.0.2 (arm64) "Oracle Corporation" - "Java SE 17.0.2" /Library/...`).
pub fn parse_java_home_v(output: &str) -> Vec<PathBuf> {
    output
        .lines()
        .filter(|l| l.starts_with(char::is_whitespace))
        .filter_map(|l| l.rsplit_once('"').map(|(_, rest)| rest.trim()))
        .filter(|p| p.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// What `/usr/libexec/java_home -V` lists (it prints to stderr); none elsewhere.
pub fn macos_java_homes() -> Vec<PathBuf> {
    if !cfg!(target_os = "macos") {
        return Vec::new();
    }
    let tool = Path::new("/usr/libexec/java_home");
    match run_tool::run(tool, &[OsStr::new("-V")], &[], None) {
        Ok(out) => parse_java_home_v(&String::from_utf8_lossy(&out.stderr)),
        Err(_) => Vec::new(),
    }
}

/// Who maintains a keystore file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeystoreOrigin {
    /// Generated from the system store by the distribution: holds every CA of the system store.
    Distro { generated_by: &'static str },
    /// The JDK's own: only a keytool edit adds a CA.
    Own,
}

/// The distributions' generated keystores.
const DISTRO_KEYSTORES: &[(&str, &str)] = &[
    (
        "/etc/ssl/certs/java/cacerts",
        "ca-certificates-java's update-ca-certificates hook (Debian/Ubuntu), p11-kit trust extract-compat (Arch)",
    ),
    (
        "/etc/pki/ca-trust/extracted/java/cacerts",
        "update-ca-trust (Fedora/RHEL)",
    ),
    (
        "/var/lib/ca-certificates/java-cacerts",
        "update-ca-certificates (openSUSE)",
    ),
];

/// Whether the keystore at canonical path `real` is a distribution's generated one. Debian's
/// stops following the system store when `/etc/default/cacerts` says `cacerts_updates=no`.
pub fn keystore_origin(real: &Path) -> KeystoreOrigin {
    let Some((path, generated_by)) = DISTRO_KEYSTORES.iter().find(|(p, _)| Path::new(p) == real)
    else {
        return KeystoreOrigin::Own;
    };
    if *path == "/etc/ssl/certs/java/cacerts" {
        let disabled = std::fs::read_to_string("/etc/default/cacerts")
            .map(|t| {
                t.lines()
                    .any(|l| l.trim().replace(' ', "") == "cacerts_updates=no")
            })
            .unwrap_or(false);
        if disabled {
            return KeystoreOrigin::Own;
        }
    }
    KeystoreOrigin::Distro { generated_by }
}

/// The alias trust-proxy gives `cert` labelled `name`: the label and the full SHA-256
/// fingerprint, lower case (JKS stores aliases lower-cased).
pub fn alias(cert: &CertificateDer<'_>, name: &str) -> Result<String, StoreError> {
    Ok(format!(
        "{}-sha256-{}",
        sanitize_name(name)?,
        hex_upper(&sha256(cert.as_ref()))
    )
    .to_ascii_lowercase())
}

/// One keystore file, changed with a JDK's `keytool`.
#[derive(Debug, Clone)]
pub struct JavaKeystore {
    /// The real file (symlinks resolved): what is replaced.
    keystore: PathBuf,
    keytool: PathBuf,
    java_home: PathBuf,
}

impl JavaKeystore {
    /// `keystore` is resolved through its symlinks, so the replacement lands on the file JSSE
    /// reads, not on a link.
    pub fn new(
        keystore: &Path,
        keytool: &Path,
        java_home: &Path,
    ) -> Result<JavaKeystore, StoreError> {
        let real = std::fs::canonicalize(keystore).map_err(|e| StoreError::Io {
            op: "resolve",
            path: keystore.to_path_buf(),
            source: e,
        })?;
        Ok(JavaKeystore {
            keystore: real,
            keytool: keytool.to_path_buf(),
            java_home: java_home.to_path_buf(),
        })
    }

    pub fn keystore(&self) -> &Path {
        &self.keystore
    }

    pub fn keytool(&self) -> &Path {
        &self.keytool
    }

    fn keytool_run(
        &self,
        keystore: &Path,
        args: &[&OsStr],
        stdin: Option<&[u8]>,
    ) -> Result<std::process::Output, StoreError> {
        let mut full: Vec<&OsStr> = args.to_vec();
        full.extend([
            OsStr::new("-keystore"),
            keystore.as_os_str(),
            OsStr::new("-storepass"),
            OsStr::new(STOREPASS),
        ]);
        let home = self.java_home.as_os_str();
        run_tool::run(&self.keytool, &full, &[("JAVA_HOME", home)], stdin)
    }

    /// Every entry as (alias, certificate), from `keytool -list -rfc`.
    fn entries(&self) -> Result<Vec<(String, CertificateDer<'static>)>, StoreError> {
        let args = [OsStr::new("-list"), OsStr::new("-rfc")];
        let output = self.keytool_run(&self.keystore, &args, None)?;
        if !output.status.success() {
            return Err(run_tool::failure(&self.keytool, &args, &output));
        }
        Ok(parse_rfc_listing(&String::from_utf8_lossy(&output.stdout)))
    }

    /// Runs keytool `args` on a private copy of the keystore and puts the result in place
    /// atomically; the keystore is untouched if anything fails.
    fn change(&self, args: &[&OsStr], stdin: Option<&[u8]>) -> Result<(), StoreError> {
        let original = fs_safe::read_nofollow(&self.keystore)?.ok_or_else(|| StoreError::Io {
            op: "read",
            path: self.keystore.clone(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        let dir = private_copy_dir(&self.keystore)?;
        let copy = dir.path().join("keystore");
        std::fs::write(&copy, &original).map_err(|e| StoreError::Io {
            op: "write",
            path: copy.clone(),
            source: e,
        })?;
        let output = self.keytool_run(&copy, args, stdin)?;
        if !output.status.success() {
            return Err(run_tool::failure(&self.keytool, args, &output));
        }
        let changed = std::fs::read(&copy).map_err(|e| StoreError::Io {
            op: "read",
            path: copy.clone(),
            source: e,
        })?;
        fs_safe::replace_keeping_metadata(&self.keystore, &changed, 0o644)
    }
}

/// A 0700 directory for the copy: next to the keystore when privileged (the JDK's directory,
/// root's, where no user can swap the copy), else the user's temporary directory.
#[cfg(unix)]
fn private_copy_dir(keystore: &Path) -> Result<tempfile::TempDir, StoreError> {
    let parent = keystore.parent().unwrap_or(Path::new("/"));
    crate::private_dir::private_dir(parent, rustix::process::geteuid().is_root())
}

#[cfg(not(unix))]
fn private_copy_dir(keystore: &Path) -> Result<tempfile::TempDir, StoreError> {
    // The JDK's own directory: protected like the keystore itself.
    let parent = keystore.parent().unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix("trust-proxy-")
        .tempdir_in(parent)
        .map_err(|e| StoreError::Os {
            what: "create a private directory".into(),
            source: e,
        })
}

/// `Alias name: X` lines, each followed by its certificate in PEM (`keytool -list -rfc` in the
/// C locale).
fn parse_rfc_listing(text: &str) -> Vec<(String, CertificateDer<'static>)> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut pem = String::new();
    for line in text.lines() {
        if let Some(alias) = line.strip_prefix("Alias name:") {
            current = Some(alias.trim().to_owned());
            pem.clear();
            continue;
        }
        if current.is_none() {
            continue;
        }
        if line.starts_with("-----BEGIN") || !pem.is_empty() {
            pem.push_str(line);
            pem.push('\n');
        }
        if line.starts_with("-----END") {
            if let Some(alias) = current.take() {
                out.extend(
                    parse_certificates(pem.as_bytes())
                        .into_iter()
                        .map(|c| (alias.clone(), c)),
                );
            }
            pem.clear();
        }
    }
    out
}

impl TrustStore for JavaKeystore {
    fn describe(&self) -> String {
        format!("Java keystore {}", self.keystore.display())
    }

    fn list(&self) -> Result<Vec<CertificateDer<'static>>, StoreError> {
        Ok(self.entries()?.into_iter().map(|(_, c)| c).collect())
    }

    fn contains(&self, cert: &CertificateDer<'_>) -> Result<bool, StoreError> {
        Ok(self
            .entries()?
            .iter()
            .any(|(_, c)| c.as_ref() == cert.as_ref()))
    }

    fn add(&self, cert: &CertificateDer<'_>, name: &str) -> Result<Change, StoreError> {
        let alias = alias(cert, name)?;
        if self.contains(cert)? {
            return Ok(Change::Unchanged);
        }
        // The certificate on stdin: no file another process could swap before keytool reads it.
        let args = [
            OsStr::new("-importcert"),
            OsStr::new("-noprompt"),
            OsStr::new("-alias"),
            OsStr::new(&alias),
        ];
        self.change(&args, Some(to_pem(cert).as_bytes()))?;
        Ok(Change::Added)
    }

    fn remove(&self, cert: &CertificateDer<'_>, name: &str) -> Result<Change, StoreError> {
        let alias = alias(cert, name)?;
        let under_alias: Vec<CertificateDer<'static>> = self
            .entries()?
            .into_iter()
            .filter(|(a, _)| a.eq_ignore_ascii_case(&alias))
            .map(|(_, c)| c)
            .collect();
        // Another certificate under our alias is not ours to delete.
        if under_alias != [cert.clone().into_owned()] {
            return Ok(Change::Unchanged);
        }
        let alias_arg = OsString::from(&alias);
        self.change(
            &[OsStr::new("-delete"), OsStr::new("-alias"), &alias_arg],
            None,
        )?;
        Ok(Change::Removed)
    }

    /// JSSE takes any certificate in the keystore as a trust anchor (a self-signed server
    /// certificate included: run in tests/lab/selfsigned.sh).
    fn accepts_end_entity_anchor(&self) -> bool {
        true
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

    /// The machine's JDK (default-jdk-headless) and a private copy of its keystore: the real
    /// one is never written.
    fn copied_keystore() -> (tempfile::TempDir, JavaKeystore, Jdk) {
        let candidates = candidate_homes(
            None,
            std::env::var_os("PATH").as_deref(),
            &[Path::new("/usr/lib/jvm")],
            &[],
        );
        let jdk = find_jdks(&candidates)
            .into_iter()
            .find(|j| j.keytool.is_some() && j.keystore.is_some())
            .expect("a JDK with keytool: run scripts/install-deps.sh");
        let dir = tempfile::tempdir().expect("tempdir");
        let copy = dir.path().join("cacerts");
        let original = jdk.keystore.clone().expect("keystore");
        std::fs::copy(&original, &copy).expect("copy the keystore");
        let keytool = jdk.keytool.clone().expect("keytool");
        let store = JavaKeystore::new(&copy, &keytool, &jdk.home).expect("store");
        (dir, store, jdk)
    }

    #[test]
    fn add_contains_remove_only_ours_in_a_copy_of_the_jdk_keystore() {
        let (dir, store, jdk) = copied_keystore();
        let real = jdk.keystore.clone().expect("keystore");
        let real_before = std::fs::read(&real).expect("read");
        let (a, b) = (cert(CA_A), cert(CA_B));
        let shipped = store.list().expect("list").len();
        assert!(
            shipped > 50,
            "a JDK keystore holds the public roots: {shipped}"
        );

        // Someone else's CA under their alias.
        let their = store
            .keytool_run(
                store.keystore(),
                &[
                    OsStr::new("-importcert"),
                    OsStr::new("-noprompt"),
                    OsStr::new("-alias"),
                    OsStr::new("it-root"),
                ],
                Some(to_pem(&b).as_bytes()),
            )
            .expect("their import");
        assert!(their.status.success(), "{their:?}");

        assert!(!store.contains(&a).expect("contains"));
        let inode = || {
            std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(store.keystore()).expect("stat"))
        };
        let before_add = inode();
        assert_eq!(store.add(&a, "corp").expect("add"), Change::Added);
        // Replaced by rename, not rewritten in place as keytool itself does.
        assert_ne!(inode(), before_add);
        assert!(store.contains(&a).expect("contains"));
        assert_eq!(store.add(&a, "corp").expect("again"), Change::Unchanged);
        let ours = alias(&a, "corp").expect("alias");
        let entries = store.entries().expect("entries");
        assert!(entries.iter().any(|(n, c)| *n == ours && *c == a), "{ours}");
        assert_eq!(entries.len(), shipped + 2);

        assert_eq!(store.remove(&b, "corp").expect("remove"), Change::Unchanged);
        assert_eq!(
            store.remove(&b, "it-root").expect("remove"),
            Change::Unchanged
        );
        assert_eq!(store.remove(&a, "corp").expect("remove"), Change::Removed);
        assert_eq!(store.remove(&a, "corp").expect("again"), Change::Unchanged);
        assert!(!store.contains(&a).expect("contains"));
        assert!(store.contains(&b).expect("theirs stays"));
        assert_eq!(store.list().expect("list").len(), shipped + 1);

        // Only the copy changed, and no temporary file was left beside it.
        assert_eq!(std::fs::read(&real).expect("read"), real_before);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![OsString::from("cacerts")]);
    }

    #[test]
    fn a_failed_keytool_is_an_error_and_changes_nothing() {
        let (_dir, store, _jdk) = copied_keystore();
        let before = std::fs::read(store.keystore()).expect("read");
        // Not a certificate: keytool refuses it.
        let err = store
            .change(
                &[
                    OsStr::new("-importcert"),
                    OsStr::new("-noprompt"),
                    OsStr::new("-alias"),
                    OsStr::new("x"),
                ],
                Some(b"garbage"),
            )
            .expect_err("keytool fails");
        assert!(matches!(err, StoreError::Refresh { .. }), "{err}");
        assert_eq!(std::fs::read(store.keystore()).expect("read"), before);
    }

    #[test]
    fn jdks_are_found_once_each_with_their_keystore() {
        let root = tempfile::tempdir().expect("tmp");
        let mk = |rel: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, b"").expect("file");
        };
        mk("jvm/jdk-21/bin/java");
        mk("jvm/jdk-21/bin/keytool");
        mk("jvm/jdk-21/lib/security/cacerts");
        std::fs::write(
            root.path().join("jvm/jdk-21/release"),
            "JAVA_VERSION=\"21.0.4\"\n",
        )
        .expect("release");
        mk("jvm/jdk8/bin/java");
        mk("jvm/jdk8/jre/bin/java");
        mk("jvm/jdk8/jre/bin/keytool");
        mk("jvm/jdk8/jre/lib/security/cacerts");
        mk("jvm/jdk8/jre/lib/security/jssecacerts");
        mk("jvm/sources-only/src.zip");
        std::os::unix::fs::symlink(
            root.path().join("jvm/jdk-21"),
            root.path().join("jvm/default"),
        )
        .expect("link");
        std::fs::create_dir_all(root.path().join("bin")).expect("bin");
        std::os::unix::fs::symlink(
            root.path().join("jvm/jdk8/jre/bin/java"),
            root.path().join("bin/java"),
        )
        .expect("link");

        let home21 = root.path().join("jvm/default");
        let path_var = root.path().join("bin").into_os_string();
        let candidates = candidate_homes(
            Some(home21.as_os_str()),
            Some(&path_var),
            &[&root.path().join("jvm")],
            &[],
        );
        let jdks = find_jdks(&candidates);
        let canon = |rel: &str| std::fs::canonicalize(root.path().join(rel)).expect("canon");
        assert_eq!(jdks.len(), 2, "{jdks:#?}");
        assert_eq!(jdks[0].home, canon("jvm/jdk-21"));
        assert_eq!(jdks[0].version.as_deref(), Some("21.0.4"));
        assert!(
            jdks[0].found_by.starts_with("JAVA_HOME"),
            "{}",
            jdks[0].found_by
        );
        assert_eq!(
            jdks[0].keystore,
            Some(canon("jvm/jdk-21/lib/security/cacerts"))
        );
        // Java 8: the PATH java is jre/bin/java; its keystore is jre/lib/security, and
        // jssecacerts wins over cacerts as it does for JSSE.
        assert_eq!(jdks[1].home, canon("jvm/jdk8"));
        assert!(jdks[1].found_by.starts_with("PATH"), "{}", jdks[1].found_by);
        assert_eq!(
            jdks[1].keystore,
            Some(canon("jvm/jdk8/jre/lib/security/jssecacerts"))
        );
        assert_eq!(jdks[1].keytool, Some(canon("jvm/jdk8/jre/bin/keytool")));
    }

    #[test]
    fn distro_keystores_are_recognised() {
        assert!(matches!(
            keystore_origin(Path::new("/etc/pki/ca-trust/extracted/java/cacerts")),
            KeystoreOrigin::Distro { .. }
        ));
        assert_eq!(
            keystore_origin(Path::new("/usr/lib/jvm/temurin/lib/security/cacerts")),
            KeystoreOrigin::Own
        );
    }

    #[test]
    fn java_home_v_lines() {
        let out = "Matching Java Virtual Machines (2):\n    17.0.2 (arm64) \"Oracle Corporation\" - \"Java SE 17.0.2\" /Library/Java/JavaVirtualMachines/jdk-17.0.2.jdk/Contents/Home\n    1.8.0_292 (x86_64) \"AdoptOpenJDK\" - \"AdoptOpenJDK 8\" /Library/Java/JavaVirtualMachines/adoptopenjdk-8.jdk/Contents/Home\n/Library/Java/JavaVirtualMachines/jdk-17.0.2.jdk/Contents/Home\n";
        assert_eq!(
            parse_java_home_v(out),
            vec![
                PathBuf::from("/Library/Java/JavaVirtualMachines/jdk-17.0.2.jdk/Contents/Home"),
                PathBuf::from("/Library/Java/JavaVirtualMachines/adoptopenjdk-8.jdk/Contents/Home"),
            ]
        );
    }
}
