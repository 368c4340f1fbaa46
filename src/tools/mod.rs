//! Developer tools (pip, uv, cargo, git, npm, ...): making each one trust the installed CA the way
//! that stays correct longest for the version found, and proving it.
//!
//! One file per tool, each a [`Tool`]: how to find it and its version, and, from that, a
//! [`ToolPlan`] saying which mechanism it gets (its own OS-store mode, a config key pointing at the
//! FULL bundle, or the environment only) and the exact bytes of every config file to write. The
//! engine turns plans into install actions, records each file's previous bytes so uninstall puts
//! them back byte for byte, and never writes outside the invoking user's home for the user scope.
//!
//! Tools sit after `install` in the flow: they read what an install wrote (bundle, CA file, whether
//! the CA is in the OS store) and never decide trust themselves.

pub mod aws;
pub mod brew;
pub mod cargo;
pub mod clients;
pub mod conda;
pub mod config_text;
pub mod curl;
pub mod doctor;
pub mod engine;
pub mod existing_ca;
pub mod gcloud;
pub mod git;
mod lines;
pub mod node;
pub mod npm;
mod npmrc;
pub mod paths;
pub mod pip;
pub mod pnpm;
pub mod poetry;
pub mod record;
pub mod startup;
pub mod uv;
pub mod version;
pub mod wget;
mod yaml_top;
pub mod yarn;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub use version::Version;

/// Every tool trust-proxy knows; the JSON and the `--configure-tools=LIST` names are these, in
/// snake case.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum ToolId {
    Pip,
    Uv,
    Conda,
    Poetry,
    Cargo,
    Git,
    Npm,
    Pnpm,
    Yarn,
    Node,
    Curl,
    Wget,
    Aws,
    Gcloud,
    Brew,
}

impl ToolId {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolId::Pip => "pip",
            ToolId::Uv => "uv",
            ToolId::Conda => "conda",
            ToolId::Poetry => "poetry",
            ToolId::Cargo => "cargo",
            ToolId::Git => "git",
            ToolId::Npm => "npm",
            ToolId::Pnpm => "pnpm",
            ToolId::Yarn => "yarn",
            ToolId::Node => "node",
            ToolId::Curl => "curl",
            ToolId::Wget => "wget",
            ToolId::Aws => "aws",
            ToolId::Gcloud => "gcloud",
            ToolId::Brew => "brew",
        }
    }
}

/// The OS whose conventions apply (config file places, which trust each tool uses by default).
/// A value, not `cfg!`, so that every OS's plans are tested on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Os {
    Linux,
    Macos,
    Windows,
}

impl Os {
    pub fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::Macos
        } else {
            Os::Linux
        }
    }
}

/// A tool found on this machine, with what its version command printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub tool: ToolId,
    /// The program that answered (resolved on PATH).
    pub program: PathBuf,
    /// Its own version, when the output names one.
    pub version: Option<Version>,
    /// What the version command printed (first line, for the report).
    pub version_text: String,
    /// Other facts a tool's plan depends on, read during detection (pip: "python" -> "3.11.7";
    /// git: "ssl_backend" -> "schannel"). Keys are the tool's own.
    pub facts: BTreeMap<String, String>,
}

/// What a tool plan may depend on besides the tool itself: where things are, what was installed.
#[derive(Debug, Clone)]
pub struct Context {
    pub os: Os,
    /// The invoking user's home: every file a tool plan writes is under it.
    pub home: PathBuf,
    /// The environment variables that move config files (`XDG_CONFIG_HOME`, `APPDATA`,
    /// `CARGO_HOME`, `PIP_CONFIG_FILE`, `NPM_CONFIG_USERCONFIG`, `CURL_HOME`, `WGETRC`,
    /// `AWS_CONFIG_FILE`, `CLOUDSDK_CONFIG`, `CONDARC`, ...), as read once at the start.
    pub env: BTreeMap<String, String>,
    /// The FULL bundle (OS roots + Mozilla's + the CA): the only file a replacing setting may name.
    pub bundle: PathBuf,
    /// The CA (and intermediates the proxy does not send) alone: only for settings that ADD to
    /// the tool's roots (`NODE_EXTRA_CA_CERTS`).
    pub proxy_ca: PathBuf,
    /// Every installed CA is in the OS trust store, so tools with an OS-store mode need no file.
    pub ca_in_os_store: bool,
    /// The certificates the proxy mints carry no CRL or OCSP pointer (Windows schannel clients
    /// then fail with CRYPT_E_NO_REVOCATION_CHECK unless told revocation is best-effort).
    /// `None` when unknown (installed from `--ca-file` without a probe).
    pub minted_without_revocation: Option<bool>,
    /// The lint found the CA fails Python >= 3.13's `VERIFY_X509_STRICT`: each finding's text.
    pub strict_x509_findings: Vec<String>,
}

