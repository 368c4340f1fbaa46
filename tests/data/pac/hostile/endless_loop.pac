// Never returns; the loop even swallows exceptions.
function FindProxyForURL(url, host) {
    for (;;) {
        try { while (true) {} } catch (e) {}
    }
}
