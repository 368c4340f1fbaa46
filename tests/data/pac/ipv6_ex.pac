// Microsoft's IPv6-aware entry point: preferred over FindProxyForURL when both exist.
function FindProxyForURL(url, host) {
    return "PROXY legacy-only.example:1";
}

function FindProxyForURLEx(url, host) {
    if (getClientVersion() != "1.0") return "PROXY unknown-client.example:1";
    var addrs = dnsResolveEx(host);
    if (addrs == "") return "PROXY v6proxy.example:8080";
    if (isInNetEx(addrs, "fd00::/8") || isInNetEx(addrs, "10.0.0.0/8")) return "DIRECT";
    // The sorted list puts IPv6 first: route by the preferred address family.
    var first = sortIpAddressList(addrs).split(";")[0];
    if (first.indexOf(":") >= 0) return "PROXY v6proxy.example:8080; DIRECT";
    // Clients on the IPv6 management network use its own proxy.
    if (isInNetEx(myIpAddressEx(), "2001:db8:100::/48")) return "PROXY mgmt.example:3128";
    if (isResolvableEx(host)) return "PROXY v4proxy.example:8080; DIRECT";
    return "DIRECT";
}
