//! Tool files B (node, npm, pnpm, yarn, conda, poetry, brew): the exact bytes each plan writes
//! for every shape of existing file, the version gates at their boundaries, idempotence, and the
//! REAL tools reading the written setting back (npm and Node from the machine; pnpm 10/11, yarn
//! 1/3/4 and Node 24.6 from scripts/install-deps.sh's js-tools prefix).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use trust_proxy::tools::{
    self, Context, Found, Mechanism, Os, Tool, ToolError, ToolId, ToolPlan, Version,
};
use trust_proxy_testkit::pki::pem_encode;
use trust_proxy_testkit::Ca;

const BUNDLE: &str = "/etc/trust-proxy/ca-bundle.pem";
const HOME: &str = "/home/u";

fn ctx_with(os: Os, home: &Path, bundle: &Path, in_store: bool, env: &[(&str, &str)]) -> Context {
    Context {
        os,
        home: home.to_path_buf(),
        // No PATH: conda's mamba search must not see this machine's programs.
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        bundle: bundle.to_path_buf(),
        proxy_ca: PathBuf::from("/etc/trust-proxy/proxy-ca.pem"),
        ca_in_os_store: in_store,
        minted_without_revocation: None,
        strict_x509_findings: Vec::new(),
    }
}

fn ctx(in_store: bool) -> Context {
    ctx_with(Os::Linux, Path::new(HOME), Path::new(BUNDLE), in_store, &[])
}

fn found(tool: ToolId, version: &str) -> Found {
    Found {
        tool,
        program: PathBuf::from(format!("/nonexistent/bin/{}", tool.as_str())),
        version: Version::find_in(version),
        version_text: version.to_string(),
        facts: BTreeMap::new(),
    }
}

fn plan(
    tool: &dyn Tool,
    found: &Found,
    ctx: &Context,
    files: &[(&str, &[u8])],
) -> Result<ToolPlan, ToolError> {
    let files: BTreeMap<PathBuf, Vec<u8>> = files
        .iter()
        .map(|(p, b)| (PathBuf::from(p), b.to_vec()))
        .collect();
    let read = move |p: &Path| Ok(files.get(p).cloned());
    tool.plan(found, ctx, &read)
}

/// The plan's one edit, after checking its path, that it is sensitive, and that planning again
/// on the written bytes changes nothing.
fn written(
    tool: &dyn Tool,
    found: &Found,
    ctx: &Context,
    path: &str,
    before: Option<&[u8]>,
) -> String {
    let files: Vec<(&str, &[u8])> = before.map(|b| vec![(path, b)]).unwrap_or_default();
    let first = plan(tool, found, ctx, &files).unwrap();
    assert_eq!(first.edits.len(), 1, "{first:?}");
    let edit = &first.edits[0];
    assert_eq!(edit.path, PathBuf::from(path));
    assert!(edit.sensitive);
    let again = plan(tool, found, ctx, &[(path, &edit.contents)]).unwrap();
    assert!(again.edits.is_empty(), "not idempotent: {again:?}");
    String::from_utf8(edit.contents.clone()).unwrap()
}

fn unparsable(result: Result<ToolPlan, ToolError>) -> bool {
    matches!(result, Err(ToolError::Unparsable { .. }))
}

// ---------------------------------------------------------------- npm

const NPMRC: &str = "/home/u/.npmrc";

