"""`python benches/recovery.py`: restart time on a large dataDir, ours against Apache 3.8,
and txn log append throughput against the write+fdatasync floor.

Recovery: a dataDir holding NODES znodes of 100 bytes is built directly with the log and
snapshot bindings, in two layouts: every node in the txn log after an empty snapshot
(replay), and every node in one snapshot (load). Each server starts on a fresh copy; the
time from spawn to the first accepted session is measured, minus the same server's start on
an empty dataDir (JVM or interpreter start-up), and the ratio Apache/ours printed. Apache
also writes a snapshot before it serves; that is part of its restart.

Append: txns/s with one fdatasync per batch of 1, 10, 100 and 1000 entries through
`TxnLog.append_batch` + `commit`, against the same bytes written by os.write + fdatasync into
a preallocated file.

    python benches/recovery.py [--nodes 100000] [--million] [--skip-apache] [--part append]
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from kazoo.client import KazooClient

from zkrecipes._core import TxnLog, recover
from zkrecipes.testing.apache import ApacheZooKeeper, missing_reason
from zkrecipes.testing.ours import OurServer
from zkrecipes.testing.server_process import ServerProcess

OP_CREATE, OP_CREATE_SESSION = 1, -10
SESSION = 0x100000BE7C4
TIME_MS = 1_700_000_000_000
DATA = b"d" * 100
PERM_ALL = 31
CHUNK = 10_000
START_TIMEOUT_S = 600.0
BATCHES = (1, 10, 100, 1000)
APPEND_SECONDS = 2.0
APPEND_ROUNDS_MAX = 100_000
PREALLOC_BYTES = 64 * 1024 * 1024
REPEATS = 2


# ---- building a dataDir ----


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def _entry(zxid: int, op: int, body: bytes) -> bytes:
    """TxnHeader (clientId, cxid, zxid, time, type) + the txn record."""
    return struct.pack(">qiqqi", SESSION, zxid & 0x7FFFFFFF, zxid, TIME_MS + zxid, op) + body


_WORLD_ANYONE = struct.pack(">i", 1) + struct.pack(">i", PERM_ALL) + _string("world")
_WORLD_ANYONE += _string("anyone")


def _create(zxid: int, path: str, data: bytes) -> bytes:
    body = _string(path) + struct.pack(">i", len(data)) + data + _WORLD_ANYONE
    return _entry(zxid, OP_CREATE, body + b"\x00" + struct.pack(">i", -1))


def build_replay_dir(data_dir: Path, nodes: int) -> int:
    """snapshot.0 of an empty tree, then a log creating /bench and `nodes` children.
    Returns the last zxid."""
    v2 = data_dir / "version-2"
    v2.mkdir(parents=True)
    recover(str(v2), str(v2), trust_empty_snapshot=True).write_snapshot(str(v2))
    log = TxnLog(str(v2), prealloc_bytes=PREALLOC_BYTES)
    log.append_batch([_entry(1, OP_CREATE_SESSION, struct.pack(">i", 30000))])
    log.append_batch([_create(2, "/bench", b"")])
    zxid = 2
    for start in range(0, nodes, CHUNK):
        count = min(CHUNK, nodes - start)
        entries = [_create(zxid + 1 + i, f"/bench/n{start + i:07}", DATA) for i in range(count)]
        log.append_batch(entries)
        zxid += count
    log.commit()
    log.close()
    return zxid


def build_snapshot_dir(replay_dir: Path, data_dir: Path) -> None:
    """The same tree as one snapshot (and the log it came from, which adds nothing)."""
    shutil.copytree(replay_dir, data_dir)
    v2 = str(data_dir / "version-2")
    recover(v2, v2).write_snapshot(v2)


# ---- restart time ----


def timed_start(server: ServerProcess) -> float:
    t0 = time.monotonic()
    server.start(timeout_s=START_TIMEOUT_S)
    return time.monotonic() - t0


def check_served(server: ServerProcess, nodes: int) -> None:
    zk = KazooClient(hosts=server.hosts, timeout=30.0)
    zk.start(timeout=60.0)
    try:
        stat = zk.exists("/bench")
        assert stat is not None and stat.numChildren == nodes, f"{server.name}: {stat}"
        last = f"/bench/n{nodes - 1:07}"
        assert zk.get(last)[0] == DATA
    finally:
        zk.stop()
        zk.close()


def restart_time(make: Callable[[Path], ServerProcess], work: Path, source: Path | None) -> float:
    """Best of REPEATS starts on fresh copies of `source` (None: an empty dataDir)."""
    best = float("inf")
    for i in range(REPEATS):
        workdir = work / f"run-{i}"
        server = make(workdir)
        if source is not None:
            shutil.copytree(source, server.data_dir)
        try:
            best = min(best, timed_start(server))
        finally:
            server.stop()
        shutil.rmtree(workdir)
    return best


def verify_once(make: Callable[[Path], ServerProcess], work: Path, source: Path, n: int) -> None:
    server = make(work / "verify")
    shutil.copytree(source, server.data_dir)
    try:
        server.start(timeout_s=START_TIMEOUT_S)
        check_served(server, n)
    finally:
        server.stop()
    shutil.rmtree(work / "verify")


def recovery_part(nodes: int, work: Path, with_apache: bool) -> None:
    t0 = time.monotonic()
    replay = work / "replay"
    build_replay_dir(replay, nodes)
    snap = work / "snapshot"
    build_snapshot_dir(replay, snap)
    print(f"built {nodes} znodes of {len(DATA)} bytes in {time.monotonic() - t0:.1f} s")
    # Big enough that no snapshot is due while the servers start.
    settings = {"snapCount": 10_000_000}
    makers: dict[str, Callable[[Path], ServerProcess]] = {
        "ours": lambda d: OurServer(d, settings=settings)
    }
    if with_apache:
        makers["apache"] = lambda d: ApacheZooKeeper(d, settings=settings)
    results: dict[tuple[str, str], float] = {}
    for name, make in makers.items():
        base = restart_time(make, work / name, None)
        for layout, source in (("log replay", replay), ("snapshot", snap)):
            verify_once(make, work / name, source, nodes)
            total = restart_time(make, work / name, source)
            results[(name, layout)] = total - base
            print(
                f"{name:7} {layout:11} start {total:6.2f} s, empty-dir start {base:5.2f} s, "
                f"recovery {total - base:6.2f} s"
            )
    if with_apache:
        for layout in ("log replay", "snapshot"):
            ours, apache = results[("ours", layout)], results[("apache", layout)]
            print(f"{layout:11} recovery of {nodes} znodes: apache/ours = {apache / ours:.2f}")


# ---- log append throughput ----


def _set_entries(first_zxid: int, count: int) -> list[bytes]:
    body = _string("/bench/n") + struct.pack(">i", len(DATA)) + DATA + struct.pack(">i", 0)
    return [_entry(z, 5, body) for z in range(first_zxid, first_zxid + count)]


def _frame(entry: bytes) -> bytes:
    # Same size as a log frame (checksum, length, entry, end-of-record); the floor skips
    # the checksum computation.
    return struct.pack(">qi", 0, len(entry)) + entry + b"B"


def append_txnlog(work: Path, batch: int) -> float:
    d = work / f"txnlog-{batch}"
    log = TxnLog(str(d), prealloc_bytes=PREALLOC_BYTES)
    zxid, elapsed, rounds = 1, 0.0, 0
    while elapsed < APPEND_SECONDS and rounds < APPEND_ROUNDS_MAX:
        entries = _set_entries(zxid, batch)
        t0 = time.perf_counter()
        log.append_batch(entries)
        log.commit()
        elapsed += time.perf_counter() - t0
        zxid += batch
        rounds += 1
    log.close()
    shutil.rmtree(d)
    return (zxid - 1) / elapsed


def append_floor(work: Path, batch: int) -> float:
    path = work / f"raw-{batch}.log"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.posix_fallocate(fd, 0, PREALLOC_BYTES)
    os.fsync(fd)
    txns, elapsed, rounds, offset = 0, 0.0, 0, 0
    while elapsed < APPEND_SECONDS and rounds < APPEND_ROUNDS_MAX:
        data = b"".join(_frame(e) for e in _set_entries(txns + 1, batch))
        if offset + len(data) > PREALLOC_BYTES:
            offset = 0
        t0 = time.perf_counter()
        os.pwrite(fd, data, offset)
        os.fdatasync(fd)
        elapsed += time.perf_counter() - t0
        offset += len(data)
        txns += batch
        rounds += 1
    os.close(fd)
    path.unlink()
    return txns / elapsed


def append_part(work: Path) -> None:
    print(f"log append, {len(DATA)}-byte setData txns, one fdatasync per batch, in {work}")
    for batch in BATCHES:
        ours, floor = append_txnlog(work, batch), append_floor(work, batch)
        print(
            f"batch {batch:5}: TxnLog {ours:10.0f} txns/s, write+fdatasync {floor:10.0f} txns/s, "
            f"TxnLog/floor {ours / floor:.2f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--million", action="store_true", help="also 1,000,000 znodes")
    p.add_argument("--skip-apache", action="store_true")
    p.add_argument("--part", choices=("all", "recovery", "append"), default="all")
    p.add_argument("--workdir", type=Path, help="where to build (default: a temporary dir)")
    args = p.parse_args(argv)
    with_apache = not args.skip_apache and missing_reason() is None
    if not args.skip_apache and not with_apache:
        print(f"Apache ZooKeeper unavailable: {missing_reason()}")
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        if args.part in ("all", "append"):
            append_part(work)
        if args.part in ("all", "recovery"):
            sizes = [args.nodes] + ([1_000_000] if args.million else [])
            for n in sizes:
                recovery_part(n, work / f"n{n}", with_apache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
