#!/usr/bin/env bash
# The Windows proxy settings read for real: values written with `wine reg add` into a throwaway
# WINEPREFIX, then `trust-proxy.exe proxy --json` under wine must name the proxy, the source
# (os:wininet / os:winhttp) and the bypass entry. Wine's registry is a test of our use of the
# registry API, not of Windows itself. Auto-detection (WPAD) asks DHCP option 252 through
# WinHTTP and then DNS: those runs happen in a fresh network namespace (loopback only, down),
# so nothing wine's winhttp does can leave this machine; without root they are skipped.
#
# Usage: scripts/wine-proxy-settings.sh path/to/trust-proxy.exe
#   Needs `wine` on PATH and jq; XPLAT_SHARED as for scripts/xplat-check.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
xplat=${XPLAT_SHARED:-$repo/../shared/xplat}
exe=$(readlink -f "$1")
[[ -f $exe ]] || { echo "wine-proxy-settings: $exe not found" >&2; exit 1; }

prefix=$(mktemp -d)
cleanup() {
  WINEPREFIX=$prefix wineserver -k >/dev/null 2>&1 || true
  rm -rf "$prefix"
}
trap cleanup EXIT
export WINEPREFIX=$prefix WINEDEBUG=-all
wineboot --init >/dev/null 2>&1
# The environment is the source before the OS settings; it must not decide here.
unset HTTPS_PROXY https_proxy ALL_PROXY all_proxy NO_PROXY no_proxy HTTP_PROXY http_proxy

inet='HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings'
conn='HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections'
machine='HKLM\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections'
reg() { wine reg "$@" >/dev/null 2>&1; }
unset_all() {
  for v in ProxyEnable ProxyServer ProxyOverride AutoConfigURL AutoDetect; do
    wine reg delete "$inet" /v "$v" /f >/dev/null 2>&1 || true
  done
  wine reg delete "$conn" /v DefaultConnectionSettings /f >/dev/null 2>&1 || true
  wine reg delete "$machine" /v WinHttpSettings /f >/dev/null 2>&1 || true
}

