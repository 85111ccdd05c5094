"""Logs and snapshots written by Apache ZooKeeper 3.8 read back by our reader and recovery."""

from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.security import make_digest_acl

from zkrecipes import _core
from zkrecipes.testing.apache import ApacheZooKeeper, missing_reason

pytestmark = [
    pytest.mark.apache,
    pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason())),
]

OP_MULTI = 14
OP_CREATE_SESSION = -10
# Apache snapshots (and rolls its log) after snapCount/2 to snapCount txns.
SNAP_COUNT = 10
CREATES = 25


Seen = dict[str, tuple[bytes | None, tuple[int, ...], list[tuple[int, str, str]]]]


def _walk(zk: KazooClient) -> Seen:
    """Every node as kazoo sees it: data, stat fields, ACL."""
    seen: Seen = {}
    pending = ["/"]
    while pending:
        path = pending.pop()
        data, stat = zk.get(path)
        acls, _ = zk.get_acls(path)
        seen[path] = (data, tuple(stat), [(a.perms, a.id.scheme, a.id.id) for a in acls])
        base = path.rstrip("/")
        pending.extend(f"{base}/{c}" for c in zk.get_children(path))
    return seen


def _workload(zk: KazooClient) -> None:
    zk.create("/app", b"v1")
    for i in range(CREATES):
        zk.create(f"/app/item-{i:03}", f"data {i}".encode())
    zk.create("/app/seq-", b"s", sequence=True)
    zk.create("/app/eph", b"e", ephemeral=True)
    zk.create("/secret", b"x", acl=[make_digest_acl("bob", "pw", all=True)])
    zk.set("/app", b"v2")
    zk.delete("/app/item-000")
    tx = zk.transaction()
    tx.create("/app/multi", b"m")
    tx.set_data("/app/item-001", b"changed")
    tx.delete("/app/item-002")
    assert not any(isinstance(r, Exception) for r in tx.commit())


def test_our_recovery_rebuilds_what_apache_wrote(tmp_path: Path) -> None:
    server = ApacheZooKeeper(tmp_path, settings={"snapCount": SNAP_COUNT})
    with server:
        # Authenticated as bob so that the walk can read /secret.
        zk = KazooClient(hosts=server.hosts, timeout=10.0, auth_data=[("digest", "bob:pw")])
        zk.start(timeout=30.0)
        try:
            _workload(zk)
            expected = _walk(zk)
            session_id, _ = zk.client_id
            server.stop()
        finally:
            zk.stop()
            zk.close()
    version_dir = server.data_dir / "version-2"
    assert len(list(version_dir.glob("log.*"))) >= 2, "Apache should have rolled its log"

    db = _core.recover(str(version_dir), str(version_dir))
    assert db.snapshot_zxid > 0, "Apache should have taken a snapshot"
    assert db.skipped_snapshots == []
    assert db.tail is None
    assert db.digest_mismatches == []
    assert sorted(db.paths()) == sorted(expected)
    for path, (data, stat, acl) in expected.items():
        node = db.node(path)
        assert node is not None, path
        assert (node[0], node[2], node[1]) == (data, stat, acl), path
    assert session_id in dict(db.sessions())

    entries, tail = _core.read_txn_log(str(version_dir))
    assert tail is None
    zxids = [z for z, _, _ in entries]
    assert zxids == list(range(1, len(zxids) + 1))
    types = [t for _, t, _ in entries]
    assert types[0] == OP_CREATE_SESSION
    assert OP_MULTI in types
