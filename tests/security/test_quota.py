"""Quotas as Apache ZooKeeper 3.8.0 keeps and enforces them: zkCli's setquota, listquota and
delquota, the zookeeper_limits / zookeeper_stats nodes, and `enforceQuota`, which turns hard
limits into QuotaExceeded errors. Every test runs the same scenario with the same expected
values on Apache and on our server, each started for the test.
"""

import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (
    MarshallingError,
    NodeExistsError,
    QuotaExceededError,
    RolledBackError,
    RuntimeInconsistency,
)

from zkrecipes.testing.apache import ZKCLI
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import (
    OP_CREATE,
    OP_MULTI,
    OP_SET_DATA,
    RawSession,
    buffer,
    create_body,
    ustring,
)
from zkrecipes.testing.server_process import ServerProcess
from zkrecipes.testing.targets import four_letter_word
from zkrecipes.testing.zkcli import CliResult, run_zkcli

pytestmark = pytest.mark.skipif(
    not ZKCLI.is_file(), reason="zkCli.sh from the Debian zookeeper package is not installed"
)

ServerFactory = Callable[[str, dict[str, str | int]], ServerProcess]
SERVERS = pytest.mark.parametrize("name", ["apache", "ours"])
ENFORCED: dict[str, str | int] = {"enforceQuota": "true"}
QUOTA_EXCEEDED = -125
RUNTIME_INCONSISTENCY = -2
OK = 0


def _client(server: ServerProcess) -> KazooClient:
    zk = KazooClient(hosts=server.hosts, timeout=10.0)
    zk.start(timeout=15.0)
    return zk


@contextmanager
def _connected(server: ServerProcess) -> Iterator[KazooClient]:
    zk = _client(server)
    try:
        yield zk
    finally:
        zk.stop()
        zk.close()


def _zkcli(server: ServerProcess, *commands: str) -> CliResult:
    return run_zkcli(server.hosts, script="".join(f"{c}\n" for c in commands))


def _stats(zk: KazooClient, path: str) -> str:
    data: bytes = zk.get(f"/zookeeper/quota{path}/zookeeper_stats")[0]
    return data.decode()


def _limits(zk: KazooClient, path: str) -> str:
    data: bytes = zk.get(f"/zookeeper/quota{path}/zookeeper_limits")[0]
    return data.decode()


def _quota_lines(server: ServerProcess) -> list[str]:
    """The "Quota exceeded: ..." messages of the server log, without the logger's framing
    (Apache wraps them as "Message:<text> Value:null")."""
    lines = []
    for line in server.log_path.read_text(errors="replace").splitlines():
        start = line.find("Quota exceeded: ")
        if start >= 0:
            end = line.index("]", start) + 1
            lines.append(line[start:end])
    return lines


def _mntr_quota_rows(server: ServerProcess) -> dict[str, str]:
    text = four_letter_word(LOOPBACK, server.port, "mntr")
    rows = dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)
    return {k: v for k, v in rows.items() if "_quota_" in k}


def _raw_err(server: ServerProcess, opcode: int, body: bytes) -> tuple[int, bytes]:
    raw = RawSession(LOOPBACK, server.port)
    raw.connect()
    try:
        reply = raw.call(opcode, body)
        return reply.err, reply.body
    finally:
        raw.close_session()