#[test]
fn npm_cafile_bytes_for_every_file_shape() {
    let npm = &tools::npm::Npm;
    let f = found(ToolId::Npm, "11.19.1");
    let c = ctx(true);
    let line = format!("cafile={BUNDLE}\n");
    assert_eq!(written(npm, &f, &c, NPMRC, None), line);
    assert_eq!(written(npm, &f, &c, NPMRC, Some(b"")), line);
    assert_eq!(
        written(
            npm,
            &f,
            &c,
            NPMRC,
            Some(b"registry=https://r.example/\r\nstrict-ssl=true")
        ),
        format!("registry=https://r.example/\r\nstrict-ssl=true\r\ncafile={BUNDLE}\r\n")
    );
    // Comments, a token, a section (keys there are not top-level), an old cafile, a duplicate
    // and a ca= entry.
    let before = "; mine\nregistry=https://r.example/\nca=\"-----BEGIN CERTIFICATE-----\\nAA\\n-----END CERTIFICATE-----\"\ncafile = /old/ca.pem ; corp\ncafile=/dup.pem\n//r.example/:_authToken=secret\n\n; the section below\n[section]\ncafile=/inside.pem\n";
    let result = plan(npm, &f, &c, &[(NPMRC, before.as_bytes())]).unwrap();
    assert_eq!(
        String::from_utf8(result.edits[0].contents.clone()).unwrap(),
        format!("; mine\nregistry=https://r.example/\ncafile={BUNDLE}\n//r.example/:_authToken=secret\n\n; the section below\n[section]\ncafile=/inside.pem\n")
    );
    let notes = result.notes.join("\n");
    assert!(notes.contains("cafile was /old/ca.pem"), "{notes}");
    assert!(notes.contains("removed 1 ca/ca[] line"), "{notes}");
    assert!(notes.contains("second top-level cafile"), "{notes}");
    // No top-level cafile, a section: the line goes before the section and its comment.
    assert_eq!(
        written(npm, &f, &c, NPMRC, Some(b"a=1\n# about s\n[s]\nb=2\n")),
        format!("a=1\ncafile={BUNDLE}\n# about s\n[s]\nb=2\n")
    );
    assert_eq!(
        result.mechanism,
        Mechanism::BundleFile {
            setting: format!("cafile={BUNDLE}")
        }
    );
}

#[test]
fn npm_already_configured_and_unparsable() {
    let npm = &tools::npm::Npm;
    let f = found(ToolId::Npm, "11.19.1");
    for already in [
        format!("cafile={BUNDLE}\n"),
        format!("x=1\ncafile = {BUNDLE} ; set by hand\n"),
    ] {
        let p = plan(npm, &f, &ctx(true), &[(NPMRC, already.as_bytes())]).unwrap();
        assert!(p.edits.is_empty(), "{already:?}: {p:?}");
    }
    assert!(unparsable(plan(
        npm,
        &f,
        &ctx(true),
        &[(NPMRC, b"cafile=\xff\n")]
    )));
    let moved = ctx_with(
        Os::Linux,
        Path::new(HOME),
        Path::new(BUNDLE),
        true,
        &[
            ("NPM_CONFIG_USERCONFIG", "/cfg/npmrc"),
            ("npm_config_cafile", "/x.pem"),
        ],
    );
    let p = plan(npm, &f, &moved, &[]).unwrap();
    assert_eq!(p.edits[0].path, PathBuf::from("/cfg/npmrc"));
    assert!(p.notes.join("\n").contains("npm_config_cafile=/x.pem"));
}

/// A command with nothing of this machine's npm/Node/TLS environment, run from a directory
/// under the home (from the home itself, pnpm 11 and yarn 1 would also read the home's files as
/// the project's, which outrank the user files).
fn clean(program: &Path, home: &Path) -> Command {
    let work = home.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .current_dir(work);
    cmd
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A home and a bundle whose path needs quoting in every format (a blank, `;`, `#`).
fn real_home() -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("trust proxy;#x");
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("ca-bundle.pem");
    std::fs::copy("/etc/ssl/certs/ca-certificates.crt", &bundle).unwrap();
    (home, bundle)
}

fn apply(plan: &ToolPlan) {
    for edit in &plan.edits {
        std::fs::create_dir_all(edit.path.parent().unwrap()).unwrap();
        std::fs::write(&edit.path, &edit.contents).unwrap();
    }
}

fn read_real(p: &Path) -> Result<Option<Vec<u8>>, ToolError> {
    Ok(std::fs::read(p).ok())
}

