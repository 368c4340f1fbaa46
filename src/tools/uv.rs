//! uv: bundled Mozilla roots by default. With the CA in the OS store it gets its own OS-store
//! mode in the user's `uv.toml`: `system-certs = true` from 0.11 (the setting uv 0.13.9 accepts
//! here), `native-tls = true` before (0.1.18 on; uv 0.13.9 still reads it with a deprecation
//! warning). uv has no setting naming a CA file, so without the CA in the OS store it is
//! reached only through `SSL_CERT_FILE` (the env snippet, loaded by the start-up blocks), which
//! REPLACES its roots and so names the full bundle.
//!
//! uv refuses to run at all with a key it does not know in `uv.toml` (uv 0.13.9: "Failed to
//! parse"), which is why the key follows the version found.

use crate::tools::paths;
use crate::tools::{
    Context, FileEdit, Found, Mechanism, ReadFile, Tool, ToolError, ToolId, ToolPlan,
};

pub struct Uv;

pub static UV: Uv = Uv;

impl Tool for Uv {
    fn id(&self) -> ToolId {
        ToolId::Uv
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("uv", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let mut notes = Vec::new();
        if let Some(file) = ctx.var("SSL_CERT_FILE") {
            notes.push(format!(
                "SSL_CERT_FILE is set ({file}): uv uses that file instead of any other trust, even with its OS-store mode on; it must name a full bundle"
            ));
        }
        let key = match found.version {
            Some(v) if v.at_least(0, 11, 0) => Some(("system-certs", Some("native-tls"))),
            Some(v) if v.at_least(0, 1, 18) => Some(("native-tls", None)),
            _ => None,
        };
        let key = match key {
            Some(key) if ctx.ca_in_os_store => key,
            _ => {
                let why = if ctx.ca_in_os_store {
                    "this uv has no OS-store mode"
                } else {
                    "the CA is not in the OS store and uv has no setting naming a CA file"
                };
                notes.push(format!(
                    "{why}: uv reads SSL_CERT_FILE (the full bundle) from the environment the start-up blocks load; a process that sources no start-up file (an IDE, cron) does not see it"
                ));
                return Ok(ToolPlan {
                    tool: ToolId::Uv,
                    version: found.version,
                    mechanism: Mechanism::Environment {
                        variables: vec!["SSL_CERT_FILE".to_string()],
                    },
                    edits: Vec::new(),
                    run_after: Vec::new(),
                    notes,
                });
            }
        };
        let (setting, replaces) = key;
        let config = paths::uv_config(ctx);
        let current = read(&config)?.unwrap_or_default();
        let text = String::from_utf8(current).map_err(|_| ToolError::Unparsable {
            tool: ToolId::Uv,
            path: config.clone(),
            message: "not UTF-8, so not TOML".to_string(),
        })?;
        let mut doc: toml_edit::DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| ToolError::Unparsable {
                    tool: ToolId::Uv,
                    path: config.clone(),
                    message: e.to_string(),
                })?;
        if let Some(old) = replaces.filter(|old| doc.contains_key(old)) {
            // Left as the person wrote it (removing a key takes the comments above it along).
            notes.push(format!(
                "{} also sets the deprecated {old}; uv warns about it on every run",
                config.display()
            ));
        }
        let already = doc
            .get(setting)
            .and_then(|item| item.as_bool())
            .is_some_and(|on| on);
        let contents = if already {
            text.into_bytes()
        } else {
            doc[setting] = toml_edit::value(true);
            doc.to_string().into_bytes()
        };
        let setting_text = format!("{setting} = true");
        Ok(ToolPlan {
            tool: ToolId::Uv,
            version: found.version,
            mechanism: Mechanism::OsStoreMode {
                setting: setting_text.clone(),
            },
            edits: vec![FileEdit {
                path: config,
                contents,
                sensitive: false,
                setting: setting_text,
            }],
            run_after: Vec::new(),
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{Os, Tool, Version};
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn ctx(in_store: bool) -> Context {
        Context {
            os: Os::Linux,
            home: PathBuf::from("/home/u"),
            env: BTreeMap::new(),
            bundle: PathBuf::from("/b.pem"),
            proxy_ca: PathBuf::from("/ca.pem"),
            ca_in_os_store: in_store,
            minted_without_revocation: None,
            strict_x509_findings: Vec::new(),
        }
    }

    fn found(v: &str) -> Found {
        Found {
            tool: ToolId::Uv,
            program: PathBuf::from("/usr/bin/uv"),
            version: Version::find_in(v),
            version_text: v.to_string(),
            facts: BTreeMap::new(),
        }
    }

    fn plan_with(version: &str, in_store: bool, existing: &str) -> ToolPlan {
        let existing = existing.as_bytes().to_vec();
        let read = move |_: &Path| -> Result<Option<Vec<u8>>, ToolError> {
            Ok((!existing.is_empty()).then(|| existing.clone()))
        };
        UV.plan(&found(version), &ctx(in_store), &read).unwrap()
    }

    #[test]
    fn the_key_follows_the_version_and_comments_survive() {
        let plan = plan_with(
            "uv 0.13.9 (x)",
            true,
            "# my settings\ncache-dir = \"/c\" # fast disk\n[pip]\nindex-url = \"https://x\" # mirror\n",
        );
        assert_eq!(
            String::from_utf8(plan.edits[0].contents.clone()).unwrap(),
            "# my settings\ncache-dir = \"/c\" # fast disk\nsystem-certs = true\n[pip]\nindex-url = \"https://x\" # mirror\n"
        );
        let old = plan_with("uv 0.4.30", true, "");
        assert_eq!(old.edits[0].contents, b"native-tls = true\n");
        let unchanged = plan_with("uv 0.12.0", true, "system-certs = true # yes\n");
        assert_eq!(unchanged.edits[0].contents, b"system-certs = true # yes\n");
        let env_only = plan_with("uv 0.13.9", false, "");
        assert!(matches!(env_only.mechanism, Mechanism::Environment { .. }));
        assert!(env_only.edits.is_empty());
        let too_old = plan_with("uv 0.1.17", true, "");
        assert!(matches!(too_old.mechanism, Mechanism::Environment { .. }));
    }

    #[test]
    fn a_file_that_is_not_toml_is_refused() {
        let read = |_: &Path| -> Result<Option<Vec<u8>>, ToolError> { Ok(Some(b"[[x".to_vec())) };
        let err = UV.plan(&found("uv 0.13.9"), &ctx(true), &read).unwrap_err();
        assert!(matches!(err, ToolError::Unparsable { .. }), "{err}");
    }
}