@SERVERS
def test_zkcli_setquota_listquota_delquota(name: str, zk_server_factory: ServerFactory) -> None:
    server = zk_server_factory(name, {})
    result = _zkcli(
        server,
        "create /a",
        "create /a/b",
        "create /c",
        "setquota -n 5 /a",
        "setquota -b 100 /a",
        "setquota -N 10 /a",
        "setquota -B 1000 /a",
        "listquota /a",
        "get /zookeeper/quota/a/zookeeper_limits",
        "get /zookeeper/quota/a/zookeeper_stats",
        "setquota -n 2 /a/b",
        "setquota -n 2 /",
        "setquota -n 2 /nonexistent",
        "setquota -n x /c",
        "setquota /c",
        "setquota -n 3 -b 4 /c",
        "listquota /c",
        "delquota -n /a",
        "listquota /a",
        "delquota -b /a",
        "listquota /a",
        "delquota -N /a",
        "listquota /a",
        "delquota -B /a",
        "listquota /a",
        "delquota /a",
        "listquota /a",
        "delquota /a",
        "ls /zookeeper/quota",
        "setquota -n 2 /a/b",
        "setquota -n 3 /a",
        "ls -R /zookeeper/quota",
    )
    assert result.stdout[2:] == [
        "Output quota for /a count=5,bytes=100=;byteHardLimit=1000;countHardLimit=10",
        "Output stat for /a count=2,bytes=0",
        "count=5,bytes=100=;byteHardLimit=1000;countHardLimit=10",
        "count=2,bytes=0",
        "Output quota for /a count=-1,bytes=100=;byteHardLimit=1000;countHardLimit=10",
        "Output stat for /a count=2,bytes=0",
        "Output quota for /a count=-1,bytes=-1=;byteHardLimit=1000;countHardLimit=10",
        "Output stat for /a count=2,bytes=0",
        "Output quota for /a count=-1,bytes=-1=;byteHardLimit=1000;countHardLimit=-1",
        "Output stat for /a count=2,bytes=0",
        "Output quota for /a count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=-1",
        "Output stat for /a count=2,bytes=0",
        "Quota does not exist for /a",
        "[]",
        "/zookeeper/quota",
        "/zookeeper/quota/a",
        "/zookeeper/quota/a/b",
        "/zookeeper/quota/a/b/zookeeper_limits",
        "/zookeeper/quota/a/b/zookeeper_stats",
    ]
    limits = "absolute path is /zookeeper/quota/a/zookeeper_limits"
    assert result.stderr == [
        "Created /a",
        "Created /a/b",
        "Created /c",
        limits,
        "/a/b has a parent /a which has a quota",
        "Path must not end with / character",
        "/nonexistent does not exist.",
        "NumberFormatException happens when parsing the option value",
        "org.apache.commons.cli.MissingOptionException: Missing required option: "
        "[-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]",
        "org.apache.commons.cli.AlreadySelectedException: The option 'b' was specified but "
        "an option from this group has already been selected: 'n'",
        "absolute path is /zookeeper/quota/c/zookeeper_limits",
        "quota for /c does not exist.",
        *[limits] * 5,
        "quota for /a does not exist.",
        "/a has a child /a/b which has a quota",
    ]


@SERVERS
def test_stats_node_follows_creates_deletes_and_set_data(
    name: str, zk_server_factory: ServerFactory
) -> None:
    server = zk_server_factory(name, {})
    with _connected(server) as zk:
        zk.create("/s", b"ab")
        _zkcli(server, "setquota -n 100 /s")
        seen = [_limits(zk, "/s"), _stats(zk, "/s")]
        zk.create("/s/a", b"xyz")
        zk.create("/s/a/b")
        seen.append(_stats(zk, "/s"))
        zk.set("/s/a", b"x")
        zk.set("/s", b"")
        seen.append(_stats(zk, "/s"))
        zk.delete("/s/a/b")
        zk.create("/s/e", b"12", ephemeral=True)
        sequential = zk.create("/s/q-", b"1", sequence=True)
        seen.append(_stats(zk, "/s"))
        zk.delete("/s/a")
        failed = zk.transaction()
        failed.create("/s/m", b"mm")
        failed.delete("/s/missing")
        failed.commit()
        seen.append(_stats(zk, "/s"))
        applied = zk.transaction()
        applied.create("/s/m", b"mm")
        applied.set_data("/s/e", b"")
        applied.commit()
        seen.append(_stats(zk, "/s"))
        for child in ("/s/e", sequential, "/s/m", "/s"):
            zk.delete(child)
        seen.append(_stats(zk, "/s"))
        # The quota outlives its node and counts the node again once it is back.
        zk.create("/s", b"new")
        seen.append(_stats(zk, "/s"))
    assert seen == [
        "count=100,bytes=-1=;byteHardLimit=-1;countHardLimit=-1",
        "count=1,bytes=2",
        "count=3,bytes=5",
        "count=3,bytes=1",
        "count=4,bytes=4",
        "count=3,bytes=3",
        "count=4,bytes=3",
        "count=0,bytes=0",
        "count=1,bytes=3",
    ]


@SERVERS
def test_without_enforcement_hard_limits_can_be_exceeded(
    name: str, zk_server_factory: ServerFactory
) -> None:
    server = zk_server_factory(name, {})
    with _connected(server) as zk:
        zk.create("/h", b"")
        _zkcli(server, "setquota -N 2 /h")
        for i in range(3):
            zk.create(f"/h/{i}", b"0123456789")
        t = zk.transaction()
        t.create("/h/m")
        t.set_data("/h/0", b"")
        results = t.commit()
        stats = _stats(zk, "/h")
    assert results[0] == "/h/m"
    assert stats == "count=5,bytes=20"
    assert _quota_lines(server) == []


