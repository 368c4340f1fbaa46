#!/usr/bin/env python3
"""The client pattern of the internal services trust-proxy exists for: an httpx client whose SSL
context takes SSL_CERT_FILE (else certifi's bundle) and SSL_CERT_DIR, proxies from the
environment as httpx does by default.

usage: httpx_client.py URL
Prints "ok <status> <body>" and exits 0, or "fail <error>" and exits 1.
"""
import os
import ssl
import sys

import certifi
import httpx


def main():
    url = sys.argv[1]
    ctx = ssl.create_default_context(
        cafile=os.environ.get("SSL_CERT_FILE", certifi.where()),
        capath=os.environ.get("SSL_CERT_DIR"),
    )
    try:
        with httpx.Client(verify=ctx, timeout=10) as client:
            r = client.get(url)
        print(f"ok {r.status_code} {r.text.strip()}")
        return 0
    except (httpx.HTTPError, ssl.SSLError, OSError) as e:
        print(f"fail {type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
