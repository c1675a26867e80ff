"""A loopback TCP proxy a test can cut and restore, to stage PostgreSQL and Redis outages.

`cut()` resets every open connection and answers new ones with a reset, as a crashed server or a dropped
network would; `hang()` lets connections open but carries nothing either way, as a stopped (SIGSTOP) or swapping
server would; `restore()` lets connections through again. Nothing is mocked: the tool talks to the real
server through the proxy and sees the real client library errors.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading


def _reset(sock: socket.socket) -> None:
    """Close a socket with a TCP reset (SO_LINGER 0), so the peer fails at once instead of waiting."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    """Forward 127.0.0.1:<port> to target_host:target_port until cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = False
        self.refused = 0  # connections turned away while cut
        threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True).start()

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until restore()."""
        self._up.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, server in pairs:
            _reset(client)
            _reset(server)

    def hang(self) -> None:
        """Keep every connection open, and accept new ones, but pass no byte until restore()."""
        self._flowing.clear()

    def restore(self) -> None:
        """Let connections through again."""
        self._up.set()
        self._flowing.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                self.refused += 1
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        peers = {client: server, server: client}
        try:
            while self._up.is_set():
                readable, _, _ = select.select(list(peers), [], [], 0.2)
                if not self._flowing.is_set():
                    self._flowing.wait(0.2)  # what arrived stays unread until the server answers again
                    continue
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                if (client, server) in self._pairs:
                    self._pairs.remove((client, server))
            _reset(client)
            _reset(server)
