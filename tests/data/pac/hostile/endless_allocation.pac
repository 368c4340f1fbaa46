// Keeps every object it makes (flat strings: no rope can make them cheap).
function FindProxyForURL(url, host) {
    var kept = [];
    for (var i = 0; ; i++) {
        kept.push({ index: i, text: "PROXY a:1;".repeat(6500) + i });
    }
}
