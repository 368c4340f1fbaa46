function FindProxyForURL(url, host) {
    var s = "PROXY a:1; ";
    while (s.length < 8 * 1024 * 1024) s = s + s;
    return s;
}
