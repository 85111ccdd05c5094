"""Client-protocol frames built by hand (struct), for benchmarks that drive the engine."""

from __future__ import annotations

import struct

OP_CREATE, OP_GET_DATA, OP_SET_DATA = 1, 4, 5


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def _buffer(b: bytes) -> bytes:
    return struct.pack(">i", len(b)) + b


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def connect_request(timeout_ms: int = 10000) -> bytes:
    body = struct.pack(">iqiq", 0, 0, timeout_ms, 0) + _buffer(bytes(16)) + b"\x00"
    return frame(body)


def get_data(xid: int, path: str) -> bytes:
    return frame(struct.pack(">ii", xid, OP_GET_DATA) + _string(path) + b"\x00")


def set_data(xid: int, path: str, data: bytes) -> bytes:
    body = _string(path) + _buffer(data) + struct.pack(">i", -1)
    return frame(struct.pack(">ii", xid, OP_SET_DATA) + body)


def create(xid: int, path: str, data: bytes) -> bytes:
    world_all = struct.pack(">i", 1) + struct.pack(">i", 31) + _string("world") + _string("anyone")
    body = _string(path) + _buffer(data) + world_all + struct.pack(">i", 0)
    return frame(struct.pack(">ii", xid, OP_CREATE) + body)


def split_frames(buf: bytes) -> list[bytes]:
    """The pure-Python floor: walk length-prefixed frames and unpack each reply header."""
    out = []
    i = 0
    n = len(buf)
    while i + 4 <= n:
        (length,) = struct.unpack_from(">i", buf, i)
        out.append(buf[i + 4 : i + 4 + length])
        i += 4 + length
    return out
