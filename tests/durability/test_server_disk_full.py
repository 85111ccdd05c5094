"""The txn log cannot grow: writes stop, reads go on, nothing acknowledged is lost.

The server runs under a file-size limit (RLIMIT_FSIZE) with a small preallocation step, so
the log's next preallocation fails with EFBIG (the kernel also raises SIGXFSZ, which the
server must survive: CPython ignores it at start-up). That is the error a full disk gives a
growing log, without needing a small filesystem.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, NotReadOnlyCallError, SessionExpiredError

from zkrecipes.testing.ours import OurServer

from .server_tree import connected

FILE_SIZE_LIMIT_BYTES = 256 * 1024
PREALLOC_KB = 16
DATA_BYTES = 1000
# More writes than the limit can hold: the loop must meet the failure before this.
WRITES_MAX = 2 * FILE_SIZE_LIMIT_BYTES // DATA_BYTES
FILL_TIMEOUT_S = 120.0
READ_ONLY_CONNECT_TIMEOUT_S = 30.0

# Sets the limit, restores SIGXFSZ's default action (so the server's own start-up decides
# whether it survives the signal) and becomes the server.
LIMITED_EXEC = (
    "import os, resource, signal, sys; "
    "limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); "
    "signal.signal(signal.SIGXFSZ, signal.SIG_DFL); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


class SizeLimitedServer(OurServer):
    """Our server, unable to write any file beyond `FILE_SIZE_LIMIT_BYTES`."""

    def command(self) -> Sequence[str]:
        return [sys.executable, "-c", LIMITED_EXEC, str(FILE_SIZE_LIMIT_BYTES), *super().command()]


def _fill(hosts: str) -> tuple[list[str], BaseException]:
    """Creates nodes until a write fails; returns the acknowledged paths and the failure."""
    acked: list[str] = []
    deadline = time.monotonic() + FILL_TIMEOUT_S
    zk = KazooClient(hosts=hosts, timeout=10.0)
    zk.start(timeout=30.0)
    try:
        zk.create("/full", b"")
        acked.append("/full")
        for i in range(WRITES_MAX):
            assert time.monotonic() < deadline, "writes kept succeeding"
            path = f"/full/n{i:05}"
            try:
                zk.create(path, bytes([i % 251]) * DATA_BYTES)
            except (NotReadOnlyCallError, ConnectionLoss, SessionExpiredError) as e:
                return acked, e
            acked.append(path)
    finally:
        zk.stop()
        zk.close()
    raise AssertionError(f"{WRITES_MAX} writes of {DATA_BYTES} bytes fit under the limit")


def _expected_data(path: str) -> bytes:
    return bytes([int(path[-5:]) % 251]) * DATA_BYTES if path != "/full" else b""


def test_writes_stop_reads_go_on_nothing_acknowledged_is_lost(tmp_path: Path) -> None:
    settings: dict[str, str | int] = {"preAllocSize": PREALLOC_KB}
    limited = SizeLimitedServer(tmp_path, settings=settings)
    limited.start()
    try:
        acked, failure = _fill(limited.hosts)
        assert len(acked) > 10, "the log failed before any real load"
        assert limited.is_running(), f"the server died:\n{limited.log_tail()}"
        assert "the txn log failed" in limited.log_tail(size=1 << 20)

        # Read-only from now on: reads answer, writes are refused.
        zk = KazooClient(hosts=limited.hosts, timeout=10.0, read_only=True)
        zk.start(timeout=READ_ONLY_CONNECT_TIMEOUT_S)
        try:
            for path in acked:
                data, _ = zk.get(path)
                assert data == _expected_data(path), path
            try:
                zk.create("/full/refused", b"")
                raise AssertionError("a write was accepted after the log failed")
            except NotReadOnlyCallError:
                pass
        finally:
            zk.stop()
            zk.close()
        assert limited.is_running()
    finally:
        limited.stop()

    # With room again, every acknowledged write is there and writes work.
    settings["clientPort"] = limited.port
    with OurServer(tmp_path, settings=settings) as server, connected(server.hosts) as zk:
        for path in acked:
            data, _ = zk.get(path)
            assert data == _expected_data(path), path
        zk.create("/full/after", b"room again")
    print(f"disk full: {len(acked)} writes acknowledged, then {failure!r}")
