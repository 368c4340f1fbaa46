//! Linux: one PEM bundle generated from anchor files by a distro tool.
//!
//! We never edit the bundle itself: the distro tool regenerates it (and Java's cacerts on Fedora)
//! from the anchor directory, so an edit would be lost on the next package update.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use crate::{
    fs_safe, parse_certificates, sanitize_name, to_pem, CertificateDer, Change, StoreError,
    TrustStore,
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
    /// Where `add` writes; the later ones are only searched by `remove`.
    anchor_dirs: &'static [&'static str],
    ext: &'static str,
    bundles: &'static [&'static str],
    tool: &'static str,
    add_args: &'static [&'static str],
    remove_args: &'static [&'static str],
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
                ext: "crt",
                bundles: &[DEBIAN_BUNDLE],
                tool: "update-ca-certificates",
                add_args: &[],
                // Without --fresh the hash link of a deleted anchor stays in /etc/ssl/certs.
                remove_args: &["--fresh"],
            },
            Family::Alpine => &Layout {
                anchor_dirs: &["/usr/local/share/ca-certificates"],
                ext: "crt",
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
                ext: "pem",
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
                ext: "crt",
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
                ext: "pem",
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
        let mut file = sanitize_name(name)?;
        let suffix = format!(".{}", layout.ext);
        if !file.ends_with(&suffix) {
            file.push_str(&suffix);
        }
        Ok(rooted(&self.sysroot, layout.anchor_dirs[0]).join(file))
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

    /// Anchor files (regular files, not links) holding `cert`.
    fn anchors_holding(
        &self,
        layout: &Layout,
        cert: &[u8],
    ) -> Result<Vec<(PathBuf, Vec<u8>)>, StoreError> {
        let mut found = Vec::new();
        for dir in layout.anchor_dirs {
            let dir = rooted(&self.sysroot, dir);
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(StoreError::Io {
                        op: "list",
                        path: dir,
                        source: e,
                    })
                }
            };
            for entry in entries {
                let entry = entry.map_err(|e| StoreError::Io {
                    op: "list",
                    path: dir.clone(),
                    source: e,
                })?;
                let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
                if !is_file {
                    continue;
                }
                let path = entry.path();
                let Some(bytes) = fs_safe::read_nofollow(&path)? else {
                    continue;
                };
                let certs = parse_certificates(&bytes);
                if certs.iter().any(|c| c.as_ref() == cert) {
                    if certs.len() > 1 {
                        return Err(StoreError::Unsupported(format!(
                            "{} also holds other certificates; edit it by hand",
                            path.display()
                        )));
                    }
                    found.push((path, bytes));
                }
            }
        }
        Ok(found)
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
        if self.contains(cert)? {
            return Ok(Change::Unchanged);
        }
        match fs_safe::read_nofollow(&path)? {
            // Anchor written earlier but the refresh never happened (or failed): only refresh.
            Some(existing) if parse_certificates(&existing) == [cert.clone()] => {}
            Some(_) => return Err(StoreError::NameTaken { path }),
            None => {
                if let Some(dir) = path.parent() {
                    fs_safe::create_dir_all(dir, 0o755)?;
                }
                fs_safe::write_atomic(&path, to_pem(cert).as_bytes(), 0o644)?;
            }
        }
        self.refresh(layout, layout.add_args)?;
        Ok(Change::Added)
    }

    fn remove(&self, cert: &CertificateDer<'_>) -> Result<Change, StoreError> {
        let layout = self.layout()?;
        let mut removed = false;
        let mut removed_names = Vec::new();
        for (path, bytes) in self.anchors_holding(layout, cert.as_ref())? {
            match fs_safe::remove_if_hash_matches(&path, &crate::sha256(&bytes))? {
                fs_safe::Removal::Removed => {
                    removed = true;
                    if let Some(stem) = path.file_stem() {
                        removed_names.push(stem.to_string_lossy().into_owned());
                    }
                }
                fs_safe::Removal::Absent => {}
                fs_safe::Removal::HashMismatch => return Err(StoreError::NameTaken { path }),
            }
        }
        if !removed {
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
                "Corp-CA.pem",
                "update-ca-trust extract",
                "update-ca-trust extract",
            ),
            (
                Family::Arch,
                "ID=arch\n",
                DEBIAN_BUNDLE,
                "/etc/ca-certificates/trust-source/anchors",
                "Corp-CA.crt",
                "trust extract-compat",
                "trust extract-compat",
            ),
            (
                Family::Suse,
                "ID=opensuse-tumbleweed\n",
                "/etc/ssl/ca-bundle.pem",
                "/etc/pki/trust/anchors",
                "Corp-CA.pem",
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
            assert_eq!(
                std::fs::read_to_string(&anchor).expect("anchor"),
                to_pem(&b)
            );
            assert!(store.contains(&b).expect("contains"));
            assert_eq!(store.list().expect("list"), vec![cert(CA_A), b.clone()]);

            assert_eq!(
                store.remove(&b).expect("remove"),
                Change::Removed,
                "{family}"
            );
            assert!(!anchor.exists());
            assert!(!store.contains(&b).expect("contains"));
            assert_eq!(store.remove(&b).expect("remove again"), Change::Unchanged);

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

        // remove() ignores links and files with other certificates.
        assert_eq!(
            store.remove(&cert(CA_B)).expect("remove"),
            Change::Unchanged
        );
        assert!(dir.join("corp.crt").exists());
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
            store.anchor_path("../../x y.pem").expect("path"),
            d.path().join("etc/pki/ca-trust/source/anchors/-..-x-y.pem")
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
            .join("etc/pki/ca-trust/source/anchors/-..-x-y.pem")
            .is_file());
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
