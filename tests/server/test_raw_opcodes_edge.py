"""Edge cases of the opcodes kazoo never sends, over the raw client: multiRead with failing and
invalid ops, getEphemerals prefixes, getAllChildrenNumber ACLs, whoAmI after addauth and as
super, createContainer and createTTL flag combinations, sync, reconfig and SASL on a
standalone server without SASL."""

import base64
import hashlib
import struct
import time
from typing import Any

from kazoo.security import make_digest_acl

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import (
    AUTH_XID,
    OP_AUTH,
    OP_CREATE,
    OP_CREATE2,
    OP_CREATE_CONTAINER,
    OP_CREATE_TTL,
    OP_DELETE,
    OP_EXISTS,
    OP_GET_ALL_CHILDREN_NUMBER,
    OP_GET_CHILDREN,
    OP_GET_DATA,
    OP_GET_EPHEMERALS,
    OP_MULTI,
    OP_MULTI_READ,
    OP_RECONFIG,
    OP_SASL,
    OP_SET_DATA,
    OP_SYNC,
    OP_WHO_AM_I,
    RawSession,
    Reader,
    auth_body,
    buffer,
    create_body,
    path_watch,
    ustring,
)
from zkrecipes.testing.targets import ZkTarget

FLAG_EPHEMERAL = 1
FLAG_SEQUENTIAL = 2
FLAG_EPHEMERAL_SEQUENTIAL = 3
FLAG_CONTAINER = 4
FLAG_TTL = 5
FLAG_SEQUENTIAL_TTL = 6
MAX_TTL_MS = (1 << 40) - 1
SWEEP_WAIT_S = 20.0
FATE_WAIT_S = 2.0
SUPER_PASSWORD = "boss"
SUPER_SETTINGS: dict[str, str | int] = {
    "DigestAuthenticationProvider.superDigest": "super:"
    + base64.b64encode(hashlib.sha1(f"super:{SUPER_PASSWORD}".encode()).digest()).decode()
}


def _session(target: ZkTarget) -> RawSession:
    target.ensure_root()
    raw = RawSession(LOOPBACK, target.port, socket_timeout_s=FATE_WAIT_S)
    raw.connect()
    return raw


