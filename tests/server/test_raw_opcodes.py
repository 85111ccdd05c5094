"""Opcodes kazoo never sends, over the raw client: containers, TTL nodes, getEphemerals,
getAllChildrenNumber, multiRead."""

import struct
import time
from typing import Any

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import (
    OP_CREATE,
    OP_CREATE_CONTAINER,
    OP_CREATE_TTL,
    OP_GET_ALL_CHILDREN_NUMBER,
    OP_GET_CHILDREN,
    OP_GET_DATA,
    OP_GET_EPHEMERALS,
    OP_MULTI_READ,
    RawSession,
    create_body,
    path_watch,
    ustring,
)
from zkrecipes.testing.targets import ZkTarget

FLAG_EPHEMERAL = 1
FLAG_CONTAINER = 4
FLAG_PERSISTENT_WITH_TTL = 5
SWEEP_WAIT_S = 20.0


def _session(target: ZkTarget) -> RawSession:
    target.ensure_root()
    raw = RawSession(LOOPBACK, target.port)
    raw.connect()
    return raw


def _wait_gone(target: ZkTarget, relative: str) -> bool:
    deadline = time.monotonic() + SWEEP_WAIT_S
    while time.monotonic() < deadline:
        if target.admin().exists(target.path(relative)) is None:
            return True
        time.sleep(0.2)
    return False


def test_container_removed_after_last_child(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        try:
            path = target.path("box")
            reply = raw.call(OP_CREATE_CONTAINER, create_body(path, flags=FLAG_CONTAINER))
            reader = reply.reader()
            created = (reply.err, str(reader.read_ustring()).removeprefix(target.root))
            # The opcode decides the mode: flags 0 are accepted.
            flags_zero = raw.call(OP_CREATE_CONTAINER, create_body(target.path("b2"))).err
            child = raw.call(OP_CREATE, create_body(path + "/c")).err
            stat = target.admin().exists(path)
            target.admin().delete(path + "/c")
            return {
                "created": created,
                "flags_zero": flags_zero,
                "child": child,
                "owner_marker": stat.ephemeralOwner,
                "removed": _wait_gone(target, "box"),
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "created": (0, "/box"),
        "flags_zero": 0,
        "child": 0,
        "owner_marker": 0,
        "removed": True,
    }


def test_ttl_node_expires(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        try:
            ttl = raw.call(
                OP_CREATE_TTL,
                create_body(target.path("ttl"), flags=FLAG_PERSISTENT_WITH_TTL, ttl_ms=300),
            ).err
            zero = raw.call(
                OP_CREATE_TTL,
                create_body(target.path("ttl0"), flags=FLAG_PERSISTENT_WITH_TTL, ttl_ms=0),
            ).err
            plain_flags = raw.call(
                OP_CREATE_TTL, create_body(target.path("ttl1"), flags=0, ttl_ms=300)
            ).err
            return {
                "ttl": ttl,
                "zero": zero,
                "plain_flags": plain_flags,
                "expired": _wait_gone(target, "ttl"),
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {"ttl": 0, "zero": -8, "plain_flags": -8, "expired": True}


def test_get_ephemerals_and_children_count(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        other = target.client()
        other.create("/theirs", b"", ephemeral=True)
        raw = _session(target)
        try:
            for name in ("e1", "e2", "dir/e3"):
                if name.startswith("dir/"):
                    raw.call(OP_CREATE, create_body(target.path("dir")))
                raw.call(OP_CREATE, create_body(target.path(name), flags=FLAG_EPHEMERAL))
            mine = raw.call(OP_GET_EPHEMERALS, ustring(target.root)).reader().read_strings()
            under_dir = raw.call(OP_GET_EPHEMERALS, ustring(target.path("dir"))).reader()
            count = raw.call(OP_GET_ALL_CHILDREN_NUMBER, ustring(target.root))
            missing = raw.call(OP_GET_ALL_CHILDREN_NUMBER, ustring(target.path("nope")))
            return {
                "mine": sorted(str(p).removeprefix(target.root) for p in mine),
                "under_dir": [str(p).removeprefix(target.root) for p in under_dir.read_strings()],
                "count": (count.err, count.reader().read_int()),
                "missing": missing.err,
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "mine": ["/dir/e3", "/e1", "/e2"],
        "under_dir": ["/dir/e3"],
        "count": (0, 5),
        "missing": -101,
    }


def _multi_read_body(ops: list[tuple[int, bytes]]) -> bytes:
    body = b""
    for opcode, payload in ops:
        body += struct.pack(">i?i", opcode, False, -1) + payload
    return body + struct.pack(">i?i", -1, True, -1)


def test_multi_read_per_op_results(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/a", b"alpha")
        zk.create("/a/kid", b"")
        raw = _session(target)
        try:
            reply = raw.call(
                OP_MULTI_READ,
                _multi_read_body(
                    [
                        (OP_GET_DATA, path_watch(target.path("a"))),
                        (OP_GET_CHILDREN, path_watch(target.path("a"))),
                        (OP_GET_DATA, path_watch(target.path("missing"))),
                    ]
                ),
            )
            reader = reply.reader()
            results: list[Any] = []
            for _ in range(4):
                kind, done, _err = reader.read_int(), reader.read_bool(), reader.read_int()
                if done:
                    break
                if kind == OP_GET_DATA:
                    results.append(("data", reader.read_buffer(), reader.read_stat()["version"]))
                elif kind == OP_GET_CHILDREN:
                    results.append(("children", reader.read_strings()))
                else:
                    results.append(("error", kind, reader.read_int()))
            return {"err": reply.err, "results": results}
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "err": 0,
        "results": [("data", b"alpha", 0), ("children", ["kid"]), ("error", -1, -101)],
    }
