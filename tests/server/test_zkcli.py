"""Apache's zkCli.sh against both servers: the same output once times and zxids are masked."""

import time
from typing import Any

import pytest
from kazoo.security import make_digest_acl_credential

from zkrecipes.testing.apache import ZKCLI
from zkrecipes.testing.differential import Differential
from zkrecipes.testing.targets import ZkTarget
from zkrecipes.testing.zkcli import CliResult, run_zkcli

pytestmark = pytest.mark.skipif(
    not ZKCLI.is_file(), reason="zkCli.sh from the Debian zookeeper package is not installed"
)


# Longer than the test servers' maxSessionTimeout (20 ticks of 200 ms).
EPHEMERAL_GONE_WAIT_S = 15.0


def _cli(target: ZkTarget, *args: str) -> CliResult:
    return run_zkcli(target.hosts, args, root=target.root)


def _script(target: ZkTarget, script: str) -> CliResult:
    return run_zkcli(target.hosts, script=script.replace("/R", target.root), root=target.root)


def test_zkcli_create_ls_get_set_stat(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[Any]:
        target.ensure_root()
        r = target.root
        commands = [
            ("create", f"{r}/p", "pd"),
            ("create", f"{r}/p/c"),
            ("create", "-s", "-e", f"{r}/p/s-", "data"),
            ("ls", f"{r}/p"),
            ("ls", "-s", f"{r}/p"),
            ("get", "-w", f"{r}/p"),
            ("set", f"{r}/p", "new"),
        ]
        out = [(args[0], _cli(target, *args)) for args in commands]
        # zkCli exits without closing its session: the ephemeral lives until the session
        # expires, at a moment that depends on how fast each JVM starts. Wait for it (bounded)
        # so that the last reads see the same tree on both servers.
        zk = target.client()
        deadline = time.monotonic() + EPHEMERAL_GONE_WAIT_S
        while zk.exists("/p/s-0000000001") is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        out += [
            (args[0], _cli(target, *args))
            for args in (
                ("get", "-s", f"{r}/p"),
                ("stat", f"{r}/p"),
            )
        ]
        return out

    observed = differential.run(scenario)
    assert observed[0][1].stderr == ["Created /ROOT/p"]
    assert observed[2][1].stderr == ["Created /ROOT/p/s-0000000001"]
    assert observed[3][1].stdout[-1] == "[c, s-0000000001]"
    assert observed[5][1].stdout[-1] == "pd"
    assert "dataVersion = 1" in observed[7][1].stdout
    assert "numChildren = 1" in observed[7][1].stdout  # the ephemeral went with its session
    assert "cZxid = ZXID" in observed[8][1].stdout


def test_zkcli_sequential_ephemeral_create(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> CliResult:
        target.ensure_root()
        return _cli(target, "create", "-s", "-e", f"{target.root}/seq-", "x")

    observed = differential.run(scenario)
    assert observed.returncode == 0
    assert observed.stderr == ["Created /ROOT/seq-0000000000"]


def test_zkcli_delete_and_deleteall(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[CliResult]:
        zk = target.client()
        zk.create("/d/e/f", b"", makepath=True)
        r = target.root
        return [
            _cli(target, "delete", f"{r}/d"),
            _cli(target, "delete", f"{r}/missing"),
            _cli(target, "deleteall", f"{r}/d"),
            _cli(target, "ls", f"{r}"),
            _cli(target, "get", f"{r}/d"),
        ]

    observed = differential.run(scenario)
    assert observed[0].stderr == ["Node not empty: /ROOT/d"]
    assert observed[1].stderr == ["Node does not exist: /ROOT/missing"]
    assert observed[2].returncode == 0
    assert observed[3].stdout[-1] == "[]"
    assert observed[4].stderr == ["Node does not exist: /ROOT/d"]


def test_zkcli_acls_and_addauth(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[CliResult]:
        target.ensure_root()
        r = target.root
        return [
            _cli(target, "create", f"{r}/x", "v"),
            _cli(target, "setAcl", f"{r}/x", "world:anyone:r"),
            _cli(target, "getAcl", f"{r}/x"),
            _cli(target, "set", f"{r}/x", "denied"),
            _cli(target, "setAcl", f"{r}/missing", "world:anyone:r"),
            _script(
                target,
                "addauth digest u:p\n"
                f"create /R/y yv digest:{make_digest_acl_credential('u', 'p')}:cdrwa\n"
                "getAcl /R/y\nget /R/y\nwhoami\nquit\n",
            ),
            _cli(target, "get", f"{r}/y"),
        ]

    observed = differential.run(scenario)
    assert observed[2].stdout[-2:] == ["'world,'anyone", ": r"]
    assert observed[3].stderr == ["Insufficient permission : /ROOT/x"]
    assert observed[4].stderr == ["Node does not exist: /ROOT/missing"]
    assert observed[5].stderr == ["Created /ROOT/y"]
    assert observed[5].stdout[2:7] == [
        "'digest,'u:" + make_digest_acl_credential("u", "p").split(":")[1],
        ": cdrwa",
        "yv",
        "Auth scheme: User",
        "ip: 127.0.0.1",
    ]
    assert "digest: u" in observed[5].stdout
    assert observed[6].stderr == ["Insufficient permission : /ROOT/y"]


def test_zkcli_session_commands(differential: Differential) -> None:
    """getEphemerals, whoami, create -c, create -t, getAllChildrenNumber in one session."""

    def scenario(target: ZkTarget) -> CliResult:
        target.ensure_root()
        return _script(
            target,
            "create -e /R/e x\n"
            "create -s -e /R/s- y\n"
            "getEphemerals /R\n"
            "whoami\n"
            "create -c /R/cont\n"
            "create -t 60000 /R/ttl\n"
            "create /R/cont/child\n"
            "stat /R/ttl\n"
            "getAllChildrenNumber /R\n"
            "create -t 0 /R/badttl\n"
            "quit\n",
        )

    observed = differential.run(scenario)
    assert "[/ROOT/e, /ROOT/s-0000000001]" in observed.stdout
    assert observed.stdout[observed.stdout.index("Auth scheme: User") + 1] == "ip: 127.0.0.1"
    assert "Created /ROOT/ttl" in observed.stderr
    assert "5" in observed.stdout
    assert observed.stderr[-1] == "ttl must be positive and cannot be larger than: 1099511627775"


def test_zkcli_add_watch_modes(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> CliResult:
        target.ensure_root()
        return _script(
            target,
            "create /R/x\n"
            "addWatch -m PERSISTENT_RECURSIVE /R/x\n"
            "create /R/x/y\n"
            "set /R/x/y z\n"
            "create /R/w\n"
            "addWatch -m PERSISTENT /R/w\n"
            "create /R/w/c\n"
            "set /R/w v1\n"
            "set /R/w v2\n"
            "delete /R/x/y\n"
            "get -w /R/x\n"
            "set /R/x q\n"
            "quit\n",
        )

    observed = differential.run(scenario)
    events = [line for line in observed.stdout if line.startswith("WatchedEvent")]
    assert events[1:] == [
        "WatchedEvent state:SyncConnected type:NodeCreated path:/ROOT/x/y",
        "WatchedEvent state:SyncConnected type:NodeDataChanged path:/ROOT/x/y",
        "WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/ROOT/w",
        "WatchedEvent state:SyncConnected type:NodeDataChanged path:/ROOT/w",
        "WatchedEvent state:SyncConnected type:NodeDataChanged path:/ROOT/w",
        "WatchedEvent state:SyncConnected type:NodeDeleted path:/ROOT/x/y",
        "WatchedEvent state:SyncConnected type:NodeDataChanged path:/ROOT/x",
    ]
