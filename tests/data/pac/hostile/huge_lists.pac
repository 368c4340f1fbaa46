// Hands the native helpers inputs far larger than any real one, in the hope that they cannot be
// interrupted while they chew on them.
function FindProxyForURL(url, host) {
    var ips = [];
    for (var i = 0; i < 100000; i++) ips.push("10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255));
    var list = ips.join(";");
    if (host == "sort.example") return sortIpAddressList(list) ? "DIRECT" : "PROXY x:1";
    if (host == "net.example") return isInNetEx(list, "192.168.0.0/16") ? "DIRECT" : "PROXY x:1";
    var text = list + list;
    return shExpMatch(text, "*a*b*c*d*e*f*g*h*i*j*k*l*m*n*o*p*") ? "DIRECT" : "PROXY x:1";
}
