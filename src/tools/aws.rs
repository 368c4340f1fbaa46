//! AWS CLI: `ca_bundle = <bundle>` in the `[default]` profile of `~/.aws/config`.
//!
//! The AWS CLI verifies with the certifi bundle it ships (botocore, through requests' `verify`),
//! never with the OS store, so the setting is written even when the CA is in the OS store, and it
//! names the FULL bundle (`ca_bundle` replaces certifi). `AWS_CA_BUNDLE` and `--ca-bundle` win
//! over it (AWS CLI user guide, cli-configure-options): a note says so when the variable is set.
//!
//! botocore reads the file with Python's `RawConfigParser` (botocore/configloader.py), edited
//! here through [`super::config_text::IniDoc`]: a value is the rest of the line, stripped, no
//! quoting, so a path with white space at either end cannot be carried (`UnsafePath`). The
//! default profile is `[default]` or `[profile default]`; both present is refused as ambiguous.
//! The file may hold `credential_process`, SSO and role settings: it is `sensitive`. A value the
//! person set follows [`super::existing_ca`].

use super::config_text::{self, IniDoc, IniKind};
use super::existing_ca::{self, IniCaKey, IniPlace};
use super::ToolPlan;
use super::{paths, Context, Found, ReadFile, Tool, ToolError, ToolId};

pub struct Aws;

impl Tool for Aws {
    fn id(&self) -> ToolId {
        ToolId::Aws
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("aws", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let path = paths::aws_config(ctx);
        let bundle = config_text::path_text(ToolId::Aws, &ctx.bundle)?;
        if bundle.trim() != bundle {
            return Err(ToolError::UnsafePath {
                tool: ToolId::Aws,
                path: ctx.bundle.clone(),
                why: "an AWS config value cannot start or end with white space".to_owned(),
            });
        }
        let text = match read(&path)? {
            Some(bytes) => config_text::decode(ToolId::Aws, &path, bytes)?,
            None => String::new(),
        };
        let unparsable = |message: String| ToolError::Unparsable {
            tool: ToolId::Aws,
            path: path.clone(),
            message,
        };
        let doc = IniDoc::parse(&text).map_err(unparsable)?;
        let defaults = doc.sections(|name| {
            name == "default" || name.split_whitespace().eq(["profile", "default"])
        });
        if defaults.len() > 1 {
            return Err(unparsable(
                "both [default] and [profile default]".to_owned(),
            ));
        }
        let section = defaults.first().copied();
        let option = section.and_then(|s| doc.option(s, "ca_bundle"));
        if option.is_some_and(|o| doc.continues(o)) {
            return Err(unparsable(
                "ca_bundle in the default profile spans several lines".to_owned(),
            ));
        }
        let existing = option.and_then(|o| match &doc.lines.get(o)?.kind {
            IniKind::Option { value, .. } => Some(value.clone()),
            _ => None,
        });
        let mut notes = Vec::new();
        // The AWS CLI runs on its own bundled Python: a 3.13 one enforces VERIFY_X509_STRICT.
        notes.extend(super::poetry::strict_x509_note(ctx, "the AWS CLI"));
        if let Some(var) = ctx.var("AWS_CA_BUNDLE") {
            notes.push(format!(
                "aws: AWS_CA_BUNDLE={var} in the environment wins over ca_bundle"
            ));
        }
        if let Some(profile) = ctx.var("AWS_PROFILE").filter(|p| *p != "default") {
            notes.push(format!(
                "aws: AWS_PROFILE={profile} selects another profile, which does not read the default \
                 profile's ca_bundle: add ca_bundle = {bundle} to it"
            ));
        }
        let line = format!("ca_bundle = {bundle}");
        let (mechanism, edits) = existing_ca::plan_ini_key(
            IniCaKey {
                tool: ToolId::Aws,
                name: "ca_bundle",
                header: "[default]",
                key: "ca_bundle",
                line: &line,
                setting: format!("[default] {line}"),
                sensitive: true,
            },
            IniPlace {
                path,
                text: &text,
                doc: &doc,
                section,
                option,
                existing,
            },
            ctx,
            read,
            &mut notes,
        );
        Ok(ToolPlan {
            tool: ToolId::Aws,
            version: found.version,
            mechanism,
            edits,
            run_after: Vec::new(),
            notes,
        })
    }
}