@SERVERS
def test_enforced_hard_limits_fail_create_set_data_and_multi(
    name: str, zk_server_factory: ServerFactory
) -> None:
    server = zk_server_factory(name, ENFORCED)
    with _connected(server) as zk:
        zk.create("/q", b"")
        zk.create("/b", b"0123")
        _zkcli(server, "setquota -N 3 /q", "setquota -B 5 /b")
        zk.create("/q/1")
        zk.create("/q/2")
        with pytest.raises(QuotaExceededError):
            zk.create("/q/3")
        with pytest.raises(QuotaExceededError):
            zk.set("/b", b"012345")
        zk.set("/b", b"01234")
        create_err, _ = _raw_err(server, OP_CREATE, create_body("/q/raw"))
        set_err, _ = _raw_err(server, OP_SET_DATA, ustring("/b") + buffer(b"0123456") + b"\xff" * 4)

        before = (zk.get("/q")[1], zk.get("/b")[1], _stats(zk, "/q"), _stats(zk, "/b"))
        t = zk.transaction()
        t.create("/other")
        t.set_data("/b", b"x")
        t.create("/q/m")
        t.create("/other2")
        results = t.commit()
        after = (zk.get("/q")[1], zk.get("/b")[1], _stats(zk, "/q"), _stats(zk, "/b"))
        applied = [zk.exists(p) is not None for p in ("/other", "/q/m", "/other2")]
        data = zk.get("/b")[0]
        children = sorted(zk.get_children("/q"))
        rows = _mntr_quota_rows(server)

    assert (create_err, set_err) == (QUOTA_EXCEEDED, QUOTA_EXCEEDED)
    assert [type(r) for r in results] == [
        RolledBackError,
        RolledBackError,
        QuotaExceededError,
        RuntimeInconsistency,
    ]
    assert after == before
    assert applied == [False, False, False]
    assert (data, children) == (b"01234", ["1", "2"])
    assert _quota_lines(server) == [
        "Quota exceeded: /q [current count=4, hardCountLimit=3]",
        "Quota exceeded: /b [current bytes=6, hardByteLimit=5]",
        "Quota exceeded: /q [current count=4, hardCountLimit=3]",
        "Quota exceeded: /b [current bytes=7, hardByteLimit=5]",
        "Quota exceeded: /q [current count=4, hardCountLimit=3]",
    ]
    assert rows["zk_q_quota_exceeded_error_per_namespace"] == "3"
    assert rows["zk_b_quota_exceeded_error_per_namespace"] == "2"


def _multi_body(*ops: tuple[int, bytes]) -> bytes:
    """A MultiOperationRecord: (type, done=false, err=-1) headers, then the end marker."""
    body = b"".join(struct.pack(">i?i", op, False, -1) + rec for op, rec in ops)
    return body + struct.pack(">i?i", -1, True, -1)


@SERVERS
def test_a_multi_past_a_hard_limit_answers_with_the_raw_error_codes(
    name: str, zk_server_factory: ServerFactory
) -> None:
    server = zk_server_factory(name, ENFORCED)
    with _connected(server) as zk:
        zk.create("/q", b"")
        _zkcli(server, "setquota -N 1 /q")
        err, body = _raw_err(
            server,
            OP_MULTI,
            _multi_body((OP_CREATE, create_body("/x")), (OP_CREATE, create_body("/q/y"))),
        )
        exists = [zk.exists(p) is not None for p in ("/x", "/q/y")]
    # A failed multi answers OK; each result is an error header (type -1, done false, err)
    # and an ErrorResponse: 0 for the ops before the failing one, its code for that op.
    results = []
    offset = 0
    while True:
        kind, done, code = struct.unpack_from(">i?i", body, offset)
        offset += 9
        if done:
            break
        (sub_err,) = struct.unpack_from(">i", body, offset)
        offset += 4
        results.append((kind, code, sub_err))
    assert err == OK
    assert results == [(-1, OK, OK), (-1, QUOTA_EXCEEDED, QUOTA_EXCEEDED)]
    assert exists == [False, False]


