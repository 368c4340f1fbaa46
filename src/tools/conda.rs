//! conda: `ssl_verify` in the user `.condarc` (`paths::condarc`: `CONDARC`, else `~/.condarc`).
//!
//! - conda >= 23.9.0 on Python >= 3.10 with the CA in the OS store: `ssl_verify: truststore`
//!   (conda's docs, "versionadded 23.9.0"; conda's `ssl_verify_validation` rejects it on an older
//!   Python), which follows the OS store with nothing to rewrite;
//! - except when mamba or micromamba is present: libmamba reads the same `.condarc`, has no
//!   `truststore` value (mamba-org/mamba#2857) and takes it as a path, so the file names the
//!   full bundle instead, with a note;
//! - otherwise `ssl_verify: <full bundle>` (REPLACES certifi's roots; conda checks that the path
//!   exists).
//!
//! mamba is looked for without running anything: `MAMBA_EXE` / `MAMBA_ROOT_PREFIX` (set by
//! their shell hooks), or a `mamba` / `micromamba` program beside conda or on `PATH`. conda's
//! Python is the `python` fact when detection read one, else a `bin/python3.N` (N < 10) beside
//! conda's prefix marks an old one (Windows: unknown, assumed recent).
//!
//! The edit is `yaml_top`'s line-level one (its module doc says why no YAML crate). A previous
//! `ssl_verify` is replaced, with a note naming it (`false` is called out: verification was
//! off); it comes back on uninstall. `CONDA_SSL_VERIFY` in the environment overrides the file:
//! noted. The file may carry channel URLs with tokens: sensitive (0600).

use super::lines::{decode, eol_of, file_edit, path_text};
use super::{
    paths, poetry, yaml_top, Context, Found, Mechanism, Os, ReadFile, Tool, ToolError, ToolId,
    ToolPlan, Version,
};
use std::path::PathBuf;

pub struct Conda;

/// Whether this conda knows `ssl_verify: truststore`.
pub fn has_truststore(version: Version) -> bool {
    version.at_least(23, 9, 0)
}

impl Tool for Conda {
    fn id(&self) -> ToolId {
        ToolId::Conda
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("conda", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let path = paths::condarc(ctx);
        let current = read(&path)?;
        let text = decode(ToolId::Conda, &path, current.as_deref())?;
        let mut notes = Vec::new();
        let new_enough = found.version.is_some_and(has_truststore);
        let mamba = mamba_near(found, ctx);
        let old_python = old_python(found);
        let truststore =
            ctx.ca_in_os_store && new_enough && mamba.is_none() && old_python.is_none();
        if ctx.ca_in_os_store && !truststore {
            let why = match (&mamba, &old_python, found.version) {
                (Some(mamba), _, _) => format!(
                    "mamba/micromamba ({mamba}) read this file too and would take \
                     `ssl_verify: truststore` as a path (libmamba has no truststore value, \
                     mamba-org/mamba#2857)"
                ),
                (None, Some(python), _) => format!(
                    "conda runs on Python {python}, and `ssl_verify: truststore` needs 3.10"
                ),
                (None, None, Some(v)) => {
                    format!("conda {v} has no `ssl_verify: truststore` (23.9+)")
                }
                (None, None, None) => "conda's version is unknown".to_string(),
            };
            notes.push(format!("{why}: ssl_verify names the full bundle instead"));
        }
        let value = if truststore {
            "truststore"
        } else {
            path_text(ToolId::Conda, &ctx.bundle)?
        };
        let edited = yaml_top::set_top_level(
            ToolId::Conda,
            &path,
            &text,
            "ssl_verify",
            value,
            eol_of(&text),
        )?;
        match edited.previous.as_deref() {
            Some(old) if old.eq_ignore_ascii_case("false") || old.eq_ignore_ascii_case("no") => {
                notes.push(format!(
                    "{}: ssl_verify was {old}: certificate verification was OFF; it is on again \
                     with {value}",
                    path.display()
                ))
            }
            Some(old) if old != value => notes.push(format!(
                "{}: ssl_verify was {old}; now {value} (the old value comes back on uninstall or configure-tools --undo)",
                path.display()
            )),
            _ => {}
        }
        if let Some(env) = ctx.var("CONDA_SSL_VERIFY") {
            notes.push(format!(
                "CONDA_SSL_VERIFY={env} is set in the environment and overrides {}",
                path.display()
            ));
        }
        notes.extend(poetry::strict_x509_note(ctx, "conda"));
        let setting = format!("ssl_verify: {value}");
        let mechanism = if truststore {
            Mechanism::OsStoreMode {
                setting: setting.clone(),
            }
        } else {
            Mechanism::BundleFile {
                setting: setting.clone(),
            }
        };
        Ok(ToolPlan {
            tool: ToolId::Conda,
            version: found.version,
            mechanism,
            edits: vec![file_edit(&path, edited.text, true, setting)],
            run_after: Vec::new(),
            notes,
        })
    }
}

/// A sign that mamba or micromamba shares this `.condarc`, for the note.
fn mamba_near(found: &Found, ctx: &Context) -> Option<String> {
    for name in ["MAMBA_EXE", "MAMBA_ROOT_PREFIX"] {
        if ctx.var(name).is_some() {
            return Some(format!("{name} is set"));
        }
    }
    let programs: &[&str] = if ctx.os == Os::Windows {
        &["mamba.exe", "micromamba.exe"]
    } else {
        &["mamba", "micromamba"]
    };
    let mut dirs: Vec<PathBuf> = found
        .program
        .parent()
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(path) = ctx.var("PATH") {
        dirs.extend(std::env::split_paths(path));
    }
    dirs.iter()
        .flat_map(|dir| programs.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .map(|found| found.display().to_string())
}

/// conda's Python when it is older than 3.10.
fn old_python(found: &Found) -> Option<Version> {
    if let Some(text) = found.facts.get("python") {
        return Version::find_in(text).filter(|v| !v.at_least(3, 10, 0));
    }
    let prefix = found.program.parent()?.parent()?;
    (6..10).find_map(|minor| {
        let python = prefix.join("bin").join(format!("python3.{minor}"));
        python.is_file().then(|| Version::new(3, minor, 0))
    })
}
