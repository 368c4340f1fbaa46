// The PAC helpers that only need the clock, and the lockdown of code generation. Evaluated once
// per engine, before the PAC text; `native.now()` is the one thing it receives from outside (the
// current time in milliseconds, replaceable in tests). Written for trust-proxy from the Netscape
// PAC definition; the range rules below are documented in src/proxy/pac.rs.
(function (native) {
  "use strict";
  var DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
  var MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

  // The arguments without a trailing "GMT", and whether it was there.
  function clockArgs(args) {
    var list = Array.prototype.slice.call(args);
    var gmt = list.length > 0 && String(list[list.length - 1]).toUpperCase() === "GMT";
    if (gmt) list.pop();
    return { list: list, gmt: gmt };
  }

  // Inclusive; a range whose start is after its end wraps around (FRI..MON, 22h..6h, DEC..FEB).
  function within(value, low, high) {
    return low <= high ? value >= low && value <= high : value >= low || value <= high;
  }

  function clock(gmt) {
    var d = new Date(native.now());
    return gmt
      ? { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(),
          weekday: d.getUTCDay(), hour: d.getUTCHours(), minute: d.getUTCMinutes(),
          second: d.getUTCSeconds() }
      : { year: d.getFullYear(), month: d.getMonth(), day: d.getDate(),
          weekday: d.getDay(), hour: d.getHours(), minute: d.getMinutes(),
          second: d.getSeconds() };
  }

  globalThis.weekdayRange = function () {
    var a = clockArgs(arguments);
    if (a.list.length < 1 || a.list.length > 2) return false;
    var first = DAYS.indexOf(String(a.list[0]).toUpperCase());
    var last = a.list.length === 2 ? DAYS.indexOf(String(a.list[1]).toUpperCase()) : first;
    if (first < 0 || last < 0) return false;
    return within(clock(a.gmt).weekday, first, last);
  };

  // A dateRange argument: a month name, a year (a number above 31) or a day of the month.
  function dateField(v) {
    var month = MONTHS.indexOf(String(v).toUpperCase());
    if (month >= 0) return { kind: "M", value: month };
    var n = Number(v);
    if (!isFinite(n) || n !== Math.floor(n) || n < 1) return null;
    return n > 31 ? { kind: "Y", value: n } : { kind: "D", value: n };
  }

  // The fields compared as one number, most significant first: year, month, day.
  function dateKey(kinds, values) {
    var key = 0;
    ["Y", "M", "D"].forEach(function (k) {
      var i = kinds.indexOf(k);
      if (i >= 0) key = key * 100 + values[i];
    });
    return key;
  }

  globalThis.dateRange = function () {
    var a = clockArgs(arguments);
    var fields = a.list.map(dateField);
    if (fields.length === 0 || fields.length > 6 || fields.some(function (f) { return !f; })) {
      return false;
    }
    var now = clock(a.gmt);
    var current = { Y: now.year, M: now.month, D: now.day };
    if (fields.length === 1) return current[fields[0].kind] === fields[0].value;
    if (fields.length % 2 !== 0) return false;
    var half = fields.length / 2;
    var kinds = fields.slice(0, half).map(function (f) { return f.kind; });
    var endKinds = fields.slice(half).map(function (f) { return f.kind; });
    if (kinds.join() !== endKinds.join()) return false;
    if (kinds.some(function (k, i) { return kinds.indexOf(k) !== i; })) return false;
    var start = dateKey(kinds, fields.slice(0, half).map(function (f) { return f.value; }));
    var end = dateKey(kinds, fields.slice(half).map(function (f) { return f.value; }));
    var today = dateKey(kinds, kinds.map(function (k) { return current[k]; }));
    // With a year in the range it cannot wrap: a start after the end matches nothing.
    if (kinds.indexOf("Y") >= 0) return today >= start && today <= end;
    return within(today, start, end);
  };

  globalThis.timeRange = function () {
    var a = clockArgs(arguments);
    var n = a.list.map(Number);
    if (n.some(function (v) { return !isFinite(v); })) return false;
    var now = clock(a.gmt);
    var seconds = now.hour * 3600 + now.minute * 60 + now.second;
    switch (n.length) {
      case 1: return now.hour === n[0];
      case 2: return within(now.hour, n[0], n[1]);
      case 4: return within(seconds, n[0] * 3600 + n[1] * 60, n[2] * 3600 + n[3] * 60 + 59);
      case 6: return within(seconds, n[0] * 3600 + n[1] * 60 + n[2], n[3] * 3600 + n[4] * 60 + n[5]);
      default: return false;
    }
  };

  globalThis.getClientVersion = function () { return "1.0"; };
  // Browsers show alert() text in a console; here nobody reads it, and a PAC file that calls
  // it for debugging must still work.
  globalThis.alert = function () {};

  // Nothing but the PAC text itself is ever compiled: eval and every Function constructor
  // throw. `instanceof Function` still works.
  var refuse = function () {
    throw new EvalError("code generation is disabled in PAC scripts");
  };
  refuse.prototype = Function.prototype;
  [function () {}, function* () {}, async function () {}, async function* () {}]
    .forEach(function (f) {
      Object.defineProperty(Object.getPrototypeOf(f), "constructor", { value: refuse });
    });
  globalThis.Function = refuse;
  globalThis.eval = refuse;
});
