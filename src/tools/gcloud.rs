//! gcloud: `[core] custom_ca_certs_file = <bundle>` in the active configuration's file.
//!
//! gcloud verifies with the certifi bundle it ships, never the OS store, so the setting is
//! written even with the CA in the OS store, naming the FULL bundle (it replaces certifi).
//!
//! Which file (googlecloudsdk/core/configurations/named_configs.py, as installed here):
//! `CLOUDSDK_ACTIVE_CONFIG_NAME`, else the `active_config` file of the config directory, else
//! `default`; a name must match `^[a-z][-a-z0-9]*$`, and `NONE` means no configuration takes
//! properties. The file is `configurations/config_<name>`. gcloud reads it with Python's
//! `ConfigParser` (properties_file.py), whose interpolation turns `%` into a special character:
//! a `%` in the path is written `%%`. The value is stripped, so a path with white space at
//! either end cannot be carried (`UnsafePath`). `CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE` wins over
//! the file: a note says so when it is set. A value the person set follows
//! [`super::existing_ca`].

use super::config_text::{self, IniDoc, IniKind};
use super::existing_ca::{self, IniCaKey, IniPlace};
use super::ToolPlan;
use super::{paths, Context, Found, Mechanism, ReadFile, Tool, ToolError, ToolId};

pub struct Gcloud;

impl Tool for Gcloud {
    fn id(&self) -> ToolId {
        ToolId::Gcloud
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("gcloud", &["--version"])
    }

    /// `gcloud --version` creates `~/.config/gcloud` (active_config, config_default, logs) on
    /// every start (gcloud 528, measured): detection must not leave that behind.
    fn state_dir_var(&self) -> Option<&'static str> {
        Some("CLOUDSDK_CONFIG")
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let dir = paths::gcloud_config_dir(ctx);
        let bundle = config_text::path_text(ToolId::Gcloud, &ctx.bundle)?;
        if bundle.trim() != bundle {
            return Err(ToolError::UnsafePath {
                tool: ToolId::Gcloud,
                path: ctx.bundle.clone(),
                why: "a gcloud property cannot start or end with white space".to_owned(),
            });
        }
        let activator = dir.join("active_config");
        let name = match ctx.var("CLOUDSDK_ACTIVE_CONFIG_NAME") {
            Some(name) => name.to_owned(),
            None => match read(&activator)? {
                Some(bytes) if !bytes.is_empty() => {
                    config_text::decode(ToolId::Gcloud, &activator, bytes)?
                }
                _ => "default".to_owned(),
            },
        };
        if name == "NONE" {
            return Ok(ToolPlan {
                tool: ToolId::Gcloud,
                version: found.version,
                mechanism: Mechanism::Unsupported {
                    why: "the active gcloud configuration is NONE, which takes no properties"
                        .to_owned(),
                    fix: format!(
                        "gcloud config configurations activate <name>, then gcloud config set \
                         core/custom_ca_certs_file {bundle}"
                    ),
                },
                edits: Vec::new(),
                run_after: Vec::new(),
                notes: Vec::new(),
            });
        }
        if !valid_name(&name) {
            return Err(ToolError::Unparsable {
                tool: ToolId::Gcloud,
                path: activator,
                message: format!("{name:?} is not a configuration name gcloud accepts"),
            });
        }
        let path = dir.join("configurations").join(format!("config_{name}"));
        let text = match read(&path)? {
            Some(bytes) => config_text::decode(ToolId::Gcloud, &path, bytes)?,
            None => String::new(),
        };
        let unparsable = |message: String| ToolError::Unparsable {
            tool: ToolId::Gcloud,
            path: path.clone(),
            message,
        };
        let doc = IniDoc::parse(&text).map_err(unparsable)?;
        let section = doc.sections(|s| s == "core").first().copied();
        let option = section.and_then(|s| doc.option(s, "custom_ca_certs_file"));
        if option.is_some_and(|o| doc.continues(o)) {
            return Err(unparsable(
                "core/custom_ca_certs_file spans several lines".to_owned(),
            ));
        }
        let existing = option.and_then(|o| match &doc.lines.get(o)?.kind {
            IniKind::Option { value, .. } => Some(value.replace("%%", "%")),
            _ => None,
        });
        // gcloud runs on its own bundled Python: a 3.13 one enforces VERIFY_X509_STRICT.
        let mut notes: Vec<String> = super::poetry::strict_x509_note(ctx, "gcloud")
            .into_iter()
            .collect();
        if let Some(var) = ctx.var("CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE") {
            notes.push(format!(
                "gcloud: CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE={var} in the environment wins over the file"
            ));
        }
        let line = format!("custom_ca_certs_file = {}", bundle.replace('%', "%%"));
        let (mechanism, edits) = existing_ca::plan_ini_key(
            IniCaKey {
                tool: ToolId::Gcloud,
                name: "core/custom_ca_certs_file",
                header: "[core]",
                key: "custom_ca_certs_file",
                line: &line,
                setting: format!("[core] custom_ca_certs_file = {bundle} (configuration {name})"),
                sensitive: false,
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
            tool: ToolId::Gcloud,
            version: found.version,
            mechanism,
            edits,
            run_after: Vec::new(),
            notes,
        })
    }
}

/// `^[a-z][-a-z0-9]*$` as Python's `re.match` reads it, except that a trailing newline (which
/// `$` lets through, and gcloud then puts into the file name) is refused.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
