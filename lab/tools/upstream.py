#!/usr/bin/env python3
"""A client's system in the lab: a tiny HTTPS server (TLS 1.2+) that logs every request as one JSON line.

Each line names the peer (the proxy, for traffic that went the right way) and the agent the proxy
says it forwarded for (X-Forwarded-For), so the scenario can count what reached the client from a
suspended client's agents after the trip. The same server is the clients' SOC receiver for the
controller's signed webhooks (incident notices, trips): it checks X-Segctl-Signature against
SEGCTL_LAB_WEBHOOK_KEY and logs the JSON body. Usage: upstream.py NAME ADDRESS PORT CERT KEY LOG
"""
import hashlib
import hmac
import http.server
import json
import os
import ssl
import sys
import threading
import time


def main():
    name, address, port, cert, key, log_path = sys.argv[1:7]
    webhook_key = os.environ.get("SEGCTL_LAB_WEBHOOK_KEY", "").encode()
    lock = threading.Lock()
    log = open(log_path, "a", buffering=1, encoding="utf-8")

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "lab-upstream"
        sys_version = ""

        def _serve(self):
            entry = {
                "t": time.time(),
                "upstream": name,
                "peer": self.client_address[0],
                "forwarded_for": (self.headers.get("X-Forwarded-For") or "").split(",")[0].strip(),
                "method": self.command,
                "host": self.headers.get("Host", ""),
                "path": self.path.split("?", 1)[0],
            }
            length = int(self.headers.get("Content-Length") or 0)
            if 0 < length <= 1 << 20:
                body = self.rfile.read(length)
                if self.headers.get("X-Segctl-Signature"):
                    # A webhook from the controller: keep what it said and whether its signature holds.
                    entry["signature_valid"] = hmac.compare_digest(
                        self.headers["X-Segctl-Signature"],
                        "sha256=" + hmac.new(webhook_key, body, hashlib.sha256).hexdigest())
                    try:
                        entry["body"] = json.loads(body)
                    except ValueError:
                        entry["body"] = None
            with lock:
                log.write(json.dumps(entry) + "\n")
            body = json.dumps({"system": name, "ok": True, "you": entry["forwarded_for"] or entry["peer"]}).encode() + b"\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

        def finish_request(self, request, client_address):
            # The TLS handshake runs in the request's own thread, so a slow or failed handshake never
            # holds up the accept loop.
            try:
                tls = context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            self.RequestHandlerClass(tls, client_address, self)

    Server((address, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
