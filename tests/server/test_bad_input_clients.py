"""Misbehaving clients over raw sockets: a slow reader with thousands of pipelined large
reads, a connection stalled inside a frame, rapid connect/close cycles, and a read-only
ConnectRequest to a read-write server. Each time the server stays up and others are served."""

import socket
import struct
from typing import Any

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.handshake import connect_request, frame
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import (
    OP_CLOSE_SESSION,
    OP_CREATE,
    OP_EXISTS,
    OP_GET_DATA,
    OP_PING,
    PING_XID,
    RawSession,
    Reply,
    create_body,
    path_watch,
)
from zkrecipes.testing.targets import ZkTarget
from zkrecipes.testing.zoocfg import TEST_TICK_TIME_MS

LARGE_NODE_BYTES = 100_000
PIPELINED_READS = 2000
PING_EVERY = 100
CYCLES = 100
FATE_WAIT_S = 5.0
EPHEMERAL = 1


def _healthy(target: ZkTarget, bystander_path: str) -> dict[str, Any]:
    """A fresh kazoo session works, an older session still reads, and `ruok` answers."""
    zk = target.client()
    zk.create("/alive", b"", ephemeral=True)
    fresh = zk.exists("/alive") is not None
    zk.delete("/alive")
    return {
        "fresh_session": fresh,
        "bystander": target.admin().get(bystander_path)[0],
        "ruok": target.four_letter("ruok"),
    }


def test_slow_reader_with_thousands_of_pipelined_large_reads(differential: Differential) -> None:
    """2,000 getData of a 100 KB node sent at once, replies left unread while other sessions
    work: both servers queue the replies and deliver every one, in order, once the client
    reads; the connection stays usable."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/large", b"z" * LARGE_NODE_BYTES)
        zk.create("/bystander", b"still here")
        raw = RawSession(LOOPBACK, target.port, socket_timeout_s=FATE_WAIT_S)
        raw.connect(timeout_ms=20 * TEST_TICK_TIME_MS)
        assert raw.sock is not None
        request = path_watch(target.path("large"))
        raw.sock.sendall(
            b"".join(
                frame(struct.pack(">ii", xid, OP_GET_DATA) + request)
                for xid in range(1, PIPELINED_READS + 1)
            )
        )
        raw.next_xid = PIPELINED_READS + 1
        healthy_while_queued = _healthy(target, target.path("bystander"))
        xids: list[int] = []
        sizes: set[int] = set()
        errors: set[int] = set()
        for count in range(PIPELINED_READS):
            try:
                if count % PING_EVERY == 0:
                    # Keeps the session alive while a slow reader drains its replies.
                    raw.send(OP_PING, xid=PING_XID)
                item = raw.receive()
            except (ConnectionError, OSError):
                break
            if isinstance(item, Reply):
                xids.append(item.xid)
                sizes.add(len(item.body))
                errors.add(item.err)
            raw.frames.clear()
        try:
            then = str(raw.call(OP_EXISTS, path_watch("/")).err)
        except (ConnectionError, OSError) as error:
            then = type(error).__name__
        raw.close_session()
        return {
            "replies": len(xids),
            "in_order": xids == list(range(1, len(xids) + 1)),
            "errors": sorted(errors),
            "body_sizes": sorted(sizes),
            "then": then,
            "healthy_while_queued": healthy_while_queued,
        }

    settings: dict[str, str | int] = {"maxClientCnxns": 60}
    observed = differential.run_with_settings(settings, scenario)
    assert observed == {
        "replies": PIPELINED_READS,
        "in_order": True,
        "errors": [0],
        "body_sizes": [4 + LARGE_NODE_BYTES + 68],  # buffer, then Stat
        "then": "0",
        "healthy_while_queued": {"fresh_session": True, "bystander": b"still here", "ruok": "imok"},
    }


def test_connection_stalled_inside_a_frame(differential: Differential) -> None:
    """A client that stops mid-frame sends no complete packet, so its session is not kept
    alive: the session expires, its ephemeral goes, and the server closes the connection."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        bystander = target.client()
        bystander.create("/bystander", b"still here")
        raw = RawSession(LOOPBACK, target.port, socket_timeout_s=FATE_WAIT_S)
        raw.connect(timeout_ms=2 * TEST_TICK_TIME_MS)
        raw.call(OP_CREATE, create_body(target.path("eph"), flags=EPHEMERAL))
        assert raw.sock is not None
        whole = frame(struct.pack(">ii", 9, OP_EXISTS) + path_watch("/"))
        raw.sock.sendall(whole[:3])  # not even the whole length prefix
        raw.sock.settimeout(FATE_WAIT_S)
        try:
            fate = "closed" if raw.sock.recv(65536) == b"" else "data"
        except TimeoutError:
            fate = "open"
        except ConnectionResetError:
            fate = "reset"
        raw.close()
        return {
            "fate": fate,
            "ephemeral_gone": target.admin().exists(target.path("eph")) is None,
            **_healthy(target, target.path("bystander")),
        }

    observed = differential.run(scenario)
    assert observed == {
        "fate": "closed",
        "ephemeral_gone": True,
        "fresh_session": True,
        "bystander": b"still here",
        "ruok": "imok",
    }


