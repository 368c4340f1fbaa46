#!/usr/bin/env bash
# Developer tools for real (issue 8, "Tests"): the real clients, as an unprivileged developer on the
# lab's laptop, behind the lab's real squid ssl-bump proxy, fetch from registries served at the
# public host names they use by default (no registry flag anywhere):
#   pypi.org/simple/tplab-demo/ + its wheel on files.pythonhosted.org (sha256 fragment)
#   github.com/tplab/demo.git (git's dumb HTTP protocol: a bare repository + update-server-info)
#   registry.npmjs.org/tplab-demo (document with dist.tarball, shasum, integrity; `npm pack`)
#   index.crates.io (sparse index: config.json, tp/la/tplab-demo with the cksum) + static.crates.io
# Clients: curl, Python urllib, requests, httpx (ssl.create_default_context(cafile=SSL_CERT_FILE or
# certifi.where())), pip download, uv pip install, git clone, node https.get, npm install, cargo fetch.
#
#   before install: each fails, with a certificate error (its text is asserted);
#   after `trust-proxy install --scope system --fingerprint` (root) and `trust-proxy
#   configure-tools` (the user), in a new login shell (`su -l`): each succeeds and no insecure
#   setting is anywhere; in a process that sourced no start-up file (`env -i`: an IDE, a cron
#   job) the tools configured by file or by the OS store succeed and the environment-only ones
#   (requests, httpx, node) fail; `trust-proxy verify` reports each tool; `trust-proxy doctor`
#   is silent; after `uninstall` (user, then root) the home is as it was (sha256 of the listing)
#   and each tool fails again.
#
# Everything runs in the lab laptop's network namespace and a private mount namespace: /etc (with
# the developer added to passwd/group/shadow), the trust store, dpkg's database are copies; the
# developer's home is under this run's work directory; the machine is left as it was.
#
# Usage (root): TRUST_PROXY_BIN=target/release/trust-proxy tests/lab/tools.sh
#   TPTOOLS_PHASES="before after uninstall" (default: all) runs only some phases.
# Prints "ok - ..." / "not ok - ..." lines, a per-tool table and "N passed, M failed" last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export TPLAB_PREFIX=${TPLAB_PREFIX:-tptools}
# shellcheck source=lab.sh
source "$here/lab.sh"

TOOLS_VENV=${TPLAB_TOOLS_VENV:-/opt/trust-proxy-lab/tools-venv}
DEV=tplabdev
PROXY_URL="http://$LAB_PROXY_HOST:$LAB_PORT_SQUID"
TOOLS=(curl urllib requests httpx pip uv git node npm cargo)

