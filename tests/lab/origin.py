#!/usr/bin/env python3
"""Fake origin servers for the trust-proxy lab (runs inside the lab's origin namespace).

usage: origin.py SPEC...
  tls:IP:PORT:CERTCHAIN.pem:KEY.pem:NAME   HTTPS server answering "hello from NAME"
  http:IP:PORT:DIR                           plain HTTP file server for DIR (the AIA server)
  tarpit:IP:PORT                             accepts TCP connections and never answers (timeouts)
Prints "ready" once every socket is bound. Runs until killed. Plain Python 3, stdlib only.
"""
import functools
import http.server
import ssl
import sys
import threading


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
        if kind == "tls":
            ip, port, chain, key, name = rest.split(":")
            handler = type(f"Hello_{name}", (Hello,), {"name": name})
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