@SERVERS
def test_soft_limits_are_logged_and_a_hard_limit_overrides_them(
    name: str, zk_server_factory: ServerFactory
) -> None:
    server = zk_server_factory(name, ENFORCED)
    with _connected(server) as zk:
        zk.create("/n", b"")
        zk.create("/h", b"")
        _zkcli(server, "setquota -n 1 /n", "setquota -n 1 /h", "setquota -N 5 /h")
        zk.create("/n/a", b"")
        zk.create("/n/b", b"xyz")
        zk.create("/h/a", b"")
        zk.create("/h/b", b"")
        stats = (_stats(zk, "/n"), _stats(zk, "/h"))
    assert stats == ("count=3,bytes=3", "count=3,bytes=0")
    assert _quota_lines(server) == [
        "Quota exceeded: /n [current count=2, softCountLimit=1]",
        "Quota exceeded: /n [current count=3, softCountLimit=1]",
    ]


@SERVERS
def test_set_data_is_checked_on_its_size_difference(
    name: str, zk_server_factory: ServerFactory
) -> None:
    server = zk_server_factory(name, ENFORCED)
    outcomes: list[str] = []

    def attempt(write: Callable[[], object]) -> None:
        try:
            write()
            outcomes.append("ok")
        except (QuotaExceededError, NodeExistsError) as e:
            outcomes.append(type(e).__name__)

    with _connected(server) as zk:
        zk.create("/b", b"0123456789")
        # The limit is set below what is already used.
        _zkcli(server, "setquota -B 3 /b")
        attempt(lambda: zk.set("/b", b"01234"))  # shrinks, but stays over the limit
        attempt(lambda: zk.set("/b", b"abcdefghij"))  # same size: not checked
        attempt(lambda: zk.set("/b", b"01"))
        attempt(lambda: zk.set("/b", b"012"))
        attempt(lambda: zk.set("/b", b"0123", version=99))  # quota before version
        attempt(lambda: zk.create("/b/e"))  # no bytes: not checked
        attempt(lambda: zk.create("/b/e", b"x"))  # exists before quota
        attempt(lambda: zk.create("/b/f", b"x"))
        stats = _stats(zk, "/b")
    assert outcomes == [
        "QuotaExceededError",
        "ok",
        "ok",
        "ok",
        "QuotaExceededError",
        "ok",
        "NodeExistsError",
        "QuotaExceededError",
    ]
    assert stats == "count=2,bytes=3"


@SERVERS
def test_multi_ops_are_checked_against_the_usage_before_the_multi(
    name: str, zk_server_factory: ServerFactory
) -> None:
    # Apache checks each op of a multi against the committed usage, not against the ops
    # before it in the same multi: two creates with room for one both pass.
    server = zk_server_factory(name, ENFORCED)
    with _connected(server) as zk:
        zk.create("/q", b"")
        zk.create("/m", b"")
        _zkcli(server, "setquota -N 3 /q", "setquota -B 6 /m")
        zk.create("/q/1")
        two = zk.transaction()
        two.create("/q/m1")
        two.create("/q/m2")
        two_results = two.commit()
        # A setData after a create in the same multi sees the created data (4 of 7 bytes
        # are already counted), so it adds 3 bytes, within the limit of 6.
        grow = zk.transaction()
        grow.create("/m/a", b"1234")
        grow.set_data("/m/a", b"1234567")
        grow_results = grow.commit()
        stats = (_stats(zk, "/q"), _stats(zk, "/m"))
    assert two_results == ["/q/m1", "/q/m2"]
    assert grow_results[0] == "/m/a"
    assert stats == ("count=4,bytes=0", "count=2,bytes=7")


@SERVERS
def test_nested_quotas_only_the_deepest_counts_and_is_enforced(
    name: str, zk_server_factory: ServerFactory
) -> None:
    server = zk_server_factory(name, ENFORCED)
    with _connected(server) as zk:
        zk.create("/n/x/y", makepath=True)
        cli = _zkcli(server, "setquota -N 3 /n", "setquota -N 10 /n/x")
        # zkCli refuses a nested quota; written directly, it takes over its subtree.
        zk.create(
            "/zookeeper/quota/n/x/zookeeper_limits",
            b"count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=10",
            makepath=True,
        )
        zk.create("/zookeeper/quota/n/x/zookeeper_stats", b"count=0,bytes=0")
        seen = [_stats(zk, "/n"), _stats(zk, "/n/x")]
        for i in range(4):
            zk.create(f"/n/x/{i}")
        seen += [_stats(zk, "/n"), _stats(zk, "/n/x")]
        with pytest.raises(QuotaExceededError):
            zk.create("/n/z")
    assert cli.stderr[-1] == "/n/x has a parent /n which has a quota"
    assert seen == ["count=3,bytes=0", "count=2,bytes=0", "count=3,bytes=0", "count=6,bytes=0"]


