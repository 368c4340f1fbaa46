#!/usr/bin/env bash
# bench/discover.sh - how fast is `trust-proxy discover`, and how many round trips does it cost?
#
#   sudo bench/discover.sh
#
# Brings up the namespace lab (tests/lab/lab.sh, prefix tpbench so it never collides with a lab
# another person runs with the default prefix), then, as the lab's laptop, through squid ssl-bump
# on its explicit port 3128:
#   1. trust-proxy discover --target pypi.org vs openssl s_client -showcerts -proxy, interleaved,
#      medians and the ratio; then where trust-proxy's time goes (strace phases, perf profile).
#   2. with 50 ms added to the laptop's link (delay.py over NFQUEUE, toggled each repetition),
#      probe time in round trips for 1 target, 5 targets in parallel and openssl.
#   3. a summary block.
# Figures only: a timing never fails this script. Exit 0 when the benchmark ran, 1 when it could
# not (lab did not come up, a probe did not find the interception, ...).
#
# Environment (all optional):
#   BENCH_REPS=20          repetitions per command in part 1
#   BENCH_RTT_REPS=10      repetitions per command and condition in part 2
#   BENCH_DELAY_MS=50      delay added to every packet the laptop sends
#   TRUST_PROXY_BIN=PATH   binary to measure (default: $CARGO_TARGET_DIR or target/, release)
#   BENCH_BASELINE_BIN=PATH  another trust-proxy build (e.g. before a profile change) measured in
#                          the same interleaved part 1; the report adds its ratio and the sizes
#   DELAY_PY=PATH          the NFQUEUE delay helper (default: ../shared/bench/delay.py)
#   TPLAB_PREFIX=tpbench   lab namespace/state prefix
#   BENCH_KEEP=DIR         keep the raw samples, strace logs and lab logs in DIR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PY=/usr/bin/python3
REPS="${BENCH_REPS:-20}"
RTT_REPS="${BENCH_RTT_REPS:-10}"
DELAY_MS="${BENCH_DELAY_MS:-50}"
QUEUE=7
export TPLAB_PREFIX="${TPLAB_PREFIX:-tpbench}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="${TRUST_PROXY_BIN:-$TARGET_DIR/release/trust-proxy}"
DELAY_PY="${DELAY_PY:-}"
if [ -z "$DELAY_PY" ]; then
  for c in "$ROOT/../shared/bench/delay.py" /work/shared/bench/delay.py; do
    [ -f "$c" ] && { DELAY_PY="$(cd "$(dirname "$c")" && pwd)/$(basename "$c")"; break; }
  done
fi

say() { echo "bench: $*" >&2; }
die() { echo "bench: cannot run: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, iptables, NFQUEUE)"
case "$REPS$RTT_REPS$DELAY_MS" in *[!0-9]*) die "BENCH_REPS, BENCH_RTT_REPS, BENCH_DELAY_MS must be integers" ;; esac
[ "$REPS" -ge 1 ] && [ "$REPS" -le 500 ] && [ "$RTT_REPS" -ge 2 ] && [ "$RTT_REPS" -le 200 ] &&
  [ "$DELAY_MS" -ge 5 ] && [ "$DELAY_MS" -le 1000 ] || die "BENCH_REPS 1..500, BENCH_RTT_REPS 2..200, BENCH_DELAY_MS 5..1000"
[ "$TPLAB_PREFIX" != tplab ] || die "TPLAB_PREFIX=tplab is the test suite's lab; pick another prefix"
[ -n "$DELAY_PY" ] && [ -f "$DELAY_PY" ] || die "no delay.py (set DELAY_PY=/path/delay.py)"
[ -x "$PY" ] || die "no $PY"

# ---- prerequisites ------------------------------------------------------------------------------
# shellcheck source=../tests/lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
if ! command -v squid >/dev/null || [ ! -x "$TPLAB_VENV/bin/mitmdump" ]; then
  say "squid or mitmproxy missing: running scripts/install-deps.sh"
  "$ROOT/scripts/install-deps.sh"
