// The PAC helper set for node, with the semantics of trust-proxy's (src/proxy/pac.rs), so
// bench/pac.sh compares the engines on the same work. Written for this benchmark. Name lookups
// are real and synchronous (getent, which uses the same NSS configuration as getaddrinfo); the
// benchmark's URLs never need one.
"use strict";
const { execFileSync } = require("child_process");
const os = require("os");
const net = require("net");

const cache = new Map();
function lookup(host) {
  if (net.isIP(host)) return [host];
  const key = String(host).toLowerCase();
  if (cache.has(key)) return cache.get(key);
  let found = [];
  try {
    const out = execFileSync("getent", ["ahosts", key], { timeout: 500, encoding: "utf8" });
    found = [...new Set(out.split("\n").map((l) => l.split(/\s+/)[0]).filter((a) => net.isIP(a)))];
  } catch (e) {
    found = [];
  }
  cache.set(key, found);
  return found;
}
const v4 = (addrs) => addrs.find((a) => net.isIPv4(a)) || null;
const toU32 = (ip) => ip.split(".").reduce((acc, o) => ((acc << 8) >>> 0) + Number(o), 0) >>> 0;

function localAddresses() {
  const out = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) if (!a.internal) out.push(a.address);
  }
  return out;
}

function inPrefix(addr, prefix) {
  const [base, lenText] = prefix.includes("/") ? prefix.split("/") : [prefix, null];
  if (net.isIP(addr) !== net.isIP(base) || !net.isIP(base)) return false;
  const bits = net.isIPv4(base) ? 32 : 128;
  const len = lenText === null ? bits : Number(lenText);
  if (!(len >= 0 && len <= bits)) return false;
  const block = new net.BlockList();
  block.addSubnet(base, len, net.isIPv4(base) ? "ipv4" : "ipv6");
  return block.check(addr, net.isIPv4(addr) ? "ipv4" : "ipv6");
}

