"""The standalone commit step: group commit of the txn log, and replies held until durable.

The engine applies a write at once and appends its txn to the log (in Rust, inside the same
call). Nothing produced after that apply may reach a client before the txn is on disk, or a
crash could forget a write someone saw. So every engine output is tagged with the last zxid
applied when it was produced and waits in FIFO order until the log is synced up to that zxid.
One fdatasync runs at a time, on a native thread (`LogSyncer`) that never needs the GIL: it
wakes the event loop through a socket when a sync is done. Everything appended meanwhile rides
on the next one, which starts at once (Apache's SyncRequestProcessor batching).

Snapshots: after a randomised number of txns (Apache: snapCount/2 + random(snapCount/2)) the
log is rolled and a copy of the state is written by a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zkrecipes._core import Engine, LogSyncer, TxnLog, recover, release_free_memory
from zkserver.config import ServerConfig

log = logging.getLogger("zkserver.durability")

Output = tuple[Any, ...]
# The loop syncs the log itself (no thread hand-off) only while one connection alone has sent
# requests for this long, and only this many outputs wait: then nobody else's request would
# wait out the fsync behind it.
SOLE_CLIENT_S = 0.01
INLINE_SYNC_MAX_OUTPUTS = 2


class StorageFailed(RuntimeError):
    """The txn log cannot be written: no write may be acknowledged any more."""


def version2(d: Path) -> Path:
    return d / "version-2"


def open_database(cfg: ServerConfig, engine: Engine) -> TxnLog:
    """Recovers the newest snapshot plus the logs after it into `engine` and opens the log.

    A torn tail of the newest log (a crash mid-write) is truncated and logged; damage before
    it stops the server (the exception names the file and offset).
    """
    snap_dir, log_dir = version2(cfg.data_dir), version2(cfg.log_dir)
    snap_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    db = recover(str(snap_dir), str(log_dir), repair_tail=True)
    tail = db.tail
    if tail is not None:
        log.warning("truncated a torn log tail: %s", tail)
    for skipped in db.skipped_snapshots:
        log.warning("skipped an unreadable snapshot: %s", skipped)
    if db.digest_mismatches:
        log.warning("tree digest mismatch after zxids %s", [hex(z) for z in db.digest_mismatches])
    log.info(
        "loaded %s (zxid 0x%x) and replayed %d txns; last zxid 0x%x",
        db.snapshot or "an empty tree",
        db.snapshot_zxid,
        db.replayed,
        db.last_zxid,
    )
    had_snapshot = db.snapshot is not None
    engine.restore(db)
    if not had_snapshot:
        # Apache writes snapshot.0 on first start: a dataDir with logs but no snapshot is
        # refused by Apache ("No snapshot found, but there are log entries").
        path = engine.snapshot_job().write(str(snap_dir), True)
        log.info("wrote initial snapshot %s", path)
    txn_log = TxnLog(
        str(log_dir), prealloc_bytes=cfg.pre_alloc_size_kb * 1024, force_sync=cfg.force_sync
    )
    engine.attach_log(txn_log)
    return txn_log


class CommitPipeline:
    """Holds engine outputs until the txns they depend on are durable, then runs them."""

    def __init__(
        self,
        cfg: ServerConfig,
        engine: Engine,
        txn_log: TxnLog,
        execute: Callable[[Output], None],
        on_failure: Callable[[Exception], None],
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.txn_log = txn_log
        self.execute = execute
        self.on_failure = on_failure
        self.durable_zxid = engine.last_zxid
        self.pending: deque[tuple[int, Output]] = deque()
        self._syncing = False
        self._commit_soon = False
        self._last_conn = 0
        self._shared_until = 0.0
        self._failed: Exception | None = None
        self._since_snapshot = 0
        self._snap_threshold = self._next_threshold()
        self._snapshotting = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._syncer: LogSyncer | None = LogSyncer(txn_log, self.durable_zxid)
        self._loop.add_reader(self._syncer.fileno(), self._synced)

    def _next_threshold(self) -> int:
        half = max(1, self.cfg.snap_count // 2)
        return half + random.randrange(half)

    def note_request(self, conn_id: int) -> None:
        """`conn_id` sent requests: a connection other than the last one means that several
        clients are active, and the thread syncs for a while."""
        if conn_id != self._last_conn:
            self._last_conn = conn_id
            self._shared_until = time.monotonic() + SOLE_CLIENT_S

    def submit(self, out: Output) -> None:
        """Runs `out` now if nothing it depends on awaits a sync, else queues it."""
        txns = out[4]
        # Whatever was produced saw every txn applied so far: it waits for all of them.
        gate = out[5]
        if txns:
            self._since_snapshot += txns
        if gate <= self.durable_zxid and not self.pending:
            self.execute(out)
            return
        self.pending.append((gate, out))
        if not self._syncing and not self._commit_soon and self._failed is None:
            # Decided once this loop pass has handled every socket that was ready.
            self._commit_soon = True
            self._loop.call_soon(self._commit)

    def _commit(self) -> None:
        """Syncs what the last loop pass appended: on the loop itself for a sole client
        writing one request at a time (saving two thread wake-ups, about 30 us of its
        latency and a fifth of the server's CPU per write in a VM), else on the syncer
        thread, which lets the loop go on reading other clients' requests while the disk
        works (syncing on the loop there doubled set-paced p50)."""
        self._commit_soon = False
        if self._syncing or self._failed is not None or not self.pending:
            return
        sole = len(self.pending) <= INLINE_SYNC_MAX_OUTPUTS and (
            time.monotonic() >= self._shared_until
        )
        if not sole or self._syncer is None:
            self._request_sync()
            return
        try:
            durable = self._syncer.sync_here()
        except OSError as e:
            self._fail(e)
            return
        self._advance(durable)

    def _request_sync(self) -> None:
        if self._syncer is not None:
            self._syncing = True
            self._syncer.request()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _synced(self) -> None:
        """The syncer finished a sync: release what it made durable, start the next."""
        if self._syncer is None:
            return
        try:
            durable = self._syncer.completed()
        except OSError as e:
            self._fail(e)
            return
        self._syncing = False
        self._advance(durable)
        if self.pending and self._failed is None:
            self._request_sync()

    def _advance(self, durable: int) -> None:
        self.durable_zxid = max(self.durable_zxid, durable)
        self._release()
        self._maybe_snapshot()

    def _release(self) -> None:
        while self.pending and self.pending[0][0] <= self.durable_zxid:
            _, out = self.pending.popleft()
            self.execute(out)

    def _fail(self, e: Exception) -> None:
        self._failed = e
        self.close()
        dropped = len(self.pending)
        self.pending.clear()
        log.error("the txn log cannot be written (%s): %d outputs dropped", e, dropped)
        self.on_failure(e)

    def _maybe_snapshot(self) -> None:
        if self._since_snapshot < self._snap_threshold or self._snapshotting:
            return
        self._since_snapshot = 0
        self._snap_threshold = self._next_threshold()
        try:
            self.txn_log.roll()
        except OSError as e:
            self._fail(e)
            return
        job = self.engine.snapshot_job()
        self._snapshotting = True
        self._spawn(self._write_snapshot(job))

    async def _write_snapshot(self, job: Any) -> None:
        try:
            path = await asyncio.to_thread(job.write, str(version2(self.cfg.data_dir)), True)
            log.info("wrote snapshot %s", path)
        except OSError as e:
            # The log still holds every txn: a failed snapshot loses nothing.
            log.error("snapshot failed: %s", e)
        finally:
            self._snapshotting = False
            del job  # the tree copy it held goes now, so its pages can go back
            release_free_memory()

    async def drain(self) -> None:
        """Waits until every queued output has been released, then stops the syncer (for
        shutdown)."""
        for _ in range(1000):
            if not self.pending or self._failed is not None:
                break
            if not self._syncing:
                self._request_sync()
            await asyncio.sleep(0.005)
        self.close()

    def close(self) -> None:
        """Stops the sync thread; outputs still pending stay unreleased."""
        syncer, self._syncer = self._syncer, None
        if syncer is not None:
            self._loop.remove_reader(syncer.fileno())
            syncer.close()
