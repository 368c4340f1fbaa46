//! Linux: one PEM bundle generated from anchor files by a distro tool.
//!
//! We never edit the bundle itself: the distro tool regenerates it (and Java's cacerts on Fedora)
//! from the anchor directory, so an edit would be lost on the next package update.
//!
//! Least privilege: where the distro tool is p11-kit (Fedora/RHEL, Arch, openSUSE), the anchor is
//! a p11-kit object with an attached Extended Key Usage extension naming TLS server
//! authentication only, so `trust extract --purpose server-auth` (the TLS bundle) includes it and
//! the e-mail and code-signing extractions do not. Debian's and Alpine's update-ca-certificates
//! read plain certificates and trust them for every purpose; they cannot say it.
//!
//! Distrust ([`distrusted`]): Debian's `!` lines in `/etc/ca-certificates.conf`, and p11-kit's
//! blocklist directories and `x-distrusted` objects, read through the sysroot like the rest.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use crate::{
    fs_safe, parse_certificates, sanitize_name, to_pem, CertificateDer, Change, Distrust,
    StoreError, TrustStore,
};

/// Distro families that share one anchor layout and refresh tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Debian, Ubuntu and derivatives; Gentoo uses the same tool and directory.
    Debian,
    Alpine,
    /// Fedora, RHEL, CentOS, Amazon Linux, Rocky, Alma, Oracle.
    Fedora,
    Arch,
    /// openSUSE and SLES.
    Suse,
    Unknown,
}

struct Layout {
    /// Where `add` writes (the first) and the distro's other anchor directories.
    anchor_dirs: &'static [&'static str],
    format: AnchorFormat,
    /// What earlier trust-proxy versions named the anchor, so `remove` still finds it.
    legacy_ext: Option<&'static str>,
    bundles: &'static [&'static str],
    tool: &'static str,
    add_args: &'static [&'static str],
    remove_args: &'static [&'static str],
}

/// How the anchor file says what it is trusted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AnchorFormat {
    /// A PEM certificate in a file with this extension: trusted for every purpose.
    Pem(&'static str),
    /// A p11-kit persistence file (`.p11-kit`): the certificate plus an attached Extended Key
    /// Usage extension with id-kp-serverAuth only.
    P11Kit,
}

impl AnchorFormat {
    fn ext(self) -> &'static str {
        match self {
            AnchorFormat::Pem(ext) => ext,
            AnchorFormat::P11Kit => "p11-kit",
        }
    }
}

const DEBIAN_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Every bundle location we know, for distros we cannot identify (same list as openssl-probe's
/// common ones, restricted to files).
const KNOWN_BUNDLES: &[&str] = &[
    DEBIAN_BUNDLE,
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/etc/ca-certificates/extracted/tls-ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
];

const TOOL_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

impl Family {
    fn layout(self) -> Option<&'static Layout> {
        Some(match self {
            Family::Debian => &Layout {
                anchor_dirs: &["/usr/local/share/ca-certificates"],
                format: AnchorFormat::Pem("crt"),
                legacy_ext: None,
                bundles: &[DEBIAN_BUNDLE],
                tool: "update-ca-certificates",
                add_args: &[],
                // Without --fresh the hash link of a deleted anchor stays in /etc/ssl/certs.
                remove_args: &["--fresh"],
            },
            Family::Alpine => &Layout {
                anchor_dirs: &["/usr/local/share/ca-certificates"],
                format: AnchorFormat::Pem("crt"),
                legacy_ext: None,
                bundles: &[DEBIAN_BUNDLE, "/etc/ssl/cert.pem"],
                tool: "update-ca-certificates",
                add_args: &[],
                remove_args: &[],
            },
            Family::Fedora => &Layout {
                anchor_dirs: &[
                    "/etc/pki/ca-trust/source/anchors",
                    "/usr/share/pki/ca-trust-source/anchors",
                ],
                format: AnchorFormat::P11Kit,
                legacy_ext: Some("pem"),
                bundles: &[
                    "/etc/pki/tls/certs/ca-bundle.crt",
                    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                ],
                tool: "update-ca-trust",
                add_args: &["extract"],
                remove_args: &["extract"],
            },
            Family::Arch => &Layout {
                anchor_dirs: &["/etc/ca-certificates/trust-source/anchors"],
                format: AnchorFormat::P11Kit,
                legacy_ext: Some("crt"),
                bundles: &[
                    DEBIAN_BUNDLE,
                    "/etc/ca-certificates/extracted/tls-ca-bundle.pem",
                ],
                tool: "trust",
                add_args: &["extract-compat"],
                remove_args: &["extract-compat"],
            },
            Family::Suse => &Layout {
                // mkcert writes to /usr/share/pki/trust/anchors, which belongs to packages.
                anchor_dirs: &["/etc/pki/trust/anchors", "/usr/share/pki/trust/anchors"],
                format: AnchorFormat::P11Kit,
                legacy_ext: Some("pem"),
                bundles: &["/etc/ssl/ca-bundle.pem"],
                tool: "update-ca-certificates",
                add_args: &[],
                remove_args: &[],
            },
            Family::Unknown => return None,
        })
    }

    /// Family named by os-release `ID`, else by the first `ID_LIKE` entry we know.
    pub fn from_os_release(text: &str) -> Family {
        let mut id = None;
        let mut id_like = None;
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            match key.trim() {
                "ID" => id = Some(value.to_ascii_lowercase()),
                "ID_LIKE" => id_like = Some(value.to_ascii_lowercase()),
                _ => {}
            }
        }
        id.iter()
            .chain(id_like.iter())
            .flat_map(|v| v.split_whitespace())
            .map(Family::from_os_id)
            .find(|f| *f != Family::Unknown)
            .unwrap_or(Family::Unknown)
    }

    fn from_os_id(id: &str) -> Family {
        match id {
            "debian" | "ubuntu" | "gentoo" => Family::Debian,
            "alpine" => Family::Alpine,
            "fedora" | "rhel" | "centos" | "amzn" | "rocky" | "almalinux" | "ol" => Family::Fedora,
            "arch" | "archlinux" => Family::Arch,
            "suse" | "sles" | "sled" => Family::Suse,
            s if s.starts_with("opensuse") => Family::Suse,
            _ => Family::Unknown,
        }
    }

    /// From `sysroot`'s os-release, or, if that names nothing we know, from which refresh tool
    /// and anchor directory exist (containers often ship without os-release).
    pub fn detect(sysroot: &Path) -> Family {
        for rel in ["/etc/os-release", "/usr/lib/os-release"] {
            if let Ok(text) = std::fs::read_to_string(rooted(sysroot, rel)) {
                let family = Family::from_os_release(&text);
                if family != Family::Unknown {
                    return family;
                }
            }
        }
        let has_dir = |d: &str| rooted(sysroot, d).is_dir();
        let has_tool = |t: &str| find_tool(sysroot, t).is_ok();
        if has_tool("update-ca-trust") {
            Family::Fedora
        } else if has_tool("update-ca-certificates") && has_dir("/etc/pki/trust") {
            Family::Suse
        } else if has_tool("update-ca-certificates") {
            Family::Debian
        } else if has_tool("trust") && has_dir("/etc/ca-certificates/trust-source") {
            Family::Arch
        } else {
            Family::Unknown
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Debian => "debian",
            Family::Alpine => "alpine",
            Family::Fedora => "fedora",
            Family::Arch => "arch",
            Family::Suse => "suse",
            Family::Unknown => "unknown",
        })
    }
}

