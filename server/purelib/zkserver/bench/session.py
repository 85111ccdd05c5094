"""Blocking session set-up and tear-down on raw sockets, and frame splitting."""

from __future__ import annotations

import socket
import struct

from zkrecipes.testing.handshake import recv_frame
from zkserver.bench import protocol as p

LINGER_RESET = struct.pack("ii", 1, 0)
RECV_BYTES = 256 * 1024
# Frames skipped while waiting for a closeSession reply (notifications still in flight).
CLOSE_SKIP_FRAMES_MAX = 10_000


def open_session(host: str, port: int, timeout_ms: int, socket_timeout_s: float) -> socket.socket:
    """A connected socket with an established session (ConnectionError if refused)."""
    sock = socket.create_connection((host, port), timeout=socket_timeout_s)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(p.connect_request(timeout_ms))
        if p.session_id_of(recv_frame(sock)) == 0:
            raise ConnectionError("server refused the session (session id 0)")
    except BaseException:
        sock.close()
        raise
    return sock


def close_sessions(socks: list[tuple[socket.socket, int]]) -> int:
    """Sends closeSession with the given xid on every socket, then reads each reply (skipping
    notifications); returns how many were not answered with err 0."""
    failures = 0
    for sock, xid in socks:
        try:
            sock.sendall(p.frame(xid, p.close_session()))
        except OSError:
            failures += 1
    for sock, xid in socks:
        try:
            for _ in range(CLOSE_SKIP_FRAMES_MAX):
                reply = recv_frame(sock)
                got_xid, _zxid, err = struct.unpack_from(">iqi", reply)
                if got_xid == xid:
                    failures += err != 0
                    break
        except OSError:
            failures += 1
        finally:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
            sock.close()
    return failures
