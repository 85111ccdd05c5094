"""Reading a whole tree through kazoo, to compare what two servers (or two starts) serve."""

from collections.abc import Iterator
from contextlib import contextmanager

from kazoo.client import KazooClient

CONNECT_TIMEOUT_S = 30.0
SESSION_TIMEOUT_S = 10.0
NODES_MAX = 100_000

# (perms, scheme, id)
Acl = tuple[int, str, str]
# data, the whole stat in kazoo's order (czxid, mzxid, ctime, mtime, version, cversion,
# aversion, ephemeralOwner, dataLength, numChildren, pzxid), ACL
Node = tuple[bytes | None, tuple[int, ...], list[Acl]]
Tree = dict[str, Node]


@contextmanager
def connected(hosts: str, auth: list[tuple[str, str]] | None = None) -> Iterator[KazooClient]:
    """A started client, stopped and closed on exit."""
    zk = KazooClient(hosts=hosts, timeout=SESSION_TIMEOUT_S, auth_data=auth or [])
    zk.start(timeout=CONNECT_TIMEOUT_S)
    try:
        yield zk
    finally:
        zk.stop()
        zk.close()


def walk(zk: KazooClient, root: str = "/") -> Tree:
    """Every node under `root` (included): data, stat and ACL."""
    seen: Tree = {}
    pending = [root]
    while pending:
        assert len(seen) < NODES_MAX, "tree larger than expected"
        path = pending.pop()
        data, st = zk.get(path)
        acls, _ = zk.get_acls(path)
        seen[path] = (data, tuple(st), [(a.perms, a.id.scheme, a.id.id) for a in acls])
        base = path.rstrip("/")
        pending.extend(f"{base}/{c}" for c in zk.get_children(path))
    return seen


def diff(left: Tree, right: Tree) -> list[str]:
    """Human-readable differences, empty when the trees are equal."""
    out = [f"only left: {p}" for p in sorted(left.keys() - right.keys())]
    out += [f"only right: {p}" for p in sorted(right.keys() - left.keys())]
    for path in sorted(left.keys() & right.keys()):
        if left[path] != right[path]:
            out.append(f"{path}: {left[path]} != {right[path]}")
    return out
