"""A synchronous ZooKeeper client over a raw socket, written from zookeeper.jute.

kazoo never sends some opcodes (createContainer, createTTL, getEphemerals, addWatch, whoAmI,
...) and hides the order in which frames arrive; tests that need either use this client.
"""

import contextlib
import socket
import ssl
import struct
from dataclasses import dataclass, field

from zkrecipes.testing.handshake import (
    PASSWORD_LENGTH,
    ConnectResponse,
    connect_request,
    frame,
    parse_connect_response,
    recv_frame,
)

NOTIFICATION_XID = -1
PING_XID = -2
AUTH_XID = -4
SET_WATCHES_XID = -8
MAX_FRAMES_PER_CALL = 10_000

OP_CREATE = 1
OP_DELETE = 2
OP_EXISTS = 3
OP_GET_DATA = 4
OP_SET_DATA = 5
OP_GET_ACL = 6
OP_SET_ACL = 7
OP_GET_CHILDREN = 8
OP_SYNC = 9
OP_PING = 11
OP_GET_CHILDREN2 = 12
OP_CHECK = 13
OP_MULTI = 14
OP_CREATE2 = 15
OP_RECONFIG = 16
OP_CHECK_WATCHES = 17
OP_REMOVE_WATCHES = 18
OP_CREATE_CONTAINER = 19
OP_CREATE_TTL = 21
OP_MULTI_READ = 22
OP_AUTH = 100
OP_SET_WATCHES = 101
OP_SASL = 102
OP_GET_EPHEMERALS = 103
OP_GET_ALL_CHILDREN_NUMBER = 104
OP_SET_WATCHES2 = 105
OP_ADD_WATCH = 106
OP_WHO_AM_I = 107
OP_CLOSE_SESSION = -11

# WatcherType of checkWatches and removeWatches; AddWatchMode of addWatch.
WATCHER_CHILDREN = 1
WATCHER_DATA = 2
WATCHER_ANY = 3
MODE_PERSISTENT = 0
MODE_PERSISTENT_RECURSIVE = 1

PERM_ALL = 31
WORLD_ANYONE: tuple[tuple[int, str, str], ...] = ((PERM_ALL, "world", "anyone"),)


def ustring(text: str | None) -> bytes:
    if text is None:
        return struct.pack(">i", -1)
    data = text.encode("utf-8")
    return struct.pack(">i", len(data)) + data


def buffer(data: bytes | None) -> bytes:
    if data is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(data)) + data


def acl_vector(acls: tuple[tuple[int, str, str], ...]) -> bytes:
    return struct.pack(">i", len(acls)) + b"".join(
        struct.pack(">i", perms) + ustring(scheme) + ustring(ident) for perms, scheme, ident in acls
    )


def string_vector(items: list[str] | tuple[str, ...]) -> bytes:
    return struct.pack(">i", len(items)) + b"".join(ustring(item) for item in items)


def set_watches_body(
    relative_zxid: int,
    data: tuple[str, ...] = (),
    exist: tuple[str, ...] = (),
    child: tuple[str, ...] = (),
    persistent: tuple[str, ...] | None = None,
    recursive: tuple[str, ...] | None = None,
) -> bytes:
    """SetWatches, or SetWatches2 when either persistent list is given."""
    body = struct.pack(">q", relative_zxid) + b"".join(
        string_vector(paths) for paths in (data, exist, child)
    )
    if persistent is None and recursive is None:
        return body
    return body + string_vector(persistent or ()) + string_vector(recursive or ())


def path_int(path: str, value: int) -> bytes:
    """AddWatchRequest (path, mode), CheckWatchesRequest and RemoveWatchesRequest (path, type)."""
    return ustring(path) + struct.pack(">i", value)


def auth_body(scheme: str, auth: bytes) -> bytes:
    """AuthPacket; sent with xid AUTH_XID."""
    return struct.pack(">i", 0) + ustring(scheme) + buffer(auth)


def path_watch(path: str, watch: bool = False) -> bytes:
    return ustring(path) + struct.pack(">?", watch)


def create_body(
    path: str,
    data: bytes = b"",
    flags: int = 0,
    acls: tuple[tuple[int, str, str], ...] = WORLD_ANYONE,
    ttl_ms: int | None = None,
) -> bytes:
    body = ustring(path) + buffer(data) + acl_vector(acls) + struct.pack(">i", flags)
    return body + (struct.pack(">q", ttl_ms) if ttl_ms is not None else b"")


