"""Session handshake, resume, expiry and close, observed on the wire."""

import time
from typing import Any

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.handshake import ConnectResponse
from zkrecipes.testing.observe import EventLog
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import OP_CREATE, OP_EXISTS, RawSession, create_body, path_watch
from zkrecipes.testing.targets import ZkTarget
from zkrecipes.testing.zoocfg import TEST_TICK_TIME_MS

EPHEMERAL = 1
EXPIRY_WAIT_S = 20.0


def _handshake(target: ZkTarget, **kwargs: Any) -> tuple[ConnectResponse, bool]:
    """The server's ConnectResponse and whether it then closed the connection."""
    raw = RawSession(LOOPBACK, target.port, socket_timeout_s=3.0)
    response = raw.connect(**kwargs)
    try:
        raw.call(OP_EXISTS, path_watch("/"))
        closed = False
    except (ConnectionError, OSError):
        closed = True
    if closed:
        raw.close()
    else:
        raw.close_session()
    return response, closed


def _shape(response: ConnectResponse) -> dict[str, Any]:
    return {
        "timeout_ms": response.timeout_ms,
        "has_session": response.session_id != 0,
        "password_length": len(response.password),
        "read_only": response.read_only,
    }


def _wait_until_gone(target: ZkTarget, relative: str) -> bool:
    zk = target.admin()
    deadline = time.monotonic() + EXPIRY_WAIT_S
    while time.monotonic() < deadline:
        if zk.exists(target.path(relative)) is None:
            return True
        time.sleep(0.1)
    return False


def test_session_timeout_negotiation_is_clamped(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[int, int]:
        asked = (1, 100, 2 * TEST_TICK_TIME_MS, 1000, 20 * TEST_TICK_TIME_MS, 100_000)
        return {ms: _handshake(target, timeout_ms=ms)[0].timeout_ms for ms in asked}

    observed = differential.run(scenario)
    low, high = 2 * TEST_TICK_TIME_MS, 20 * TEST_TICK_TIME_MS
    assert observed == {1: low, 100: low, low: low, 1000: 1000, high: high, 100_000: high}


def test_session_timeout_bounds_from_config(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[int, int]:
        return {ms: _handshake(target, timeout_ms=ms)[0].timeout_ms for ms in (10, 2000, 60_000)}

    settings: dict[str, str | int] = {"minSessionTimeout": 1500, "maxSessionTimeout": 3000}
    observed = differential.run_with_settings(settings, scenario)
    assert observed == {10: 1500, 2000: 2000, 60_000: 3000}


def test_new_session_handshake_shape(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        first, closed = _handshake(target)
        second, _ = _handshake(target)
        return {
            **_shape(first),
            "closed": closed,
            "distinct_ids": first.session_id != second.session_id,
            "protocol_version": first.protocol_version,
        }

    observed = differential.run(scenario)
    assert observed == {
        "timeout_ms": 4000,
        "has_session": True,
        "password_length": 16,
        "read_only": False,
        "closed": False,
        "distinct_ids": True,
        "protocol_version": 0,
    }


def test_resume_with_wrong_password_is_expired(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        owner = RawSession(LOOPBACK, target.port)
        real = owner.connect()
        owner.call(OP_CREATE, create_body(target.path("mine"), flags=EPHEMERAL))
        wrong = bytes(b ^ 0xFF for b in real.password)
        response, closed = _handshake(target, session_id=real.session_id, password=wrong)
        still_held = target.admin().exists(target.path("mine")) is not None
        owner.close_session()
        return {**_shape(response), "closed": closed, "owner_unaffected": still_held}

    observed = differential.run(scenario)
    assert observed == {
        "timeout_ms": 0,
        "has_session": False,
        "password_length": 16,
        "read_only": False,
        "closed": True,
        "owner_unaffected": True,
    }


def test_resume_with_right_password_keeps_session(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        first = RawSession(LOOPBACK, target.port)
        real = first.connect(timeout_ms=3000)
        first.call(OP_CREATE, create_body(target.path("kept"), flags=EPHEMERAL))
        first.close()
        second = RawSession(LOOPBACK, target.port)
        resumed = second.connect(
            timeout_ms=3000, session_id=real.session_id, password=real.password
        )
        owner = target.admin().exists(target.path("kept"))
        second.close_session()
        return {
            "same_id": resumed.session_id == real.session_id,
            "same_password": resumed.password == real.password,
            "timeout_ms": resumed.timeout_ms,
            "ephemeral_kept": owner is not None and owner.ephemeralOwner == real.session_id,
            "gone_after_close": _wait_until_gone(target, "kept"),
        }

    observed = differential.run(scenario)
    assert observed == {
        "same_id": True,
        "same_password": True,
        "timeout_ms": 3000,
        "ephemeral_kept": True,
        "gone_after_close": True,
    }


def test_resume_after_expiry_is_expired_not_new(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        events = EventLog()
        raw = RawSession(LOOPBACK, target.port)
        real = raw.connect(timeout_ms=2 * TEST_TICK_TIME_MS)
        raw.call(OP_CREATE, create_body(target.path("short"), flags=EPHEMERAL))
        target.admin().exists(target.path("short"), watch=events)
        raw.close()  # no pings: the session expires
        expired = _wait_until_gone(target, "short")
        response, closed = _handshake(target, session_id=real.session_id, password=real.password)
        return {
            "expired": expired,
            "events": [(kind, path.removeprefix(target.root)) for kind, path in events.wait_for(1)],
            **_shape(response),
            "closed": closed,
        }

    observed = differential.run(scenario)
    assert observed == {
        "expired": True,
        "events": [("DELETED", "/short")],
        "timeout_ms": 0,
        "has_session": False,
        "password_length": 16,
        "read_only": False,
        "closed": True,
    }


def test_resume_after_close_session_is_expired(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = RawSession(LOOPBACK, target.port)
        real = raw.connect()
        raw.close_session()
        response, closed = _handshake(target, session_id=real.session_id, password=real.password)
        return {**_shape(response), "closed": closed}

    observed = differential.run(scenario)
    assert observed == {
        "timeout_ms": 0,
        "has_session": False,
        "password_length": 16,
        "read_only": False,
        "closed": True,
    }


def test_kazoo_with_expired_session_id_gets_new_session(differential: Differential) -> None:
    """kazoo takes the expired reply and starts a fresh session instead."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = RawSession(LOOPBACK, target.port)
        real = raw.connect()
        raw.close_session()
        zk = target.client(client_id=(real.session_id, real.password))
        return {"new_id": zk.client_id[0] != real.session_id, "works": zk.exists("/") is not None}

    observed = differential.run(scenario)
    assert observed == {"new_id": True, "works": True}
