"""A bare ZooKeeper session handshake over a socket, written from zookeeper.jute.

Servers answer `ruok` before they accept sessions (Apache loads its database first), so
readiness is a real ConnectRequest answered by a ConnectResponse, followed by closeSession so
that the probe leaves no session behind.
"""

import socket
import struct
from dataclasses import dataclass

CLOSE_SESSION_OPCODE = -11
PROBE_SESSION_TIMEOUT_MS = 4000
PASSWORD_LENGTH = 16


@dataclass(frozen=True)
class ConnectResponse:
    protocol_version: int
    timeout_ms: int
    session_id: int
    password: bytes
    read_only: bool


def frame(payload: bytes) -> bytes:
    """Length-prefixed frame, as every client and server message is sent."""
    return struct.pack(">i", len(payload)) + payload


def connect_request(
    timeout_ms: int = PROBE_SESSION_TIMEOUT_MS,
    session_id: int = 0,
    password: bytes = bytes(PASSWORD_LENGTH),
    last_zxid_seen: int = 0,
    read_only: bool = False,
) -> bytes:
    """ConnectRequest body: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly."""
    return (
        struct.pack(">iqiq", 0, last_zxid_seen, timeout_ms, session_id)
        + struct.pack(">i", len(password))
        + password
        + struct.pack(">?", read_only)
    )


def parse_connect_response(body: bytes) -> ConnectResponse:
    protocol_version, timeout_ms, session_id, password_length = struct.unpack_from(">iiqi", body)
    offset = struct.calcsize(">iiqi")
    password = body[offset : offset + max(password_length, 0)]
    offset += max(password_length, 0)
    # Old servers omit the readOnly byte.
    read_only = bool(body[offset]) if len(body) > offset else False
    return ConnectResponse(protocol_version, timeout_ms, session_id, password, read_only)


def recv_exact(sock: socket.socket, count: int) -> bytes:
    """Exactly `count` bytes; ConnectionError if the peer closes first."""
    chunks = []
    remaining = count
    while remaining > 0:
        chunk = sock.recv(remaining)
        if not chunk:
            raise ConnectionError(f"peer closed with {remaining} of {count} bytes unread")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> bytes:
    (length,) = struct.unpack(">i", recv_exact(sock, 4))
    return recv_exact(sock, length)


def probe_session(host: str, port: int, timeout_s: float) -> ConnectResponse:
    """Open a session, close it, and return the server's ConnectResponse."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(frame(connect_request()))
        response = parse_connect_response(recv_frame(sock))
        if response.session_id == 0:
            raise ConnectionError("server refused the session (session id 0)")
        sock.sendall(frame(struct.pack(">ii", 1, CLOSE_SESSION_OPCODE)))
        recv_frame(sock)
        return response
