function FindProxyForURL(url, host) {
    if (host == "quic.example") return "QUIC q.example:443";
    if (host == "noport.example") return "PROXY a.example:http";
    if (host == "escape.example") return "PROXY \u001b[31mred.example:80";
    return "";
}
