#!/usr/bin/python3
"""bench/bench.py - the measuring half of bench/discover.sh (plain Python 3, no dependencies).

Runs inside the lab laptop's network namespace (discover.sh starts it with `ip netns exec`, so
the commands it times inherit the namespace and its /etc/hosts; no `ip netns exec` per sample).

  bench.py measure SPEC.json OUT.json   interleaved timing of the commands in SPEC, under each
                                        network condition in SPEC (delay off/on), with TCP-connect
                                        RTT samples per condition; every sample in OUT.json
  bench.py report OUT.json [OUT2.json]  medians, ratios, round trips (prints; writes nothing)
  bench.py phases STRACE-LOG            where the time goes in one `strace -f -ttt` run
  bench.py timeline STRACE-LOG          the socket I/O of one run, relative ms (round trips)

Bounded: SPEC gives the repetition count, a per-command timeout and an overall deadline. A
timing is never a pass/fail criterion: a sample only counts as failed when the command itself
failed (exit code or missing output), and the report says how many did.
"""
import json
import re
import resource
import socket
import statistics
import subprocess
import sys
import time


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(cmd, timeout):
    """(wall ms, cpu ms, ok, detail) for one run of cmd = {argv, ok_rc, expect}."""
    cpu0 = child_cpu()
    t0 = time.perf_counter()
    try:
        p = subprocess.Popen(cmd["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    except OSError as e:
        return None, None, False, f"could not start: {e}"
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None, None, False, f"timed out after {timeout}s"
    wall = (time.perf_counter() - t0) * 1000.0
    cpu = (child_cpu() - cpu0) * 1000.0
    text = out.decode("utf-8", "replace")
    if p.returncode not in cmd.get("ok_rc", [0]):
        return wall, cpu, False, f"exit {p.returncode}: {err.decode('utf-8', 'replace')[-300:]!r}"
    for s in cmd.get("expect", []):
        if s not in text:
            return wall, cpu, False, f"output lacks {s!r}"
    if cmd.get("json_intercepted"):
        try:
            rep = json.loads(text)
            n = sum(1 for t in rep["targets"] if t["status"] == "intercepted")
        except (ValueError, KeyError, TypeError) as e:
            return wall, cpu, False, f"bad JSON: {e}"
        if n != cmd["json_intercepted"]:
            return wall, cpu, False, f"{n} targets intercepted, expected {cmd['json_intercepted']}"
    return wall, cpu, True, ""


def tcp_connect_ms(host, port, timeout=5.0):
    t0 = time.perf_counter()
    s = socket.create_connection((host, port), timeout=timeout)
    t = (time.perf_counter() - t0) * 1000.0
    s.close()
    return t


CURRENT = [None]


def set_condition(spec, cond):
    """leave the current condition (leave_cmds), enter cond (enter_cmds); no-op if unchanged"""
    if CURRENT[0] == cond:
        return
    if CURRENT[0] is not None:
        for argv in spec.get("leave_cmds", {}).get(CURRENT[0], []):
            subprocess.run(argv, check=True, timeout=10, stdin=subprocess.DEVNULL)
    CURRENT[0] = None
    for argv in spec.get("enter_cmds", {}).get(cond, []):
        subprocess.run(argv, check=True, timeout=10, stdin=subprocess.DEVNULL)
    CURRENT[0] = cond


def measure(spec_path, out_path):
    spec = json.load(open(spec_path))
    reps, warmup = int(spec["reps"]), int(spec.get("warmup", 2))
    timeout = float(spec.get("cmd_timeout_s", 30))
    deadline = time.monotonic() + float(spec.get("deadline_s", 900))
    conds = spec.get("conditions", ["off"])
    cmds = spec["commands"]
    rtt = spec.get("rtt")
    res = {"spec": spec, "samples": [], "rtt": {c: [] for c in conds}, "failures": [],
           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:
        for cond in conds:  # warm-up: squid's minted-certificate cache, page cache, ...
            set_condition(spec, cond)
            for _ in range(warmup):
                for c in cmds:
                    run_once(c, timeout)
        for r in range(reps):
            if time.monotonic() > deadline:
                res["failures"].append({"name": "*", "detail": f"deadline reached after {r} reps"})
                break
            order = conds if r % 2 == 0 else list(reversed(conds))
            for cond in order:
                set_condition(spec, cond)
                if rtt:
                    for _ in range(int(rtt.get("samples", 3))):
                        try:
                            res["rtt"][cond].append(tcp_connect_ms(rtt["host"], int(rtt["port"])))
                        except OSError as e:
                            res["failures"].append({"name": "rtt", "cond": cond, "detail": str(e)})
                k = r % len(cmds)  # rotate who goes first
                for c in cmds[k:] + cmds[:k]:
                    wall, cpu, ok, detail = run_once(c, timeout)
                    if ok:
                        res["samples"].append({"name": c["name"], "cond": cond, "rep": r,
                                               "wall_ms": wall, "cpu_ms": cpu})
                    else:
                        res["failures"].append({"name": c["name"], "cond": cond, "rep": r,
                                                "detail": detail})
                        print(f"bench: {c['name']} ({cond}) rep {r} failed: {detail}",
                              file=sys.stderr)
    finally:
        set_condition(spec, spec.get("final_condition", conds[0]))
        res["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        json.dump(res, open(out_path, "w"), indent=1)
    ok = len(res["samples"])
    return 0 if ok else 1


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def q(xs, p):
    if len(xs) < 2:
        return med(xs)
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


def series(res, name, cond, key="wall_ms"):
    return [s[key] for s in res["samples"] if s["name"] == name and s["cond"] == cond]


def table(res, cond):
    names = [c["name"] for c in res["spec"]["commands"]]
    print(f"  {'command':<14} {'n':>3} {'median':>9} {'p25':>8} {'p75':>8} {'min':>8}"
          f" {'cpu med':>8}   (ms, wall clock; cpu = user+sys of the process)")
    for n in names:
        xs = series(res, n, cond)
        cs = series(res, n, cond, "cpu_ms")
        print(f"  {n:<14} {len(xs):>3} {med(xs):>9.1f} {q(xs, 25):>8.1f} {q(xs, 75):>8.1f}"
              f" {min(xs) if xs else float('nan'):>8.1f} {med(cs):>8.1f}")


def report(paths):
    summary = {}
    for path in paths:
        res = json.load(open(path))
        kind = res["spec"].get("kind")
        fails = res["failures"]
        if kind == "vs_openssl":
            print(f"== 1. trust-proxy vs openssl s_client, through squid ssl-bump, no added delay"
                  f" ({res['spec']['reps']} interleaved reps each)")
            table(res, "off")
            tp, os_ = med(series(res, "trust-proxy", "off")), med(series(res, "openssl", "off"))
            ratio = tp / os_
            tpc, osc = (med(series(res, "trust-proxy", "off", "cpu_ms")),
                        med(series(res, "openssl", "off", "cpu_ms")))
            print(f"  ratio trust-proxy/openssl (medians, wall): {ratio:.2f}"
                  f"   {'(goal met: not slower)' if ratio <= 1.0 else '(SLOWER than openssl)'}")
            print(f"  ratio trust-proxy/openssl (medians, cpu):  {tpc / osc:.2f}")
            summary.update(tp_ms=tp, openssl_ms=os_, ratio=ratio, tp_cpu_ms=tpc, openssl_cpu_ms=osc)
            tl, ol = med(series(res, "tp refused", "off")), med(series(res, "ossl refused", "off"))
            tlc, olc = (med(series(res, "tp refused", "off", "cpu_ms")),
                        med(series(res, "ossl refused", "off", "cpu_ms")))
            print(f"  local fixed cost (proxy port refused, no probe): trust-proxy {tl:.1f} ms"
                  f" (cpu {tlc:.1f}), openssl {ol:.1f} ms (cpu {olc:.1f})")
            summary.update(tp_local_ms=tl, openssl_local_ms=ol, tp_local_cpu_ms=tlc,
                           openssl_local_cpu_ms=olc)
            base = next((c for c in res["spec"]["commands"] if c["name"] == "baseline"), None)
            if base is not None:
                b = med(series(res, "baseline", "off"))
                bc = med(series(res, "baseline", "off", "cpu_ms"))
                print(f"  baseline build: {b:.1f} ms (cpu {bc:.1f}); ratio baseline/openssl {b / os_:.2f},"
                      f" trust-proxy/baseline {tp / b:.2f} (wall) {tpc / bc:.2f} (cpu)")
                print(f"  binary size: trust-proxy {base['size_tp'] / 1e6:.2f} MB,"
                      f" baseline {base['size'] / 1e6:.2f} MB")
                summary.update(baseline_ms=b, baseline_ratio=b / os_, tp_vs_baseline=tp / b)
        elif kind == "store":
            print(f"== 1d. cost of reading the OS trust store (private mount namespace:"
                  f" /etc/ssl/certs/ca-certificates.crt = full copy or 1 certificate;"
                  f" {res['spec']['reps']} interleaved reps)")
            table(res, "off")
            m = {n: med(series(res, n, "off")) for n in ("tp full", "tp 1-cert", "ossl full", "ossl 1-cert")}
            c = {n: med(series(res, n, "off", "cpu_ms")) for n in m}
            try:
                ncerts = open("/etc/ssl/certs/ca-certificates.crt").read().count("BEGIN CERTIFICATE")
            except OSError:
                ncerts = "?"
            print(f"  store cost (full - 1-cert): trust-proxy {m['tp full'] - m['tp 1-cert']:.1f} ms"
                  f" (cpu {c['tp full'] - c['tp 1-cert']:.1f}), openssl {m['ossl full'] - m['ossl 1-cert']:.1f} ms"
                  f" (cpu {c['ossl full'] - c['ossl 1-cert']:.1f})  [{ncerts} certificates]")
            print(f"  ratio trust-proxy/openssl with the full store {m['tp full'] / m['ossl full']:.2f},"
                  f" with a 1-cert store {m['tp 1-cert'] / m['ossl 1-cert']:.2f}")
            summary.update(store_tp_ms=m["tp full"] - m["tp 1-cert"],
                           store_tp_cpu_ms=c["tp full"] - c["tp 1-cert"],
                           store_ossl_ms=m["ossl full"] - m["ossl 1-cert"],
                           store_ossl_cpu_ms=c["ossl full"] - c["ossl 1-cert"],
                           store_ratio_small=m["tp 1-cert"] / m["ossl 1-cert"], store_n=ncerts)
        elif kind == "rtt":
            r_off, r_on = med(res["rtt"]["off"]), med(res["rtt"]["on"])
            added = r_on - r_off
            print(f"== 2. round trips: {res['spec']['delay_ms']} ms added to the laptop's link"
                  f" ({res['spec']['reps']} reps, delay toggled each rep, interleaved)")
            print(f"  TCP connect to the proxy: median {r_off:.2f} ms without, {r_on:.2f} ms with"
                  f" the delay -> RTT added = {added:.2f} ms"
                  f" ({len(res['rtt']['off'])}+{len(res['rtt']['on'])} samples)")
            print("  -- without delay")
            table(res, "off")
            print("  -- with delay")
            table(res, "on")
            print(f"  {'command':<14} {'added ms':>9} {'round trips':>12}   (= (median with -"
                  f" median without) / RTT added)")
            for c in res["spec"]["commands"]:
                n = c["name"]
                d = med(series(res, n, "on")) - med(series(res, n, "off"))
                print(f"  {n:<14} {d:>9.1f} {d / added:>12.2f}")
                summary[f"rt_{n}"] = d / added
            summary["rtt_added_ms"] = added
        for f in fails:
            print(f"  FAILED sample: {f}")
        summary.setdefault("failures", 0)
        summary["failures"] += len(fails)
    return summary


DUR = re.compile(r"\s+<(\d+\.\d+)>$")


def strace_lines(path):
    # "PID  1700000000.123456 syscall(args) = ret" (strace -f -ttt); unfinished/resumed pairs are
    # joined on the pid.
    pat = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\d+\.\d+)\s+(.*)$")
    pending = {}
    for raw in open(path, errors="replace"):
        m = pat.match(raw.rstrip("\n"))
        if not m:
            continue
        pid, ts, rest = m.group(1), float(m.group(2)), m.group(3)
        if rest.endswith("<unfinished ...>"):
            pending[pid] = (ts, rest[: -len("<unfinished ...>")])
            continue
        dm = DUR.search(rest)
        dur = float(dm.group(1)) if dm else 0.0
        if dm:
            rest = rest[: dm.start()]
        rm = re.match(r"<\.\.\. (\w+) resumed>(.*)$", rest)
        if rm and pid in pending:
            t0, head = pending.pop(pid)
            yield pid, t0, (t0 + dur) if dm else ts, head + rm.group(2)
            continue
        yield pid, ts, ts + dur, rest


def phases(paths):
    """median over runs of phases_one()"""
    runs = [phases_one(p) for p in paths]
    keys = [k for k in runs[0]] if runs else []
    for k in keys:
        xs = [r[k] for r in runs if k in r]
        print(f"    {k:<48} {med(xs) * 1000:8.1f} ms   (n={len(xs)})")
    return 0


def phases_one(path):
    """start -> first connect() -> last socket close -> exit, from one strace -f -ttt log."""
    t_start = t_connect = t_lastnet = t_exit = None
    t_os_store = t_after_store = None
    sockets = set()
    for pid, t0, t1, call in strace_lines(path):
        if t_start is None:
            t_start = t0
        m = re.match(r"(\w+)\((.*)\)\s+=\s+(-?\d+)", call)
        name = call.split("(", 1)[0]
        if name in ("exit_group", "+++"):
            t_exit = t0
        if not m:
            continue
        args, ret = m.group(2), int(m.group(3))
        if name == "openat" and "ca-certificates.crt" in args and t_os_store is None:
            t_os_store = t0
        if name == "socket" and ("AF_INET" in args) and ret >= 0:
            sockets.add(ret)
            if t_os_store is not None and t_after_store is None:
                t_after_store = t0
        if name == "connect" and t_connect is None and "AF_INET" in args:
            t_connect = t0
        if name in ("close", "shutdown") and args.split(",")[0].strip().isdigit():
            fd = int(args.split(",")[0])
            if fd in sockets:
                t_lastnet = t1
                sockets.discard(fd)
    if t_exit is None:
        t_exit = t_lastnet
    out = {"total": t_exit - t_start}
    if t_connect is not None:
        out["start_to_first_connect"] = t_connect - t_start
    if t_os_store is not None and t_after_store is not None:
        out["os_store_read_and_parse"] = t_after_store - t_os_store
    if t_connect is not None and t_lastnet is not None:
        out["network (first connect -> last socket closed)"] = t_lastnet - t_connect
        out["after network (analysis, report, exit)"] = t_exit - t_lastnet
    return out


def timeline(path):
    """Socket I/O of one run, relative to the first connect(): shows each round trip."""
    sockets = set()
    t_first = None
    for pid, t0, t1, call in strace_lines(path):
        m = re.match(r"(\w+)\((?:\[\{fd=)?(\d+)?(.*)\)\s+=\s+(-?\d+|\?)", call)
        if not m:
            continue
        name, fd, ret = m.group(1), m.group(2), m.group(4)
        if name == "poll" and (t1 - t0) < 0.001:
            continue  # only polls that waited are interesting
        if name == "socket" and "AF_INET" in call and ret.lstrip("-").isdigit() and int(ret) >= 0:
            sockets.add(int(ret))
            continue
        if fd is None or int(fd) not in sockets:
            continue
        if name not in ("connect", "read", "write", "sendto", "recvfrom", "close", "shutdown",
                        "writev", "poll", "recvmsg", "sendmsg"):
            continue
        if t_first is None and name == "connect":
            t_first = t0
        if t_first is None:
            continue
        what = {"connect": "connect()", "close": "close()", "shutdown": "shutdown()",
                "poll": "poll() (waiting for connect)"}.get(name, name)
        if name in ("read", "recvfrom", "recvmsg"):
            what = f"{name} -> {ret} bytes"
        elif name in ("write", "sendto", "writev", "sendmsg"):
            what = f"{name} {ret} bytes"
        print(f"    pid {pid:>7} fd {fd:>3}  {(t0 - t_first) * 1000:8.1f} -> {(t1 - t_first) * 1000:8.1f} ms  {what}")
        if name == "close":
            sockets.discard(int(fd))
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "measure":
        return measure(argv[2], argv[3])
    if len(argv) >= 3 and argv[1] == "report":
        s = report(argv[2:])
        print("SUMMARY_JSON " + json.dumps(s))
        return 0
    if len(argv) >= 3 and argv[1] == "phases":
        return phases(argv[2:])
    if len(argv) == 3 and argv[1] == "timeline":
        return timeline(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
