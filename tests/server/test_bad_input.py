"""Bad input over raw sockets: the offending connection gets Apache's treatment, and the
server and every other session carry on."""

import socket
import struct
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.handshake import frame
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import (
    OP_CREATE,
    OP_GET_DATA,
    OP_SET_DATA,
    RawSession,
    Reader,
    buffer,
    create_body,
    path_watch,
    ustring,
)
from zkrecipes.testing.targets import ZkTarget

JUTE_MAXBUFFER = 0xFFFFF
FATE_WAIT_S = 3.0
CONNECTIONS_MAX = 1000


def _fate(sock: socket.socket, wait_s: float = FATE_WAIT_S) -> str:
    """What the server does next on this connection: closed, reset, silent, or a reply."""
    sock.settimeout(wait_s)
    try:
        data = sock.recv(65536)
    except TimeoutError:
        return "open"
    except ConnectionResetError:
        return "reset"
    if not data:
        return "closed"
    return _describe_reply(data)


def _describe_reply(data: bytes) -> str:
    if len(data) >= 20:
        reader = Reader(data[4:])
        xid, zxid, err = reader.read_int(), reader.read_long(), reader.read_int()
        return f"reply xid={xid} err={err} zxid={'-1' if zxid == -1 else 'n'}"
    return f"{len(data)} bytes"


def _server_healthy(target: ZkTarget) -> dict[str, Any]:
    """A fresh kazoo session works and the four-letter port answers."""
    zk = target.client()
    zk.create("/alive", b"", ephemeral=True)
    healthy = zk.exists("/alive") is not None
    zk.delete("/alive")
    return {"kazoo": healthy, "ruok": target.four_letter("ruok")}


HEALTHY = {"kazoo": True, "ruok": "imok"}


def _run_raw(target: ZkTarget, action: Callable[[RawSession], str]) -> dict[str, Any]:
    bystander = target.client()
    bystander.ensure_path("/bystander")
    bystander.set("/bystander", b"still here")
    raw = RawSession(LOOPBACK, target.port)
    raw.connect()
    try:
        fate = action(raw)
    finally:
        raw.close()
    return {
        "fate": fate,
        "bystander": bystander.get("/bystander")[0],
        **_server_healthy(target),
    }


def _set_data_frame(path: str, total_length: int) -> bytes:
    """A setData request whose frame body is exactly `total_length` bytes."""
    head = struct.pack(">ii", 1, OP_SET_DATA) + ustring(path)
    data_length = total_length - len(head) - 4 - 4
    body = head + buffer(b"x" * data_length) + struct.pack(">i", -1)
    assert len(body) == total_length
    return struct.pack(">i", total_length) + body


def test_frame_length_cut_off_is_jute_maxbuffer(differential: Differential) -> None:
    """A frame of jute.maxbuffer bytes is served; one byte more closes the connection."""

    def scenario(target: ZkTarget) -> dict[int, str]:
        target.client().create("/big", b"")
        fates: dict[int, str] = {}
        for length in (JUTE_MAXBUFFER, JUTE_MAXBUFFER + 1, JUTE_MAXBUFFER + 1024 + 1):

            def send(raw: RawSession, length: int = length) -> str:
                assert raw.sock is not None
                raw.sock.sendall(_set_data_frame(target.path("big"), length))
                return _fate(raw.sock)

            outcome = _run_raw(target, send)
            fates[length] = outcome.pop("fate")
            assert outcome == {"bystander": b"still here", **HEALTHY}
        return fates

    observed = differential.run(scenario)
    assert observed == {
        JUTE_MAXBUFFER: "reply xid=1 err=0 zxid=n",
        JUTE_MAXBUFFER + 1: "closed",
        JUTE_MAXBUFFER + 1024 + 1: "closed",
    }


def _fate_of_bytes(target: ZkTarget, data: bytes) -> str:
    with socket.create_connection((LOOPBACK, target.port), timeout=FATE_WAIT_S) as sock:
        sock.sendall(data)
        return _fate(sock)