impl FromStr for Family {
    type Err = StoreError;

    /// Accepts the names `Display` prints and any os-release ID we recognise, for a CLI override.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Family::from_os_id(&s.to_ascii_lowercase()) {
            Family::Unknown => Err(StoreError::Unsupported(format!(
                "unknown Linux family {s:?} (expected debian, alpine, fedora, arch or suse)"
            ))),
            f => Ok(f),
        }
    }
}

/// Regenerates the distro bundle after an anchor changed. Injectable so tests never run the real
/// tool, and so a caller can defer the refresh when changing several anchors.
pub trait Refresher: fmt::Debug + Send + Sync {
    fn refresh(&self, sysroot: &Path, tool: &str, args: &[&str]) -> Result<(), StoreError>;

    /// Tells Debian's update-ca-certificates hooks (Java's keystore, ...) that these
    /// `/etc/ssl/certs/*.pem` entries are gone. `update-ca-certificates --fresh` reports every
    /// certificate as added and none as removed, so without this the Java keystore keeps a CA
    /// after its anchor was deleted (seen with ca-certificates-java 20230710 on Debian 12).
    fn notify_removed(&self, _sysroot: &Path, _entries: &[PathBuf]) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Where update-ca-certificates finds its hooks; each reads `+path` / `-path` lines on stdin.
const DEBIAN_HOOK_DIR: &str = "/etc/ca-certificates/update.d";

/// Runs the distro tool, found only in the standard sbin/bin directories (never via `$PATH`,
/// which a root shell may have inherited from a user).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRefresher;

impl Refresher for SystemRefresher {
    fn refresh(&self, sysroot: &Path, tool: &str, args: &[&str]) -> Result<(), StoreError> {
        // The tool would regenerate the host's bundle, not the one under the sysroot.
        if sysroot != Path::new("/") {
            return Err(StoreError::Unsupported(format!(
                "cannot run {tool} for sysroot {}; refresh inside it (e.g. chroot) yourself",
                sysroot.display()
            )));
        }
        let program = find_tool(sysroot, tool)?;
        let command = format!("{} {}", program.display(), args.join(" "));
        let output = Command::new(&program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| StoreError::Refresh {
                command: command.trim().to_owned(),
                detail: e.to_string(),
            })?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(StoreError::Refresh {
            command: command.trim().to_owned(),
            detail: format!("{}: {}", output.status, last.trim()),
        })
    }

