// One PAC file for every site: the proxy is chosen by the client's own address.
function FindProxyForURL(url, host) {
    if (isPlainHostName(host) || dnsDomainIs(host, ".corp.example")) return "DIRECT";
    var me = myIpAddress();
    if (isInNet(me, "10.1.0.0", "255.255.0.0")) return "PROXY proxy.london.corp.example:8080; DIRECT";
    if (isInNet(me, "10.2.0.0", "255.255.0.0")) return "PROXY proxy.tokyo.corp.example:8080; DIRECT";
    // VPN pool: through the head office.
    if (isInNet(me, "172.20.0.0", "255.255.0.0")) return "PROXY proxy.hq.corp.example:8080";
    return "DIRECT";
}
