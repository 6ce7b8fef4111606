#!/usr/bin/env python3
"""A tiny HTTP/1.1 server on 127.0.0.1 that records every request it receives.

Used by Tests/SigV4ToolTests to check what `sigv4 curl` really sent.

    python3 scripts/cli-record-server.py --log /tmp/requests.jsonl
    # prints the port on the first line of stdout, then serves until killed

Each request is appended to the log as one JSON line:
    {"method": "PUT", "target": "/k?x=1", "headers": [["Host", "127.0.0.1:8080"], ...],
     "body_b64": "...", "body_sha256": "..."}
The body is decoded when sent with Transfer-Encoding: chunked.
"""
import argparse
import base64
import hashlib
import http.server
import json
import os
import socketserver
import sys


def main():
    # Drop descriptors inherited from a parent that spawns processes concurrently (test runners):
    # a long-lived server holding someone else's pipe would keep that pipe from ever reaching EOF.
    os.closerange(3, 4096)
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length", "0") or "0")
            return self.rfile.read(length) if length else b""

        def _handle(self):
            body = self._body() if self.command != "HEAD" or self.headers.get("Content-Length") else b""
            record = {
                "method": self.command,
                "target": self.path,
                "headers": [[k, v] for k, v in self.headers.raw_items()],
                "body_b64": base64.b64encode(body).decode(),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
            with open(args.log, "a") as f:
                f.write(json.dumps(record) + "\n")
            reply = b'{"ok":true}\n'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
