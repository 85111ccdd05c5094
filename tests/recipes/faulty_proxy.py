"""A loopback TCP proxy between a client and the server that injects connection faults.

`arm()` loses the reply to the next create: the server applies the create, the client sees only
a dropped connection (ConnectionLoss) and reconnects to the same session. `block()` cuts every
connection and refuses new ones until `unblock()`: the client is SUSPENDED meanwhile.
"""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress

CREATE_OPCODES = frozenset({1, 15})  # create, create2
frame_bytes_max = 1 << 20
accept_timeout_s = 0.2


class _FrameReader:
    """Splits a byte stream into ZooKeeper's length-prefixed frames."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        frames = []
        while len(self.buffer) >= 4:
            (length,) = struct.unpack(">i", self.buffer[:4])
            assert 0 <= length <= frame_bytes_max, f"bad frame length {length}"
            if len(self.buffer) < 4 + length:
                break
            frames.append(self.buffer[: 4 + length])
            self.buffer = self.buffer[4 + length :]
        return frames


class FaultyProxy:
    """Forwards 127.0.0.1:<port> to the server, with the faults of the module docstring."""

    def __init__(self, server_port: int) -> None:
        self.server_port = server_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(accept_timeout_s)
        self.port = self._listener.getsockname()[1]
        self._armed = threading.Event()
        self._dropped_xid: int | None = None
        self.dropped = threading.Event()
        self._closing = threading.Event()
        self._blocked = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    def arm(self) -> None:
        self.dropped.clear()
        self._armed.set()

    def block(self) -> None:
        self._blocked.set()
        self._cut_all()

    def unblock(self) -> None:
        self._blocked.clear()

    def _cut_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=5.0)
        self._listener.close()
        self._cut_all()

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._blocked.is_set():
                client.close()
                continue
            server = socket.create_connection(("127.0.0.1", self.server_port))
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()
            threading.Thread(target=self._replies, args=(server, client), daemon=True).start()

    def _requests(self, client: socket.socket, server: socket.socket) -> None:
        reader = _FrameReader()
        first = True
        with suppress(OSError):
            while data := client.recv(65536):
                for frame in reader.feed(data):
                    if first:
                        first = False  # the ConnectRequest has no request header
                    elif self._armed.is_set():
                        xid, opcode = struct.unpack(">ii", frame[4:12])
                        if opcode in CREATE_OPCODES:
                            self._dropped_xid = xid
                            self._armed.clear()
                    server.sendall(frame)
        _close_both(client, server)

    def _replies(self, server: socket.socket, client: socket.socket) -> None:
        reader = _FrameReader()
        first = True
        with suppress(OSError):
            while data := server.recv(65536):
                for frame in reader.feed(data):
                    if first:
                        first = False  # the ConnectResponse has no reply header
                    else:
                        (xid,) = struct.unpack(">i", frame[4:8])
                        if xid == self._dropped_xid:
                            self._dropped_xid = None
                            self.dropped.set()
                            _close_both(client, server)
                            return
                    client.sendall(frame)
        _close_both(client, server)


def _close_both(a: socket.socket, b: socket.socket) -> None:
    for sock in (a, b):
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with suppress(OSError):
            sock.close()
