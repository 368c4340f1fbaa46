// A typical head-office PAC file: internal names and ranges go direct, a few SaaS hosts use the
// dedicated cloud proxy, everything else the two main proxies with DIRECT as the last resort.
function FindProxyForURL(url, host) {
    var direct = "DIRECT";
    var main = "PROXY proxy1.corp.example:8080; PROXY proxy2.corp.example:8080; DIRECT";

    // Short names are always internal.
    if (isPlainHostName(host))
        return direct;

    // Internal DNS zones.
    if (dnsDomainIs(host, ".corp.example") ||
        dnsDomainIs(host, ".corp-lab.example") ||
        localHostOrDomainIs(host, "intranet.corp.example"))
        return direct;

    // Literal addresses and names resolving into the private ranges.
    var ip = dnsResolve(host);
    if (ip && (isInNet(ip, "10.0.0.0", "255.0.0.0") ||
               isInNet(ip, "172.16.0.0", "255.240.0.0") ||
               isInNet(ip, "192.168.0.0", "255.255.0.0") ||
               isInNet(ip, "127.0.0.0", "255.0.0.0")))
        return direct;

    // Collaboration suites go through the cloud proxy, which knows their certificates.
    if (shExpMatch(host, "*.office365.example") ||
        shExpMatch(host, "teams.*.example") ||
        shExpMatch(url, "https://*.salesforce.example/*"))
        return "HTTPS cloudproxy.corp.example:443; PROXY proxy1.corp.example:8080";

    // Plain FTP is not allowed through the main proxies.
    if (url.substring(0, 4) == "ftp:")
        return "SOCKS5 socks.corp.example:1080";

    return main;
}
