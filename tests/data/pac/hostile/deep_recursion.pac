function down(n) { return down(n + 1) + 1; }
function FindProxyForURL(url, host) { return "PROXY a:" + down(0); }