#[test]
fn real_npm_reads_the_cafile_back_and_no_ca() {
    let (home, bundle) = real_home();
    let c = ctx_with(Os::Linux, home.path(), &bundle, true, &[]);
    let npmrc = home.path().join(".npmrc");
    std::fs::write(&npmrc, "ca=\"-----BEGIN CERTIFICATE-----\\nAA\\n-----END CERTIFICATE-----\"\r\n//r.example/:_authToken=t\r\n").unwrap();
    let npm = Path::new("/usr/bin/npm");
    let version = stdout_of(clean(npm, home.path()).arg("--version"));
    let f = Found {
        version: Version::find_in(&version),
        ..found(ToolId::Npm, &version)
    };
    let p = tools::npm::Npm.plan(&f, &c, &read_real).unwrap();
    apply(&p);
    let get = |key: &str| {
        stdout_of(
            clean(npm, home.path())
                .args(["config", "get", key, "--userconfig"])
                .arg(&npmrc),
        )
    };
    assert_eq!(get("cafile"), bundle.to_str().unwrap());
    assert_eq!(get("ca"), "null");
}

// ---------------------------------------------------------------- pnpm

#[test]
fn pnpm_gate_npmrc_until_10_auth_ini_from_11() {
    let pnpm = &tools::pnpm::Pnpm;
    let npm = &tools::npm::Npm;
    let c = ctx(true);
    let before: &[u8] = b"# mine\nregistry=https://r.example/\n";
    let by_npm = plan(npm, &found(ToolId::Npm, "11.19.1"), &c, &[(NPMRC, before)]).unwrap();
    for v in ["10.34.9", "9.15.0"] {
        let by_pnpm = plan(pnpm, &found(ToolId::Pnpm, v), &c, &[(NPMRC, before)]).unwrap();
        // The same edit of the same file: configured together, one change.
        assert_eq!(by_pnpm.edits, by_npm.edits, "{v}");
    }
    let auth = "/home/u/.config/pnpm/auth.ini";
    for v in ["11.0.0", "12.21.0"] {
        assert_eq!(
            written(pnpm, &found(ToolId::Pnpm, v), &c, auth, None),
            format!("cafile={BUNDLE}\n"),
            "{v}"
        );
    }
    let f11 = found(ToolId::Pnpm, "11.28.11");
    assert_eq!(
        written(
            pnpm,
            &f11,
            &c,
            auth,
            Some(b"//r.example/:_authToken=t\r\ncafile=/old.pem\r\n")
        ),
        format!("//r.example/:_authToken=t\r\ncafile={BUNDLE}\r\n")
    );
    assert_eq!(
        written(pnpm, &f11, &c, auth, Some(b"")),
        format!("cafile={BUNDLE}\n")
    );
    let already = format!("; pnpm auth\ncafile={BUNDLE}\n");
    assert!(plan(pnpm, &f11, &c, &[(auth, already.as_bytes())])
        .unwrap()
        .edits
        .is_empty());
    assert!(unparsable(plan(pnpm, &f11, &c, &[(auth, b"\xfe")])));
    let mac = ctx_with(Os::Macos, Path::new(HOME), Path::new(BUNDLE), true, &[]);
    assert_eq!(
        plan(pnpm, &f11, &mac, &[]).unwrap().edits[0].path,
        PathBuf::from("/home/u/Library/Preferences/pnpm/auth.ini")
    );
    let win = ctx_with(
        Os::Windows,
        Path::new(HOME),
        Path::new(BUNDLE),
        true,
        &[("LOCALAPPDATA", "C:/L")],
    );
    assert_eq!(
        plan(pnpm, &f11, &win, &[]).unwrap().edits[0].path,
        PathBuf::from("C:/L")
            .join("pnpm")
            .join("config")
            .join("auth.ini")
    );
}

