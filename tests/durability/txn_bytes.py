"""Marshalled log entries (TxnHeader + txn record), built by hand from zookeeper.jute."""

import struct
from dataclasses import dataclass

# Opcodes (ZooDefs.OpCode) of the txns these tests log.
CREATE = 1
DELETE = 2
SET_DATA = 5
CREATE_SESSION = -10
CLOSE_SESSION = -11

PERM_ALL = 31
WORLD_ANYONE = ((PERM_ALL, "world", "anyone"),)


def _int(v: int) -> bytes:
    return struct.pack(">i", v)


def _long(v: int) -> bytes:
    return struct.pack(">q", v)


def _buffer(b: bytes | None) -> bytes:
    return _int(-1) if b is None else _int(len(b)) + b


def _string(s: str) -> bytes:
    return _buffer(s.encode())


def _acl(acl: tuple[tuple[int, str, str], ...]) -> bytes:
    return _int(len(acl)) + b"".join(_int(p) + _string(s) + _string(i) for p, s, i in acl)


@dataclass(frozen=True)
class Txn:
    """One txn with its header fields; `entry()` is what the log stores for it."""

    zxid: int
    session: int
    type: int
    body: bytes
    time_ms: int = 1_700_000_000_000

    def entry(self) -> bytes:
        header = _long(self.session) + _int(self.zxid) + _long(self.zxid)
        return header + _long(self.time_ms + self.zxid) + _int(self.type) + self.body


def create_session(timeout_ms: int) -> bytes:
    return _int(timeout_ms)


def create(
    path: str,
    data: bytes | None,
    *,
    ephemeral: bool = False,
    acl: tuple[tuple[int, str, str], ...] = WORLD_ANYONE,
) -> bytes:
    # parentCVersion -1: the tree bumps the parent's cversion by one.
    return _string(path) + _buffer(data) + _acl(acl) + bytes([ephemeral]) + _int(-1)


def set_data(path: str, data: bytes, version: int) -> bytes:
    return _string(path) + _buffer(data) + _int(version)


def delete(path: str) -> bytes:
    return _string(path)


def close_session(paths: list[str]) -> bytes:
    return _int(len(paths)) + b"".join(_string(p) for p in paths)
