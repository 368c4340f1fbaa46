//! npm: `cafile=<full bundle>` in the user npmrc (`paths::npmrc`: `NPM_CONFIG_USERCONFIG`, else
//! `~/.npmrc`), written by `npmrc::set_cafile` (its module doc has the line rules and what happens
//! to `ca=` lines and to a `cafile` the person set).
//!
//! Always the FULL bundle, never the CA-only file: npm hands the file's certificates to Node as
//! the TLS `ca` option, which REPLACES Node's roots and makes Node ignore `NODE_EXTRA_CA_CERTS`
//! and `NODE_USE_SYSTEM_CA` (npm/cli#7592). A file rather than the environment, so that npm run
//! from an IDE or a cron job trusts the CA too. The file may hold registry tokens: it is
//! sensitive (0600). A `cafile` in a project `.npmrc`, or `npm_config_cafile` in the
//! environment, overrides this one: a note says so when the environment has it.

use super::{npmrc, paths, Context, Found, Mechanism, ReadFile, Tool, ToolError, ToolId, ToolPlan};

pub struct Npm;

/// The plan npm and pnpm <= 10 share: the same edit of the same file, so when both are
/// configured the engine sees one change (identical path, bytes and setting), and applying the
/// second on top of the first changes nothing.
pub(crate) fn npmrc_plan(
    tool: ToolId,
    found: &Found,
    ctx: &Context,
    read: ReadFile<'_>,
) -> Result<ToolPlan, ToolError> {
    let path = paths::npmrc(ctx);
    let current = read(&path)?;
    let result = npmrc::set_cafile(tool, &path, current.as_deref(), &ctx.bundle)?;
    let mut notes = result.notes;
    for name in ["npm_config_cafile", "NPM_CONFIG_CAFILE"] {
        if let Some(value) = ctx.var(name) {
            notes.push(format!(
                "{name}={value} is set in the environment and overrides {}",
                path.display()
            ));
        }
    }
    Ok(ToolPlan {
        tool,
        version: found.version,
        mechanism: Mechanism::BundleFile {
            setting: result.setting,
        },
        edits: result.edit.into_iter().collect(),
        run_after: Vec::new(),
        notes,
    })
}

impl Tool for Npm {
    fn id(&self) -> ToolId {
        ToolId::Npm
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("npm", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        npmrc_plan(ToolId::Npm, found, ctx, read)
    }
}