fn js_tools() -> PathBuf {
    let dir = std::env::var_os("TRUST_PROXY_JS_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/trust-proxy-lab/js-tools"));
    assert!(
        dir.join("node_modules").is_dir(),
        "{} missing: run scripts/install-deps.sh",
        dir.display()
    );
    dir.join("node_modules")
}

/// Runs a JavaScript CLI with `node`, asks its version, plans from it on top of `seed` (a file
/// under the home with the person's own content), writes the plan, and checks what
/// `config get KEY` prints.
fn real_js_round_trip(
    node: &Path,
    script: &Path,
    tool: &dyn Tool,
    key: &str,
    env: &[(&str, &str)],
    seed: (&str, &str),
) -> ToolPlan {
    let (home, bundle) = real_home();
    let seeded = home.path().join(seed.0);
    std::fs::create_dir_all(seeded.parent().unwrap()).unwrap();
    std::fs::write(&seeded, seed.1).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = clean(node, home.path());
        cmd.arg(script).args(args).envs(env.iter().copied());
        stdout_of(&mut cmd)
    };
    let version = run(&["--version"]);
    let f = Found {
        version: Version::find_in(&version),
        ..found(tool.id(), &version)
    };
    let c = ctx_with(Os::Linux, home.path(), &bundle, true, env);
    let p = tool.plan(&f, &c, &read_real).unwrap();
    apply(&p);
    let got = run(&["config", "get", key]);
    assert_eq!(got, bundle.to_str().unwrap(), "{version}: {p:?}");
    assert_eq!(
        p.edits[0].path, seeded,
        "{version}: the seeded file is the one edited"
    );
    p
}

#[test]
fn real_pnpm_10_and_11_read_the_cafile_back() {
    let js = js_tools();
    let token = "//registry.example/:_authToken=t\r\ncafile=/old.pem\r\n";
    real_js_round_trip(
        Path::new("/usr/bin/node"),
        &js.join("pnpm10/bin/pnpm.cjs"),
        &tools::pnpm::Pnpm,
        "cafile",
        &[],
        (".npmrc", token),
    );
    real_js_round_trip(
        &js.join("node24/bin/node"),
        &js.join("pnpm11/bin/pnpm.cjs"),
        &tools::pnpm::Pnpm,
        "cafile",
        &[],
        (".config/pnpm/auth.ini", token),
    );
}

// ---------------------------------------------------------------- yarn

