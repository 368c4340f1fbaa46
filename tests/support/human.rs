//! What every human-output snapshot test shares: the binary run in a private home without a
//! terminal, its outcome as one text, and the filters that take out what changes between runs.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use trust_proxy_testkit::*;

pub fn bin(home: &Path) -> Command {
    let mut c = trust_proxy_testkit::cli::clean_command(env!("CARGO_BIN_EXE_trust-proxy"));
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    c
}

/// Exit code, stdout and stderr in one text, the home directory's path replaced.
pub fn outcome(home: &Path, c: &mut Command) -> String {
    let (code, out, err) = trust_proxy_testkit::cli::output_text(c).unwrap();
    let text = format!("exit code: {code}\n--- stdout\n{out}--- stderr\n{err}");
    text.replace(&home.display().to_string(), "[HOME]")
}

#[allow(unused_macros)]
macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        insta::with_settings!({
            prepend_module_to_snapshot => false,
            filters => vec![
                (r"([0-9A-F]{2}:){31}[0-9A-F]{2}", "[SHA-256]"),
                (r"sha256:[0-9a-f]{64}", "sha256:[SHA-256]"),
                (r"thumbprint [0-9A-F]{40}", "thumbprint [SHA-1]"),
                (r"\(\d+ certificates\)", "([n] certificates)"),
                (r"([0-9A-F]{2}:){7}[0-9A-F]{2}…", "[SHA-256 start]…"),
                (r"Serial           \S+", "Serial           [serial]"),
                (r"Valid            .* to .*", "Valid            [not before] to [not after]"),
                (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
                (r"\d+\.\d s\)", "[seconds] s)"),
                (r"OS trust store: .*", "OS trust store: [this machine's]"),
            ],
        }, {
            insta::assert_snapshot!($name, $text);
        });
    };
}

pub fn fingerprint(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

pub fn corp_proxy(name: &str) -> (Arc<Ca>, ProxyHandle) {
    InterceptingProxy::with_fresh_root(name).unwrap()
}

#[allow(unused_imports)]
pub(crate) use snapshot;
