// Defines the helper it meant to call, but not FindProxyForURL.
function FindProxyForUrl(url, host) { return "DIRECT"; }
var FindProxyForURL = "PROXY a:1";