impl Context {
    /// An environment variable that is set and not empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// How a tool was made to trust the CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Mechanism {
    /// The tool already verifies with the OS store, which holds the CA: nothing to write.
    OsStoreAlready { why: String },
    /// A setting of the tool's own switches it to the OS store (uv `system-certs`, conda
    /// `ssl_verify: truststore`, Node `NODE_USE_SYSTEM_CA`).
    OsStoreMode { setting: String },
    /// A setting of the tool's own names the full bundle.
    BundleFile { setting: String },
    /// Only environment variables reach it; the start-up blocks load the env snippet.
    Environment { variables: Vec<String> },
    /// Nothing trust-proxy can do for this version: why, and what the person can do.
    Unsupported { why: String, fix: String },
}

/// One config file as it must be after configuring: its whole new content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    pub path: PathBuf,
    pub contents: Vec<u8>,
    /// The file may hold secrets (`.npmrc` tokens, `~/.aws/config`): a new file is created 0600
    /// and its backup is kept 0600.
    pub sensitive: bool,
    /// What changed, for people: `[http] cainfo = "/etc/ssl/certs/ca-certificates.crt"`.
    pub setting: String,
}

/// What configuring one tool takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPlan {
    pub tool: ToolId,
    pub version: Option<Version>,
    pub mechanism: Mechanism,
    pub edits: Vec<FileEdit>,
    /// Commands to run after the files are written (Homebrew's `brew postinstall
    /// ca-certificates`), each as program and arguments.
    pub run_after: Vec<Vec<String>>,
    /// Facts worth a line in the report: a Python >= 3.13 client the CA's shape will still
    /// break, revocation set to best-effort, a setting left as the person had it.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// A config file trust-proxy cannot edit without guessing: left as it is.
    #[error("{}: {message}; left as it is: fix the file by hand, then run `trust-proxy configure-tools --tools {tool}`", path.display(), tool = tool.as_str())]
    Unparsable {
        tool: ToolId,
        path: PathBuf,
        message: String,
    },
    /// A path trust-proxy would have to name in a config file is not valid UTF-8 or holds a
    /// character the file format cannot carry.
    #[error("{tool}: cannot write {} into its configuration: {why}", path.display(), tool = tool.as_str())]
    UnsafePath {
        tool: ToolId,
        path: PathBuf,
        why: String,
    },
    #[error(transparent)]
    Fs(#[from] trust_proxy_platform::StoreError),
}

/// Reads a file as it is now (`None` when absent); the engine passes one that refuses symlinks.
pub type ReadFile<'a> = &'a dyn Fn(&Path) -> Result<Option<Vec<u8>>, ToolError>;

/// One tool: how to find it, and how to configure the version found. Implementations are pure:
/// they read files only through `read` and never write.
pub trait Tool: Sync {
    fn id(&self) -> ToolId;

    /// The program (looked up on PATH) and the arguments that print its version.
    fn version_command(&self) -> (&'static str, &'static [&'static str]);

    /// The variable that moves the tool's own state directory, when the tool writes there on
    /// every start (gcloud): the engine points it at a throwaway directory while asking the
    /// version, so detection leaves the home untouched.
    fn state_dir_var(&self) -> Option<&'static str> {
        None
    }

    /// More facts for the plan, read from the version output (pip's Python version). The
    /// default reads nothing more.
    fn facts(&self, version_output: &str) -> BTreeMap<String, String> {
        let _ = version_output;
        BTreeMap::new()
    }

    /// What to write for `found` so that it trusts the CA, given what is installed (`ctx`).
    fn plan(&self, found: &Found, ctx: &Context, read: ReadFile<'_>)
        -> Result<ToolPlan, ToolError>;
}

/// Every tool, in the order reports list them.
pub fn all() -> Vec<&'static dyn Tool> {
    // Each tool module adds its one line here.
    vec![
        &pip::PIP,
        &uv::UV,
        &cargo::Cargo,
        &git::Git,
        &curl::Curl,
        &wget::Wget,
        &aws::Aws,
        &gcloud::Gcloud,
        &conda::Conda,
        &poetry::Poetry,
        &npm::Npm,
        &pnpm::Pnpm,
        &yarn::Yarn,
        &node::Node,
        &brew::Brew,
    ]
}
