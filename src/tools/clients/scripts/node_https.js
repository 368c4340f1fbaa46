'use strict';
// trust-proxy verify: https.get with Node's default trust (bundled roots, NODE_EXTRA_CA_CERTS, --use-system-ca).
// Node does not read HTTPS_PROXY: the proxy (if any) comes in TP_VERIFY_PROXY and is tunnelled by hand.
const http = require('http'), https = require('https'), tls = require('tls');
const target = new URL(process.argv[2]);
const proxy = process.env.TP_VERIFY_PROXY ? new URL(process.env.TP_VERIFY_PROXY) : null;
console.log(`TP-VERSION node ${process.version}`);
const port = Number(target.port) || 443;
function fail(e) { console.error(`node: ${e.code ? e.code + ': ' : ''}${e.message}`); process.exit(1); }
function got(res) { console.log(`TP-HTTP-STATUS ${res.statusCode}`); process.exit(0); }
const options = { host: target.hostname, port, path: target.pathname + target.search, servername: target.hostname };
if (!proxy) {
  https.get(options, got).on('error', fail);
} else {
  const headers = { Host: `${target.hostname}:${port}` };
  if (proxy.username) headers['Proxy-Authorization'] = 'Basic ' + Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64');
  const req = http.request({ host: proxy.hostname, port: Number(proxy.port) || 80, method: 'CONNECT', path: `${target.hostname}:${port}`, headers });
  req.on('connect', (res, socket) => {
    if (res.statusCode !== 200) fail(new Error(`the proxy answered CONNECT with ${res.statusCode}`));
    https.get({ ...options, createConnection: () => tls.connect({ socket, servername: target.hostname }) }, got).on('error', fail);
  });
  req.on('error', fail);
  req.end();
}
