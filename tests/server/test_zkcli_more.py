"""More of zkCli.sh against both servers, same output once times and zxids are masked:
stat -w, ls -R, ls -s, getEphemerals with a path, getAllChildrenNumber, quotas, sync,
config, version, whoami, create -c / -t and addWatch -m PERSISTENT_RECURSIVE in a script."""

import pytest

from zkrecipes.testing.apache import ZKCLI
from zkrecipes.testing.differential import Differential
from zkrecipes.testing.targets import ZkTarget
from zkrecipes.testing.zkcli import CliResult, run_zkcli

pytestmark = pytest.mark.skipif(
    not ZKCLI.is_file(), reason="zkCli.sh from the Debian zookeeper package is not installed"
)


def _script(target: ZkTarget, script: str) -> CliResult:
    target.ensure_root()
    return run_zkcli(target.hosts, script=script.replace("/R", target.root), root=target.root)


def _events(result: CliResult) -> list[str]:
    return [line for line in result.stdout if line.startswith("WatchedEvent")]


def test_zkcli_stat_watch_and_listing(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> CliResult:
        return _script(
            target,
            "create /R/a da\n"
            "create /R/a/b db\n"
            "create /R/a/b/c\n"
            "create /R/a/d\n"
            "stat -w /R/a\n"
            "set /R/a x\n"
            "stat -w /R/missing\n"
            "create /R/missing\n"
            "ls -R /R\n"
            "ls -s /R/a\n"
            "ls -R -s /R/a\n"
            "ls -w /R/a\n"
            "create /R/a/e\n"
            "quit\n",
        )

    observed = differential.run(scenario)
    assert _events(observed) == [
        "WatchedEvent state:SyncConnected type:None path:null",
        "WatchedEvent state:SyncConnected type:NodeDataChanged path:/ROOT/a",
        "WatchedEvent state:SyncConnected type:NodeCreated path:/ROOT/missing",
        "WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/ROOT/a",
    ]
    tree = observed.stdout[observed.stdout.index("/ROOT") :][:6]
    assert tree == ["/ROOT", "/ROOT/a", "/ROOT/missing", "/ROOT/a/b", "/ROOT/a/d", "/ROOT/a/b/c"]


def test_zkcli_ephemerals_children_number_sync_whoami(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> CliResult:
        return _script(
            target,
            "create /R/d\n"
            "create -e /R/d/e1\n"
            "create -e /R/d/e2\n"
            "create -e /R/x\n"
            "getEphemerals /R/d\n"
            "getEphemerals /R/nothing\n"
            "getAllChildrenNumber /R\n"
            "getAllChildrenNumber /R/d/e1\n"
            "getAllChildrenNumber /R/missing\n"
            "sync /R/d\n"
            "sync /R/missing\n"
            "addauth digest zoe:pw\n"
            "whoami\n"
            "quit\n",
        )

    observed = differential.run(scenario)
    assert observed.stdout[2:] == [
        "[/ROOT/d/e1, /ROOT/d/e2]",
        "[]",
        "4",
        "0",
        "Sync is OK",
        "Sync is OK",
        "Auth scheme: User",
        "digest: zoe",
        "ip: 127.0.0.1",
    ]
    assert observed.stderr[-1] == "Node does not exist: /ROOT/missing"


def test_zkcli_container_ttl_and_recursive_watch(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> CliResult:
        return _script(
            target,
            "create -c /R/box\n"
            "create -c /R/box\n"
            "create -t 5000 /R/ttl data\n"
            "create -t 5000 -s /R/ttls- d\n"
            "create -t 5000 -e /R/ttle\n"
            "create -c -e /R/boxe\n"
            "addWatch -m PERSISTENT_RECURSIVE /R/box\n"
            "create /R/box/in\n"
            "create /R/box/in/deep\n"
            "delete /R/box/in/deep\n"
            "addWatch -m BOGUS /R/box\n"
            "addWatch /R/plain\n"
            "create /R/plain\n"
            "create /R/plain/c\n"
            "quit\n",
        )

    observed = differential.run(scenario)
    # addWatch without -m is PERSISTENT_RECURSIVE in zkCli.
    assert _events(observed)[1:] == [
        "WatchedEvent state:SyncConnected type:NodeCreated path:/ROOT/box/in",
        "WatchedEvent state:SyncConnected type:NodeCreated path:/ROOT/box/in/deep",
        "WatchedEvent state:SyncConnected type:NodeDeleted path:/ROOT/box/in/deep",
        "WatchedEvent state:SyncConnected type:NodeCreated path:/ROOT/plain",
        "WatchedEvent state:SyncConnected type:NodeCreated path:/ROOT/plain/c",
    ]
    assert observed.stderr[:6] == [
        "Created /ROOT/box",
        "Node already exists: /ROOT/box",
        "Created /ROOT/ttl",
        "Created /ROOT/ttls-0000000002",
        "TTLs cannot be used with Ephemeral znodes",
        "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.",
    ]


def test_zkcli_quotas(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> CliResult:
        return _script(
            target,
            "create /R/q\n"
            "setquota -n 2 /R/q\n"
            "listquota /R/q\n"
            "create /R/q/a\n"
            "create /R/q/b\n"
            "create /R/q/c\n"
            "listquota /R/q\n"
            "setquota -b 10 /R/q\n"
            "setquota -N 3 /R/q\n"
            "listquota /R/q\n"
            "create /R/q/d\n"
            "create /R/q/e\n"
            "delquota -n /R/q\n"
            "listquota /R/q\n"
            "delquota /R/q\n"
            "listquota /R/q\n"
            "setquota -n 2 /R/missing\n"
            "create /R/q/sub\n"
            "quit\n",
        )

    observed = differential.run(scenario)
    quota = "Output quota for /ROOT/q count={},bytes={}=;byteHardLimit=-1;countHardLimit={}"
    below = "[Warning]: the count quota you create is less than the existing count:4"
    # Hard limits are recorded but not enforced (zookeeper.enforceQuota is off by default).
    assert observed.stdout[2:] == [
        quota.format(2, -1, -1),
        "Output stat for /ROOT/q count=1,bytes=0",
        quota.format(2, -1, -1),
        "Output stat for /ROOT/q count=4,bytes=0",
        below,
        below,
        quota.format(2, 10, 3),
        "Output stat for /ROOT/q count=4,bytes=0",
        quota.format(-1, 10, 3),
        "Output stat for /ROOT/q count=6,bytes=0",
    ]
    limits = "absolute path is /zookeeper/quota/ROOT/q/zookeeper_limits"
    assert [line for line in observed.stderr if not line.startswith("Created")] == [
        limits,
        limits,
        limits,
        limits,
        limits,
        "quota for /ROOT/q does not exist.",
        "/ROOT/missing does not exist.",
    ]


def test_zkcli_config_and_version(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> CliResult:
        return _script(target, "config\nconfig -s\nversion\nquit\n")

    observed = differential.run(scenario)
    # A standalone server's /zookeeper/config is empty, with aclVersion -1.
    assert observed.stdout[2:13] == [
        "cZxid = ZXID",
        "ctime = TIME",
        "mZxid = ZXID",
        "mtime = TIME",
        "pZxid = ZXID",
        "cversion = 0",
        "dataVersion = 0",
        "aclVersion = -1",
        "ephemeralOwner = 0x0",
        "dataLength = 0",
        "numChildren = 0",
    ]
    assert observed.stdout[13].startswith("ZooKeeper CLI version: 3.8.0")
    assert observed.stderr == []
