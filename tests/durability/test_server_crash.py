"""kill -9 our server at random moments under a write load; every acknowledged write survives.

Each writer thread owns a subtree and issues one write at a time (create, delete with a
version, setData with a version, sequential create, multi), so its writes form a sequence
and an exact model predicts its subtree. When the server dies, the one write in flight per
writer is in doubt: after the restart the subtree must equal the model either with or
without that write. Anything else (a lost acknowledged write, an unacknowledged write other
than the last, a version out of step) fails. Created nodes must also carry zxids in the
order their writer created them.

ZKR_CRASH_KILLS sets the number of kills (default 20) and ZKR_CRASH_SEED replays a run.
"""

from __future__ import annotations

import copy
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionClosedError, ConnectionLoss, SessionExpiredError

from zkrecipes.testing.ours import OurServer

from .server_tree import connected, walk

KILLS = int(os.environ.get("ZKR_CRASH_KILLS", "20"))
SEED = int(os.environ.get("ZKR_CRASH_SEED", str(random.randrange(1 << 32))))
WRITERS = 4
# Small, so that log rolls and background snapshots happen between kills.
SNAP_COUNT = 200
LOAD_S_MIN, LOAD_S_MAX = 0.05, 1.2
JOIN_TIMEOUT_S = 30.0
OPS_PER_ROUND_MAX = 20_000
ROOT = "/crash"
PARENTS = ("n", "seq", "m")

# What a dead server does to a request: its outcome is unknown to the client.
IN_DOUBT = (ConnectionLoss, ConnectionClosedError, SessionExpiredError)

# path -> [data, version, cversion, numChildren]
Model = dict[str, list[object]]


def _add(model: Model, path: str, data: bytes) -> None:
    assert path not in model, path
    model[path] = [data, 0, 0, 0]
    parent = model[path.rsplit("/", 1)[0]]
    parent[2] = int(str(parent[2])) + 1
    parent[3] = int(str(parent[3])) + 1


def _remove(model: Model, path: str) -> None:
    del model[path]
    parent = model[path.rsplit("/", 1)[0]]
    parent[2] = int(str(parent[2])) + 1
    parent[3] = int(str(parent[3])) - 1


def _set(model: Model, path: str, data: bytes) -> None:
    node = model[path]
    node[0] = data
    node[1] = int(str(node[1])) + 1


@dataclass
class Op:
    """One write: how to send it, and what it does to the model once it is applied."""

    name: str
    send: Callable[[KazooClient], object]
    apply: Callable[[Model], None]


@dataclass
class Writer:
    index: int
    rng: random.Random
    model: Model = field(default_factory=dict)
    next_key: int = 0
    in_doubt: Op | None = None
    error: BaseException | None = None
    acked: int = 0

    @property
    def base(self) -> str:
        return f"{ROOT}/w{self.index}"

    def version(self, path: str) -> int:
        return int(str(self.model[path][1]))

    def next_op(self) -> Op:
        b, rng = self.base, self.rng
        counter = f"{b}/counter"
        v = self.version(counter)
        data = f"{self.index}:{self.next_key}".encode() * rng.randint(1, 8)
        created = [p for p in self.model if p.startswith(f"{b}/n/")]
        roll = rng.random()
        if roll < 0.15 and created:
            victim = rng.choice(created)
            return Op(
                f"delete {victim}",
                lambda zk: zk.delete(victim, version=self.version(victim)),
                lambda m: _remove(m, victim),
            )
        self.next_key += 1
        key = f"k{self.next_key:07}"
        if roll < 0.40:
            path = f"{b}/n/{key}"
            return Op(
                f"create {path}", lambda zk: zk.create(path, data), lambda m: _add(m, path, data)
            )
        if roll < 0.65:
            return Op(
                f"set {counter} v{v}",
                lambda zk: zk.set(counter, data, version=v),
                lambda m: _set(m, counter, data),
            )
        if roll < 0.85:
            seq_parent = f"{b}/seq"
            name = f"{seq_parent}/s-{int(str(self.model[seq_parent][2])):010}"
            return Op(
                f"sequential {name}",
                lambda zk: _expect(zk.create(f"{seq_parent}/s-", data, sequence=True), name),
                lambda m: _add(m, name, data),
            )
        path = f"{b}/m/{key}"

        def multi(zk: KazooClient) -> None:
            tx = zk.transaction()
            tx.create(path, data)
            tx.set_data(counter, data, version=v)
            results = tx.commit()
            failed = [r for r in results if isinstance(r, Exception)]
            assert not failed, f"multi failed: {results}"

        def both(m: Model) -> None:
            _add(m, path, data)
            _set(m, counter, data)

        return Op(f"multi {path} + set {counter} v{v}", multi, both)

    def run(self, hosts: str, zk: KazooClient, stop: threading.Event) -> None:
        """Writes one at a time until the server dies or `stop` is set."""
        for _ in range(OPS_PER_ROUND_MAX):
            if stop.is_set():
                return
            op = self.next_op()
            try:
                op.send(zk)
            except IN_DOUBT:
                self.in_doubt = op
                return
            except BaseException as e:  # a refused write: the model and server disagree
                self.error = RuntimeError(f"{hosts}: writer {self.index}: {op.name}: {e!r}")
                return
            op.apply(self.model)
            self.acked += 1


