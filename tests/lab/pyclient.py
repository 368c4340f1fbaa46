#!/usr/bin/env python3
"""A real strict/non-strict Python TLS client through an explicit HTTP proxy (CONNECT).

usage: pyclient.py PROXY_HOST PROXY_PORT TARGET_HOST CAFILE [--strict]
--strict sets ssl.VERIFY_X509_STRICT (what Python 3.13+ does by default).
Prints "ok <status line>" and exits 0, or "fail <error>" and exits 1.
"""
import http.client
import ssl
import sys


def main():
    phost, pport, target, cafile = sys.argv[1:5]
    strict = "--strict" in sys.argv[5:]
    ctx = ssl.create_default_context(cafile=cafile)
    # create_default_context(cafile=...) loads only that file; make sure no default path slipped in
    if strict:
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    else:
        ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
    conn = http.client.HTTPSConnection(phost, int(pport), context=ctx, timeout=10)
    conn.set_tunnel(target, 443)
    try:
        conn.request("GET", "/")
        r = conn.getresponse()
        print(f"ok {r.status} {r.read().decode().strip()}")
        return 0
    except (ssl.SSLError, OSError, http.client.HTTPException) as e:
        print(f"fail {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