@SERVERS
def test_unreadable_limits_fail_writes_under_them(
    name: str, zk_server_factory: ServerFactory
) -> None:
    server = zk_server_factory(name, ENFORCED)
    with _connected(server) as zk:
        zk.create("/g", b"")
        _zkcli(server, "setquota -N 3 /g")
        zk.set("/zookeeper/quota/g/zookeeper_limits", b"garbage")
        with pytest.raises(MarshallingError):
            zk.create("/g/a")
        t = zk.transaction()
        t.create("/other")
        t.create("/g/b")
        with pytest.raises(MarshallingError):
            t.commit()
        zk.set("/zookeeper/quota/g/zookeeper_limits", b"count=-1,bytes=-1=;countHardLimit=3")
        zk.create("/g/c")
        present = [zk.exists(p) is not None for p in ("/g/a", "/other", "/g/b", "/g/c")]
    assert present == [False, False, False, True]


@SERVERS
def test_quota_metrics_in_mntr(name: str, zk_server_factory: ServerFactory) -> None:
    server = zk_server_factory(name, ENFORCED)
    with _connected(server) as zk:
        zk.create("/q/a", b"12", makepath=True)
        zk.create("/r", b"abc")
        none_yet = _mntr_quota_rows(server)
        _zkcli(server, "setquota -N 2 /q", "setquota -b 10 /r")
        with pytest.raises(QuotaExceededError):
            zk.create("/q/b")
        rows = _mntr_quota_rows(server)
        four_letter_word(LOOPBACK, server.port, "srst")
        reset = _mntr_quota_rows(server)
    assert none_yet == {}
    assert rows == {
        "zk_q_quota_count_limit_per_namespace": "2",
        "zk_q_quota_bytes_limit_per_namespace": "-1",
        "zk_q_quota_count_usage_per_namespace": "2",
        "zk_q_quota_bytes_usage_per_namespace": "2",
        "zk_r_quota_count_limit_per_namespace": "-1",
        "zk_r_quota_bytes_limit_per_namespace": "10",
        "zk_r_quota_count_usage_per_namespace": "1",
        "zk_r_quota_bytes_usage_per_namespace": "3",
        "zk_q_quota_exceeded_error_per_namespace": "1",
    }
    assert reset == {**rows, "zk_q_quota_exceeded_error_per_namespace": "0"}


@SERVERS
def test_quotas_survive_restarts(name: str, zk_server_factory: ServerFactory) -> None:
    # A small snapCount makes both servers write snapshots that hold the quota nodes, so
    # the restarts load quotas from snapshots as well as from the log.
    server = zk_server_factory(name, {**ENFORCED, "snapCount": 4})
    with _connected(server) as zk:
        zk.create("/q", b"")
        _zkcli(server, "setquota -N 12 /q", "setquota -b 50 /q")
        for i in range(8):
            zk.create(f"/q/{i}", b"d")
        before = (_limits(zk, "/q"), _stats(zk, "/q"))
    seen: list[tuple[str, str]] = []
    for _ in range(2):
        server.stop()
        server.start()
        with _connected(server) as zk:
            zk.create(f"/q/after-{len(seen)}", b"dd")
            seen.append((_limits(zk, "/q"), _stats(zk, "/q")))
    with _connected(server) as zk:
        zk.create("/q/last")
        with pytest.raises(QuotaExceededError):
            zk.create("/q/too-many")
        zk.delete("/q/0")
        final = _stats(zk, "/q")
    listed = _zkcli(server, "listquota /q").stdout[2:]
    limits = "count=-1,bytes=50=;byteHardLimit=-1;countHardLimit=12"
    assert before == (limits, "count=9,bytes=8")
    assert seen == [(limits, "count=10,bytes=10"), (limits, "count=11,bytes=12")]
    assert final == "count=11,bytes=11"
    assert listed == [f"Output quota for /q {limits}", "Output stat for /q count=11,bytes=11"]
