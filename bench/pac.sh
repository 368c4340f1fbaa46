#!/usr/bin/env bash
# PAC evaluation: trust-proxy's sandboxed QuickJS against node (V8) on the same ~100 KB PAC file
# with the same helper semantics (bench/pac_shims.js). Prints figures and ratios measured in this
# run; never a pass/fail verdict (exit 1 only when it could not measure, e.g. the two engines
# disagree on a decision). No network: the URLs need no name lookup and nothing connects.
#
#   bench/pac.sh                         # builds the release binary if missing
#   TRUST_PROXY_BIN=path bench/pac.sh    # measure that binary
#   BENCH_BASELINE_BIN=old bench/pac.sh  # also print that binary's size (e.g. a build without the engine)
#   BENCH_REPS=15 (default)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
bin=${TRUST_PROXY_BIN:-$target_dir/release/trust-proxy}
if [[ ! -x $bin ]]; then
  echo "== building $bin (release: fat LTO, takes minutes)"
  cargo build --release --bin trust-proxy
fi
command -v node >/dev/null || { echo "pac.sh: node is not installed" >&2; exit 1; }

BIN=$bin BASELINE=${BENCH_BASELINE_BIN:-} REPS=${BENCH_REPS:-15} \
PAC=$repo/tests/data/pac/enterprise_large.pac NODE_RUNNER=$repo/bench/pac_node.js \
python3 - <<'EOF'
import os, random, resource, statistics, subprocess, sys, time, json

bin_, pac, runner = os.environ["BIN"], os.environ["PAC"], os.environ["NODE_RUNNER"]
reps = int(os.environ["REPS"])

# 1,000 URLs over the file's rules, in a fixed order: bypassed zones, CDN zones, regional APIs,
# private and public IP literals, plain names, and names no rule lists (the whole file runs).
rng = random.Random(20261130)
def url(i):
    kind = i % 10
    if kind < 3: return f"https://www{i}.a{rng.randrange(1200):04d}.example/path/{i}"
    if kind < 5: return f"https://img.cdn{rng.randrange(800):04d}.example/{i}.png"
    if kind == 5: return f"https://api.region{rng.randrange(45):02d}.example/v1"
    if kind == 6: return f"http://10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}/"
    if kind == 7: return f"http://{rng.randrange(11, 99)}.{rng.randrange(256)}.0.{rng.randrange(1, 255)}/"
    if kind == 8: return f"https://host{i}/"
    return f"https://service{i}.saas{rng.randrange(10000)}.example/login?q={i}"
urls = [url(i) for i in range(1000)]
one = ["https://pypi.org/simple/"]

def tp(us): return [bin_, "proxy", "--pac", pac, "--no-connect", "--json"] + [a for u in us for a in ("--url", u)]
def nd(us): return ["node", runner, pac] + us

def decisions_tp(us):
    out = subprocess.run(tp(us), capture_output=True, text=True, check=True).stdout
    return [u["result"] for u in json.loads(out)["urls"]]
def decisions_node(us):
    out = subprocess.run(nd(us), capture_output=True, text=True, check=True).stdout
    return [line.split("\t", 1)[1] for line in out.splitlines()]

a, b = decisions_tp(urls), decisions_node(urls)
if a != b:
    bad = next(i for i in range(len(a)) if a[i] != b[i])
    print(f"pac.sh: the engines disagree on {urls[bad]}: {a[bad]!r} vs {b[bad]!r}", file=sys.stderr)
    sys.exit(1)
kinds = {}
for d in a: kinds[d] = kinds.get(d, 0) + 1
print(f"decisions agree on all {len(urls)} URLs ({len(kinds)} distinct answers; "
      f"{kinds.get('PROXY proxy1.corp.example:8080; PROXY proxy2.corp.example:8080; DIRECT', 0)} ran the whole file)")

def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def sample(cmd):
    c0, t0 = cpu(), time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0, cpu() - c0

cases = {"tp1": tp(one), "node1": nd(one), "tp1000": tp(urls), "node1000": nd(urls)}
for cmd in cases.values(): sample(cmd)  # warm the page cache
wall = {k: [] for k in cases}; cpus = {k: [] for k in cases}
names = list(cases)
for r in range(reps):
    for k in names[r % 4:] + names[:r % 4]:  # rotate the order
        w, c = sample(cases[k]); wall[k].append(w); cpus[k].append(c)
med = lambda xs: statistics.median(xs)
ms = lambda s: f"{s * 1000:.1f} ms"
print(f"\n{reps} interleaved runs each, medians (p25-p75 wall):")
for k in names:
    q = statistics.quantiles(wall[k], n=4)
    print(f"  {k:9} wall {ms(med(wall[k])):>10} ({ms(q[0])}-{ms(q[2])})  cpu {ms(med(cpus[k])):>10}")
print("\n1. process start to a PAC decision for one URL (the whole 100 KB file runs for it):")
print(f"   trust-proxy {ms(med(wall['tp1']))} vs node {ms(med(wall['node1']))}: "
      f"ratio {med(wall['tp1']) / med(wall['node1']):.2f} wall, {med(cpus['tp1']) / med(cpus['node1']):.2f} cpu")
per = lambda k: (med(wall[k + '1000']) - med(wall[k + '1'])) / 999
per_cpu = lambda k: (med(cpus[k + '1000']) - med(cpus[k + '1'])) / 999
print("2. per decision, 1,000 URLs through the same file ((t1000 - t1) / 999):")
print(f"   trust-proxy {per('tp') * 1e6:.1f} us vs node {per('node') * 1e6:.1f} us: "
      f"ratio {per('tp') / per('node'):.2f} wall, {per_cpu('tp') / per_cpu('node'):.2f} cpu")
size = os.path.getsize(bin_)
print(f"3. binary {bin_}: {size} bytes ({size / 1e6:.2f} MB)")
base = os.environ.get("BASELINE")
if base:
    bs = os.path.getsize(base)
    print(f"   baseline {base}: {bs} bytes ({bs / 1e6:.2f} MB); the engine adds {(size - bs) / 1e6:.2f} MB")
EOF