class Reader:
    """Reads jute primitives from a reply body."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def read_int(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.offset)
        self.offset += 4
        return int(value)

    def read_long(self) -> int:
        (value,) = struct.unpack_from(">q", self.data, self.offset)
        self.offset += 8
        return int(value)

    def read_bool(self) -> bool:
        value = self.data[self.offset] != 0
        self.offset += 1
        return value

    def read_buffer(self) -> bytes | None:
        length = self.read_int()
        if length < 0:
            return None
        value = self.data[self.offset : self.offset + length]
        self.offset += length
        return value

    def read_ustring(self) -> str | None:
        value = self.read_buffer()
        return None if value is None else value.decode("utf-8")

    def read_strings(self) -> list[str | None]:
        return [self.read_ustring() for _ in range(self.read_int())]

    def read_stat(self) -> dict[str, int]:
        values = {name: self.read_long() for name in ("czxid", "mzxid", "ctime", "mtime")}
        values.update({name: self.read_int() for name in ("version", "cversion", "aversion")})
        values["ephemeralOwner"] = self.read_long()
        values["dataLength"] = self.read_int()
        values["numChildren"] = self.read_int()
        values["pzxid"] = self.read_long()
        return values

    def remaining(self) -> int:
        return len(self.data) - self.offset


@dataclass(frozen=True)
class Reply:
    xid: int
    zxid: int
    err: int
    body: bytes

    def reader(self) -> Reader:
        return Reader(self.body)


@dataclass(frozen=True)
class Notification:
    event_type: int
    state: int
    path: str | None


@dataclass
class RawSession:
    """One connection; `call` returns the matching reply and keeps notifications in order."""

    host: str
    port: int
    socket_timeout_s: float = 5.0
    sock: socket.socket | None = None
    next_xid: int = 1
    frames: list[Reply | Notification] = field(default_factory=list)
    # The highest zxid any reply carried: what a client sends as lastZxidSeen on reconnect.
    last_zxid: int = 0
    handshake: ConnectResponse | None = None
    # Set for a TLS port: the socket is wrapped (and the TLS handshake done) before the
    # ConnectRequest is sent.
    tls: ssl.SSLContext | None = None
    # The local address to connect from (another loopback address gives another ip identity).
    source_host: str | None = None

    def connect(
        self,
        timeout_ms: int = 4000,
        session_id: int = 0,
        password: bytes = bytes(PASSWORD_LENGTH),
        last_zxid_seen: int = 0,
        read_only: bool = False,
    ) -> ConnectResponse:
        source = None if self.source_host is None else (self.source_host, 0)
        self.sock = socket.create_connection(
            (self.host, self.port), timeout=self.socket_timeout_s, source_address=source
        )
        if self.tls is not None:
            self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.host)
        request = connect_request(timeout_ms, session_id, password, last_zxid_seen, read_only)
        self.sock.sendall(frame(request))
        self.handshake = parse_connect_response(recv_frame(self.sock))
        return self.handshake

    def _socket(self) -> socket.socket:
        if self.sock is None:
            raise ConnectionError("not connected")
        return self.sock

    def send(self, opcode: int, body: bytes = b"", xid: int | None = None) -> int:
        if xid is None:
            xid = self.next_xid
            self.next_xid += 1
        self._socket().sendall(frame(struct.pack(">ii", xid, opcode) + body))
        return xid

    def receive(self) -> Reply | Notification:
        """The next frame that is not a ping reply."""
        for _ in range(MAX_FRAMES_PER_CALL):
            data = recv_frame(self._socket())
            xid, zxid, err = struct.unpack_from(">iqi", data)
            body = data[16:]
            if xid == PING_XID:
                continue
            item: Reply | Notification
            if xid == NOTIFICATION_XID:
                reader = Reader(body)
                item = Notification(reader.read_int(), reader.read_int(), reader.read_ustring())
            else:
                item = Reply(xid, zxid, err, body)
                self.last_zxid = max(self.last_zxid, zxid)
            self.frames.append(item)
            return item
        raise ConnectionError("too many ping replies")

    def call(self, opcode: int, body: bytes = b"", xid: int | None = None) -> Reply:
        xid = self.send(opcode, body, xid)
        for _ in range(MAX_FRAMES_PER_CALL):
            item = self.receive()
            if isinstance(item, Reply) and item.xid == xid:
                return item
        raise ConnectionError(f"no reply for xid {xid}")

    def drain(self, quiet_s: float) -> list[Reply | Notification]:
        """Frames that arrive until none has come for `quiet_s` (or the peer closes)."""
        sock = self._socket()
        received: list[Reply | Notification] = []
        previous = sock.gettimeout()
        sock.settimeout(quiet_s)
        try:
            for _ in range(MAX_FRAMES_PER_CALL):
                received.append(self.receive())
        except (TimeoutError, ConnectionError):
            pass
        finally:
            if self.sock is not None:
                self.sock.settimeout(previous)
        return received

    def notifications(self) -> list[Notification]:
        return [item for item in self.frames if isinstance(item, Notification)]

    def close_session(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.call(OP_CLOSE_SESSION)
            self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
