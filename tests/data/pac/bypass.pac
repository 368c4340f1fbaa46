// A branch-office PAC file written by another team: an array of bypass patterns, a table of
// domains, helper functions of its own, a loop over them, and host levels.
var bypassPatterns = [
    "*.windowsupdate.example",
    "update.*.example",
    "10.*",
    "*.local",
    "pki.corp?.example"
];
var directDomains = { "partner.example": true, "supplier.example": true };

function matchesAny(host, patterns) {
    for (var i = 0; i < patterns.length; i++) {
        if (shExpMatch(host, patterns[i])) return patterns[i];
    }
    return null;
}

function registrable(host) {
    var parts = host.split(".");
    return parts.slice(-2).join(".");
}

function FindProxyForURL(url, host) {
    host = host.toLowerCase();
    if (matchesAny(host, bypassPatterns)) return "DIRECT";
    if (directDomains[registrable(host)]) return "DIRECT";
    // Single-label and two-label names under the branch zone are printers and NAS boxes.
    if (dnsDomainIs(host, ".branch.example") && dnsDomainLevels(host) <= 2) return "DIRECT";
    if (!isResolvable(host)) return "PROXY branchproxy.example:3128";
    return "PROXY branchproxy.example:3128; PROXY backup.example:3128";
}