def _multi_body(ops: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(struct.pack(">i?i", opcode, False, -1) + payload for opcode, payload in ops)
    return body + struct.pack(">i?i", -1, True, -1)


def _multi_results(reader: Reader, root: str) -> list[Any]:
    """MultiResponse entries until the done marker (or the end of the body)."""
    results: list[Any] = []
    for _ in range(64):
        if reader.remaining() < 9:
            results.append(("truncated", reader.remaining()))
            break
        kind, done, err = reader.read_int(), reader.read_bool(), reader.read_int()
        if done:
            results.append(("done", kind, err))
            break
        if kind == OP_GET_DATA:
            data, stat = reader.read_buffer(), reader.read_stat()
            results.append(("data", data, stat["version"], stat["numChildren"]))
        elif kind == OP_GET_CHILDREN:
            results.append(("children", sorted(str(c) for c in reader.read_strings())))
        elif kind == -1:
            results.append(("error", reader.read_int()))
        elif kind in (OP_CREATE, OP_CREATE2):
            results.append(("create", str(reader.read_ustring()).removeprefix(root)))
        else:
            results.append(("other", kind, err))
    return results


def _who_am_i(raw: RawSession) -> tuple[int, list[tuple[str | None, str | None]]]:
    reply = raw.call(OP_WHO_AM_I)
    reader = reply.reader()
    return reply.err, [
        (reader.read_ustring(), reader.read_ustring()) for _ in range(reader.read_int())
    ]


def _auth(raw: RawSession, scheme: str, credential: str) -> int:
    return raw.call(OP_AUTH, auth_body(scheme, credential.encode()), xid=AUTH_XID).err


def _connection_fate(raw: RawSession) -> str:
    """Whether the server then closes this connection or still answers a request."""
    try:
        return "open" if raw.call(OP_EXISTS, path_watch("/")).err == 0 else "error"
    except (ConnectionError, OSError):
        return "closed"


def test_multi_read_mixed_results_and_watches(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        owner = target.client(auth_data=[("digest", "o:pw")])
        owner.create("/a", b"alpha")
        owner.create("/a/k1", b"")
        owner.create("/a/k2", b"")
        owner.create("/secret", b"s", acl=[make_digest_acl("o", "pw", all=True)])
        raw = _session(target)
        p = target.path
        try:
            reply = raw.call(
                OP_MULTI_READ,
                _multi_body(
                    [
                        (OP_GET_CHILDREN, path_watch(p("missing"))),
                        (OP_GET_DATA, path_watch(p("a"), True)),
                        (OP_GET_DATA, path_watch(p("secret"))),
                        (OP_GET_CHILDREN, path_watch(p("a"), True)),
                        (OP_GET_CHILDREN, path_watch(p("secret"))),
                    ]
                ),
            )
            empty = raw.call(OP_MULTI_READ, _multi_body([]))
            # The watches set inside multiRead are real watches.
            raw.call(OP_SET_DATA, ustring(p("a")) + buffer(b"beta") + struct.pack(">i", -1))
            raw.call(OP_CREATE, create_body(p("a/k3")))
            events = [
                (n.event_type, str(n.path).removeprefix(target.root)) for n in raw.notifications()
            ]
            return {
                "mixed": (reply.err, _multi_results(reply.reader(), target.root)),
                "empty": (empty.err, _multi_results(empty.reader(), target.root)),
                "events": events,
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "mixed": (
            0,
            [
                ("error", -101),
                ("data", b"alpha", 0, 2),
                ("error", -102),
                ("children", ["k1", "k2"]),
                ("error", -102),
                ("done", -1, -1),
            ],
        ),
        "empty": (0, [("done", -1, -1)]),
        # Apache builds the reads of multiRead without their watch flags: no watch is set.
        "events": [],
    }


def test_multi_read_with_write_op_and_multi_with_read_op(differential: Differential) -> None:
    """A write inside multiRead is a marshalling error after the reads before it; a read inside
    multi (the write transaction) is refused."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/a", b"alpha")
        raw = _session(target)
        p = target.path
        try:
            read_with_write = raw.call(
                OP_MULTI_READ,
                _multi_body(
                    [
                        (OP_GET_DATA, path_watch(p("a"))),
                        (OP_CREATE, create_body(p("new"))),
                        (OP_GET_DATA, path_watch(p("a"))),
                    ]
                ),
            )
            after_read = _connection_fate(raw)
            write_with_read = raw.call(
                OP_MULTI,
                _multi_body(
                    [(OP_CREATE, create_body(p("new2"))), (OP_GET_DATA, path_watch(p("a")))]
                ),
            )
            after_write = _connection_fate(raw)
            return {
                "read_with_write": (
                    read_with_write.err,
                    _multi_results(read_with_write.reader(), target.root),
                ),
                "after_read": after_read,
                "write_with_read": (
                    write_with_read.err,
                    _multi_results(write_with_read.reader(), target.root),
                ),
                "after_write": after_write,
                "created": [zk.exists("/new") is not None, zk.exists("/new2") is not None],
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "read_with_write": (-5, [("truncated", 0)]),
        "after_read": "open",
        "write_with_read": (-5, [("truncated", 0)]),
        "after_write": "open",
        "created": [False, False],
    }


def test_get_ephemerals_prefix_is_a_string_prefix(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        p = target.path
        try:
            raw.call(OP_CREATE, create_body(p("eph")))
            for name in ("e1", "e2", "eph/x", "f1"):
                raw.call(OP_CREATE, create_body(p(name), flags=FLAG_EPHEMERAL))
            raw.call(OP_CREATE, create_body(p("s-"), flags=FLAG_EPHEMERAL_SEQUENTIAL))

            def ephemerals(prefix: str | None) -> tuple[int, list[str]]:
                reply = raw.call(OP_GET_EPHEMERALS, ustring(prefix))
                paths = reply.reader().read_strings() if reply.err == 0 else []
                return reply.err, sorted(str(x).removeprefix(target.root) for x in paths)

            return {
                "string_prefix": ephemerals(p("e")),
                "node_prefix": ephemerals(p("eph")),
                "slash": ephemerals("/"),
                "empty": ephemerals(""),
                "blank": ephemerals("  "),
                "null": ephemerals(None),
                "no_match": ephemerals("/nowhere"),
                "no_slash": ephemerals("relative"),
            }
        finally:
            raw.close_session()

    mine = ["/e1", "/e2", "/eph/x", "/f1", "/s-0000000004"]
    observed = differential.run(scenario)
    assert observed == {
        "string_prefix": (0, ["/e1", "/e2", "/eph/x"]),
        "node_prefix": (0, ["/eph/x"]),
        "slash": (0, mine),
        "empty": (0, mine),
        "blank": (0, mine),
        "null": (0, mine),
        "no_match": (0, []),
        "no_slash": (0, []),
    }


def test_get_all_children_number_acl_and_leaf(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        owner = target.client(auth_data=[("digest", "o:pw")])
        owner.create("/t/a/b", b"", makepath=True)
        owner.create("/t/c", b"")
        owner.create("/hidden", b"", acl=[make_digest_acl("o", "pw", all=True)])
        owner.create("/hidden/x", b"")
        raw = _session(target)
        p = target.path

        def count(path: str) -> tuple[int, int | None]:
            reply = raw.call(OP_GET_ALL_CHILDREN_NUMBER, ustring(path))
            return reply.err, reply.reader().read_int() if reply.reader().remaining() else None

        try:
            return {
                "tree": count(p("t")),
                "leaf": count(p("t/c")),
                "hidden": count(p("hidden")),
                "zookeeper": count("/zookeeper"),
                "bad_path": count("relative"),
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "tree": (0, 3),
        "leaf": (0, 0),
        "hidden": (-102, None),
        "zookeeper": (0, 2),
        "bad_path": (-101, None),
    }


def test_who_am_i_after_addauth(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        try:
            fresh = _who_am_i(raw)
            first = _auth(raw, "digest", "alice:pw")
            after_one = _who_am_i(raw)
            second = _auth(raw, "digest", "bob:pw2")
            again = _auth(raw, "digest", "alice:pw")
            after_two = _who_am_i(raw)
            return {
                "fresh": fresh,
                "auth": [first, second, again],
                "after_one": after_one,
                "after_two": (after_two[0], sorted(after_two[1], key=str)),
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "fresh": (0, [("ip", "127.0.0.1")]),
        "auth": [0, 0, 0],
        "after_one": (0, [("ip", "127.0.0.1"), ("digest", "alice")]),
        "after_two": (0, [("digest", "alice"), ("digest", "bob"), ("ip", "127.0.0.1")]),
    }


def test_who_am_i_as_super(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        try:
            wrong = RawSession(LOOPBACK, target.port, socket_timeout_s=FATE_WAIT_S)
            wrong.connect()
            wrong_auth = _auth(wrong, "digest", "super:not-the-password")
            wrong_who = _who_am_i(wrong)
            wrong.close_session()
            return {
                "auth": _auth(raw, "digest", f"super:{SUPER_PASSWORD}"),
                "who": _who_am_i(raw),
                "wrong_auth": wrong_auth,
                "wrong_who": wrong_who,
            }
        finally:
            raw.close_session()

    observed = differential.run_with_settings(SUPER_SETTINGS, scenario)
    assert observed == {
        "auth": 0,
        "who": (0, [("super", ""), ("digest", "super"), ("ip", "127.0.0.1")]),
        # The digest scheme accepts any password; it only grants super with the right one.
        "wrong_auth": 0,
        "wrong_who": (0, [("ip", "127.0.0.1"), ("digest", "super")]),
    }


def _wait_gone(target: ZkTarget, relative: str) -> bool:
    deadline = time.monotonic() + SWEEP_WAIT_S
    while time.monotonic() < deadline:
        if target.admin().exists(target.path(relative)) is None:
            return True
        time.sleep(0.2)
    return False


def test_create_container_flag_combinations(differential: Differential) -> None:
    """createContainer takes its mode from the opcode; flags only add a sequence suffix or
    fail validation. Plain create with the container flag makes a persistent node."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        p = target.path

        def create(opcode: int, name: str, flags: int, ttl: int | None = None) -> Any:
            reply = raw.call(opcode, create_body(p(name), flags=flags, ttl_ms=ttl))
            if reply.err != 0:
                return reply.err
            reader = reply.reader()
            path = str(reader.read_ustring()).removeprefix(target.root)
            if opcode == OP_CREATE:
                return (0, path)
            stat = reader.read_stat()
            return (0, path, stat["ephemeralOwner"])

        try:
            results = {
                "sequential": create(OP_CREATE_CONTAINER, "cs-", FLAG_SEQUENTIAL),
                "ephemeral": create(OP_CREATE_CONTAINER, "ce", FLAG_EPHEMERAL),
                "ttl_flag": create(OP_CREATE_CONTAINER, "ct", FLAG_TTL),
                "invalid_flag": create(OP_CREATE_CONTAINER, "ci", 7),
                "plain_with_container_flag": create(OP_CREATE, "pc", FLAG_CONTAINER),
                "create2_with_container_flag": create(OP_CREATE2, "pc2", FLAG_CONTAINER),
                "create2_with_ttl_flag": create(OP_CREATE2, "pt", FLAG_TTL),
                "real": create(OP_CREATE_CONTAINER, "real", FLAG_CONTAINER),
            }
            results["children"] = [
                raw.call(OP_CREATE, create_body(p(f"{name}/child"))).err
                for name in ("real", "pc", "ce")
            ]
            for name in ("real", "pc", "ce"):
                raw.call(OP_DELETE, ustring(p(f"{name}/child")) + struct.pack(">i", -1))
        finally:
            raw.close_session()
        # The sweep removes emptied containers, including the one created with the ephemeral
        # flag (it outlived its session); the plain node with the container flag stays.
        results["real_swept"] = _wait_gone(target, "real")
        results["ephemeral_flag_swept"] = _wait_gone(target, "ce")
        results["plain_kept"] = target.admin().exists(p("pc")) is not None
        return results

    observed = differential.run(scenario)
    assert observed == {
        "sequential": (0, "/cs-0000000000", 0),
        "ephemeral": (0, "/ce", 0),
        "ttl_flag": -8,
        "invalid_flag": -8,
        "plain_with_container_flag": (0, "/pc"),
        "create2_with_container_flag": (0, "/pc2", 0),
        "create2_with_ttl_flag": -8,
        "real": (0, "/real", 0),
        "children": [0, 0, 0],
        "real_swept": True,
        "ephemeral_flag_swept": True,
        "plain_kept": True,
    }


def test_create_ttl_flag_combinations(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        p = target.path

        def create(name: str, flags: int, ttl: int) -> Any:
            reply = raw.call(OP_CREATE_TTL, create_body(p(name), flags=flags, ttl_ms=ttl))
            if reply.err != 0:
                return reply.err
            reader = reply.reader()
            path = str(reader.read_ustring()).removeprefix(target.root)
            stat = reader.read_stat()
            return (0, path, stat["ephemeralOwner"])

        try:
            return {
                "sequential_ttl": create("s-", FLAG_SEQUENTIAL_TTL, 60_000),
                "max_ttl": create("max", FLAG_TTL, MAX_TTL_MS),
                "over_max": create("over", FLAG_TTL, MAX_TTL_MS + 1),
                "negative": create("neg", FLAG_TTL, -5),
                "ephemeral": create("eph", FLAG_EPHEMERAL, 1000),
                "container": create("cont", FLAG_CONTAINER, 1000),
                "sequential_no_ttl_mode": create("sq", FLAG_SEQUENTIAL, 1000),
                "exists": create("max", FLAG_TTL, 1000),
                "no_parent": create("no/parent", FLAG_TTL, 1000),
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "sequential_ttl": (0, "/s-0000000000", 0),
        "max_ttl": (0, "/max", 0),
        "over_max": -8,
        "negative": -8,
        "ephemeral": -8,
        "container": -8,
        "sequential_no_ttl_mode": -8,
        "exists": -110,
        "no_parent": -101,
    }


def test_sync_echoes_path(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)

        def sync(path: str) -> tuple[int, str | None, bool]:
            reply = raw.call(OP_SYNC, ustring(path))
            echoed = reply.reader().read_ustring() if reply.body else None
            return reply.err, echoed, reply.zxid == raw.last_zxid

        try:
            raw.call(OP_CREATE, create_body(target.path("n")))
            return {
                "existing": sync("/zookeeper"),
                "missing": sync("/no/such/node"),
                "relative": sync("relative"),
                "root": sync("/"),
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "existing": (0, "/zookeeper", True),
        "missing": (0, "/no/such/node", True),
        "relative": (0, "relative", True),
        "root": (0, "/", True),
    }


def test_reconfig_and_sasl_on_standalone(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        try:
            reconfig = raw.call(
                OP_RECONFIG,
                ustring(None)
                + ustring(None)
                + ustring("server.1=127.0.0.1:2888:3888")
                + struct.pack(">q", -1),
            )
            reconfig_fate = _connection_fate(raw)
            sasl_raw = _session(target)
            sasl = sasl_raw.call(OP_SASL, buffer(b"\x60\x00"))
            sasl_fate = _connection_fate(sasl_raw)
            sasl_raw.close()
            return {
                "reconfig": (reconfig.err, reconfig.body.hex()),
                "reconfig_fate": reconfig_fate,
                "sasl": (sasl.err, sasl.body.hex()),
                "sasl_fate": sasl_fate,
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "reconfig": (-123, ""),  # ReconfigDisabled
        "reconfig_fate": "open",
        "sasl": (0, "ffffffff"),  # SetSASLResponse with a null token
        "sasl_fate": "open",
    }