#[test]
fn yarn_key_and_file_per_version() {
    let yarn = &tools::yarn::Yarn;
    let c = ctx(true);
    let classic = "/home/u/.yarnrc";
    let berry = "/home/u/.yarnrc.yml";
    let f1 = found(ToolId::Yarn, "1.22.22");
    let quoted = format!("cafile \"{BUNDLE}\"\n");
    assert_eq!(written(yarn, &f1, &c, classic, None), quoted);
    assert_eq!(written(yarn, &f1, &c, classic, Some(b"")), quoted);
    assert_eq!(
        written(yarn, &f1, &c, classic, Some(b"# yarn lockfile v1\r\n\r\n\r\nregistry \"https://r.example\"\r\n")),
        format!("# yarn lockfile v1\r\n\r\n\r\nregistry \"https://r.example\"\r\ncafile \"{BUNDLE}\"\r\n")
    );
    let old = plan(
        yarn,
        &f1,
        &c,
        &[(
            classic,
            b"cafile \"/old.pem\"\nstrict-ssl true\ncafile /dup.pem\n",
        )],
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(old.edits[0].contents.clone()).unwrap(),
        format!("cafile \"{BUNDLE}\"\nstrict-ssl true\n")
    );
    assert!(old.notes.join("\n").contains("cafile was /old.pem"));
    assert!(plan(yarn, &f1, &c, &[(classic, quoted.as_bytes())])
        .unwrap()
        .edits
        .is_empty());
    assert!(unparsable(plan(
        yarn,
        &f1,
        &c,
        &[(classic, b"cafile \"/open\n")]
    )));
    assert!(unparsable(plan(yarn, &f1, &c, &[(classic, b"\xff")])));

    for (v, key) in [
        ("2.0.0", "caFilePath"),
        ("3.8.7", "caFilePath"),
        ("4.0.0", "httpsCaFilePath"),
        ("4.18.1", "httpsCaFilePath"),
    ] {
        let f = found(ToolId::Yarn, v);
        assert_eq!(
            written(yarn, &f, &c, berry, None),
            format!("{key}: {BUNDLE}\n"),
            "{v}"
        );
        assert_eq!(
            written(yarn, &f, &c, berry, Some(b"")),
            format!("{key}: {BUNDLE}\n"),
            "{v}"
        );
        assert_eq!(
            written(yarn, &f, &c, berry, Some(b"# mine\nnpmRegistryServer: \"https://r.example\"\nnpmAuthToken: t  # secret\n")),
            format!("# mine\nnpmRegistryServer: \"https://r.example\"\nnpmAuthToken: t  # secret\n{key}: {BUNDLE}\n"),
            "{v}"
        );
        assert_eq!(
            written(
                yarn,
                &f,
                &c,
                berry,
                Some(format!("{key}: /old.pem # corp\r\nenableTelemetry: false\r\n").as_bytes())
            ),
            format!("{key}: {BUNDLE} # corp\r\nenableTelemetry: false\r\n"),
            "{v}"
        );
        let already = format!("{key}: '{BUNDLE}'\n");
        assert!(plan(yarn, &f, &c, &[(berry, already.as_bytes())])
            .unwrap()
            .edits
            .is_empty());
        assert!(unparsable(plan(yarn, &f, &c, &[(berry, b"- a list\n")])));
    }
    let leftover = plan(
        yarn,
        &found(ToolId::Yarn, "4.18.1"),
        &c,
        &[(berry, b"caFilePath: /old.pem\n")],
    )
    .unwrap();
    assert!(leftover
        .notes
        .join("\n")
        .contains("caFilePath: /old.pem is left as it is"));
    let unknown = plan(yarn, &found(ToolId::Yarn, "berry"), &c, &[]).unwrap();
    assert!(matches!(unknown.mechanism, Mechanism::Unsupported { .. }) && unknown.edits.is_empty());
}

#[test]
fn real_yarn_1_3_4_read_the_setting_back() {
    let js = js_tools();
    let node = Path::new("/usr/bin/node");
    // FAKEROOTKEY: run as root, yarn 1 would read /usr/local/share/.yarnrc first.
    real_js_round_trip(
        node,
        &js.join("yarn1/bin/yarn.js"),
        &tools::yarn::Yarn,
        "cafile",
        &[("FAKEROOTKEY", "1")],
        (".yarnrc", "# yarn lockfile v1\r\n\r\n\r\nregistry \"https://registry.example\"\r\ncafile \"/old.pem\"\r\n"),
    );
    let berry = "# mine\r\nenableTelemetry: false\r\ncaFilePath: /old.pem  # corp\r\nhttpsCaFilePath: /old.pem # corp\r\n";
    real_js_round_trip(
        node,
        &js.join("yarn3/bin/yarn.js"),
        &tools::yarn::Yarn,
        "caFilePath",
        &[],
        (
            ".yarnrc.yml",
            "# mine\r\nenableTelemetry: false\r\ncaFilePath: /old.pem  # corp\r\n",
        ),
    );
    real_js_round_trip(
        node,
        &js.join("yarn4/bin/yarn.js"),
        &tools::yarn::Yarn,
        "httpsCaFilePath",
        &[],
        (".yarnrc.yml", berry),
    );
}

// ---------------------------------------------------------------- conda

const CONDARC: &str = "/home/u/.condarc";

