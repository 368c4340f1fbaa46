//! Node.js: no config file holds trust, so Node only ever gets it from its environment.
//!
//! - Node >= 22.19 on the 22 line, >= 24.6 on the 24 line, and every release from 25 on read
//!   `NODE_USE_SYSTEM_CA=1` (nodejs/node PR #59276; the docs had said 22.15, corrected in
//!   nodejs/learn#79). No 23.x release has it (23 reached end of life before 24.6; checked with
//!   the real 23.11.1, the last one, which ignores it). With the CA in the OS store that is the
//!   mechanism: the OS store is ADDED to Node's bundled Mozilla roots, and it follows the store
//!   (a rotated CA, a removed one) with nothing to rewrite.
//! - Otherwise `NODE_EXTRA_CA_CERTS` naming the CA-only file: it ADDS to the bundled roots, so the
//!   full bundle is not needed there (it would only duplicate Mozilla's roots).
//!
//! `--use-system-ca` (22.15 / 23.8 on macOS and Windows, 23.9 on Linux) would also reach 23.x and
//! 22.15-22.18, but only through `NODE_OPTIONS`, a variable people set for other reasons that a
//! managed snippet would have to merge with; `NODE_EXTRA_CA_CERTS` works on all of those.
//!
//! Both variables are read once at process start, from the process's own environment: the
//! start-up blocks load the env snippet into shells, and processes started without a shell (IDEs
//! launched from a desktop, cron, systemd units) need the variable in their launch environment.
//! Tools that set a TLS `ca` of their own (npm/pnpm/yarn `cafile`) ignore both.

use super::{Context, Found, Mechanism, ReadFile, Tool, ToolError, ToolId, ToolPlan, Version};

pub struct Node;

/// Whether this Node reads `NODE_USE_SYSTEM_CA=1`.
pub fn reads_node_use_system_ca(version: Version) -> bool {
    match version.major {
        22 => version.at_least(22, 19, 0),
        24 => version.at_least(24, 6, 0),
        major => major >= 25,
    }
}

impl Tool for Node {
    fn id(&self) -> ToolId {
        ToolId::Node
    }

    fn version_command(&self) -> (&'static str, &'static [&'static str]) {
        ("node", &["--version"])
    }

    fn plan(
        &self,
        found: &Found,
        ctx: &Context,
        _read: ReadFile<'_>,
    ) -> Result<ToolPlan, ToolError> {
        let system_ca = found.version.is_some_and(reads_node_use_system_ca);
        let launch = "processes started without a shell start-up file (IDEs launched from the \
                      desktop, cron jobs, services) need it in their own launch environment";
        let (mechanism, note) = if system_ca && ctx.ca_in_os_store {
            (
                Mechanism::OsStoreMode {
                    setting: "NODE_USE_SYSTEM_CA=1".to_string(),
                },
                format!(
                    "Node has no config file: NODE_USE_SYSTEM_CA=1 comes from the environment \
                     (the env snippet the start-up blocks load); {launch}"
                ),
            )
        } else {
            let why = match (found.version, ctx.ca_in_os_store) {
                (Some(v), true) if !system_ca => {
                    format!("Node {v} does not read NODE_USE_SYSTEM_CA (22.19+, 24.6+, 25+), so ")
                }
                (None, _) => "Node's version is unknown, so ".to_string(),
                _ => String::new(),
            };
            (
                Mechanism::Environment {
                    variables: vec!["NODE_EXTRA_CA_CERTS".to_string()],
                },
                format!(
                    "{why}NODE_EXTRA_CA_CERTS={} adds the CA to Node's own roots; Node has no \
                     config file, so it comes from the environment (the env snippet the start-up \
                     blocks load); {launch}",
                    ctx.proxy_ca.display()
                ),
            )
        };
        Ok(ToolPlan {
            tool: ToolId::Node,
            version: found.version,
            mechanism,
            edits: Vec::new(),
            run_after: Vec::new(),
            notes: vec![note],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_ca_variable_gate_at_each_boundary() {
        let cases = [
            ((20, 20, 2), false),
            ((22, 18, 9), false),
            ((22, 19, 0), true),
            ((23, 11, 1), false),
            ((24, 5, 9), false),
            ((24, 6, 0), true),
            ((25, 0, 0), true),
            ((26, 12, 1), true),
        ];
        for ((major, minor, patch), want) in cases {
            assert_eq!(
                reads_node_use_system_ca(Version::new(major, minor, patch)),
                want,
                "{major}.{minor}.{patch}"
            );
        }
    }
}
