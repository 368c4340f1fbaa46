// Tries to compile code it was not shipped with.
function FindProxyForURL(url, host) {
    if (host == "eval.example") return eval("'DIRECT'");
    if (host == "function.example") return new Function("return 'DIRECT'")();
    return (function () {}).constructor("return 'DIRECT'")();
}