def _expect(actual: str, expected: str) -> str:
    assert actual == expected, f"sequential create returned {actual}, expected {expected}"
    return actual


def _observed(zk: KazooClient, base: str) -> tuple[Model, dict[str, int]]:
    tree = walk(zk, base)
    model: Model = {}
    czxid: dict[str, int] = {}
    for path, (data, st, _acl) in tree.items():
        # st: czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, len, kids, pzxid
        model[path] = [data, st[4], st[5], st[9]]
        czxid[path] = st[0]
    return model, czxid


def _check_zxid_order(czxid: dict[str, int], base: str) -> None:
    """Nodes a writer created later (higher key or sequence number) have higher czxids."""
    for parent in PARENTS:
        prefix = f"{base}/{parent}/"
        ordered = sorted((p for p in czxid if p.startswith(prefix)), key=lambda p: p[-10:])
        zxids = [czxid[p] for p in ordered]
        assert zxids == sorted(zxids), f"czxid out of creation order under {prefix}"


def _setup(hosts: str, rng: random.Random) -> list[Writer]:
    writers = [Writer(i, random.Random(rng.randrange(1 << 32))) for i in range(WRITERS)]
    with connected(hosts) as zk:
        zk.create(ROOT, b"")
        for w in writers:
            zk.create(w.base, b"")
            zk.create(f"{w.base}/counter", b"0")
            for parent in PARENTS:
                zk.create(f"{w.base}/{parent}", b"")
            w.model, _ = _observed(zk, w.base)
    return writers


def _load_then_kill(server: OurServer, writers: list[Writer], load_s: float) -> None:
    stop = threading.Event()
    clients = [KazooClient(hosts=server.hosts, timeout=10.0) for _ in writers]
    threads = []
    try:
        for zk, w in zip(clients, writers, strict=True):
            zk.start(timeout=30.0)
            t = threading.Thread(target=w.run, args=(server.hosts, zk, stop), daemon=True)
            threads.append(t)
            t.start()
        time.sleep(load_s)
        server.kill()
    finally:
        stop.set()
        server.kill()
        for zk in clients:
            zk.stop()
        for t in threads:
            t.join(JOIN_TIMEOUT_S)
        for zk in clients:
            zk.close()
    assert not any(t.is_alive() for t in threads), "a writer did not return after the kill"


def _verify(zk: KazooClient, w: Writer, context: str) -> bool:
    """The subtree equals the model, with or without the write in doubt; the model then
    takes whichever happened. True if a write in doubt turned out applied."""
    observed, czxid = _observed(zk, w.base)
    candidates = [w.model]
    if w.in_doubt is not None:
        applied = copy.deepcopy(w.model)
        w.in_doubt.apply(applied)
        candidates.append(applied)
    if observed not in candidates:
        missing = sorted(w.model.keys() - observed.keys())
        extra = sorted(observed.keys() - w.model.keys())
        changed = sorted(p for p in observed.keys() & w.model.keys() if observed[p] != w.model[p])
        in_doubt = w.in_doubt.name if w.in_doubt else None
        raise AssertionError(
            f"{context}: writer {w.index} subtree differs from its acknowledged writes "
            f"(in doubt: {in_doubt}); missing {missing[:5]}, unexpected {extra[:5]}, "
            f"changed {[(p, w.model[p], observed[p]) for p in changed[:5]]}"
        )
    applied_in_doubt = len(candidates) == 2 and observed == candidates[1]
    w.model = observed
    w.in_doubt = None
    _check_zxid_order(czxid, w.base)
    return applied_in_doubt


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    print(f"crash test: seed {SEED}, {KILLS} kills (ZKR_CRASH_SEED={SEED} replays it)")
    rng = random.Random(SEED)
    server = OurServer(tmp_path, settings={"snapCount": SNAP_COUNT})
    server.start()
    try:
        writers = _setup(server.hosts, rng)
        acked_total = in_doubt_applied = 0
        for kill in range(1, KILLS + 1):
            context = f"seed {SEED}, kill {kill}"
            _load_then_kill(server, writers, rng.uniform(LOAD_S_MIN, LOAD_S_MAX))
            errors = [w.error for w in writers if w.error is not None]
            assert not errors, f"{context}: {errors}"
            server.start()
            with connected(server.hosts) as zk:
                in_doubt_applied += sum(_verify(zk, w, context) for w in writers)
            acked_total += sum(w.acked for w in writers)
            for w in writers:
                w.acked = 0
        print(
            f"crash test: {acked_total} acknowledged writes checked across {KILLS} kills; "
            f"{in_doubt_applied} writes in doubt at a kill had been applied"
        )
        assert acked_total > KILLS, "the load produced almost no acknowledged writes"
        snapshots = list((server.data_dir / "version-2").glob("snapshot.*"))
        assert len(snapshots) > 1, "no background snapshot was taken between kills"
    finally:
        server.stop()
