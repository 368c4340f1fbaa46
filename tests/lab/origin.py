#!/usr/bin/env python3
"""Fake origin servers for the trust-proxy lab (runs inside the lab's origin namespace).

usage: origin.py SPEC...
  tls:IP:PORT:CERTCHAIN.pem:KEY.pem:NAME   HTTPS server answering "hello from NAME"
  static:IP:PORT:CERTCHAIN.pem:KEY.pem:NAME:DIR
                                           HTTPS server for the files under DIR (a package
                                           registry): GET/HEAD only, the query string ignored
                                           (git's dumb protocol asks info/refs?service=...), a
                                           directory answered by its index.html or index.json
                                           without a redirect (npm asks /<pkg> for the document
                                           whose tarballs live under /<pkg>/-/), 404 otherwise
  http:IP:PORT:DIR                           plain HTTP file server for DIR (the AIA server)
  tarpit:IP:PORT                             accepts TCP connections and never answers (timeouts)
Prints "ready" once every socket is bound. Runs until killed. Plain Python 3, stdlib only.
"""
import functools
import http.server
import os
import ssl
import sys
import threading
import urllib.parse


class Hello(http.server.BaseHTTPRequestHandler):
    name = "origin"
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = f"hello from {self.name} (lab origin)\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        sys.stderr.write(f"[{self.name}] {self.address_string()} {fmt % args}\n")


class Static(http.server.BaseHTTPRequestHandler):
    name = "static"
    root = "/nonexistent"
    protocol_version = "HTTP/1.1"
    types = {
        ".html": "text/html; charset=utf-8",
        ".json": "application/json",
        ".whl": "application/octet-stream",
        ".tgz": "application/octet-stream",
        ".crate": "application/octet-stream",
    }

    def resolve(self):
        """The file for the request path, or None: never a path outside root."""
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        root = os.path.realpath(self.root)
        full = os.path.realpath(os.path.join(root, path.lstrip("/")))
        if full != root and not full.startswith(root + os.sep):
            return None
        if os.path.isdir(full):
            for index in ("index.html", "index.json"):
                if os.path.isfile(os.path.join(full, index)):
                    return os.path.join(full, index)
            return None
        return full if os.path.isfile(full) else None

    def do_GET(self):
        found = self.resolve()
        if found is None:
            body = b"not found\n"
            self.send_response(404)
            ctype = "text/plain"
        else:
            with open(found, "rb") as f:
                body = f.read()
            self.send_response(200)
            ctype = self.types.get(os.path.splitext(found)[1], "application/octet-stream")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        sys.stderr.write(f"[{self.name}] {self.address_string()} {fmt % args}\n")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def tarpit(ip, port):
    import socket
    import time

    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip, port))
    ls.listen(64)
    held = []
    while True:
        c, addr = ls.accept()
        sys.stderr.write(f"[tarpit] holding {addr}\n")
        held.append((time.monotonic(), c))
        # close what has been held for more than two minutes
        now = time.monotonic()
        for t, s in [h for h in held if now - h[0] > 120]:
            s.close()
        held = [h for h in held if now - h[0] <= 120]


def main():
    servers = []
    for spec in sys.argv[1:]:
        kind, rest = spec.split(":", 1)
        if kind in ("tls", "static"):
            if kind == "tls":
                ip, port, chain, key, name = rest.split(":")
                handler = type(f"Hello_{name}", (Hello,), {"name": name})
            else:
                ip, port, chain, key, name, directory = rest.split(":")
                handler = type(f"Static_{name}", (Static,), {"name": name, "root": directory})
            srv = Server((ip, int(port)), handler)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(chain, key)
            ctx.set_alpn_protocols(["http/1.1"])
            # Handshake in the handler thread, not in accept(): a stalled client must not block others.
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
            orig = srv.finish_request

            def finish(request, client_address, orig=orig):
                request.settimeout(10)
                try:
                    request.do_handshake()
                except (ssl.SSLError, OSError) as e:
                    sys.stderr.write(f"handshake from {client_address}: {e}\n")
                    return
                orig(request, client_address)

            srv.finish_request = finish
        elif kind == "http":
            ip, port, directory = rest.split(":")
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
            srv = Server((ip, int(port)), handler)
        elif kind == "tarpit":
            ip, port = rest.split(":")
            threading.Thread(target=tarpit, args=(ip, int(port)), daemon=True).start()
            continue
        else:
            sys.exit(f"bad spec {spec}")
        servers.append(srv)
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