# =============================================================================================
# Inside: the laptop's network namespace, a private mount namespace (re-executed by the outside).
# =============================================================================================
if [[ ${1:-} == --inside ]]; then
  set +e
  work=$TPTOOLS_WORK
  BIN=$work/bin/trust-proxy
  UHOME=$work/home/$DEV
  OUTD=$work/out
  PHASES=${TPTOOLS_PHASES:-before after uninstall}
  mkdir -p "$OUTD"
  pass=0; fail=0
  declare -A RESULT=()
  ok() { echo "ok - $1"; pass=$((pass + 1)); }
  nok() { echo "not ok - $1"; [[ -n ${2:-} && -f $2 ]] && sed 's/^/#   /' "$2" | tail -n "${3:-12}"; fail=$((fail + 1)); }
  check() { # DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@" >"$OUTD/last" 2>&1; then ok "$what"; else nok "$what" "$OUTD/last"; fi
  }

  # --- the private machine: /etc, the trust store, dpkg's database --------------------------
  mount --make-rprivate /
  cp -a /etc "$work/etc"
  mkdir -p "$work/local-ca"
  cp -a /usr/local/share/ca-certificates/. "$work/local-ca/" 2>/dev/null
  mount --bind "$work/etc" /etc
  mount --bind "$work/local-ca" /usr/local/share/ca-certificates
  for d in /var/lib/dpkg /var/lib/ca-certificates-java; do
    if [[ -d $d ]]; then
      mkdir -p "$work/private$d" && cp -a "$d/." "$work/private$d/" && mount --bind "$work/private$d" "$d"
    fi
  done
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  unset SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE NODE_EXTRA_CA_CERTS \
    HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy NO_PROXY no_proxy
  update-ca-certificates --fresh >/dev/null 2>&1
  # This machine's own tool settings (a sandbox's /etc/pip.conf `cert`, npm's global `cafile`)
  # would make pip and npm trust the system store already: a developer's Debian has none.
  rm -f /etc/pip.conf /etc/xdg/pip/pip.conf /etc/npmrc
  for f in /usr/etc/npmrc /usr/local/etc/npmrc; do [[ -f $f ]] && mount --bind /dev/null "$f"; done

  # The developer: only in this namespace's copy of /etc. A uid no account of the machine has.
  uid=61234
  while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
  echo "$DEV:x:$uid:$uid:Lab Developer:$UHOME:/bin/bash" >>/etc/passwd
  echo "$DEV:x:$uid:" >>/etc/group
  echo "$DEV:!:20000:0:99999:7:::" >>/etc/shadow
  # The toolchain lives under root's home (mode 700): the developer reaches it through a bind
  # mount, as if rustup had been run for them.
  mkdir -p "$work/rust"
  mount --bind "$TPTOOLS_RUST_SYSROOT" "$work/rust"
  # IT set the proxy for everyone, the way pam_env hands it to login sessions.
  printf '%s\n' "HTTPS_PROXY=$PROXY_URL" "https_proxy=$PROXY_URL" "HTTP_PROXY=$PROXY_URL" \
    "http_proxy=$PROXY_URL" "NO_PROXY=localhost,127.0.0.1" "no_proxy=localhost,127.0.0.1" >>/etc/environment
  USER_PATH="$work/bin:$work/rust/bin:$TOOLS_VENV/bin:/usr/local/bin:/usr/bin:/bin"

  # A home as a developer's looks after a while: Debian's skeleton, the tools on PATH in
  # ~/.profile, and config files of their own (comments, other keys, a token) that configuring
  # must keep and uninstalling must give back byte for byte.
  mkdir -p "$UHOME"
  cp -a /etc/skel/. "$UHOME/"
  printf '\n# my tools\nexport PATH="%s:$PATH"\n' "$work/bin:$work/rust/bin:$TOOLS_VENV/bin" >>"$UHOME/.profile"
  printf '[user]\n\tname = Lab Developer\n\temail = dev@lab.test\n# shortcuts\n[alias]\n\tst = status\n' >"$UHOME/.gitconfig"
  printf '# team token\n//registry.npmjs.org/:_authToken=npm_lab_not_a_secret\nfund=false\n' >"$UHOME/.npmrc"
  chmod 600 "$UHOME/.npmrc"
  # ~/.local/share exists on any desktop account: its absence would blur who created it.
  mkdir -p "$UHOME/.cargo" "$UHOME/.config/pip" "$UHOME/.local/share"
  printf '# my cargo settings\n[net]\nretry = 1\n' >"$UHOME/.cargo/config.toml"
  printf '[global]\n# slow link\ntimeout = 30\n' >"$UHOME/.config/pip/pip.conf"
  printf -- '# my curl defaults\n--connect-timeout 20\n' >"$UHOME/.curlrc"
  chown -R "$uid:$uid" "$UHOME"
  mkdir -p "$work/runs"
  chown "$uid:$uid" "$work/runs"

  # --- running as the developer ----------------------------------------------------------------
  # A new login shell: PAM (pam_env reads /etc/environment), /etc/profile and /etc/profile.d,
  # ~/.profile (which sources ~/.bashrc).
  as_login() { su -l "$DEV" -c "$1"; }
  # A process that sourced no start-up file (an IDE started by the desktop, a cron job): what
  # env -i gives, the proxy included, since such a process is given one, and nothing else.
  as_bare() {
    setpriv --reuid="$uid" --regid="$uid" --init-groups \
      env -i HOME="$UHOME" USER="$DEV" LOGNAME="$DEV" PATH="$USER_PATH" LANG=C.UTF-8 \
      HTTPS_PROXY="$PROXY_URL" https_proxy="$PROXY_URL" NO_PROXY=localhost,127.0.0.1 no_proxy=localhost,127.0.0.1 \
      bash --noprofile --norc -c "cd \"\$HOME\" && $1"
  }
  # The command each tool runs, in a fresh directory R (no tool may answer from a cache):
  # prints evidence that the content arrived, which succeeded() checks.
  tool_cmd() { # TOOL R
    local t=$1 R=$2 c=$work/clients
    case $t in
      curl) echo "curl -sS --max-time 60 https://pypi.org/simple/tplab-demo/" ;;
      urllib | requests | httpx) echo "python3 $c/get.py $t https://pypi.org/simple/tplab-demo/" ;;
      pip) echo "pip download --no-cache-dir --retries 0 --no-deps -d $R tplab-demo && ls $R" ;;
      uv) echo "python3 -m venv --without-pip $R/venv && uv pip install --no-cache --python $R/venv/bin/python tplab-demo && $R/venv/bin/python -c 'import tplab_demo; print(tplab_demo.GREETING)'" ;;
      git) echo "git clone -q https://github.com/tplab/demo.git $R/demo && cat $R/demo/README.md" ;;
      node) echo "node $c/get.js https://registry.npmjs.org/tplab-demo" ;;
      npm) echo "cd $R && npm install --no-audit --no-fund --no-update-notifier --fetch-retries 0 --cache $R/npm-cache tplab-demo && cat node_modules/tplab-demo/index.js" ;;
      cargo) echo "rm -rf \$HOME/.cargo/registry && cp -r $c/cargo-project $R/p && cd $R/p && cargo fetch && ls \$HOME/.cargo/registry/cache/*/" ;;
    esac
  }
  evidence() { # TOOL: what the output holds when the content arrived
    case $1 in
      curl | urllib | requests | httpx | pip) echo "tplab_demo-1.0.0-py3-none-any.whl" ;;
      uv) echo "hello from the lab wheel" ;;
      git) echo "lab git repository" ;;
      node) echo "tplab-demo-1.0.0.tgz" ;;
      npm) echo "hello from the lab npm package" ;;
      cargo) echo "tplab-demo-1.0.0.crate" ;;
    esac
  }
  # The text each client prints for an untrusted certificate (seen with these versions: curl
  # 7.88 OpenSSL, Python 3.11 ssl, pip 24.0, uv 0.13, git with GnuTLS or OpenSSL, Node 20, npm
  # 11, cargo's libcurl).
  cert_error() { # TOOL
    case $1 in
      curl | cargo) echo "SSL certificate problem|certificate verify failed" ;;
      urllib | requests | httpx | pip) echo "CERTIFICATE_VERIFY_FAILED" ;;
      uv) echo "invalid peer certificate|UnknownIssuer" ;;
      git) echo "server certificate verification failed|SSL certificate problem" ;;
      node | npm) echo "SELF_SIGNED_CERT_IN_CHAIN|self[- ]signed certificate in certificate chain" ;;
    esac
  }
  # run_tool PHASE HOW TOOL: runs it as the developer; $OUTD/PHASE-TOOL.log; sets RC
  run_tool() {
    local phase=$1 how=$2 t=$3 R
    R=$work/runs/$phase-$t
    rm -rf "$R"; mkdir -p "$R"; chown "$uid:$uid" "$R"
    "as_$how" "timeout 180 bash -c $(printf '%q' "$(tool_cmd "$t" "$R")")" >"$OUTD/$phase-$t.log" 2>&1
    RC=$?
  }
  expect_works() { # PHASE HOW TOOL
    local phase=$1 how=$2 t=$3 log
    run_tool "$@"
    log=$OUTD/$phase-$t.log
    if [[ $RC -eq 0 ]] && grep -qF -- "$(evidence "$t")" "$log"; then
      ok "$phase ($how): $t works"; RESULT[$phase/$t]=works
    else
      nok "$phase ($how): $t works (exit $RC)" "$log"; RESULT[$phase/$t]="FAILS(exit $RC)"
    fi
  }
  expect_cert_failure() { # PHASE HOW TOOL
    local phase=$1 how=$2 t=$3 log
    run_tool "$@"
    log=$OUTD/$phase-$t.log
    if [[ $RC -ne 0 ]] && grep -qE -- "$(cert_error "$t")" "$log"; then
      ok "$phase ($how): $t fails with a certificate error"
      RESULT[$phase/$t]="cert error: $(grep -oE -m1 -- "$(cert_error "$t")" "$log" | head -n1)"
    elif [[ $RC -eq 0 ]]; then
      nok "$phase ($how): $t fails with a certificate error (it succeeded)" "$log" 4; RESULT[$phase/$t]=WORKS
    else
      nok "$phase ($how): $t fails with a certificate error (exit $RC, no certificate error in its output)" "$log"
      RESULT[$phase/$t]="other failure (exit $RC)"
    fi
  }

  # The home as a listing: every entry's type, mode, owner and path, and each file's sha256.
  # Left out: what running the tools themselves fills (pip, uv: ~/.cache; cargo's downloads and
  # locks; uv's credentials-store lock in ~/.local/share/uv).
  home_listing() {
    local skip=(\( -path ./.cache -o -path ./.npm -o -path ./.cargo/registry -o -path './.cargo/.package-cache*'
      -o -path ./.cargo/.global-cache -o -path ./.local/share/uv \) -prune)
    (cd "$UHOME" && find . "${skip[@]}" -o -printf '%y %m %U %p\n' | sort
     cd "$UHOME" && find . "${skip[@]}" -o -type f -print0 | sort -z | xargs -0 -r sha256sum)
  }
  INSECURE='NODE_TLS_REJECT_UNAUTHORIZED|PYTHONHTTPSVERIFY|GIT_SSL_NO_VERIFY|sslverify *= *false|strict-ssl *= *false|trusted-host|^ *-?-?insecure|-k$|UV_INSECURE_HOST|check-revoke|ssl_verify *: *false|CURL_INSECURE|AZURE_CLI_DISABLE_CONNECTION_VERIFICATION|check_certificate *= *off|verify_ssl *= *false'
  no_insecure_setting() {
    local hits
    hits=$( { grep -rIniE -- "$INSECURE" "$UHOME" --exclude-dir=.cache --exclude-dir=.npm --exclude-dir=registry 2>/dev/null
              grep -HniE -- "$INSECURE" /etc/environment /etc/profile.d/* /etc/gitconfig /etc/npmrc /etc/pip.conf 2>/dev/null
              as_login env | grep -iE -- "$INSECURE" | sed 's/^/login env: /'; } )
    [[ -z $hits ]] || { echo "$hits"; return 1; }
  }

  # ==============================================================================================
  if [[ $PHASES == *before* ]]; then
    home_listing >"$OUTD/home-before.txt"
    for t in "${TOOLS[@]}"; do expect_cert_failure before login "$t"; done
  fi

  if [[ $PHASES == *after* ]]; then
    FP=$(lab_fp "$LAB_CA_SQUID")
    check "install --scope system --fingerprint (root, real update-ca-certificates)" \
      env -i PATH="$PATH" HOME=/root "$BIN" install --scope system --proxy "$PROXY_URL" --target pypi.org \
      --public-roots "$LAB_PUBLIC_ROOT" --fingerprint "$FP"
    # The OS store alone is not enough for the tools that carry their own roots.
    for t in pip uv npm; do expect_cert_failure installed-only bare "$t"; done
    if as_login "trust-proxy configure-tools" >"$OUTD/configure-tools.log" 2>&1; then
      ok "configure-tools (the developer, login shell)"
    else
      nok "configure-tools (the developer, login shell)" "$OUTD/configure-tools.log" 30
    fi
    sed 's/^/#   configure-tools: /' "$OUTD/configure-tools.log" | grep -vE 'not found: no [a-z]+ on PATH|^#   configure-tools: $' | head -n 60
    home_listing >"$OUTD/home-configured.txt"
    check "no insecure setting in the home, /etc or the login environment" no_insecure_setting
    for t in "${TOOLS[@]}"; do expect_works after-login login "$t"; done
    # Configured by a file (pip.conf, uv.toml, .npmrc) or reading the OS store (curl, Python's
    # own ssl default context, git, cargo): they need no start-up file.
    for t in curl urllib pip uv git npm cargo; do expect_works after-bare bare "$t"; done
    # Only the environment reaches these (REQUESTS_CA_BUNDLE, SSL_CERT_FILE, NODE_EXTRA_CA_CERTS):
    # a process that did not load the snippet still fails, as documented.
    for t in requests httpx node; do expect_cert_failure after-bare bare "$t"; done
    # verify, as the developer in a login shell: one line per client, and the JSON per client.
    as_login "trust-proxy verify" >"$OUTD/verify.log" 2>&1
    vrc=$?
    sed 's/^/#   verify: /' "$OUTD/verify.log" | grep -v '^#   verify: *$' | head -n 60
    if [[ $vrc -eq 0 ]]; then ok "verify: exit 0 (every client works)"; else nok "verify: exit 0 (exit $vrc)"; fi
    as_login "trust-proxy verify --json" >"$OUTD/verify.json" 2>"$OUTD/verify.err"
    for c in python requests httpx pip uv curl git node npm cargo openssl; do
      got=$(jq -r --arg c "$c" '[.clients[] | select(.client == $c) | .passed] | if length == 0 then "absent" else (.[0] | tostring) end' "$OUTD/verify.json" 2>/dev/null)
      if [[ $got == true ]]; then ok "verify --json: $c passed"; RESULT[verify/$c]=works
      else nok "verify --json: $c passed (got: ${got:-no JSON})" "$OUTD/verify.err" 5; RESULT[verify/$c]="${got:-no JSON}"; fi
    done
    # doctor, the same way: exit 0, no warning or error finding (notes are listed).
    as_login "trust-proxy doctor" >"$OUTD/doctor.log" 2>&1
    drc=$?
    sed 's/^/#   doctor: /' "$OUTD/doctor.log" | grep -v '^#   doctor: *$' | head -n 40
    if [[ $drc -eq 0 ]]; then ok "doctor: exit 0 on the configured setup"; else nok "doctor: exit 0 on the configured setup (exit $drc)"; fi
    as_login "trust-proxy doctor --json" >"$OUTD/doctor.json" 2>"$OUTD/doctor.err"
    got=$(jq -r '[.findings[] | select(.severity == "warning" or .severity == "error") | .id] | join(",")' "$OUTD/doctor.json" 2>/dev/null || echo "no JSON")
    if [[ -z $got ]]; then ok "doctor --json: no warning or error finding"; else nok "doctor --json: no warning or error finding (found: $got)"; fi
    # The same doctor is not silent when one setting turns verification off (so its silence above
    # means something); the file is then put back byte for byte.
    cp -p "$UHOME/.npmrc" "$work/npmrc.configured"
    echo "strict-ssl=false" >>"$UHOME/.npmrc"
    as_login "trust-proxy doctor" >"$OUTD/doctor-planted.log" 2>&1
    prc=$?
    cp -p "$work/npmrc.configured" "$UHOME/.npmrc"
    if [[ $prc -ne 0 ]] && grep -qi "strict-ssl" "$OUTD/doctor-planted.log"; then
      ok "doctor: a planted strict-ssl=false in ~/.npmrc is reported (exit $prc)"
    else
      nok "doctor: a planted strict-ssl=false in ~/.npmrc is reported (exit $prc)" "$OUTD/doctor-planted.log" 10
    fi
    # Silent because it looked, not because it could not read what configure-tools recorded.
    if grep -q "could not be read" "$OUTD/doctor.log"; then nok "doctor read every record it needs" "$OUTD/doctor.log" 6
    else ok "doctor read every record it needs"; fi
  fi

  if [[ $PHASES == *uninstall* ]]; then
    check "uninstall (the developer)" as_login "trust-proxy uninstall"
    check "uninstall --scope system (root)" env -i PATH="$PATH" HOME=/root "$BIN" uninstall --scope system
    home_listing >"$OUTD/home-after.txt"
    if [[ $(sha256sum <"$OUTD/home-before.txt") == "$(sha256sum <"$OUTD/home-after.txt")" ]]; then
      ok "after uninstall: the home's listing (paths, modes, owners, sha256 of every file) is identical to before"
    else
      diff "$OUTD/home-before.txt" "$OUTD/home-after.txt" >"$OUTD/home.diff"
      nok "after uninstall: the home's listing is identical to before" "$OUTD/home.diff" 30
    fi
    for t in "${TOOLS[@]}"; do expect_cert_failure after-uninstall login "$t"; done
  fi

  echo "# per tool: before (login shell) | after (login shell) | after (env -i) | verify | after uninstall"
  for t in "${TOOLS[@]}"; do
    v=$t; [[ $t == urllib ]] && v=python
    printf '#   %-8s | %s | %s | %s | %s | %s\n' "$t" "${RESULT[before/$t]:--}" "${RESULT[after-login/$t]:--}" \
      "${RESULT[after-bare/$t]:--}" "${RESULT[verify/$v]:--}" "${RESULT[after-uninstall/$t]:--}"
  done
  echo "$pass passed, $fail failed"
  [[ $fail -eq 0 ]]
  exit
fi

# =============================================================================================
# Outside: the lab, the registries' content, then the inside part.
# =============================================================================================
[[ $(id -u) -eq 0 ]] || { echo "tools: must run as root" >&2; exit 1; }
BIN=${TRUST_PROXY_BIN:-$repo/target/release/trust-proxy}
[[ -x $BIN ]] || { echo "tools: $BIN not built" >&2; exit 1; }
[[ -x $TOOLS_VENV/bin/uv && -x $TOOLS_VENV/bin/pip ]] || { echo "tools: no $TOOLS_VENV: run scripts/install-deps.sh" >&2; exit 1; }
for c in git node npm cargo rustc jq setpriv su unshare update-ca-certificates; do
  command -v "$c" >/dev/null || { echo "tools: $c missing: run scripts/install-deps.sh" >&2; exit 1; }
done

work=$(mktemp -d /tmp/tptools-work.XXXXXX)
chmod 755 "$work"
cleanup() { lab_down || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$work/bin" "$work/clients"
install -m 755 "$BIN" "$work/bin/trust-proxy"

# --- the registries' content, built here from tiny sources, offline ----------------------------
srv=$work/srv
build=$work/build
mkdir -p "$srv" "$build/home"
# Builders run with a clean environment and a throw-away home: nothing of root's config leaks in.
buildenv() { env -i PATH="$PATH" HOME="$build/home" LANG=C.UTF-8 npm_config_update_notifier=false "$@"; }

# PyPI: a wheel made with zipfile (RECORD hashes included), the simple page with its sha256.
cat >"$build/pypi.py" <<'PY'
import base64, hashlib, os, sys, zipfile
srv = sys.argv[1]
name, ver = "tplab_demo", "1.0.0"
files = {
    f"{name}/__init__.py": b'GREETING = "hello from the lab wheel"\n',
    f"{name}-{ver}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: tplab-demo\nVersion: {ver}\nSummary: trust-proxy lab package\n".encode(),
    f"{name}-{ver}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: trust-proxy-lab\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
def h(b):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
record = "".join(f"{p},{h(b)},{len(b)}\n" for p, b in files.items()) + f"{name}-{ver}.dist-info/RECORD,,\n"
files[f"{name}-{ver}.dist-info/RECORD"] = record.encode()
whl = f"{name}-{ver}-py3-none-any.whl"
tmp = os.path.join(srv, whl)
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
    for p, b in files.items():
        z.writestr(p, b)
digest = hashlib.sha256(open(tmp, "rb").read()).hexdigest()
rel = f"packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/{whl}"
os.makedirs(os.path.join(srv, "files.pythonhosted.org", os.path.dirname(rel)))
os.rename(tmp, os.path.join(srv, "files.pythonhosted.org", rel))
os.makedirs(os.path.join(srv, "pypi.org/simple/tplab-demo"))
with open(os.path.join(srv, "pypi.org/simple/tplab-demo/index.html"), "w") as f:
    f.write('<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
            '<title>Links for tplab-demo</title></head><body><h1>Links for tplab-demo</h1>\n'
            f'<a href="https://files.pythonhosted.org/{rel}#sha256={digest}">{whl}</a><br/>\n</body></html>\n')
with open(os.path.join(srv, "pypi.org/simple/index.html"), "w") as f:
    f.write('<!DOCTYPE html>\n<html><body><a href="/simple/tplab-demo/">tplab-demo</a></body></html>\n')
PY
python3 "$build/pypi.py" "$srv"

# GitHub: a bare repository served by git's dumb HTTP protocol.
mkdir -p "$build/git" "$srv/github.com/tplab"
printf '# demo\nlab git repository\n' >"$build/git/README.md"
buildenv git -C "$build/git" init -q -b main
buildenv git -C "$build/git" add README.md
buildenv git -C "$build/git" -c user.name=lab -c user.email=lab@lab.test commit -q -m "lab repository"
buildenv git clone -q --bare "$build/git" "$srv/github.com/tplab/demo.git"
buildenv git -C "$srv/github.com/tplab/demo.git" update-server-info

# npm: the tarball from `npm pack`, the package document naming it with its shasum and integrity.
mkdir -p "$build/npm" "$srv/registry.npmjs.org/tplab-demo/-"
printf '{"name":"tplab-demo","version":"1.0.0","main":"index.js","license":"MIT","description":"trust-proxy lab package"}\n' >"$build/npm/package.json"
printf 'module.exports = "hello from the lab npm package";\n' >"$build/npm/index.js"
(cd "$build/npm" && buildenv npm pack --json --pack-destination "$srv/registry.npmjs.org/tplab-demo/-" >"$build/npm-pack.json")
python3 - "$build/npm-pack.json" "$srv/registry.npmjs.org/tplab-demo/index.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))[0]
assert p["filename"] == "tplab-demo-1.0.0.tgz", p["filename"]
v = {"name": "tplab-demo", "version": "1.0.0", "main": "index.js", "license": "MIT",
     "dist": {"tarball": "https://registry.npmjs.org/tplab-demo/-/tplab-demo-1.0.0.tgz",
              "shasum": p["shasum"], "integrity": p["integrity"]}}
doc = {"name": "tplab-demo", "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": v},
       "time": {"1.0.0": "2026-11-30T00:00:00.000Z"}}
json.dump(doc, open(sys.argv[2], "w"))
PY

# crates.io: the .crate from `cargo package`, the sparse index entry with its cksum.
mkdir -p "$build/crate/src" "$srv/index.crates.io/tp/la" "$srv/static.crates.io/crates/tplab-demo/1.0.0"
printf '[package]\nname = "tplab-demo"\nversion = "1.0.0"\nedition = "2021"\nlicense = "MIT"\ndescription = "trust-proxy lab crate"\n' >"$build/crate/Cargo.toml"
printf 'pub const GREETING: &str = "hello from the lab crate";\n' >"$build/crate/src/lib.rs"
(cd "$build/crate" && buildenv CARGO_HOME="$build/home/.cargo" CARGO_TARGET_DIR="$build/crate/target" \
  "$(rustc --print sysroot)/bin/cargo" package --offline --no-verify --allow-dirty -q)
crate=$build/crate/target/package/tplab-demo-1.0.0.crate
cp "$crate" "$srv/static.crates.io/crates/tplab-demo/1.0.0/download"
printf '{"dl":"https://static.crates.io/crates","api":"https://crates.io"}\n' >"$srv/index.crates.io/config.json"
printf '{"name":"tplab-demo","vers":"1.0.0","deps":[],"cksum":"%s","features":{},"yanked":false}\n' \
  "$(sha256sum "$crate" | cut -d' ' -f1)" >"$srv/index.crates.io/tp/la/tplab-demo"
# What `trust-proxy verify` asks the real registries for: crates.io's index has cfg-if (only the
# index is read: generate-lockfile downloads nothing), GitHub has git/git.git.
mkdir -p "$srv/index.crates.io/cf/g-"
printf '{"name":"cfg-if","vers":"1.0.0","deps":[],"cksum":"%s","features":{},"yanked":false}\n' \
  "$(sha256sum "$crate" | cut -d' ' -f1)" >"$srv/index.crates.io/cf/g-/cfg-if"
mkdir -p "$srv/github.com/git"
cp -a "$srv/github.com/tplab/demo.git" "$srv/github.com/git/git.git"
chmod -R a+rX "$srv"

# --- the clients --------------------------------------------------------------------------------
cat >"$work/clients/get.py" <<'PY'
"""get.py urllib|requests|httpx URL: GET through the environment's proxy, print the body."""
import os, ssl, sys
how, url = sys.argv[1], sys.argv[2]
if how == "urllib":
    import urllib.request
    body = urllib.request.urlopen(url, timeout=60).read().decode()
elif how == "requests":
    import requests
    body = requests.get(url, timeout=60).text
else:
    import certifi, httpx
    ctx = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or certifi.where())
    with httpx.Client(verify=ctx, timeout=60) as client:
        body = client.get(url).text
print(body)
PY
cat >"$work/clients/get.js" <<'JS'
// get.js URL: https.get through the HTTPS_PROXY tunnel (Node 20 has no proxy support of its
// own), trusting what Node trusts by default (its roots, NODE_EXTRA_CA_CERTS, system CA modes).
const http = require("http"), https = require("https"), tls = require("tls");
const target = new URL(process.argv[2]);
const proxy = new URL(process.env.HTTPS_PROXY || process.env.https_proxy);
const fail = (e) => { console.error(`${e.code || "error"}: ${e.message}`); process.exit(1); };
const connect = http.request({ host: proxy.hostname, port: proxy.port, method: "CONNECT",
  path: `${target.hostname}:443`, headers: { host: `${target.hostname}:443` }, timeout: 60000 });
connect.on("error", fail);
connect.on("connect", (res, socket) => {
  if (res.statusCode !== 200) fail(new Error(`proxy answered ${res.statusCode}`));
  // No `agent`: with one, Node ignores createConnection and dials the host itself.
  https.get({ host: target.hostname, port: 443, path: target.pathname,
    createConnection: () => tls.connect({ socket, servername: target.hostname }) }, (r) => {
    let body = "";
    r.on("data", (d) => (body += d));
    r.on("end", () => { console.log(r.statusCode, body); process.exit(r.statusCode === 200 ? 0 : 1); });
  }).on("error", fail);
});
connect.end();
JS
mkdir -p "$work/clients/cargo-project/src"
printf '[package]\nname = "lab-app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\ntplab-demo = "1.0"\n' \
  >"$work/clients/cargo-project/Cargo.toml"
printf 'fn main() { println!("{}", tplab_demo::GREETING); }\n' >"$work/clients/cargo-project/src/main.rs"
chmod -R a+rX "$work/clients"

# --- the lab: network, origins serving the content, a squid that bumps every name ---------------
lab_down
mkdir -p "$TPLAB_DIR/logs"
lab_net_up
# No transparent interception, and no way around the proxy (as on a corporate network): a tool
# that ignored HTTPS_PROXY would fail to connect, not with a certificate error.
ip netns exec "$NS_PROXY" iptables -t nat -F PREROUTING
ip netns exec "$NS_PROXY" iptables -I FORWARD -s "$LAB_LAPTOP_IP" -d 10.200.2.0/24 -p tcp -j REJECT --reject-with tcp-reset
lab_pki >/dev/null
specs=()
for h in "${LAB_TLS_HOSTS[@]}"; do
  if [[ -d $srv/$h ]]; then
    specs+=("static:${LAB_ORIGIN_IP[$h]}:443:$PKI/origin-$h.chain.pem:$PKI/origin-$h.key:$h:$srv/$h")
  fi
done
ip netns exec "$NS_ORIGIN" /usr/bin/python3 -u "$here/origin.py" "${specs[@]}" \
  </dev/null >"$TPLAB_DIR/logs/origin.log" 2>&1 &
echo $! >"$TPLAB_DIR/origin.pid"
for s in "${specs[@]}"; do
  IFS=: read -r _ ip _ <<<"$s"
  lab_wait_port "$NS_ORIGIN" "$ip" 443 15
done
# github.com is spliced by the other labs' squids; this one bumps it too, like a proxy that
# inspects everything.
LAB_SQUID_SPLICE="" lab_start_squid tools "$LAB_PORT_SQUID" bump squid-root

set +e
ip netns exec "$NS_LAPTOP" env TPTOOLS_WORK="$work" TPTOOLS_PHASES="${TPTOOLS_PHASES:-}" \
  TPTOOLS_RUST_SYSROOT="$(rustc --print sysroot)" TPLAB_PREFIX="$TPLAB_PREFIX" \
  unshare --mount --propagation private bash "$here/tools.sh" --inside
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  echo "# origin log (tail):"; tail -n 15 "$TPLAB_DIR/logs/origin.log" | sed 's/^/#   /'
  echo "# squid access log (tail):"; tail -n 15 "$TPLAB_DIR/squid-tools/logs/access.log" 2>/dev/null | sed 's/^/#   /'
  [[ ${TPLAB_KEEP:-0} == 1 ]] && { rm -rf "$TPLAB_DIR/tools-out"; cp -a "$work/out" "$TPLAB_DIR/tools-out" 2>/dev/null; echo "# outputs kept in $TPLAB_DIR/tools-out"; }
fi
exit "$rc"