# Every run of trust-proxy.exe goes into a network namespace of its own when one can be made.
offline=()
if [[ $(id -u) == 0 ]] && unshare -n true 2>/dev/null; then
  offline=(unshare -n)
  # The namespace must hold nothing but a loopback, or "offline" is not.
  links=$(unshare -n ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
  [[ $links == "lo " ]] || { echo "wine-proxy-settings: the new network namespace has: $links" >&2; exit 1; }
fi

failures=0
# ask URL: prints "source chosen reason" of the one URL, from the JSON report.
ask() {
  "${offline[@]}" "$xplat/wine-run.sh" "$exe" proxy --json --no-connect --url "$1" 2>/dev/null | tr -d '\r' |
    jq -r '.urls[0] | [.source, (.chosen | if .kind == "direct" then "direct" else "\(.host):\(.port)" end), .reason] | join(" | ")'
}
# expect NAME URL SOURCE CHOSEN [REASON-SUBSTRING]
expect() {
  local name=$1 url=$2 source=$3 chosen=$4 reason=${5:-}
  local got
  got=$(ask "$url") || got="(trust-proxy.exe failed)"
  local got_source=${got%% | *} rest=${got#* | }
  local got_chosen=${rest%% | *}
  if [[ $got_source == "$source" && $got_chosen == "$chosen" && $got == *"$reason"* ]]; then
    echo "  ok   $name: $got"
  else
    echo "  FAIL $name: want $source | $chosen | *$reason*, got: $got" >&2
    failures=$((failures + 1))
  fi
}
# A connection-settings blob as hex: version, counter, flags, then length-prefixed strings.
blob() {
  local version=$1 flags=$2; shift 2
  local hex
  hex=$(printf '%08x' "$version" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/')
  hex+=00000000
  hex+=$(printf '%08x' "$flags" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/')
  for s in "$@"; do
    hex+=$(printf '%08x' "${#s}" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/')
    hex+=$(printf '%s' "$s" | od -An -tx1 | tr -d ' \n')
  done
  echo "$hex"
}

echo "== wine proxy settings: a fresh prefix has none"
unset_all
expect "nothing set" https://example.com/ none direct

if ((${#offline[@]} > 0)); then
  echo "== AutoDetect with no PAC URL: DHCP option 252 through WinHTTP, in a network namespace"
  # Wine's winhttp does not implement DHCP discovery: it answers ERROR_WINHTTP_AUTODETECTION_FAILED,
  # which must be reported as "none found", then the DNS walk (no search domains in wine's
  # registry: nothing to ask) and direct.
  reg add "$inet" /v AutoDetect /t REG_DWORD /d 1 /f
  expect "dhcp 252 (winhttp)" https://example.com/ none direct \
    "tried DHCP option 252 (WinHTTP found none (ERROR_WINHTTP_AUTODETECTION_FAILED))"
  reg delete "$inet" /v AutoDetect /f
else
  echo "  skip dhcp 252 (winhttp): no network namespace without root; WPAD is not run outside one"
fi

echo "== WinINet, plain ProxyServer with ProxyOverride"
reg add "$inet" /v ProxyEnable /t REG_DWORD /d 1 /f
reg add "$inet" /v ProxyServer /t REG_SZ /d 127.0.0.2:3128 /f
reg add "$inet" /v ProxyOverride /t REG_SZ /d '<local>;*.intranet.example' /f
expect "plain form" https://example.com/ os:wininet 127.0.0.2:3128 "WinINet"
expect "<local>" https://fileserver/ no_proxy_os:wininet direct '"<local>"'
expect "wildcard override" https://git.intranet.example/ no_proxy_os:wininet direct '"*.intranet.example"'

echo "== WinINet, per-scheme ProxyServer"
reg add "$inet" /v ProxyServer /t REG_SZ /d 'http=127.0.0.3:8080;https=127.0.0.4:8443' /f
expect "https= entry" https://example.com/ os:wininet 127.0.0.4:8443
reg add "$inet" /v ProxyServer /t REG_SZ /d 'http=127.0.0.3:8080' /f
expect "no https= entry" https://example.com/ os:wininet direct "no proxy for https"

echo "== ProxyEnable 0 and the WinHTTP machine proxy (WinHttpSettings blob)"
reg add "$inet" /v ProxyEnable /t REG_DWORD /d 0 /f
reg add "$machine" /v WinHttpSettings /t REG_BINARY /d "$(blob 24 3 127.0.0.5:8080 '<local>')" /f
expect "winhttp" https://example.com/ os:winhttp 127.0.0.5:8080 "WinHTTP"
expect "winhttp bypass" https://fileserver/ no_proxy_os:winhttp direct '"<local>"'

if ((${#offline[@]} > 0)); then
  echo "== Auto-detect (DefaultConnectionSettings flag 8) is reported, WinHTTP still decides"
  reg add "$conn" /v DefaultConnectionSettings /t REG_BINARY /d "$(blob 70 9 '' '' '')" /f
  expect "auto-detect" https://example.com/ os:winhttp 127.0.0.5:8080 "auto-discovery (WPAD)"
else
  echo "  skip auto-detect: no network namespace without root; WPAD is not run outside one"
fi

echo "== AutoConfigURL: a PAC file the sandboxed engine runs under wine"
pac_dir=$(mktemp -d)
printf '%s\n' 'function FindProxyForURL(url, host) {' \
  '  if (dnsDomainIs(host, ".intranet.example")) return "DIRECT";' \
  '  return "PROXY 127.0.0.6:3128; DIRECT"; }' >"$pac_dir/proxy.pac"
reg delete "$conn" /v DefaultConnectionSettings /f || true
reg add "$inet" /v AutoConfigURL /t REG_SZ /d "file:///Z:${pac_dir}/proxy.pac" /f
expect "AutoConfigURL" https://example.com/ pac:wininet 127.0.0.6:3128 "wininet proxy settings"
rm -rf "$pac_dir"

unset_all
if ((failures > 0)); then
  echo "wine-proxy-settings: $failures check(s) failed" >&2
  exit 1
fi
echo "wine-proxy-settings: ok"
