// Time-dependent routing: the backup proxy takes over during the maintenance window, the
// guest proxy on weekends, the year-end freeze uses a dedicated proxy.
function FindProxyForURL(url, host) {
    if (dateRange(24, "DEC", 31, "DEC", "GMT")) return "PROXY freeze.example:8080";
    if (weekdayRange("SAT", "SUN", "GMT")) return "PROXY weekend.example:8080";
    if (timeRange(2, 0, 3, 30, "GMT")) return "PROXY backup.example:8080";
    if (weekdayRange("FRI", "GMT") && timeRange(17, 23, "GMT")) return "PROXY friday-evening.example:8080";
    if (dateRange("JUL", "AUG", "GMT")) return "PROXY summer.example:8080";
    return "PROXY main.example:8080";
}
