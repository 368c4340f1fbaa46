function FindProxyForURL(url, host) {
    throw new TypeError("proxy table unavailable \u001b]0;owned\u0007 for " + host);
}
