"""Client-protocol request bodies and the exact size of each successful reply (zookeeper.jute).

The load generator checks every reply's xid and error code, and its length against the length a
successful reply must have: cheap enough to do for every reply, and it catches a wrong body
(a multi with an error result, a get of the wrong node) as well.
"""

from __future__ import annotations

import struct

OP_CREATE = 1
OP_DELETE = 2
OP_EXISTS = 3
OP_GET_DATA = 4
OP_SET_DATA = 5
OP_GET_CHILDREN = 8
OP_MULTI = 14
OP_CLOSE_SESSION = -11

FLAG_SEQUENTIAL = 2
NOTIFICATION_XID = -1
PING_XID = -2
EVENT_NODE_DATA_CHANGED = 3

REPLY_HEADER_BYTES = 16  # xid int, zxid long, err int
STAT_BYTES = 68  # 4 longs czxid/mzxid/ctime/mtime, 3 ints versions, long owner, 2 ints, long pzxid
MULTI_HEADER_BYTES = 9  # type int, done bool, err int
SEQUENTIAL_SUFFIX_CHARS = 10
PASSWORD_BYTES = 16
PERM_ALL = 31

HEAD = struct.Struct(">ii")  # frame length, then xid (request) or the reply's xid
REPLY = struct.Struct(">iiqi")  # frame length, xid, zxid, err
MIN_REPLY_FRAME_BYTES = REPLY.size


def ustring(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">i", len(data)) + data


def buffer(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


WORLD_ANYONE_ACL = struct.pack(">ii", 1, PERM_ALL) + ustring("world") + ustring("anyone")


def frame(xid: int, opcode_and_body: bytes) -> bytes:
    """One request frame: length, xid, then the pre-encoded opcode and body."""
    return HEAD.pack(len(opcode_and_body) + 4, xid) + opcode_and_body


def connect_request(timeout_ms: int) -> bytes:
    """A framed ConnectRequest for a new session (protocol 0, no last zxid, zero password)."""
    body = struct.pack(">iqiq", 0, 0, timeout_ms, 0) + buffer(bytes(PASSWORD_BYTES)) + b"\x00"
    return struct.pack(">i", len(body)) + body


def session_id_of(connect_response: bytes) -> int:
    """The session id of a ConnectResponse body (0 means refused)."""
    _protocol, _timeout, session_id = struct.unpack_from(">iiq", connect_response)
    return int(session_id)


def get_data(path: str, watch: bool = False) -> bytes:
    return struct.pack(">i", OP_GET_DATA) + ustring(path) + bytes([watch])


def exists(path: str) -> bytes:
    return struct.pack(">i", OP_EXISTS) + ustring(path) + b"\x00"


def get_children(path: str) -> bytes:
    return struct.pack(">i", OP_GET_CHILDREN) + ustring(path) + b"\x00"


def set_data_body(path: str, data: bytes) -> bytes:
    return ustring(path) + buffer(data) + struct.pack(">i", -1)


def set_data(path: str, data: bytes) -> bytes:
    return struct.pack(">i", OP_SET_DATA) + set_data_body(path, data)


def create(path: str, data: bytes, flags: int = 0) -> bytes:
    body = ustring(path) + buffer(data) + WORLD_ANYONE_ACL + struct.pack(">i", flags)
    return struct.pack(">i", OP_CREATE) + body


def delete(path: str) -> bytes:
    return struct.pack(">i", OP_DELETE) + ustring(path) + struct.pack(">i", -1)


def multi_set_data(paths: list[str], data: bytes) -> bytes:
    """A multi of one setData per path, each with version -1."""
    ops = b"".join(
        struct.pack(">i?i", OP_SET_DATA, False, -1) + set_data_body(p, data) for p in paths
    )
    return struct.pack(">i", OP_MULTI) + ops + struct.pack(">i?i", -1, True, -1)


def close_session() -> bytes:
    return struct.pack(">i", OP_CLOSE_SESSION)


# ---- reply frame lengths (the 4-byte length prefix excluded) ----


def get_data_reply_len(data_size: int) -> int:
    return REPLY_HEADER_BYTES + 4 + data_size + STAT_BYTES


def stat_reply_len() -> int:
    return REPLY_HEADER_BYTES + STAT_BYTES


def children_reply_len(names: list[str]) -> int:
    return REPLY_HEADER_BYTES + 4 + sum(4 + len(n.encode()) for n in names)


def create_reply_len(path: str, sequential: bool) -> int:
    suffix = SEQUENTIAL_SUFFIX_CHARS if sequential else 0
    return REPLY_HEADER_BYTES + 4 + len(path.encode()) + suffix


def delete_reply_len() -> int:
    return REPLY_HEADER_BYTES


def multi_set_data_reply_len(count: int) -> int:
    return REPLY_HEADER_BYTES + count * (MULTI_HEADER_BYTES + STAT_BYTES) + MULTI_HEADER_BYTES