def test_bad_bytes_before_handshake(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        cases = {
            "http_request": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "length_over_maxbuffer": struct.pack(">i", JUTE_MAXBUFFER + 1),
            "length_huge": struct.pack(">i", 0x7FFFFFFF),
            "length_negative": struct.pack(">i", -1),
            "length_zero": struct.pack(">i", 0),
            "connect_too_short": frame(b"hello"),
            "length_at_maxbuffer_body_pending": struct.pack(">i", JUTE_MAXBUFFER),
        }
        fates = {name: _fate_of_bytes(target, data) for name, data in cases.items()}
        return {"fates": fates, **_server_healthy(target)}

    observed = differential.run(scenario)
    assert observed == {
        "fates": {
            "http_request": "closed",
            "length_over_maxbuffer": "closed",
            "length_huge": "closed",
            "length_negative": "closed",
            "length_zero": "closed",
            "connect_too_short": "closed",
            "length_at_maxbuffer_body_pending": "open",
        },
        **HEALTHY,
    }


def test_connect_request_of_garbage_fields(differential: Differential) -> None:
    """A ConnectRequest-sized frame of 0xff bytes is answered, then the connection closes."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        with socket.create_connection((LOOPBACK, target.port), timeout=FATE_WAIT_S) as sock:
            sock.sendall(frame(b"\xff" * 44))
            sock.settimeout(FATE_WAIT_S)
            first = sock.recv(65536)
            reader = Reader(first[4:])
            reply = {
                "protocol_version": reader.read_int(),
                "timeout_ms": reader.read_int(),
                "session_id": reader.read_long(),
            }
            then = _fate(sock)
        return {"reply": reply, "then": then, **_server_healthy(target)}

    observed = differential.run(scenario)
    assert observed == {
        "reply": {"protocol_version": 0, "timeout_ms": 0, "session_id": 0},
        "then": "closed",
        **HEALTHY,
    }


def test_malformed_requests_in_a_session(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        cases: dict[str, bytes] = {
            "header_too_short": frame(b"\x01\x02"),
            "unknown_opcode": frame(struct.pack(">ii", 1, 999)),
            "truncated_body": frame(struct.pack(">ii", 1, OP_GET_DATA) + b"\x00\x00\x10\x00ab"),
            "trailing_bytes": frame(
                struct.pack(">ii", 1, OP_GET_DATA) + path_watch("/") + b"trailing"
            ),
            "negative_length": struct.pack(">i", -5),
            "negative_acl_count": frame(
                struct.pack(">ii", 1, OP_CREATE)
                + ustring(target.path("x"))
                + buffer(b"")
                + struct.pack(">i", -7)
            ),
        }
        fates = {}
        for name, data in cases.items():

            def send(raw: RawSession, data: bytes = data) -> str:
                assert raw.sock is not None
                raw.sock.sendall(data)
                first = _fate(raw.sock)
                if first.startswith("reply"):
                    # Is the connection still usable after an error reply?
                    raw.sock.sendall(frame(struct.pack(">ii", 2, OP_GET_DATA) + path_watch("/")))
                    return f"{first}; then {_fate(raw.sock)}"
                return first

            outcome = _run_raw(target, send)
            fates[name] = outcome.pop("fate")
            assert outcome == {"bystander": b"still here", **HEALTHY}, name
        return fates

    observed = differential.run(scenario)
    assert observed == {
        "header_too_short": "closed",
        "unknown_opcode": "reply xid=1 err=-6 zxid=-1; then closed",
        "truncated_body": "reply xid=1 err=-5 zxid=n; then reply xid=2 err=0 zxid=n",
        "trailing_bytes": "reply xid=1 err=0 zxid=n; then reply xid=2 err=0 zxid=n",
        "negative_length": "closed",
        "negative_acl_count": "reply xid=1 err=-5 zxid=n; then reply xid=2 err=0 zxid=n",
    }


def test_disconnect_mid_request(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        raw = RawSession(LOOPBACK, target.port)
        raw.connect()
        request = frame(
            struct.pack(">ii", 1, OP_CREATE) + create_body(target.path("half"), b"y" * 1000)
        )
        assert raw.sock is not None
        raw.sock.sendall(request[: len(request) // 2])
        raw.close()
        # Mid-handshake as well.
        with socket.create_connection((LOOPBACK, target.port), timeout=FATE_WAIT_S) as sock:
            sock.sendall(struct.pack(">i", 45) + b"\x00" * 10)
        return {
            "half_created": target.admin().exists(target.path("half")) is not None,
            **_server_healthy(target),
        }

    observed = differential.run(scenario)
    assert observed == {"half_created": False, **HEALTHY}


def test_thousand_idle_connections(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        with ExitStack() as stack:
            sockets = [
                stack.enter_context(
                    socket.create_connection((LOOPBACK, target.port), timeout=FATE_WAIT_S)
                )
                for _ in range(CONNECTIONS_MAX)
            ]
            healthy = _server_healthy(target)
            closed = sum(1 for sock in sockets[-20:] if _fate(sock, 0.05) != "open")
            return {"closed_among_last_20": closed, **healthy}

    observed = differential.run_with_settings({"maxClientCnxns": 0}, scenario)
    assert observed == {"closed_among_last_20": 0, **HEALTHY}


def test_max_client_connections_per_ip(differential: Differential) -> None:
    """Each connection completes a handshake before the next opens, so the count is exact."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        sessions: list[RawSession] = []
        fates = []
        try:
            for _ in range(8):
                raw = RawSession(LOOPBACK, target.port, socket_timeout_s=FATE_WAIT_S)
                sessions.append(raw)
                try:
                    fates.append("session" if raw.connect().session_id else "refused")
                except (ConnectionError, OSError):
                    fates.append("closed")
            # Closing one makes room for another once the server has counted the close.
            sessions[0].close_session()
            fates.append("closed")
            for _ in range(50):
                again = RawSession(LOOPBACK, target.port, socket_timeout_s=FATE_WAIT_S)
                sessions.append(again)
                try:
                    fates[-1] = "session" if again.connect().session_id else "refused"
                    break
                except (ConnectionError, OSError):
                    time.sleep(0.1)
        finally:
            for raw in sessions:
                raw.close_session()
        return {"fates": fates}

    observed = differential.run_with_settings({"maxClientCnxns": 5}, scenario)
    assert observed == {"fates": ["session"] * 5 + ["closed"] * 3 + ["session"]}


def test_client_that_never_reads(differential: Differential) -> None:
    """Replies pile up for a client that does not read; everyone else is served."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        writer = target.client()
        writer.create("/large", b"z" * 500_000)
        raw = RawSession(LOOPBACK, target.port)
        raw.connect()
        assert raw.sock is not None
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        request = frame(struct.pack(">ii", 1, OP_GET_DATA) + path_watch(target.path("large")))
        raw.sock.settimeout(FATE_WAIT_S)
        sent = 0
        deadline = time.monotonic() + 10.0
        try:
            while sent < 40 and time.monotonic() < deadline:
                raw.sock.sendall(request)
                sent += 1
        except (TimeoutError, OSError):
            pass
        healthy = _server_healthy(target)
        writer.set("/large", b"changed")
        replies_arrive = _fate(raw.sock).startswith("reply")
        raw.close()
        return {"replies_arrive_when_read": replies_arrive, **healthy}

    observed = differential.run(scenario)
    assert observed == {"replies_arrive_when_read": True, **HEALTHY}