#[test]
fn conda_truststore_or_bundle() {
    let conda = &tools::conda::Conda;
    let new = found(ToolId::Conda, "conda 24.7.1");
    let c = ctx(true);
    assert_eq!(
        written(conda, &new, &c, CONDARC, None),
        "ssl_verify: truststore\n"
    );
    assert_eq!(
        written(conda, &new, &c, CONDARC, Some(b"")),
        "ssl_verify: truststore\n"
    );
    let before = b"# mine\nchannels:\n  - conda-forge\nssl_verify: false   # proxy, fix later\nproxy_servers:\n  https: http://proxy:3128\n";
    let p = plan(conda, &new, &c, &[(CONDARC, before)]).unwrap();
    assert_eq!(
        String::from_utf8(p.edits[0].contents.clone()).unwrap(),
        "# mine\nchannels:\n  - conda-forge\nssl_verify: truststore   # proxy, fix later\nproxy_servers:\n  https: http://proxy:3128\n"
    );
    assert!(p.notes.join("\n").contains("verification was OFF"));
    assert_eq!(
        p.mechanism,
        Mechanism::OsStoreMode {
            setting: "ssl_verify: truststore".into()
        }
    );
    assert_eq!(
        written(
            conda,
            &new,
            &c,
            CONDARC,
            Some(b"channels:\r\n- defaults\r\n")
        ),
        "channels:\r\n- defaults\r\nssl_verify: truststore\r\n"
    );
    assert!(
        plan(conda, &new, &c, &[(CONDARC, b"ssl_verify: truststore\n")])
            .unwrap()
            .edits
            .is_empty()
    );
    assert!(unparsable(plan(
        conda,
        &new,
        &c,
        &[(CONDARC, b"- not a mapping\n")]
    )));
    assert!(unparsable(plan(
        conda,
        &new,
        &c,
        &[(CONDARC, b"ssl_verify:\n  - a\n")]
    )));
    assert!(unparsable(plan(
        conda,
        &new,
        &c,
        &[(CONDARC, b"ssl_verify: \xff\n")]
    )));

    let bundle_line = format!("ssl_verify: {BUNDLE}\n");
    // Gate: 23.9.0 has truststore, 23.8.x does not; not in the OS store: the bundle.
    assert_eq!(
        written(
            conda,
            &found(ToolId::Conda, "conda 23.9.0"),
            &c,
            CONDARC,
            None
        ),
        "ssl_verify: truststore\n"
    );
    assert_eq!(
        written(
            conda,
            &found(ToolId::Conda, "conda 23.8.9"),
            &c,
            CONDARC,
            None
        ),
        bundle_line
    );
    assert_eq!(
        written(conda, &new, &ctx(false), CONDARC, None),
        bundle_line
    );
    // mamba shares the file: the bundle, with a note.
    let with_mamba = ctx_with(
        Os::Linux,
        Path::new(HOME),
        Path::new(BUNDLE),
        true,
        &[("MAMBA_ROOT_PREFIX", "/opt/mm")],
    );
    let p = plan(conda, &new, &with_mamba, &[]).unwrap();
    assert_eq!(
        String::from_utf8(p.edits[0].contents.clone()).unwrap(),
        bundle_line
    );
    assert!(p.notes.join("\n").contains("mamba"));
    let mamba_dir = tempfile::tempdir().unwrap();
    std::fs::write(mamba_dir.path().join("micromamba"), b"").unwrap();
    let on_path = ctx_with(
        Os::Linux,
        Path::new(HOME),
        Path::new(BUNDLE),
        true,
        &[("PATH", mamba_dir.path().to_str().unwrap())],
    );
    assert_eq!(
        String::from_utf8(
            plan(conda, &new, &on_path, &[]).unwrap().edits[0]
                .contents
                .clone()
        )
        .unwrap(),
        bundle_line
    );
    // conda on Python 3.9: truststore would be rejected.
    let mut old_python = new.clone();
    old_python.facts.insert("python".into(), "3.9.18".into());
    assert_eq!(
        String::from_utf8(
            plan(conda, &old_python, &c, &[]).unwrap().edits[0]
                .contents
                .clone()
        )
        .unwrap(),
        bundle_line
    );
    old_python.facts.insert("python".into(), "3.10.0".into());
    assert!(plan(conda, &old_python, &c, &[]).unwrap().edits[0]
        .contents
        .starts_with(b"ssl_verify: truststore"));
}