fi
if [ ! -x "$BIN" ]; then
  say "building $BIN (cargo build --release)"
  (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --bin trust-proxy) ||
    die "cargo build failed"
fi
[ -x "$BIN" ] || die "no binary at $BIN"

WORK="$(mktemp -d /tmp/tpbench-run.XXXXXX)"
DELAY_PID=""
VETH="${TPLAB_PREFIX}-l0"
NFQ_RULE=(OUTPUT -o "$VETH" -j NFQUEUE --queue-num "$QUEUE" --queue-bypass)

cleanup() {
  local rc=$?
  set +e
  if [ -n "$DELAY_PID" ]; then
    kill -TERM "$DELAY_PID" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$DELAY_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DELAY_PID" 2>/dev/null
    wait "$DELAY_PID" 2>/dev/null
  fi
  if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$NS_LAPTOP"; then
    while ip netns exec "$NS_LAPTOP" iptables -D "${NFQ_RULE[@]}" 2>/dev/null; do :; done
  fi
  if [ -n "${BENCH_KEEP:-}" ]; then
    mkdir -p "$BENCH_KEEP" && cp -r "$WORK"/. "$BENCH_KEEP"/ && say "kept raw data in $BENCH_KEEP"
    TPLAB_KEEP=0 lab_logs 5 2>"$BENCH_KEEP/lab-logs.txt"
  fi
  lab_down >/dev/null 2>&1
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- lab ----------------------------------------------------------------------------------------
say "lab up (prefix $TPLAB_PREFIX, state $TPLAB_DIR)"
lab_up >"$WORK/lab_up.log" 2>&1 || { cat "$WORK/lab_up.log" >&2; lab_logs >&2; die "lab_up failed"; }

PROXY_URL="http://$LAB_PROXY_HOST:$LAB_PORT_SQUID"
TP1=("$BIN" discover --proxy "$PROXY_URL" --target pypi.org --public-roots "$LAB_PUBLIC_ROOT" --json)
# Five targets through the same bumping squid: the four bumped lab origins and pypi.org's address
# as an IP literal (github.com is spliced on 3128, so it would not be intercepted).
TP5=("$BIN" discover --proxy "$PROXY_URL" --target pypi.org --target files.pythonhosted.org
  --target crates.io --target static.crates.io --target "${LAB_ORIGIN_IP[pypi.org]}"
  --public-roots "$LAB_PUBLIC_ROOT" --json)
OSSL=(openssl s_client -showcerts -proxy "$LAB_PROXY_HOST:$LAB_PORT_SQUID" -connect pypi.org:443 -servername pypi.org)

# JSON-quote an argv for the spec files.
jargv() { "$PY" -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@"; }
CMD_TP1="{\"name\": \"trust-proxy\", \"argv\": $(jargv "${TP1[@]}"), \"json_intercepted\": 1}"
CMD_TP5="{\"name\": \"trust-proxy x5\", \"argv\": $(jargv "${TP5[@]}"), \"json_intercepted\": 5}"
BASELINE_BIN="${BENCH_BASELINE_BIN:-}"
CMD_BASE=""
if [ -n "$BASELINE_BIN" ]; then
  [ -x "$BASELINE_BIN" ] || die "BENCH_BASELINE_BIN=$BASELINE_BIN is not executable"
  TPB=("$BASELINE_BIN" "${TP1[@]:1}")
  CMD_BASE="{\"name\": \"baseline\", \"argv\": $(jargv "${TPB[@]}"), \"json_intercepted\": 1, \"size\": $(stat -c %s "$BASELINE_BIN"), \"size_of\": \"trust-proxy\", \"size_tp\": $(stat -c %s "$BIN")}"
fi
CMD_OSSL="{\"name\": \"openssl\", \"argv\": $(jargv "${OSSL[@]}"), \"expect\": [\"Lab Squid Root CA\", \"-----BEGIN CERTIFICATE-----\"]}"

# Local fixed cost: the same commands against a port where nothing listens (connection refused
# at once): start-up, trust store loading, no proxy work. trust-proxy exits 5, openssl 1.
TP_LOCAL=("$BIN" discover --proxy "http://$LAB_PROXY_HOST:3999" --target pypi.org --public-roots "$LAB_PUBLIC_ROOT" --json)
OSSL_LOCAL=(openssl s_client -showcerts -proxy "$LAB_PROXY_HOST:3999" -connect pypi.org:443 -servername pypi.org)
CMD_TP_LOCAL="{\"name\": \"tp refused\", \"argv\": $(jargv "${TP_LOCAL[@]}"), \"ok_rc\": [5]}"
CMD_OSSL_LOCAL="{\"name\": \"ossl refused\", \"argv\": $(jargv "${OSSL_LOCAL[@]}"), \"ok_rc\": [1]}"

# Sanity: every command does what it is supposed to before anything is timed.
for c in "$CMD_TP1" "$CMD_TP5" "$CMD_OSSL" "$CMD_TP_LOCAL" "$CMD_OSSL_LOCAL" ${CMD_BASE:+"$CMD_BASE"}; do
  echo "{\"kind\": \"check\", \"reps\": 1, \"warmup\": 0, \"commands\": [$c]}" >"$WORK/check.json"
  lab_laptop "$PY" "$HERE/bench.py" measure "$WORK/check.json" "$WORK/check.out.json" ||
    die "sanity check failed: $c"
done

# ---- 1. vs openssl ------------------------------------------------------------------------------
say "part 1: trust-proxy vs openssl, $REPS interleaved reps each"
cat >"$WORK/p1.json" <<EOF
{"kind": "vs_openssl", "reps": $REPS, "warmup": 3, "cmd_timeout_s": 30, "deadline_s": 600,
 "conditions": ["off"], "commands": [$CMD_TP1, $CMD_OSSL, $CMD_TP_LOCAL, $CMD_OSSL_LOCAL${CMD_BASE:+, $CMD_BASE}]}
EOF
lab_laptop "$PY" "$HERE/bench.py" measure "$WORK/p1.json" "$WORK/p1.out.json" || die "part 1 produced no sample"

BREAKDOWN="$WORK/breakdown.txt"
: >"$BREAKDOWN"
if command -v strace >/dev/null; then
  say "part 1b: where the time goes (strace -f -ttt, 5 runs each; strace -c)"
  for tool in trust-proxy openssl; do
    logs=()
    for i in 1 2 3 4 5; do
      if [ "$tool" = trust-proxy ]; then argv=("${TP1[@]}"); else argv=("${OSSL[@]}"); fi
      lab_laptop timeout 30 strace -f -ttt -o "$WORK/strace-$tool-$i.log" "${argv[@]}" </dev/null >/dev/null 2>&1 || true
      logs+=("$WORK/strace-$tool-$i.log")
    done
    {
      echo "  $tool, median of 5 runs under strace (strace slows syscalls, not pure CPU):"
      "$PY" "$HERE/bench.py" phases "${logs[@]}"
    } >>"$BREAKDOWN"
  done
  {
    echo "  trust-proxy, strace -c -w -f (top syscalls by wall time spent in them; recvfrom/poll = waiting for the proxy):"
    lab_laptop timeout 30 strace -c -w -f -o "$WORK/strace-c.txt" "${TP1[@]}" </dev/null >/dev/null 2>&1 || true
    sed -n '1,12p' "$WORK/strace-c.txt" | sed 's/^/    /'
  } >>"$BREAKDOWN"
fi
if command -v perf >/dev/null; then
  say "part 1c: perf profile of one trust-proxy run"
  if (cd "$WORK" && lab_laptop timeout 30 perf record -q -F 20000 -o "$WORK/perf.data" "${TP1[@]}" </dev/null >/dev/null 2>&1); then
    {
      echo "  trust-proxy, perf record (top symbols, % of samples; ring_core bn_*/LIMBS_* = RSA arithmetic):"
      perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
        grep -v -e '^#' -e '^$' | sed -n '1,10p' | cut -c1-120 | sed 's/^/    /' || true
    } >>"$BREAKDOWN"
  fi
fi

# What the OS trust store costs: both tools read /etc/ssl/certs/ca-certificates.crt at start-up
# (trust-proxy for provenance, openssl as its default verify file). Same commands in a private
# mount namespace where that path is bind-mounted to (a) a copy of the real file, (b) one
# certificate: the difference is the cost of the store. Nothing outside that namespace changes.
STORE=/etc/ssl/certs/ca-certificates.crt
if [ -f "$STORE" ] && command -v unshare >/dev/null; then
  say "part 1d: OS store cost (bind-mounted full copy vs 1 certificate, $REPS reps)"
  cp "$STORE" "$WORK/store-full.pem"
  cp "$LAB_CA_MITM" "$WORK/store-one.pem"
  wrap() { # STOREFILE ARGV...
    local f="$1"; shift
    jargv unshare -m sh -c 'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt && shift && exec "$@"' sh "$f" "$@"
  }
  cat >"$WORK/p1d.json" <<EOF
{"kind": "store", "reps": $REPS, "warmup": 2, "cmd_timeout_s": 30, "deadline_s": 600, "conditions": ["off"],
 "commands": [
  {"name": "tp full", "argv": $(wrap "$WORK/store-full.pem" "${TP1[@]}"), "json_intercepted": 1},
  {"name": "tp 1-cert", "argv": $(wrap "$WORK/store-one.pem" "${TP1[@]}"), "json_intercepted": 1},
  {"name": "ossl full", "argv": $(wrap "$WORK/store-full.pem" "${OSSL[@]}"), "expect": ["Lab Squid Root CA"]},
  {"name": "ossl 1-cert", "argv": $(wrap "$WORK/store-one.pem" "${OSSL[@]}"), "expect": ["Lab Squid Root CA"]}]}
EOF
  lab_laptop "$PY" "$HERE/bench.py" measure "$WORK/p1d.json" "$WORK/p1d.out.json" || die "part 1d produced no sample"
fi

# ---- 2. round trips -----------------------------------------------------------------------------
say "part 2: round trips, ${DELAY_MS} ms added to $VETH, $RTT_REPS reps per command and condition"
lab_laptop "$PY" "$DELAY_PY" "$QUEUE" "$DELAY_MS" >"$WORK/delay.log" 2>&1 &
DELAY_PID=$!
for _ in $(seq 1 50); do grep -q ready "$WORK/delay.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$WORK/delay.log" || { cat "$WORK/delay.log" >&2; die "delay.py did not bind queue $QUEUE"; }
ON="$(jargv iptables -I "${NFQ_RULE[@]}")"
OFF="$(jargv iptables -D "${NFQ_RULE[@]}")"
cat >"$WORK/p2.json" <<EOF
{"kind": "rtt", "delay_ms": $DELAY_MS, "reps": $RTT_REPS, "warmup": 2, "cmd_timeout_s": 30, "deadline_s": 900,
 "conditions": ["off", "on"],
 "enter_cmds": {"on": [$ON]},
 "leave_cmds": {"on": [$OFF]},
 "final_condition": "off",
 "rtt": {"host": "$LAB_PROXY_IP", "port": $LAB_PORT_SQUID_PLAIN, "samples": 5},
 "commands": [$CMD_TP1, $CMD_TP5, $CMD_OSSL]}
EOF
lab_laptop "$PY" "$HERE/bench.py" measure "$WORK/p2.json" "$WORK/p2.out.json" || die "part 2 produced no sample"

# One run of each with the delay on, under strace: the socket calls show each round trip.
TIMELINE="$WORK/timeline.txt"
: >"$TIMELINE"
if command -v strace >/dev/null; then
  lab_laptop iptables -I "${NFQ_RULE[@]}"
  for tool in trust-proxy openssl; do
    if [ "$tool" = trust-proxy ]; then argv=("${TP1[@]}"); else argv=("${OSSL[@]}"); fi
    lab_laptop timeout 30 strace -f -ttt -T -o "$WORK/strace-delay-$tool.log" "${argv[@]}" </dev/null >/dev/null 2>&1 || true
    {
      echo "  $tool with ${DELAY_MS} ms delay: socket calls, ms after the first connect() (a call that"
      echo "  blocks ~${DELAY_MS} ms is waiting one round trip):"
      "$PY" "$HERE/bench.py" timeline "$WORK/strace-delay-$tool.log"
    } >>"$TIMELINE"
  done
  lab_laptop iptables -D "${NFQ_RULE[@]}"
fi

# ---- report -------------------------------------------------------------------------------------
echo
P1D=(); [ -f "$WORK/p1d.out.json" ] && P1D=("$WORK/p1d.out.json")
"$PY" "$HERE/bench.py" report "$WORK/p1.out.json" "${P1D[@]}" "$WORK/p2.out.json" | tee "$WORK/report.txt" | grep -v '^SUMMARY_JSON'
if [ -s "$BREAKDOWN" ]; then
  echo
  echo "== 1b. where trust-proxy's time goes (no delay)"
  cat "$BREAKDOWN"
fi
if [ -s "$TIMELINE" ]; then
  echo
  echo "== 2b. round trips, one run each, seen in the socket calls"
  cat "$TIMELINE"
fi

SUMMARY="$(sed -n 's/^SUMMARY_JSON //p' "$WORK/report.txt")"
echo
echo "== 3. summary"
"$PY" - "$SUMMARY" "$BIN" "$DELAY_MS" "$ROOT" <<'EOF'
import json, os, platform, subprocess, sys, time
s = json.loads(sys.argv[1]); delay = sys.argv[3]
def out(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return "?"
cpu = "?"
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except Exception:
    pass
rev = out(["git", "-C", sys.argv[4], "rev-parse", "--short", "HEAD"])
print(f"  load average    {open('/proc/loadavg').read().split()[:3]} at the end (2 cores: other work on the machine inflates wall times; cpu times are steadier)")
print(f"  date            {time.strftime('%Y-%m-%d %H:%M %Z')}")
print(f"  machine         {os.cpu_count()} cores, {cpu}, Linux {platform.release()}")
print(f"  versions        {out([sys.argv[2], '--version']) or 'trust-proxy ?'} (tree {rev}), {out(['openssl', 'version'])}, {out(['squid', '-v']).splitlines()[0] if out(['squid', '-v']) else 'squid ?'}")
print(f"  1 target, no delay   trust-proxy {s['tp_ms']:.1f} ms (cpu {s['tp_cpu_ms']:.1f}), openssl {s['openssl_ms']:.1f} ms (cpu {s['openssl_cpu_ms']:.1f}); ratio trust-proxy/openssl {s['ratio']:.2f} ({'not slower' if s['ratio'] <= 1 else 'slower'})")
print(f"  local fixed cost     (proxy port refused: start-up + trust store, no probe) trust-proxy {s['tp_local_ms']:.1f} ms (cpu {s['tp_local_cpu_ms']:.1f}), openssl {s['openssl_local_ms']:.1f} ms (cpu {s['openssl_local_cpu_ms']:.1f})")
if "store_tp_ms" in s:
    print(f"  OS store ({s['store_n']} certs) costs  trust-proxy {s['store_tp_ms']:.1f} ms (cpu {s['store_tp_cpu_ms']:.1f}), openssl {s['store_ossl_ms']:.1f} ms (cpu {s['store_ossl_cpu_ms']:.1f}); with a 1-cert store trust-proxy/openssl = {s['store_ratio_small']:.2f}")
print(f"  RTT added            {s['rtt_added_ms']:.1f} ms ({delay} ms delay on the laptop's egress)")
print(f"  round trips          trust-proxy 1 target {s['rt_trust-proxy']:.2f}, 5 targets in parallel {s['rt_trust-proxy x5']:.2f}, openssl s_client {s['rt_openssl']:.2f}   (minimum for TCP + CONNECT + TLS first flight: 3)")
print(f"  failed samples       {s['failures']}")
EOF
