// The top level never finishes.
var i = 0;
while (true) { i++; }
function FindProxyForURL(url, host) { return "DIRECT"; }
