function FindProxyForURL(url, host) {
    if (host == "null.example") return null;
    if (host == "object.example") return { toString: function () { return "DIRECT"; } };
    return 42;
}
