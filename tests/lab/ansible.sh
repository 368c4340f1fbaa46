#!/usr/bin/env bash
# The Ansible role (packaging/ansible/roles/trust_proxy) for real: ansible-core from PyPI
# (/opt/trust-proxy-lab/ansible-venv, scripts/install-deps.sh) runs `-c local` as the lab's
# laptop against the real squid ssl-bump, with the real .deb (packaging/build-deb.sh) installed by
# apt's `deb:`, and the real update-ca-certificates. It all happens inside the laptop's network
# namespace AND a private mount namespace where /etc is a copy and /usr and /var are overlays on
# tmpfs: the package, the trust store and dpkg's database vanish with the namespace.
#
#   --check on a fresh machine   changed, nothing installed
#   first run                    changed (package + CA), curl through the squid verifies
#   second run                   ok, changed=0
#   a wrong pin                  the play fails with trust-proxy's message; nothing changes
#   state=absent --check         changed, the CA still trusted
#   state=absent                 changed, the CA gone, curl fails again; again: changed=0
#   --check after absent         changed, the plan is shown, nothing written
#
# Usage (root): tests/lab/ansible.sh [PATH.deb]   (default: the one .deb in target/packages/,
# built with packaging/build-deb.sh when there is none)
# Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed" last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export TPLAB_PREFIX=${TPLAB_PREFIX:-tpans}
ANSIBLE_VENV=${TRUST_PROXY_ANSIBLE_VENV:-/opt/trust-proxy-lab/ansible-venv}
[[ -x $ANSIBLE_VENV/bin/ansible-playbook ]] || {
  echo "ansible: no ansible-playbook in $ANSIBLE_VENV: run scripts/install-deps.sh" >&2
  exit 1
}
deb=${1:-}
if [[ -z $deb ]]; then
  shopt -s nullglob
  debs=("$repo"/target/packages/*.deb)
  if ((${#debs[@]} == 0)); then
    "$repo/packaging/build-deb.sh" >&2
    debs=("$repo"/target/packages/*.deb)
  fi
  ((${#debs[@]} == 1)) || { echo "ansible: expected one .deb in target/packages" >&2; exit 1; }
  deb=${debs[0]}
fi
deb=$(realpath "$deb")
# shellcheck source=lab.sh
source "$here/lab.sh"

work=$(mktemp -d /tmp/tpans-work.XXXXXX)
cleanup() { lab_down || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

lab_up
FP=$(lab_fp "$LAB_CA_SQUID")
PROXY="http://$LAB_PROXY_IP:$LAB_PORT_SQUID"
# The role's variables, as an inventory would give them.
cat >"$work/vars.json" <<JSON
{"trust_proxy_package_deb": "$deb",
 "trust_proxy_fingerprints": ["$FP"],
 "trust_proxy_scope": "system",
 "trust_proxy_targets": ["pypi.org"],
 "trust_proxy_proxy": "$PROXY",
 "trust_proxy_public_roots": "$LAB_PUBLIC_ROOT",
 "ansible_python_interpreter": "/usr/bin/python3"}
JSON
cat >"$work/play.yml" <<'YAML'
- name: Trust the lab squid's CA
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: trust_proxy
YAML

cat >"$work/validate.py" <<'PY'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
doc = json.load(sys.stdin)
errors = [e.message + " at " + e.json_path for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]
print("\n".join(errors) or "valid: " + doc["command"])
sys.exit(1 if errors else 0)
PY
cat >"$work/inside.sh" <<INSIDE
set -uo pipefail
mount --make-rprivate /
# /etc as a copy (it carries the lab's hosts file, which an overlay of /etc would hide), /usr and
# /var as overlays: dpkg, the package's files and the trust store stay in this namespace.
cp -a /etc "$work/etc"
mount --bind "$work/etc" /etc
mount -t tmpfs tmpfs "$work/ovl"
for dir in usr var; do
  mkdir -p "$work/ovl/\$dir/upper" "$work/ovl/\$dir/work"
  mount -t overlay overlay -o "lowerdir=/\$dir,upperdir=$work/ovl/\$dir/upper,workdir=$work/ovl/\$dir/work" "/\$dir"
done
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$work/home"
export ANSIBLE_ROLES_PATH="$repo/packaging/ansible/roles" ANSIBLE_LOCAL_TEMP="$work/ansible-tmp" \
  ANSIBLE_REMOTE_TMP="$work/ansible-tmp" ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
  ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 PYTHONDONTWRITEBYTECODE=1
mkdir -p "\$HOME"
unset SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE HTTPS_PROXY https_proxy ALL_PROXY all_proxy NO_PROXY no_proxy

work="$work"
pass=0; fail=0
$(declare -f check refuse)
# play NAME ARGS...: runs the playbook; its output in $work/NAME.out, the recap's numbers in
# \$play_rc, \$play_changed, \$play_failed.
play() {
  local name=\$1; shift
  "$ANSIBLE_VENV/bin/ansible-playbook" -i localhost, -e @"$work/vars.json" "\$@" "$work/play.yml" >"$work/\$name.out" 2>&1
  play_rc=\$?
  play_changed=\$(grep -oE '^localhost +: .*changed=[0-9]+' "$work/\$name.out" | grep -oE '[0-9]+\$' || echo none)
  play_failed=\$(grep -oE '^localhost +: .*failed=[0-9]+' "$work/\$name.out" | grep -oE '[0-9]+\$' || echo none)
  echo "#   \$name: exit \$play_rc, changed=\$play_changed, failed=\$play_failed"
}
recap() { # RC CHANGED FAILED: the last play's outcome
  [ "\$play_rc" = "\$1" ] && [ "\$play_changed" = "\$2" ] && [ "\$play_failed" = "\$3" ]
}
store_digest() {
  { find /etc/ssl/certs /usr/local/share/ca-certificates -printf '%p %y %l\n' | sort
    find /etc/ssl/certs /usr/local/share/ca-certificates -type f ! -path /etc/ssl/certs/java/cacerts -print0 | sort -z | xargs -0 sha256sum
    ls /etc/trust-proxy 2>&1; } | sha256sum
}
anchor_present() { ls /usr/local/share/ca-certificates | grep -q '^trust-proxy-.*\.crt\$'; }
curl_pypi() { curl -sS --max-time 20 -x "$PROXY" -o /dev/null https://pypi.org/; }
installed() { dpkg-query -W -f='\${Status}\n' trust-proxy 2>/dev/null | grep -qx 'install ok installed'; }

update-ca-certificates --fresh >/dev/null 2>&1
fresh=\$(store_digest)
check "before: curl through the squid fails verification" sh -c '! curl -sS --max-time 20 -x "$PROXY" -o /dev/null https://pypi.org/'

play check-fresh --check
check "--check on a fresh machine: exit 0, changed=2 (package, CA), failed=0" recap 0 2 0
check "--check installed no package" sh -c '! dpkg-query -W trust-proxy >/dev/null 2>&1 && test ! -e /usr/bin/trust-proxy'
check "--check left the trust store as it was" test "\$fresh" = "\$(store_digest)"

play first
check "first run: exit 0, changed=2 (apt deb:, trust_proxy), failed=0" recap 0 2 0
check "the .deb is installed (dpkg)" installed
check "trust-proxy's anchor is in /usr/local/share/ca-certificates" anchor_present
check "curl through the squid verifies with the system store" curl_pypi
check "the role showed what changed" grep -q "create .*$FP" "$work/first.out"
installed_digest=\$(store_digest)

play second
check "second run: exit 0, changed=0" recap 0 0 0

# The tool's own JSON from this real system-scope run (real squid, real store), validated
# against the schema with Python's jsonschema: install again, status, env.
V="'$ANSIBLE_VENV/bin/python' '$work/validate.py' '$repo/schema/trust-proxy.schema.json'"
check "install --json (system scope, real squid) validates against the schema" sh -c \
  "trust-proxy install --scope system --proxy '$PROXY' --target pypi.org --public-roots '$LAB_PUBLIC_ROOT' --fingerprint '$FP' --json | \$V"
check "status --json validates" sh -c "trust-proxy status --scope system --json | \$V"
check "env --json validates" sh -c "trust-proxy env --scope system --json | \$V"

play wrong-pin -e '{"trust_proxy_fingerprints": ["$(printf 'AB:%.0s' {1..31})AB"]}'
check "a wrong pin fails the play (failed=1)" recap 2 0 1
check "the failure carries trust-proxy's message" grep -q 'no --fingerprint pin matches any certificate found' "$work/wrong-pin.out"
check "the wrong pin changed nothing" test "\$installed_digest" = "\$(store_digest)"

play absent-check --check -e trust_proxy_state=absent
check "state=absent --check: changed=1, failed=0" recap 0 1 0
check "state=absent --check left the CA trusted" anchor_present
check "state=absent --check left the store as it was" test "\$installed_digest" = "\$(store_digest)"

play absent -e trust_proxy_state=absent
check "state=absent: changed=1" recap 0 1 0
check "the anchor is gone" sh -c '! ls /usr/local/share/ca-certificates | grep -q "^trust-proxy-"'
check "curl through the squid fails verification again" sh -c '! curl -sS --max-time 20 -x "$PROXY" -o /dev/null https://pypi.org/'
check "the trust store is as before the first run" test "\$fresh" = "\$(store_digest)"
play absent-again -e trust_proxy_state=absent
check "state=absent again: changed=0" recap 0 0 0

play check-again --check
check "--check with the package and no CA: changed=1" recap 0 1 0
check "--check showed the plan (trust-proxy --dry-run)" grep -q "create .*$FP" "$work/check-again.out"
check "--check wrote nothing" test "\$fresh" = "\$(store_digest)"

for name in first wrong-pin check-again; do
  echo "#   ---- \$name (tail)"; tail -n 12 "$work/\$name.out" | sed 's/^/#   /'
done
echo "\$pass passed, \$fail failed"
[ "\$fail" -eq 0 ]
INSIDE
mkdir -p "$work/ovl"
chmod 755 "$work"

set +e
ip netns exec "$NS_LAPTOP" unshare --mount --propagation private bash "$work/inside.sh"
rc=$?
set -e
exit "$rc"
