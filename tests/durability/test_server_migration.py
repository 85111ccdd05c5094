"""A dataDir moves between Apache ZooKeeper 3.8 and our server, both ways, and back.

One server writes, stops cleanly; the other starts on the same dataDir and must serve the
same tree (data, whole stat, ACL of every node, read through kazoo), then writes more and
stops; the first starts again and serves everything. Run with the default snapCount (the
log alone after the first snapshot) and with a small one (several snapshots and logs).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.security import make_acl, make_digest_acl

from zkrecipes.testing.apache import ApacheZooKeeper, missing_reason
from zkrecipes.testing.ours import OurServer
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import OP_CREATE_CONTAINER, OP_CREATE_TTL, RawSession, create_body
from zkrecipes.testing.server_process import ServerProcess

from .server_tree import Tree, connected, diff, walk

pytestmark = [
    pytest.mark.apache,
    pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason())),
]

AUTH = [("digest", "bob:pw")]
NODES = 40
DATA_BYTES = 100
TTL_MS = 3_600_000
FLAG_CONTAINER = 4
FLAG_PERSISTENT_WITH_TTL = 5


def _workload(zk: KazooClient, tag: str) -> None:
    """Every kind of node and stat change: versions, cversion, aversion, pzxid."""
    root = f"/{tag}"
    zk.create(root, b"root")
    for i in range(NODES):
        zk.create(f"{root}/n{i:03}", bytes([i]) * DATA_BYTES)
    for _ in range(3):
        zk.create(f"{root}/seq-", b"s", sequence=True)
    zk.create(f"{root}/secret", b"x", acl=[make_digest_acl("bob", "pw", all=True)])
    zk.set_acls(f"{root}/n000", [make_acl("world", "anyone", read=True, write=True)])
    for v in range(3):
        zk.set(f"{root}/n001", f"version {v + 1}".encode())
    zk.delete(f"{root}/n002")
    zk.create(f"{root}/deep/er/est", b"d", makepath=True)
    tx = zk.transaction()
    tx.create(f"{root}/multi", b"m")
    tx.set_data(f"{root}/n003", b"changed in a multi")
    tx.delete(f"{root}/n004")
    tx.check(f"{root}/n005", 0)
    assert not any(isinstance(r, Exception) for r in tx.commit())


def _containers_and_ttl(server: ServerProcess, tag: str) -> None:
    """Node kinds kazoo cannot create, through a raw session (extendedTypesEnabled is on)."""
    raw = RawSession(LOOPBACK, server.port)
    raw.connect()
    try:
        box = raw.call(OP_CREATE_CONTAINER, create_body(f"/{tag}/box", flags=FLAG_CONTAINER))
        assert box.err == 0
        ttl = create_body(f"/{tag}/ttl", b"t", flags=FLAG_PERSISTENT_WITH_TTL, ttl_ms=TTL_MS)
        assert raw.call(OP_CREATE_TTL, ttl).err == 0
    finally:
        raw.close_session()


def _write_then_stop(server: ServerProcess, tag: str) -> Tree:
    """Runs the workload, closes its session (its ephemerals go) and returns the whole
    tree as the server serves it just before a clean stop."""
    with server:
        with connected(server.hosts, AUTH) as zk:
            _workload(zk, tag)
            _containers_and_ttl(server, tag)
            # A child keeps the container from being swept.
            zk.create(f"/{tag}/box/item", b"keeps the container")
            zk.create(f"/{tag}/eph", b"gone with the session", ephemeral=True)
        with connected(server.hosts, AUTH) as zk:
            tree = walk(zk)
    return tree


def _served(server: ServerProcess) -> Tree:
    with server, connected(server.hosts, AUTH) as zk:
        return walk(zk)


def _servers(tmp_path: Path, snap_count: int, first: str) -> tuple[ServerProcess, ...]:
    data_dir = tmp_path / "data"
    settings: dict[str, str | int] = {"dataDir": str(data_dir), "snapCount": snap_count}
    ours = OurServer(tmp_path / "ours", settings=settings)
    apache = ApacheZooKeeper(tmp_path / "apache", settings=settings)
    return (ours, apache) if first == "ours" else (apache, ours)


def _same(expected: Tree, served: Tree, context: str) -> None:
    # The walking sessions leave createSession/closeSession txns behind; the tree is equal.
    differences = diff(expected, served)
    assert differences == [], f"{context}:\n" + "\n".join(differences[:20])


@pytest.mark.parametrize("snap_count", [100_000, 10], ids=["one-snapshot", "snapCount-10"])
@pytest.mark.parametrize("first", ["ours", "apache"])
def test_a_data_dir_moves_between_servers(tmp_path: Path, first: str, snap_count: int) -> None:
    writer, reader = _servers(tmp_path, snap_count, first)
    written = _write_then_stop(writer, "first")
    # Stat in kazoo's order; numChildren is field 9. (Clients see ephemeralOwner 0 on TTL
    # and container nodes, in Apache too.)
    assert "/first/ttl" in written and "/first/eph" not in written
    assert written["/first/box"][1][9] == 1
    _same(written, _served(reader), f"{reader.name} on {writer.name}'s dataDir")

    both = _write_then_stop(reader, "second")
    assert both.keys() > written.keys()
    _same(both, _served(writer), f"{writer.name} back on the dataDir after {reader.name}")

    version_dir = tmp_path / "data" / "version-2"
    if snap_count < NODES:
        assert len(list(version_dir.glob("snapshot.*"))) > 2, "expected several snapshots"
    apache_log = (tmp_path / "apache" / "server.log").read_text(errors="replace")
    assert "Digests are not matching" not in apache_log