    fn notify_removed(&self, sysroot: &Path, entries: &[PathBuf]) -> Result<(), StoreError> {
        self.run_hooks(sysroot, entries)
    }
}

impl SystemRefresher {
    fn run_hooks(&self, sysroot: &Path, entries: &[PathBuf]) -> Result<(), StoreError> {
        if sysroot != Path::new("/") || entries.is_empty() {
            return Ok(());
        }
        let dir = Path::new(DEBIAN_HOOK_DIR);
        let mut hooks: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
            Err(_) => return Ok(()),
        };
        hooks.sort();
        let input: String = entries
            .iter()
            .map(|e| format!("-{}\n", e.display()))
            .collect();
        for hook in hooks {
            let Ok(meta) = std::fs::metadata(&hook) else {
                continue;
            };
            if !is_executable_file(&meta) {
                continue;
            }
            let command = hook.display().to_string();
            let mut child = Command::new(&hook)
                .env_clear()
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| StoreError::Refresh {
                    command: command.clone(),
                    detail: e.to_string(),
                })?;
            if let Some(mut stdin) = child.stdin.take() {
                use std::io::Write;
                let _ = stdin.write_all(input.as_bytes());
            }
            let output = child.wait_with_output().map_err(|e| StoreError::Refresh {
                command: command.clone(),
                detail: e.to_string(),
            })?;
            if !output.status.success() {
                return Err(StoreError::Refresh {
                    command,
                    detail: format!(
                        "{}: {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr).trim()
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn is_executable_file(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable_file(meta: &std::fs::Metadata) -> bool {
    meta.is_file()
}

/// Does nothing: the caller refreshes later (or the image build does).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRefresh;

impl Refresher for NoRefresh {
    fn refresh(&self, _: &Path, _: &str, _: &[&str]) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Records each requested command line (`tool args...`) instead of running it.
#[derive(Debug, Default)]
pub struct RecordingRefresher {
    calls: Mutex<Vec<Vec<String>>>,
}

impl RecordingRefresher {
    pub fn calls(&self) -> Vec<Vec<String>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Refresher for RecordingRefresher {
    fn refresh(&self, _: &Path, tool: &str, args: &[&str]) -> Result<(), StoreError> {
        let line = std::iter::once(tool)
            .chain(args.iter().copied())
            .map(String::from)
            .collect();
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
        Ok(())
    }

    fn notify_removed(&self, _: &Path, entries: &[PathBuf]) -> Result<(), StoreError> {
        let line = std::iter::once("notify-removed".to_string())
            .chain(entries.iter().map(|e| e.display().to_string()))
            .collect();
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
        Ok(())
    }
}

fn find_tool(sysroot: &Path, tool: &str) -> Result<PathBuf, StoreError> {
    let candidates: Vec<PathBuf> = TOOL_DIRS
        .iter()
        .map(|d| rooted(sysroot, &format!("{d}/{tool}")))
        .collect();
    match candidates.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(StoreError::RefreshToolMissing {
            tool: tool.to_owned(),
            family: String::new(),
            searched: candidates,
        }),
    }
}

/// `logical` (absolute, as on the target system) inside `sysroot`.
fn rooted(sysroot: &Path, logical: &str) -> PathBuf {
    sysroot.join(logical.trim_start_matches('/'))
}

/// Like `rooted`, but follows symlinks the way the target system would: an absolute link target
/// stays inside `sysroot` instead of escaping to the host (Fedora's bundle is such a link).
fn resolve_in(sysroot: &Path, logical: &str) -> PathBuf {
    if sysroot == Path::new("/") {
        return PathBuf::from(logical);
    }
    let mut pending: Vec<PathBuf> = vec![PathBuf::from(logical)];
    let mut current = PathBuf::from("/");
    let mut hops = 0;
    while let Some(next) = pending.pop() {
        let mut comps: Vec<Component<'_>> = next.components().collect();
        comps.reverse();
        while let Some(c) = comps.pop() {
            match c {
                Component::RootDir => current = PathBuf::from("/"),
                Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    current.pop();
                }
                Component::Normal(n) => {
                    let candidate = current.join(n);
                    let on_disk = sysroot.join(candidate.strip_prefix("/").unwrap_or(&candidate));
                    match std::fs::read_link(&on_disk) {
                        Ok(target) if hops < 40 => {
                            hops += 1;
                            let rest: PathBuf = comps.iter().rev().collect();
                            let joined = if target.is_absolute() {
                                target
                            } else {
                                current.join(target)
                            };
                            pending.push(joined.join(rest));
                            comps.clear();
                        }
                        _ => current = candidate,
                    }
                }
            }
        }
    }
    sysroot.join(current.strip_prefix("/").unwrap_or(&current))
}

/// The distro store rooted at `sysroot` ("/" for the running system, a directory tree for tests
/// and container images).
#[derive(Debug, Clone)]
pub struct LinuxStore {
    sysroot: PathBuf,
    family: Family,
    refresher: Arc<dyn Refresher>,
}

impl LinuxStore {
    pub fn detect(sysroot: impl Into<PathBuf>) -> LinuxStore {
        let sysroot = sysroot.into();
        let family = Family::detect(&sysroot);
        LinuxStore::new(sysroot, family)
    }

    pub fn new(sysroot: impl Into<PathBuf>, family: Family) -> LinuxStore {
        LinuxStore {
            sysroot: sysroot.into(),
            family,
            refresher: Arc::new(SystemRefresher),
        }
    }

    pub fn with_refresher(mut self, refresher: Arc<dyn Refresher>) -> LinuxStore {
        self.refresher = refresher;
        self
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn sysroot(&self) -> &Path {
        &self.sysroot
    }

    /// Where `add` would write the anchor for `name`, as a path on this machine.
    pub fn anchor_path(&self, name: &str) -> Result<PathBuf, StoreError> {
        let layout = self.layout()?;
        self.anchor_path_with(layout, name, layout.format.ext())
    }

    fn anchor_path_with(
        &self,
        layout: &Layout,
        name: &str,
        ext: &str,
    ) -> Result<PathBuf, StoreError> {
        let mut file = sanitize_name(name)?;
        let suffix = format!(".{ext}");
        if !file.ends_with(&suffix) {
            file.push_str(&suffix);
        }
        Ok(rooted(&self.sysroot, layout.anchor_dirs[0]).join(file))
    }

    /// The anchor files `add` may have written for `name`: today's name, then an earlier
    /// version's. Only these are ever removed.
    fn own_anchor_paths(&self, layout: &Layout, name: &str) -> Result<Vec<PathBuf>, StoreError> {
        let mut paths = vec![self.anchor_path_with(layout, name, layout.format.ext())?];
        if let Some(ext) = layout.legacy_ext {
            paths.push(self.anchor_path_with(layout, name, ext)?);
        }
        Ok(paths)
    }

    /// The certificates this system distrusts (see [`distrusted`]).
    pub fn distrusted(&self) -> Result<Vec<CertificateDer<'static>>, StoreError> {
        distrusted(&self.sysroot)
    }

    /// The bundle `list` reads: the family's own first, then any known location.
    pub fn bundle_path(&self) -> Result<PathBuf, StoreError> {
        let own = self.family.layout().map(|l| l.bundles).unwrap_or(&[]);
        let mut searched = Vec::new();
        for logical in own.iter().chain(KNOWN_BUNDLES) {
            let path = resolve_in(&self.sysroot, logical);
            if path.is_file() {
                return Ok(path);
            }
            let shown = rooted(&self.sysroot, logical);
            if !searched.contains(&shown) {
                searched.push(shown);
            }
        }
        Err(StoreError::NoBundle { searched })
    }

    fn layout(&self) -> Result<&'static Layout, StoreError> {
        self.family.layout().ok_or_else(|| {
            StoreError::Unsupported(
                "unrecognised Linux distribution: cannot tell where anchors go \
                 (set the family explicitly: debian, alpine, fedora, arch or suse)"
                    .into(),
            )
        })
    }

    fn refresh(&self, layout: &Layout, args: &[&str]) -> Result<(), StoreError> {
        self.refresher
            .refresh(&self.sysroot, layout.tool, args)
            .map_err(|e| match e {
                StoreError::RefreshToolMissing { tool, searched, .. } => {
                    StoreError::RefreshToolMissing {
                        tool,
                        family: self.family.to_string(),
                        searched,
                    }
                }
                other => other,
            })
    }
}

impl TrustStore for LinuxStore {
    /// Debian's `update-ca-certificates` concatenates every anchor file (run in the lab); the
    /// p11-kit families extract the TLS bundle with `--filter=ca-anchors`, which drops a
    /// certificate whose basicConstraints say CA:FALSE (p11-kit category "other-entry"). Alpine's
    /// tool was never run here, so it is not claimed.
    fn accepts_end_entity_anchor(&self) -> bool {
        self.family == Family::Debian
    }

    fn describe(&self) -> String {
        let bundle = match self.bundle_path() {
            Ok(p) => p.display().to_string(),
            Err(_) => "(no CA bundle found)".to_owned(),
        };
        let family = match self.family {
            Family::Debian => "Debian family",
            Family::Alpine => "Alpine",
            Family::Fedora => "Fedora/RHEL family",
            Family::Arch => "Arch family",
            Family::Suse => "openSUSE/SLES family",
            Family::Unknown => "Unrecognised Linux",
        };
        format!("{family} store {bundle}")
    }

    fn list(&self) -> Result<Vec<CertificateDer<'static>>, StoreError> {
        let path = self.bundle_path()?;
        let bytes = std::fs::read(&path).map_err(|e| StoreError::Io {
            op: "read",
            path,
            source: e,
        })?;
        Ok(parse_certificates(&bytes))
    }

    fn contains(&self, cert: &CertificateDer<'_>) -> Result<bool, StoreError> {
        match self.list() {
            Ok(certs) => Ok(certs.iter().any(|c| c.as_ref() == cert.as_ref())),
            // No bundle at all: nothing is trusted yet, and `add` will create one.
            Err(StoreError::NoBundle { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn add(&self, cert: &CertificateDer<'_>, name: &str) -> Result<Change, StoreError> {
        let layout = self.layout()?;
        let path = self.anchor_path(name)?;
        // A local anchor would override the distrust: update-ca-certificates adds every file
        // under /usr/local/share/ca-certificates whatever ca-certificates.conf says.
        if let Some(origin) = distrusted_with_origin(&self.sysroot)?
            .into_iter()
            .find(|(_, c)| Distrust::new(std::slice::from_ref(c)).covers(cert.as_ref()))
            .map(|(origin, _)| origin)
        {
            return Err(StoreError::Distrusted {
                origin: format!("listed in {}", origin.display()),
            });
        }
        if self.contains(cert)? {
            return Ok(Change::Unchanged);
        }
        let contents = anchor_contents(layout.format, cert, name)?;
        match fs_safe::read_nofollow(&path)? {
            // Anchor written earlier but the refresh never happened (or failed): only refresh.
            Some(existing) if existing == contents => {}
            Some(_) => return Err(StoreError::NameTaken { path }),
            None => {
                if let Some(dir) = path.parent() {
                    fs_safe::create_dir_all(dir, 0o755)?;
                }
                fs_safe::write_atomic(&path, &contents, 0o644)?;
            }
        }
        self.refresh(layout, layout.add_args)?;
        Ok(Change::Added)
    }

    fn remove(&self, cert: &CertificateDer<'_>, name: &str) -> Result<Change, StoreError> {
        let layout = self.layout()?;
        let mut removed_names = Vec::new();
        for path in self.own_anchor_paths(layout, name)? {
            let bytes = match fs_safe::read_nofollow(&path) {
                Ok(Some(bytes)) => bytes,
                // A link at our name was not written by us (we write regular files only).
                Ok(None) | Err(StoreError::Symlink { .. }) => continue,
                Err(e) => return Err(e),
            };
            // Someone else's file under our name: theirs to keep.
            if parse_certificates(&bytes) != [cert.clone()] {
                continue;
            }
            match fs_safe::remove_if_hash_matches(&path, &crate::sha256(&bytes))? {
                fs_safe::Removal::Removed => {
                    if let Some(stem) = path.file_stem() {
                        removed_names.push(stem.to_string_lossy().into_owned());
                    }
                }
                fs_safe::Removal::Absent => {}
                fs_safe::Removal::HashMismatch => return Err(StoreError::NameTaken { path }),
            }
        }
        if removed_names.is_empty() {
            return Ok(Change::Unchanged);
        }
        self.refresh(layout, layout.remove_args)?;
        if self.family == Family::Debian {
            // update-ca-certificates links `/etc/ssl/certs/<anchor name>.pem` to each anchor.
            let entries: Vec<PathBuf> = removed_names
                .iter()
                .map(|n| Path::new("/etc/ssl/certs").join(format!("{n}.pem")))
                .collect();
            self.refresher.notify_removed(&self.sysroot, &entries)?;
        }
        Ok(Change::Removed)
    }
}

/// Id-kp-serverAuth as an Extended Key Usage extension: `SEQUENCE { OID 2.5.29.37,
/// OCTET STRING { SEQUENCE { OID 1.3.6.1.5.5.7.3.1 } } }`, the form p11-kit's
/// `x-certificate-extension` objects hold (its `trust/input/extensions.p11-kit` example has the
/// same shape for name constraints).
const SERVER_AUTH_EKU_EXTENSION: [u8; 21] = [
    0x30, 0x13, 0x06, 0x03, 0x55, 0x1d, 0x25, 0x04, 0x0c, 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01,
    0x05, 0x05, 0x07, 0x03, 0x01,
];

/// The bytes of the anchor file for `cert` labelled `name`.
fn anchor_contents(
    format: AnchorFormat,
    cert: &CertificateDer<'_>,
    name: &str,
) -> Result<Vec<u8>, StoreError> {
    match format {
        AnchorFormat::Pem(_) => Ok(to_pem(cert).into_bytes()),
        AnchorFormat::P11Kit => {
            use x509_parser::prelude::FromDer;
            let label = sanitize_name(name)?;
            let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(cert.as_ref())
                .map_err(|e| StoreError::Platform {
                    what: "p11-kit anchor".into(),
                    message: format!("the certificate does not parse: {e}"),
                })?;
            let spki = pem::Pem::new("PUBLIC KEY", parsed.public_key().raw.to_vec());
            let public_key = pem::encode_config(
                &spki,
                pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
            );
            let eku: String = SERVER_AUTH_EKU_EXTENSION
                .iter()
                .map(|b| format!("%{b:02x}"))
                .collect();
            // No certificate-category: p11-kit derives it from the certificate's own basic
            // constraints, so the store decides whether a non-CA certificate can be an anchor.
            Ok(format!(
                "# Written by trust-proxy: trusted for TLS server authentication only.\n\
                 [p11-kit-object-v1]\n\
                 class: certificate\n\
                 label: \"{label}\"\n\
                 trusted: true\n\
                 {cert_pem}\n\
                 [p11-kit-object-v1]\n\
                 class: x-certificate-extension\n\
                 label: \"{label}\"\n\
                 object-id: 2.5.29.37\n\
                 value: \"{eku}\"\n\
                 {public_key}",
                cert_pem = to_pem(cert),
            )
            .into_bytes())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Distrust
// ---------------------------------------------------------------------------------------------

/// Debian's selection of the certificates under [`DEBIAN_CA_SHARE`]: `!path` deselects one.
const DEBIAN_CA_CONF: &str = "/etc/ca-certificates.conf";
const DEBIAN_CA_SHARE: &str = "/usr/share/ca-certificates";

/// p11-kit trust sources ("tokens") per distro: Fedora/RHEL, Arch, openSUSE. Each may have a
/// `blocklist/` subdirectory (`blacklist/` before p11-kit 0.24, still read by distro tools) whose
/// certificates are distrusted whatever the file says, and files holding `x-distrusted: true`
/// objects at the top or under `anchors/`.
const P11KIT_SOURCES: &[&str] = &[
    "/etc/pki/ca-trust/source",
    "/usr/share/pki/ca-trust-source",
    "/etc/ca-certificates/trust-source",
    "/usr/share/ca-certificates/trust-source",
    "/etc/pki/trust",
    "/usr/share/pki/trust",
];

/// Larger files are not trust configuration (Fedora's whole Mozilla set is under 1 MiB).
const MAX_TRUST_FILE: u64 = 16 * 1024 * 1024;

/// The certificates the system under `sysroot` distrusts, from every source any family uses
/// (reading another family's directory costs nothing and a present one is the administrator's
/// word). A missing file or directory is no distrust; any other read error is an error, so a
/// caller never mistakes an unreadable blocklist for an empty one.
///
/// Not read: p11-kit entries that distrust by issuer and serial number without the certificate
/// (trust extract drops them too), and OpenSSL `TRUSTED CERTIFICATE` reject bits outside a
/// blocklist directory.
pub fn distrusted(sysroot: &Path) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let mut out: Vec<CertificateDer<'static>> = Vec::new();
    for (_, cert) in distrusted_with_origin(sysroot)? {
        if !out.contains(&cert) {
            out.push(cert);
        }
    }
    Ok(out)
}

/// Each distrusted certificate with the file that says so.
fn distrusted_with_origin(
    sysroot: &Path,
) -> Result<Vec<(PathBuf, CertificateDer<'static>)>, StoreError> {
    let mut out = Vec::new();
    if let Some(conf) = read_trust_file(&rooted(sysroot, DEBIAN_CA_CONF))? {
        let share = rooted(sysroot, DEBIAN_CA_SHARE);
        for rel in debian_deselected(&String::from_utf8_lossy(&conf)) {
            let path = share.join(rel);
            if let Some(bytes) = read_trust_file(&path)? {
                out.extend(
                    parse_certificates(&bytes)
                        .into_iter()
                        .map(|c| (path.clone(), c)),
                );
            }
        }
    }
    for source in P11KIT_SOURCES {
        let source = resolve_in(sysroot, source);
        for sub in ["blocklist", "blacklist"] {
            for (path, bytes) in read_trust_dir(&source.join(sub))? {
                out.extend(
                    all_certificates(&bytes)
                        .into_iter()
                        .map(|c| (path.clone(), c)),
                );
            }
        }
        for dir in [source.clone(), source.join("anchors")] {
            for (path, bytes) in read_trust_dir(&dir)? {
                out.extend(
                    p11kit_distrusted(&bytes)
                        .into_iter()
                        .map(|c| (path.clone(), c)),
                );
            }
        }
    }
    Ok(out)
}

/// The relative paths of `!` lines, skipping any that could leave the certificate directory.
fn debian_deselected(conf: &str) -> Vec<&Path> {
    conf.lines()
        .filter_map(|line| line.trim().strip_prefix('!'))
        .map(|rel| Path::new(rel.trim()))
        .filter(|rel| {
            rel.components().next().is_some()
                && rel.components().all(|c| matches!(c, Component::Normal(_)))
        })
        .collect()
}

/// The file's bytes; `None` when it does not exist or is not a regular file.
fn read_trust_file(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let io_err = |op, source| StoreError::Io {
        op,
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("stat", e)),
    };
    if !meta.is_file() || meta.len() > MAX_TRUST_FILE {
        return Ok(None);
    }
    std::fs::read(path).map(Some).map_err(|e| io_err("read", e))
}

/// The regular files directly in `dir` (links followed: distros link blacklist to blocklist),
/// sorted by name; none when `dir` does not exist.
fn read_trust_dir(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, StoreError> {
    let list_err = |source| StoreError::Io {
        op: "list",
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new())
        }
        Err(e) => return Err(list_err(e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(list_err)?.path());
    }
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        if let Some(bytes) = read_trust_file(&path)? {
            out.push((path, bytes));
        }
    }
    Ok(out)
}

/// Every certificate in a blocklist file: PEM `CERTIFICATE`, raw DER, OpenSSL `TRUSTED
/// CERTIFICATE` (the certificate is its first element) and p11-kit objects alike.
fn all_certificates(bytes: &[u8]) -> Vec<CertificateDer<'static>> {
    let mut certs = parse_certificates(bytes);
    const BEGIN: &[u8] = b"-----BEGIN TRUSTED CERTIFICATE-----";
    let starts = bytes
        .windows(BEGIN.len())
        .enumerate()
        .filter(|(_, w)| *w == BEGIN)
        .map(|(i, _)| i);
    for start in starts {
        let Some(block) = bytes.get(start..).and_then(|b| pem::parse(b).ok()) else {
            continue;
        };
        if let Some(der) = first_der_element(block.contents()) {
            certs.push(CertificateDer::from(der.to_vec()));
        }
    }
    certs
}

/// The first DER element of `bytes` (definite length only, as DER requires).
fn first_der_element(bytes: &[u8]) -> Option<&[u8]> {
    let first_len = *bytes.get(1)?;
    let (header, len) = if first_len < 0x80 {
        (2usize, usize::from(first_len))
    } else {
        let n = usize::from(first_len & 0x7f);
        if n == 0 || n > std::mem::size_of::<usize>() {
            return None;
        }
        let len_bytes = bytes.get(2..2usize.checked_add(n)?)?;
        let len = len_bytes.iter().try_fold(0usize, |acc, &b| {
            acc.checked_mul(256)?.checked_add(usize::from(b))
        })?;
        (2usize.checked_add(n)?, len)
    };
    bytes.get(..header.checked_add(len)?)
}

/// Certificates of p11-kit persistence objects that carry `x-distrusted: true`.
fn p11kit_distrusted(bytes: &[u8]) -> Vec<CertificateDer<'static>> {
    const HEADER: &str = "[p11-kit-object-v1]";
    let text = String::from_utf8_lossy(bytes);
    if !text.contains(HEADER) {
        return Vec::new();
    }
    text.split(HEADER)
        .skip(1)
        .filter(|object| {
            object.lines().any(|line| {
                line.split_once([':', '='])
                    .is_some_and(|(k, v)| k.trim() == "x-distrusted" && v.trim() == "true")
            })
        })
        .flat_map(|object| parse_certificates(object.as_bytes()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const CA_A: &str = include_str!("../testdata/test-ca-a.pem");
    const CA_B: &str = include_str!("../testdata/test-ca-b.pem");
    const CA_C: &str = include_str!("../testdata/test-ca-c.pem");

    fn cert(pem: &str) -> CertificateDer<'static> {
        parse_certificates(pem.as_bytes()).remove(0)
    }

    /// Stands in for the distro tool: rebuilds the bundle from a base file plus the anchors,
    /// and records what it was asked to run.
    #[derive(Debug, Default)]
    struct FakeTool {
        rec: RecordingRefresher,
        bundle: &'static str,
        anchors: &'static str,
    }

    impl Refresher for FakeTool {
        fn refresh(&self, sysroot: &Path, tool: &str, args: &[&str]) -> Result<(), StoreError> {
            self.rec.refresh(sysroot, tool, args)?;
            let mut out =
                std::fs::read_to_string(sysroot.join("base-bundle.pem")).unwrap_or_default();
            let mut names: Vec<_> = std::fs::read_dir(rooted(sysroot, self.anchors))
                .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            names.sort();
            for n in names {
                out.push_str(&std::fs::read_to_string(n).unwrap_or_default());
            }
            let path = rooted(sysroot, self.bundle);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, out).expect("write bundle");
            Ok(())
        }

        fn notify_removed(&self, sysroot: &Path, entries: &[PathBuf]) -> Result<(), StoreError> {
            self.rec.notify_removed(sysroot, entries)
        }
    }

    fn sysroot(os_release: &str, bundle: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(d.path().join("etc")).expect("mkdir");
        std::fs::write(d.path().join("etc/os-release"), os_release).expect("os-release");
        std::fs::write(d.path().join("base-bundle.pem"), CA_A).expect("base");
        let b = rooted(d.path(), bundle);
        std::fs::create_dir_all(b.parent().expect("parent")).expect("mkdir");
        std::fs::write(b, format!("# comment\n{CA_A}")).expect("bundle");
        d
    }

    #[test]
    fn os_release_fixtures() {
        let cases = [
            ("ID=debian\nVERSION_ID=\"12\"\n", Family::Debian),
            (
                "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\n",
                Family::Debian,
            ),
            ("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", Family::Debian),
            ("ID=gentoo\n", Family::Debian),
            (
                "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.0\n",
                Family::Alpine,
            ),
            ("ID=fedora\nVERSION_ID=40\n", Family::Fedora),
            ("ID=\"rhel\"\nID_LIKE=\"fedora\"\n", Family::Fedora),
            ("ID=\"centos\"\nID_LIKE=\"rhel fedora\"\n", Family::Fedora),
            ("ID=\"amzn\"\nID_LIKE=\"fedora\"\n", Family::Fedora),
            (
                "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n",
                Family::Fedora,
            ),
            ("ID=arch\n", Family::Arch),
            ("ID=manjaro\nID_LIKE=arch\n", Family::Arch),
            (
                "ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n",
                Family::Suse,
            ),
            ("ID=\"sles\"\nID_LIKE=\"suse\"\n", Family::Suse),
            ("# comment\nID='opensuse-leap'\n", Family::Suse),
            ("ID=nixos\n", Family::Unknown),
            ("", Family::Unknown),
        ];
        for (text, want) in cases {
            assert_eq!(Family::from_os_release(text), want, "{text:?}");
        }
    }

    #[test]
    fn detect_reads_sysroot_and_falls_back_to_tools() {
        let d = sysroot("ID=ubuntu\nID_LIKE=debian\n", DEBIAN_BUNDLE);
        assert_eq!(LinuxStore::detect(d.path()).family(), Family::Debian);

        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(d.path().join("usr/lib")).expect("mkdir");
        std::fs::write(d.path().join("usr/lib/os-release"), "ID=fedora\n").expect("w");
        assert_eq!(Family::detect(d.path()), Family::Fedora);

        let d = tempfile::tempdir().expect("tempdir");
        assert_eq!(Family::detect(d.path()), Family::Unknown);
        std::fs::create_dir_all(d.path().join("usr/bin")).expect("mkdir");
        std::fs::write(d.path().join("usr/bin/update-ca-trust"), "").expect("w");
        assert_eq!(Family::detect(d.path()), Family::Fedora);

        assert_eq!("Fedora".parse::<Family>().ok(), Some(Family::Fedora));
        assert_eq!("opensuse-leap".parse::<Family>().ok(), Some(Family::Suse));
        assert!("plan9".parse::<Family>().is_err());
    }

    #[test]
    fn list_reads_family_bundle_and_follows_links_inside_sysroot() {
        let d = sysroot(
            "ID=fedora\n",
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        );
        std::fs::create_dir_all(d.path().join("etc/pki/tls/certs")).expect("mkdir");
        // As on Fedora: an absolute link, which must resolve inside the sysroot, not on the host.
        symlink(
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            d.path().join("etc/pki/tls/certs/ca-bundle.crt"),
        )
        .expect("symlink");
        let store = LinuxStore::detect(d.path()).with_refresher(Arc::new(NoRefresh));
        assert_eq!(
            store.bundle_path().ok(),
            Some(
                d.path()
                    .join("etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")
            )
        );
        assert_eq!(store.list().expect("list"), vec![cert(CA_A)]);
        assert!(
            store.describe().starts_with("Fedora/RHEL family store "),
            "{}",
            store.describe()
        );
        assert!(store.contains(&cert(CA_A)).expect("contains"));
        assert!(!store.contains(&cert(CA_B)).expect("contains"));
    }

    #[test]
    fn list_falls_back_to_known_bundles() {
        let d = sysroot("ID=nixos\n", "/etc/ssl/cert.pem");
        let store = LinuxStore::detect(d.path());
        assert_eq!(store.family(), Family::Unknown);
        assert_eq!(store.list().expect("list"), vec![cert(CA_A)]);
        assert!(matches!(
            store.add(&cert(CA_B), "x"),
            Err(StoreError::Unsupported(_))
        ));

        let empty = tempfile::tempdir().expect("tempdir");
        let err = LinuxStore::new(empty.path(), Family::Debian)
            .list()
            .expect_err("no bundle");
        assert!(
            matches!(err, StoreError::NoBundle { ref searched } if searched.len() == KNOWN_BUNDLES.len())
        );
    }

    fn store_for(
        family: Family,
        os_release: &str,
        bundle: &'static str,
        anchors: &'static str,
    ) -> (tempfile::TempDir, LinuxStore, Arc<FakeTool>) {
        let d = sysroot(os_release, bundle);
        let tool = Arc::new(FakeTool {
            bundle,
            anchors,
            ..Default::default()
        });
        let store = LinuxStore::detect(d.path()).with_refresher(tool.clone());
        assert_eq!(store.family(), family);
        (d, store, tool)
    }

    #[test]
    fn add_remove_per_family() {
        let cases = [
            (
                Family::Debian,
                "ID=debian\n",
                DEBIAN_BUNDLE,
                "/usr/local/share/ca-certificates",
                "Corp-CA.crt",
                "update-ca-certificates",
                "update-ca-certificates --fresh",
            ),
            (
                Family::Alpine,
                "ID=alpine\n",
                DEBIAN_BUNDLE,
                "/usr/local/share/ca-certificates",
                "Corp-CA.crt",
                "update-ca-certificates",
                "update-ca-certificates",
            ),
            (
                Family::Fedora,
                "ID=fedora\n",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/pki/ca-trust/source/anchors",
                "Corp-CA.p11-kit",
                "update-ca-trust extract",
                "update-ca-trust extract",
            ),
            (
                Family::Arch,
                "ID=arch\n",
                DEBIAN_BUNDLE,
                "/etc/ca-certificates/trust-source/anchors",
                "Corp-CA.p11-kit",
                "trust extract-compat",
                "trust extract-compat",
            ),
            (
                Family::Suse,
                "ID=opensuse-tumbleweed\n",
                "/etc/ssl/ca-bundle.pem",
                "/etc/pki/trust/anchors",
                "Corp-CA.p11-kit",
                "update-ca-certificates",
                "update-ca-certificates",
            ),
        ];
        for (family, os_release, bundle, anchors, file, add_cmd, rm_cmd) in cases {
            let (d, store, tool) = store_for(family, os_release, bundle, anchors);
            let b = cert(CA_B);
            assert_eq!(
                store.add(&b, "Corp CA").expect("add"),
                Change::Added,
                "{family}"
            );
            let anchor = rooted(d.path(), anchors).join(file);
            let written = std::fs::read(&anchor).expect("anchor");
            assert_eq!(parse_certificates(&written), vec![b.clone()], "{family}");
            let p11kit = file.ends_with(".p11-kit");
            assert_eq!(
                written.starts_with(b"# Written by trust-proxy"),
                p11kit,
                "{family}"
            );
            assert!(store.contains(&b).expect("contains"));
            assert_eq!(store.list().expect("list"), vec![cert(CA_A), b.clone()]);

            assert_eq!(
                store.remove(&b, "Corp CA").expect("remove"),
                Change::Removed,
                "{family}"
            );
            assert!(!anchor.exists());
            assert!(!store.contains(&b).expect("contains"));
            assert_eq!(
                store.remove(&b, "Corp CA").expect("remove again"),
                Change::Unchanged
            );

            let calls: Vec<String> = tool.rec.calls().iter().map(|c| c.join(" ")).collect();
            let mut expected = vec![add_cmd.to_owned(), rm_cmd.to_owned()];
            if family == Family::Debian {
                // The hooks (Java's keystore) learn about the removal that --fresh hides.
                expected.push("notify-removed /etc/ssl/certs/Corp-CA.pem".to_owned());
            }
            assert_eq!(calls, expected, "{family}");
        }
    }

    #[test]
    fn add_is_idempotent_and_never_rewrites() {
        let (d, store, tool) = store_for(
            Family::Debian,
            "ID=debian\n",
            DEBIAN_BUNDLE,
            "/usr/local/share/ca-certificates",
        );
        let b = cert(CA_B);
        assert_eq!(store.add(&b, "corp").expect("add"), Change::Added);
        let anchor = d.path().join("usr/local/share/ca-certificates/corp.crt");
        let before = std::fs::metadata(&anchor)
            .expect("meta")
            .modified()
            .expect("mtime");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(store.add(&b, "corp").expect("add"), Change::Unchanged);
        assert_eq!(
            store.add(&b, "another name").expect("add"),
            Change::Unchanged
        );
        let after = std::fs::metadata(&anchor)
            .expect("meta")
            .modified()
            .expect("mtime");
        assert_eq!(before, after);
        assert_eq!(tool.rec.calls().len(), 1, "no second refresh");

        // Anchor present but the bundle never regenerated: refresh only, file untouched.
        std::fs::write(rooted(d.path(), DEBIAN_BUNDLE), CA_A).expect("stale bundle");
        assert_eq!(store.add(&b, "corp").expect("add"), Change::Added);
        assert_eq!(
            std::fs::metadata(&anchor)
                .expect("meta")
                .modified()
                .expect("mtime"),
            before
        );
        assert_eq!(tool.rec.calls().len(), 2);
    }

    #[test]
    fn add_refuses_foreign_file_and_symlinks() {
        let (d, store, tool) = store_for(
            Family::Debian,
            "ID=debian\n",
            DEBIAN_BUNDLE,
            "/usr/local/share/ca-certificates",
        );
        let dir = d.path().join("usr/local/share/ca-certificates");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("corp.crt"), CA_C).expect("other cert");
        let err = store.add(&cert(CA_B), "corp").expect_err("name taken");
        assert!(matches!(err, StoreError::NameTaken { .. }), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.join("corp.crt")).expect("read"),
            CA_C
        );

        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").expect("victim");
        symlink(&victim, dir.join("evil.crt")).expect("symlink");
        let err = store.add(&cert(CA_B), "evil").expect_err("symlink");
        assert!(matches!(err, StoreError::Symlink { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep");
        assert!(tool.rec.calls().is_empty());

        // remove() leaves a link or a file holding another certificate under its name.
        assert_eq!(
            store.remove(&cert(CA_B), "corp").expect("remove"),
            Change::Unchanged
        );
        assert_eq!(
            store.remove(&cert(CA_B), "evil").expect("remove"),
            Change::Unchanged
        );
        assert!(dir.join("corp.crt").exists());
        assert!(dir.join("evil.crt").exists());
    }

    #[test]
    fn anchor_dir_is_created_and_name_sanitised() {
        let (d, store, _tool) = store_for(
            Family::Fedora,
            "ID=fedora\n",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/pki/ca-trust/source/anchors",
        );
        assert_eq!(
            store.anchor_path("../../x y.p11-kit").expect("path"),
            d.path()
                .join("etc/pki/ca-trust/source/anchors/-..-x-y.p11-kit")
        );
        assert!(matches!(
            store.anchor_path("../.."),
            Err(StoreError::InvalidName(_))
        ));
        assert_eq!(
            store.add(&cert(CA_C), "../../x y").expect("add"),
            Change::Added
        );
        assert!(d
            .path()
            .join("etc/pki/ca-trust/source/anchors/-..-x-y.p11-kit")
            .is_file());
    }

    #[test]
    fn remove_leaves_a_package_copy_of_the_same_ca() {
        let cases = [
            (
                Family::Fedora,
                "ID=fedora\n",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/pki/ca-trust/source/anchors",
                "usr/share/pki/ca-trust-source/anchors/vendor-ca.pem",
            ),
            (
                Family::Debian,
                "ID=debian\n",
                DEBIAN_BUNDLE,
                "/usr/local/share/ca-certificates",
                "usr/local/share/ca-certificates/vendor-ca.crt",
            ),
        ];
        for (family, os_release, bundle, anchors, package_copy) in cases {
            let (d, store, tool) = store_for(family, os_release, bundle, anchors);
            let b = cert(CA_B);
            assert_eq!(store.add(&b, "corp").expect("add"), Change::Added);
            let ours = store.anchor_path("corp").expect("path");
            let theirs = d.path().join(package_copy);
            std::fs::create_dir_all(theirs.parent().expect("parent")).expect("mkdir");
            std::fs::write(&theirs, CA_B).expect("package copy");

            assert_eq!(
                store.remove(&b, "corp").expect("remove"),
                Change::Removed,
                "{family}"
            );
            assert!(!ours.exists(), "{family}");
            assert_eq!(
                std::fs::read_to_string(&theirs).expect("package copy survives"),
                CA_B,
                "{family}"
            );
            assert_eq!(
                tool.rec.calls().len(),
                2 + usize::from(family == Family::Debian)
            );
        }
    }

    #[test]
    fn remove_finds_the_anchor_an_earlier_version_wrote() {
        let (d, store, _tool) = store_for(
            Family::Fedora,
            "ID=fedora\n",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/pki/ca-trust/source/anchors",
        );
        let legacy = d.path().join("etc/pki/ca-trust/source/anchors/corp.pem");
        std::fs::create_dir_all(legacy.parent().expect("parent")).expect("mkdir");
        std::fs::write(&legacy, CA_B).expect("legacy anchor");
        assert_eq!(
            store.remove(&cert(CA_B), "corp").expect("remove"),
            Change::Removed
        );
        assert!(!legacy.exists());
    }

    /// A sysroot distrusting B through Debian's conf and C through a p11-kit blocklist; A is
    /// selected normally and also appears in a p11-kit object that does not distrust it.
    fn distrusting_sysroot() -> tempfile::TempDir {
        let d = sysroot("ID=debian\n", DEBIAN_BUNDLE);
        let write = |rel: &str, text: &str| {
            let path = d.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write(
            "etc/ca-certificates.conf",
            "# comment\nmozilla/A.crt\n!mozilla/B.crt\n!../../../base-bundle.pem\n!/etc/x\n!\n",
        );
        write("usr/share/ca-certificates/mozilla/A.crt", CA_A);
        write("usr/share/ca-certificates/mozilla/B.crt", CA_B);
        write("etc/pki/ca-trust/source/blocklist/c.pem", CA_C);
        write(
            "usr/share/pki/ca-trust-source/ca-bundle.trust.p11-kit",
            &format!("[p11-kit-object-v1]\nclass: certificate\ntrusted: true\n{CA_A}\n"),
        );
        d
    }

    #[test]
    fn distrusted_reads_debian_conf_and_p11kit_sources() {
        let d = distrusting_sysroot();
        let found = distrusted(d.path()).expect("distrusted");
        assert_eq!(found, vec![cert(CA_B), cert(CA_C)]);

        // The same CA through the other formats and places p11-kit reads.
        let e = tempfile::tempdir().expect("tempdir");
        let write = |rel: &str, bytes: &[u8]| {
            let path = e.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        };
        let trusted_cert = |der: &[u8]| {
            // OpenSSL's TRUSTED CERTIFICATE: the certificate, then its trust settings.
            let mut body = der.to_vec();
            body.extend_from_slice(&[0x30, 0x03, 0x02, 0x01, 0x00]);
            pem::encode(&pem::Pem::new("TRUSTED CERTIFICATE", body))
        };
        write(
            "etc/ca-certificates/trust-source/blacklist/a.der",
            cert(CA_A).as_ref(),
        );
        write(
            "etc/pki/trust/blocklist/b.pem",
            trusted_cert(cert(CA_B).as_ref()).as_bytes(),
        );
        write(
            "etc/pki/ca-trust/source/local.p11-kit",
            format!("[p11-kit-object-v1]\nclass: certificate\nx-distrusted: true\n{CA_C}\n[p11-kit-object-v1]\ntrusted: true\n{CA_A}").as_bytes(),
        );
        let mut found = distrusted(e.path()).expect("distrusted");
        found.sort_by(|x, y| x.as_ref().cmp(y.as_ref()));
        let mut want = vec![cert(CA_A), cert(CA_B), cert(CA_C)];
        want.sort_by(|x, y| x.as_ref().cmp(y.as_ref()));
        assert_eq!(found, want);

        let empty = tempfile::tempdir().expect("tempdir");
        assert!(distrusted(empty.path()).expect("none").is_empty());
    }

    #[test]
    fn add_refuses_a_distrusted_certificate() {
        let d = distrusting_sysroot();
        let tool = Arc::new(FakeTool {
            bundle: DEBIAN_BUNDLE,
            anchors: "/usr/local/share/ca-certificates",
            ..Default::default()
        });
        let store = LinuxStore::detect(d.path()).with_refresher(tool.clone());
        for (pem, conf) in [(CA_B, "mozilla/B.crt"), (CA_C, "blocklist/c.pem")] {
            match store.add(&cert(pem), "corp") {
                Err(StoreError::Distrusted { origin }) => {
                    assert!(origin.ends_with(conf), "{origin}")
                }
                other => panic!("expected Distrusted, got {other:?}"),
            }
        }
        assert!(!store.anchor_path("corp").expect("path").exists());
        assert!(tool.rec.calls().is_empty());
        assert_eq!(
            store.add(&cert(CA_A), "corp").expect("add"),
            Change::Unchanged
        );
    }

    #[test]
    fn first_der_element_is_bounded() {
        assert_eq!(
            first_der_element(&[0x30, 0x01, 0xaa, 0xbb]),
            Some(&[0x30, 0x01, 0xaa][..])
        );
        assert_eq!(
            first_der_element(&[0x30, 0x81, 0x01, 0xaa]),
            Some(&[0x30, 0x81, 0x01, 0xaa][..])
        );
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x00],
            &[0x30, 0x80],
            &[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            &[0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert_eq!(first_der_element(bad), None, "{bad:02x?}");
        }
    }

    #[test]
    fn p11kit_anchor_names_server_auth_only() {
        let (d, store, _tool) = store_for(
            Family::Fedora,
            "ID=fedora\n",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/pki/ca-trust/source/anchors",
        );
        assert_eq!(store.add(&cert(CA_B), "corp").expect("add"), Change::Added);
        let text = std::fs::read_to_string(
            d.path()
                .join("etc/pki/ca-trust/source/anchors/corp.p11-kit"),
        )
        .expect("anchor");
        assert!(text.contains("object-id: 2.5.29.37\n"), "{text}");
        // id-kp-serverAuth (1.3.6.1.5.5.7.3.1) and nothing else in the EKU.
        assert!(
            text.contains(
                "value: \"%30%13%06%03%55%1d%25%04%0c%30%0a%06%08%2b%06%01%05%05%07%03%01\"\n"
            ),
            "{text}"
        );
        assert_eq!(text.matches("[p11-kit-object-v1]").count(), 2);
        assert!(text.contains("-----BEGIN PUBLIC KEY-----"));
        assert!(!text.contains("certificate-category"));
    }

    /// The real p11-kit `trust` tool, in a private mount namespace whose trust module reads only
    /// a temporary source directory: the anchor this store writes is extracted for server-auth
    /// and not for e-mail, client-auth or code-signing; a plain PEM anchor (the control, what
    /// Debian's tool is given) is extracted for all four.
    #[test]
    fn p11kit_anchor_is_server_auth_only_for_the_real_trust_tool() {
        let modules = Path::new("/usr/share/p11-kit/modules");
        let have = |p: &str| Path::new(p).is_file();
        if !rustix::process::geteuid().is_root()
            || !modules.is_dir()
            || !have("/usr/bin/trust")
            || !have("/usr/bin/unshare")
        {
            eprintln!(
                "skipped: needs root, unshare and p11-kit's trust with modules in {modules:?}"
            );
            return;
        }
        let d = tempfile::tempdir().expect("tempdir");
        let source = d.path().join("source");
        let module_dir = d.path().join("modules");
        std::fs::create_dir_all(source.join("anchors")).expect("mkdir");
        std::fs::create_dir_all(&module_dir).expect("mkdir");
        std::fs::write(
            module_dir.join("p11-kit-trust.module"),
            format!(
                "module: p11-kit-trust.so\ntrust-policy: yes\nx-init-reserved: paths={}\n",
                source.display()
            ),
        )
        .expect("module");
        let b = cert(CA_B);
        let c = cert(CA_C);
        std::fs::write(
            source.join("anchors/corp.p11-kit"),
            anchor_contents(AnchorFormat::P11Kit, &b, "corp").expect("contents"),
        )
        .expect("p11-kit anchor");
        std::fs::write(source.join("anchors/control.pem"), to_pem(&c)).expect("pem anchor");

        let script = format!(
            "mount --bind {modules_tmp} {modules} && for p in server-auth client-auth email code-signing; do \
             trust extract --format=pem-bundle --filter=ca-anchors --purpose=$p {out}/$p.pem || exit 1; done",
            modules_tmp = module_dir.display(),
            modules = modules.display(),
            out = d.path().display(),
        );
        let status = Command::new("/usr/bin/unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .status()
            .expect("unshare");
        assert!(status.success(), "{status}");
        for (purpose, want_b) in [
            ("server-auth", true),
            ("client-auth", false),
            ("email", false),
            ("code-signing", false),
        ] {
            let bytes = std::fs::read(d.path().join(format!("{purpose}.pem"))).unwrap_or_default();
            let got = parse_certificates(&bytes);
            assert_eq!(got.contains(&b), want_b, "{purpose}: p11-kit anchor");
            assert!(
                got.contains(&c),
                "{purpose}: the plain PEM anchor is trusted for everything"
            );
        }
    }

    #[test]
    fn system_refresher_refuses_foreign_sysroot() {
        let d = tempfile::tempdir().expect("tempdir");
        let err = SystemRefresher
            .refresh(d.path(), "update-ca-certificates", &[])
            .expect_err("refuse");
        assert!(matches!(err, StoreError::Unsupported(_)));
    }
}