// ---------------------------------------------------------------- poetry, brew

#[test]
fn poetry_is_environment_only() {
    let mut c = ctx(true);
    let p = plan(
        &tools::poetry::Poetry,
        &found(ToolId::Poetry, "Poetry (version 2.5.1)"),
        &c,
        &[],
    )
    .unwrap();
    assert_eq!(
        p.mechanism,
        Mechanism::Environment {
            variables: vec!["REQUESTS_CA_BUNDLE".into()]
        }
    );
    assert!(
        p.edits.is_empty()
            && p.notes
                .join("\n")
                .contains("certificates.pypi.cert is ignored")
    );
    c.strict_x509_findings = vec!["Basic Constraints not critical".into()];
    let p = plan(
        &tools::poetry::Poetry,
        &found(ToolId::Poetry, "2.5.1"),
        &c,
        &[],
    )
    .unwrap();
    assert!(p
        .notes
        .join("\n")
        .contains("Basic Constraints not critical"));
}

#[test]
fn brew_postinstall_only_with_the_ca_in_the_os_store() {
    let brew = &tools::brew::Brew;
    let f = found(ToolId::Brew, "Homebrew 4.6.3");
    let mac = ctx_with(Os::Macos, Path::new(HOME), Path::new(BUNDLE), true, &[]);
    let p = plan(brew, &f, &mac, &[]).unwrap();
    assert_eq!(
        p.run_after,
        vec![vec![
            "/nonexistent/bin/brew".to_string(),
            "postinstall".into(),
            "ca-certificates".into()
        ]]
    );
    assert!(p.edits.is_empty() && p.notes.join("\n").contains("System keychain only"));
    let linux = plan(brew, &f, &ctx(true), &[]).unwrap();
    assert_eq!(linux.run_after.len(), 1);
    for c in [
        ctx_with(Os::Macos, Path::new(HOME), Path::new(BUNDLE), false, &[]),
        ctx_with(Os::Windows, Path::new(HOME), Path::new(BUNDLE), true, &[]),
    ] {
        let p = plan(brew, &f, &c, &[]).unwrap();
        assert!(
            p.run_after.is_empty() && matches!(p.mechanism, Mechanism::Unsupported { .. }),
            "{p:?}"
        );
    }
}

#[test]
fn every_tool_b_is_registered_once() {
    let ids: Vec<ToolId> = tools::all().iter().map(|t| t.id()).collect();
    for id in [
        ToolId::Node,
        ToolId::Npm,
        ToolId::Pnpm,
        ToolId::Yarn,
        ToolId::Conda,
        ToolId::Poetry,
        ToolId::Brew,
    ] {
        assert_eq!(ids.iter().filter(|i| **i == id).count(), 1, "{id:?}");
    }
}

// ---------------------------------------------------------------- node

#[test]
fn node_gate_in_plans() {
    let node = &tools::node::Node;
    let extra = Mechanism::Environment {
        variables: vec!["NODE_EXTRA_CA_CERTS".into()],
    };
    let system = Mechanism::OsStoreMode {
        setting: "NODE_USE_SYSTEM_CA=1".into(),
    };
    for (v, in_store, want) in [
        ("v20.20.2", true, &extra),
        ("v22.18.0", true, &extra),
        ("v22.19.0", true, &system),
        ("v23.11.1", true, &extra),
        ("v24.5.0", true, &extra),
        ("v24.6.0", true, &system),
        ("v26.12.1", true, &system),
        ("v26.12.1", false, &extra),
        ("unknown", true, &extra),
    ] {
        let p = plan(node, &found(ToolId::Node, v), &ctx(in_store), &[]).unwrap();
        assert_eq!(&p.mechanism, want, "{v} {in_store}");
        assert!(p.edits.is_empty());
        assert!(p.notes.join("\n").contains("launch environment"));
    }
}

