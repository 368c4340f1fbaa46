// node's side of bench/pac.sh: `node pac_node.js FILE.pac URL...` loads the PAC file into a
// fresh vm context with the shims of pac_shims.js and prints `URL<TAB>result` per URL, asking
// as trust-proxy does (host lower case without brackets; https URLs cut to their origin).
"use strict";
const fs = require("fs");
const vm = require("vm");
const { helpers } = require("./pac_shims.js");

const [file, ...urls] = process.argv.slice(2);
const context = vm.createContext(helpers(() => Date.now()));
vm.runInContext(fs.readFileSync(file, "utf8"), context, { filename: file });
const entry = typeof context.FindProxyForURLEx === "function" ? context.FindProxyForURLEx : context.FindProxyForURL;
const out = [];
for (const raw of urls) {
  const u = new URL(raw);
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  u.username = ""; u.password = ""; u.hash = "";
  if (u.protocol === "https:") { u.pathname = "/"; u.search = ""; }
  out.push(raw + "\t" + entry(u.toString(), host));
}
process.stdout.write(out.join("\n") + "\n");