function shExpMatch(text, pattern) {
  text = String(text);
  pattern = String(pattern);
  let t = 0, p = 0, starP = -1, starT = 0;
  while (t < text.length) {
    if (pattern[p] === "*") { starP = p++; starT = t; }
    else if (p < pattern.length && (pattern[p] === "?" || pattern[p] === text[t])) { t++; p++; }
    else if (starP >= 0) { p = starP + 1; t = ++starT; }
    else return false;
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

function helpers(now) {
  const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
  const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
  const within = (v, lo, hi) => (lo <= hi ? v >= lo && v <= hi : v >= lo || v <= hi);
  const clockArgs = (args) => {
    const list = [...args];
    const gmt = list.length > 0 && String(list[list.length - 1]).toUpperCase() === "GMT";
    if (gmt) list.pop();
    return { list, gmt };
  };
  const clock = (gmt) => {
    const d = new Date(now());
    return gmt
      ? { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), weekday: d.getUTCDay(),
          hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() }
      : { year: d.getFullYear(), month: d.getMonth(), day: d.getDate(), weekday: d.getDay(),
          hour: d.getHours(), minute: d.getMinutes(), second: d.getSeconds() };
  };
  const dateField = (v) => {
    const m = MONTHS.indexOf(String(v).toUpperCase());
    if (m >= 0) return { kind: "M", value: m };
    const n = Number(v);
    if (!isFinite(n) || n !== Math.floor(n) || n < 1) return null;
    return n > 31 ? { kind: "Y", value: n } : { kind: "D", value: n };
  };
  const dateKey = (kinds, values) =>
    ["Y", "M", "D"].reduce((key, k) => (kinds.indexOf(k) >= 0 ? key * 100 + values[kinds.indexOf(k)] : key), 0);
  return {
    isPlainHostName: (h) => !/[.:]/.test(String(h)),
    dnsDomainIs: (h, d) => String(h).toLowerCase().endsWith(String(d).toLowerCase()),
    localHostOrDomainIs: (h, hd) => {
      h = String(h).toLowerCase(); hd = String(hd).toLowerCase();
      return h === hd || (!h.includes(".") && hd.startsWith(h + "."));
    },
    dnsDomainLevels: (h) => String(h).split(".").length - 1,
    shExpMatch,
    isResolvable: (h) => v4(lookup(String(h))) !== null,
    isResolvableEx: (h) => lookup(String(h)).length > 0,
    dnsResolve: (h) => v4(lookup(String(h))),
    dnsResolveEx: (h) => lookup(String(h)).join(";"),
    isInNet: (h, pattern, mask) => {
      const ip = v4(lookup(String(h)));
      if (!ip || !net.isIPv4(String(pattern)) || !net.isIPv4(String(mask))) return false;
      const m = toU32(String(mask));
      return ((toU32(ip) & m) >>> 0) === ((toU32(String(pattern)) & m) >>> 0);
    },
    isInNetEx: (addrs, prefix) => {
      let list = String(addrs).split(";").map((s) => s.trim()).filter(Boolean);
      if (!list.every((a) => net.isIP(a))) list = lookup(String(addrs).trim());
      return list.some((a) => inPrefix(a, String(prefix).trim()));
    },
    myIpAddress: () => v4(localAddresses()) || "127.0.0.1",
    myIpAddressEx: () => localAddresses().join(";"),
    sortIpAddressList: (list) => {
      const addrs = String(list).split(";").map((s) => s.trim()).filter(Boolean);
      if (addrs.length === 0 || !addrs.every((a) => net.isIP(a))) return false;
      const key = (a) => (net.isIPv6(a) ? "0" : "1" + a.split(".").map((o) => o.padStart(3, "0")).join("."));
      return addrs.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).join(";");
    },
    getClientVersion: () => "1.0",
    alert: () => {},
    weekdayRange(...args) {
      const a = clockArgs(args);
      if (a.list.length < 1 || a.list.length > 2) return false;
      const first = DAYS.indexOf(String(a.list[0]).toUpperCase());
      const last = a.list.length === 2 ? DAYS.indexOf(String(a.list[1]).toUpperCase()) : first;
      if (first < 0 || last < 0) return false;
      return within(clock(a.gmt).weekday, first, last);
    },
    dateRange(...args) {
      const a = clockArgs(args);
      const fields = a.list.map(dateField);
      if (fields.length === 0 || fields.length > 6 || fields.some((f) => !f)) return false;
      const n = clock(a.gmt);
      const cur = { Y: n.year, M: n.month, D: n.day };
      if (fields.length === 1) return cur[fields[0].kind] === fields[0].value;
      if (fields.length % 2) return false;
      const half = fields.length / 2;
      const kinds = fields.slice(0, half).map((f) => f.kind);
      if (kinds.join() !== fields.slice(half).map((f) => f.kind).join()) return false;
      const start = dateKey(kinds, fields.slice(0, half).map((f) => f.value));
      const end = dateKey(kinds, fields.slice(half).map((f) => f.value));
      const today = dateKey(kinds, kinds.map((k) => cur[k]));
      return kinds.includes("Y") ? today >= start && today <= end : within(today, start, end);
    },
    timeRange(...args) {
      const a = clockArgs(args);
      const v = a.list.map(Number);
      if (v.some((x) => !isFinite(x))) return false;
      const n = clock(a.gmt);
      const s = n.hour * 3600 + n.minute * 60 + n.second;
      switch (v.length) {
        case 1: return n.hour === v[0];
        case 2: return within(n.hour, v[0], v[1]);
        case 4: return within(s, v[0] * 3600 + v[1] * 60, v[2] * 3600 + v[3] * 60 + 59);
        case 6: return within(s, v[0] * 3600 + v[1] * 60 + v[2], v[3] * 3600 + v[4] * 60 + v[5]);
        default: return false;
      }
    },
  };
}

module.exports = { helpers };