/// A CA, and a leaf for 127.0.0.1 it signed, as PEM files in `dir`.
fn pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca = Ca::new_root("tools-b test CA");
    let leaf = ca.issue_leaf("127.0.0.1", None);
    let files = [
        ("ca.pem", ca.cert_pem()),
        ("leaf.pem", leaf.cert_pem()),
        (
            "leaf.key",
            pem_encode("PRIVATE KEY", leaf.key_der.secret_der()),
        ),
    ];
    for (name, pem) in &files {
        std::fs::write(dir.join(name), pem).unwrap();
    }
    (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    )
}

/// Node serves TLS on loopback with the leaf and fetches from itself: "ok" when it trusts the
/// CA, the error code otherwise.
fn node_https_self_test(node: &Path, dir: &Path, env: &[(&str, &Path)]) -> String {
    let (_, leaf, key) = pki_paths(dir);
    let script = "const https=require('https'),fs=require('fs');\
        const s=https.createServer({key:fs.readFileSync(process.argv[1]),cert:fs.readFileSync(process.argv[2])},(q,r)=>r.end('ok'));\
        s.listen(0,'127.0.0.1',()=>{https.get({host:'127.0.0.1',port:s.address().port},res=>{res.resume();console.log('ok');s.close();})\
        .on('error',e=>{console.log(e.code);s.close();});});";
    let mut cmd = clean(node, dir);
    cmd.arg("-e").arg(script).arg(key).arg(leaf);
    for (k, v) in env {
        cmd.env(k, v);
    }
    stdout_of(&mut cmd)
}

fn pki_paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    )
}

#[test]
fn real_node_on_path_gets_the_variable_its_version_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _, _) = pki(dir.path());
    let node = Path::new("/usr/bin/node");
    let version = stdout_of(clean(node, dir.path()).arg("--version"));
    let f = Found {
        version: Version::find_in(&version),
        ..found(ToolId::Node, &version)
    };
    let p = tools::node::Node.plan(&f, &ctx(true), &read_real).unwrap();
    assert_eq!(
        p.mechanism
            == (Mechanism::Environment {
                variables: vec!["NODE_EXTRA_CA_CERTS".into()]
            }),
        !f.version.is_some_and(tools::node::reads_node_use_system_ca),
        "{version}"
    );
    assert_ne!(node_https_self_test(node, dir.path(), &[]), "ok");
    assert_eq!(
        node_https_self_test(node, dir.path(), &[("NODE_EXTRA_CA_CERTS", &ca)]),
        "ok"
    );
}

#[test]
fn real_node_24_6_reads_the_os_store_with_node_use_system_ca() {
    let node = js_tools().join("node24/bin/node");
    let dir = tempfile::tempdir().unwrap();
    let (ca, _, _) = pki(dir.path());
    let version = stdout_of(clean(&node, dir.path()).arg("--version"));
    let f = Found {
        version: Version::find_in(&version),
        ..found(ToolId::Node, &version)
    };
    let p = tools::node::Node.plan(&f, &ctx(true), &read_real).unwrap();
    assert_eq!(
        p.mechanism,
        Mechanism::OsStoreMode {
            setting: "NODE_USE_SYSTEM_CA=1".into()
        }
    );
    // On Linux Node's "system" store is OpenSSL's default file, which SSL_CERT_FILE moves: here
    // it stands for the OS store holding the CA.
    assert_ne!(
        node_https_self_test(&node, dir.path(), &[("SSL_CERT_FILE", &ca)]),
        "ok"
    );
    assert_eq!(
        node_https_self_test(
            &node,
            dir.path(),
            &[
                ("SSL_CERT_FILE", &ca),
                ("NODE_USE_SYSTEM_CA", Path::new("1"))
            ]
        ),
        "ok"
    );
}
