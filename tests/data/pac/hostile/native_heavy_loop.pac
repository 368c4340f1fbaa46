// Each step of the loop is one heavy native call (a 100,000-element join) and almost no
// bytecode: QuickJS polls its interrupt handler only every 10,000 bytecode steps, so without
// more the time bound would be checked every ~10,000 joins (14 s for a 1 s bound, release build).
function FindProxyForURL(url, host) {
  var s = "";
  for (;;) {
    s = new Array(100000).join("x");
  }
  return "DIRECT";
}
