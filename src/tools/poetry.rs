//! poetry: no setting of its own reaches PyPI, so only the environment does.
//!
//! `certificates.<name>.cert` exists, but `Authenticator.get_certs_for_repository` returns the
//! defaults for `pypi` and for every name not under `repositories.*` (read in poetry 2.5.1's
//! `poetry/utils/authenticator.py`), so `certificates.pypi.cert` is ignored. With the defaults
//! (`verify=True`), requests' `merge_environment_settings` takes `REQUESTS_CA_BUNDLE` (then
//! `CURL_CA_BUNDLE`), which REPLACES certifi's roots: the env snippet sets it to the full bundle.
//! Poetry has no OS-store mode (python-poetry/poetry#9249; no truststore import in 2.5.1).
//! Nothing is written; processes started without a shell start-up file need the variable in
//! their launch environment.

use super::{Context, Found, Mechanism, ReadFile, Tool, ToolError, ToolId, ToolPlan};

pub struct Poetry;

/// For Python-based clients: the CA fails Python >= 3.13's `VERIFY_X509_STRICT`, which no
/// configuration fixes.
pub(crate) fn strict_x509_note(ctx: &Context, client: &str) -> Option<String> {
    if ctx.strict_x509_findings.is_empty() {
        return None;
    }
    Some(format!(
        "{client} on Python >= 3.13 will still reject the proxy's certificates \
         (VERIFY_X509_STRICT: {}); configuring cannot fix that: the CA must be re-issued",
        ctx.strict_x509_findings.join("; ")
    ))
}

impl Tool for Poetry {
    fn id(&self) -> ToolId {
        ToolId::Poetry
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("poetry", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        _read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let mut notes = vec![format!(
            "poetry has no setting for PyPI's certificates (certificates.pypi.cert is ignored by \
             its authenticator), so REQUESTS_CA_BUNDLE={} from the environment is what it uses; \
             processes started without a shell start-up file (IDEs, cron) need it in their \
             launch environment",
            ctx.bundle.display()
        )];
        notes.extend(strict_x509_note(ctx, "poetry"));
        Ok(ToolPlan {
            tool: ToolId::Poetry,
            version: found.version,
            mechanism: Mechanism::Environment {
                variables: vec!["REQUESTS_CA_BUNDLE".to_string()],
            },
            edits: Vec::new(),
            run_after: Vec::new(),
            notes,
        })
    }
}