def test_hundred_rapid_connect_close_cycles(differential: Differential) -> None:
    """Alternately: closeSession and wait for the server's close, drop the socket right after
    the handshake, and drop it before the handshake completes."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        target.admin().create(target.path("bystander"), b"still here")
        fates: dict[str, int] = {}
        sessions: set[int] = set()
        for cycle in range(CYCLES):
            kind = ("close_session", "drop_after_handshake", "drop_mid_handshake")[cycle % 3]
            try:
                if kind == "drop_mid_handshake":
                    with socket.create_connection((LOOPBACK, target.port), timeout=FATE_WAIT_S):
                        pass
                    outcome = "ok"
                else:
                    raw = RawSession(LOOPBACK, target.port, socket_timeout_s=FATE_WAIT_S)
                    response = raw.connect(timeout_ms=2 * TEST_TICK_TIME_MS)
                    sessions.add(response.session_id)
                    if kind == "close_session":
                        raw.call(OP_CLOSE_SESSION)
                        assert raw.sock is not None
                        outcome = "ok" if raw.sock.recv(1) == b"" else "not closed"
                    else:
                        outcome = "ok" if response.session_id else "refused"
                    raw.close()
            except (ConnectionError, OSError) as error:
                outcome = type(error).__name__
            key = f"{kind}:{outcome}"
            fates[key] = fates.get(key, 0) + 1
        return {
            "fates": fates,
            "distinct_sessions": len(sessions),
            **_healthy(target, target.path("bystander")),
        }

    observed = differential.run(scenario)
    assert observed == {
        "fates": {
            "close_session:ok": 34,
            "drop_after_handshake:ok": 33,
            "drop_mid_handshake:ok": 33,
        },
        "distinct_sessions": 67,
        "fresh_session": True,
        "bystander": b"still here",
        "ruok": "imok",
    }


def test_read_only_connect_request_to_read_write_server(differential: Differential) -> None:
    """readOnly=true asks for a read-only session if the server can only offer one; a
    read-write server answers readOnly=false and the session writes normally."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        raw = RawSession(LOOPBACK, target.port, socket_timeout_s=FATE_WAIT_S)
        response = raw.connect(read_only=True)
        write = raw.call(OP_CREATE, create_body(target.path("w"))).err
        raw.close_session()
        # A client from before read-only mode sends no readOnly byte at all.
        with socket.create_connection((LOOPBACK, target.port), timeout=FATE_WAIT_S) as sock:
            sock.sendall(frame(connect_request()[:-1]))
            sock.settimeout(FATE_WAIT_S)
            reply = sock.recv(65536)
            (length,) = struct.unpack_from(">i", reply)
            old_client = {"reply_length": length}
            sock.sendall(frame(struct.pack(">ii", 1, OP_CLOSE_SESSION)))
        return {
            "read_only": response.read_only,
            "has_session": response.session_id != 0,
            "write": write,
            "old_client": old_client,
        }

    observed = differential.run(scenario)
    assert observed == {
        "read_only": False,
        "has_session": True,
        "write": 0,
        # Apache answers an old client in the old format, without the readOnly byte.
        "old_client": {"reply_length": 36},
    }
