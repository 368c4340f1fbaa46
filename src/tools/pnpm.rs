//! pnpm: `cafile=<full bundle>`, in the file the version found reads first.
//!
//! - pnpm <= 10 reads `~/.npmrc` (over its own `<config dir>/rc`, checked with pnpm 10.34.9):
//!   exactly npm's edit (`npm::npmrc_plan`), so npm and pnpm configured together give two
//!   identical edits of one file, which the engine applies as one.
//! - pnpm >= 11 reads `<pnpm config dir>/auth.ini` before `~/.npmrc` (checked with pnpm 11.28.11
//!   and 12.21.0: a `cafile` there wins over `~/.npmrc`'s; `pnpm config set cafile` writes
//!   there), so that file gets it: an `auth.ini` left from earlier cannot then shadow the bundle.
//!   (Run from the home directory itself, pnpm 11 also reads `~/.npmrc` as the project's
//!   `.npmrc`, which outranks `auth.ini`: with npm configured too, that is the bundle as well.)
//!
//! Same line rules as npm (`npmrc` module). The FULL bundle: pnpm passes the file as Node's TLS
//! `ca`, which replaces Node's roots (pnpm/pnpm#5400). Both files may hold tokens (0600).

use super::{
    npm, npmrc, paths, Context, Found, Mechanism, ReadFile, Tool, ToolError, ToolId, ToolPlan,
    Version,
};

pub struct Pnpm;

/// Whether this pnpm reads `auth.ini` before `~/.npmrc`.
pub fn reads_auth_ini(version: Version) -> bool {
    version.major >= 11
}

impl Tool for Pnpm {
    fn id(&self) -> ToolId {
        ToolId::Pnpm
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("pnpm", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        if !found.version.is_some_and(reads_auth_ini) {
            let mut plan = npm::npmrc_plan(ToolId::Pnpm, found, ctx, read)?;
            if found.version.is_none() {
                plan.notes.push(
                    "pnpm's version is unknown: ~/.npmrc is configured, which pnpm 11+ reads \
                     only when its auth.ini has no cafile"
                        .to_string(),
                );
            }
            return Ok(plan);
        }
        let path = paths::pnpm_config_dir(ctx).join("auth.ini");
        let current = read(&path)?;
        let result = npmrc::set_cafile(ToolId::Pnpm, &path, current.as_deref(), &ctx.bundle)?;
        Ok(ToolPlan {
            tool: ToolId::Pnpm,
            version: found.version,
            mechanism: Mechanism::BundleFile {
                setting: result.setting,
            },
            edits: result.edit.into_iter().collect(),
            run_after: Vec::new(),
            notes: result.notes,
        })
    }
}
