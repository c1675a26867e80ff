"""A hostile server for the tests: a plain threaded http.server on a loopback address, scripted per path.

It records every request (path and headers) it receives, so a test can prove Pathways never called it, or
never sent it a token.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[["_Handler"], None]


class EvilServer:
    """Serve scripted answers on 127.0.0.x; `hits` lists (method, path, headers) of every request."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[tuple[str, str, dict[str, str]]] = []
        self.bytes_sent = 0
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.host = host
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def json(self, path: str, body: Any, status: int = 200) -> None:
        """Answer path with a JSON body."""
        self.routes[path] = lambda h: h.send_json(body, status)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = lambda h: h.send_redirect(location, status)

    def drip(self, path: str, every: float, count: int = 1000) -> None:
        """Answer with headers dripped one byte at a time, `every` seconds apart (a slowloris in reverse)."""
        self.routes[path] = lambda h: h.send_drip(every, count)

    def flood(self, path: str, total_bytes: int) -> None:
        """Answer with a huge body without Content-Length."""
        self.routes[path] = lambda h: h.send_flood(total_bytes)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    owner: EvilServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass

    def _route(self) -> None:
        path = self.path.split("?", 1)[0]
        self.owner.hits.append((self.command, self.path, dict(self.headers.items())))
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        route = self.owner.routes.get(path)
        if route is None:
            self.send_json({"error": "not found"}, 404)
        else:
            route(self)

    do_GET = do_POST = do_PUT = do_DELETE = _route  # noqa: N815 - http.server's names

    def send_json(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_redirect(self, location: str, status: int) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def send_drip(self, every: float, count: int) -> None:
        try:
            self.wfile.write(b"HTTP/1.0 200 OK\r\n")
            self.wfile.flush()
            for _ in range(count):
                time.sleep(every)
                self.wfile.write(b"X")
                self.wfile.flush()
                self.owner.bytes_sent += 1
        except OSError:
            return

    def send_flood(self, total: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        chunk = b" " * 65536
        try:
            while self.owner.bytes_sent < total:
                self.wfile.write(chunk)
                self.owner.bytes_sent += len(chunk)
        except OSError:
            return
