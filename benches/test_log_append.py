"""The txn log append path (`zkrecipes._core.TxnLog`) against its floor: the same bytes written
with os.write and made durable with fdatasync, into a preallocated file on the same disk.

One entry per commit is the latency of a lone write; a group of 100 entries per commit is what
group commit buys. Run: `pytest benches/test_log_append.py --benchmark-only`.
"""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from zkrecipes._core import TxnLog

OP_SET_DATA = 5
PATH = b"/bench/n"
DATA = b"x" * 100
PREALLOC_BYTES = 16 * 1024 * 1024
GROUP = 100
GROUP_ROUNDS = 500


def set_data_entry(zxid: int) -> bytes:
    """TxnHeader (clientId, cxid, zxid, time, type) + SetDataTxn (path, data, version)."""
    header = struct.pack(">qiqqi", 0x1234, zxid & 0x7FFFFFFF, zxid, 1_700_000_000_000, OP_SET_DATA)
    txn = struct.pack(">i", len(PATH)) + PATH + struct.pack(">i", len(DATA)) + DATA
    return header + txn + struct.pack(">i", zxid & 0x7FFFFFFF)


@pytest.fixture
def txn_log(tmp_path: Path) -> Iterator[TxnLog]:
    log = TxnLog(str(tmp_path / "version-2"), prealloc_bytes=PREALLOC_BYTES)
    yield log
    log.close()


@pytest.fixture
def raw_file(tmp_path: Path) -> Iterator[int]:
    fd = os.open(tmp_path / "raw.log", os.O_RDWR | os.O_CREAT, 0o600)
    os.posix_fallocate(fd, 0, PREALLOC_BYTES)
    os.fsync(fd)
    yield fd
    os.close(fd)


def raw_appender(fd: int) -> Callable[[bytes], None]:
    """Appends at the next offset, wrapping inside the preallocated region."""
    offset = [0]

    def append(data: bytes) -> None:
        if offset[0] + len(data) > PREALLOC_BYTES:
            offset[0] = 0
        os.pwrite(fd, data, offset[0])
        offset[0] += len(data)
        os.fdatasync(fd)

    return append


@pytest.mark.benchmark(group="log-append-1")
def test_txnlog_one_entry_per_commit(benchmark: BenchmarkFixture, txn_log: TxnLog) -> None:
    zxids = itertools.count(1)

    def append_commit() -> None:
        zxid = next(zxids)
        txn_log.append_raw(zxid, set_data_entry(zxid))
        txn_log.commit()

    benchmark(append_commit)
    assert txn_log.last_zxid == next(zxids) - 1


@pytest.mark.benchmark(group="log-append-1")
def test_floor_write_fdatasync_one_entry(benchmark: BenchmarkFixture, raw_file: int) -> None:
    append = raw_appender(raw_file)
    entry = set_data_entry(1)
    benchmark(lambda: append(entry))


@pytest.mark.benchmark(group="log-append-100")
def test_txnlog_group_of_100_per_commit(benchmark: BenchmarkFixture, txn_log: TxnLog) -> None:
    zxids = itertools.count(1)

    def next_group() -> tuple[tuple[list[bytes]], dict[str, object]]:
        # Built outside the timed call: the floor does not encode entries either.
        return ([set_data_entry(next(zxids)) for _ in range(GROUP)],), {}

    def append_group(entries: list[bytes]) -> None:
        txn_log.append_batch(entries)
        txn_log.commit()

    benchmark.pedantic(append_group, setup=next_group, rounds=GROUP_ROUNDS)  # type: ignore[no-untyped-call]
    assert txn_log.last_zxid == next(zxids) - 1


@pytest.mark.benchmark(group="log-append-100")
def test_floor_write_fdatasync_group_of_100(benchmark: BenchmarkFixture, raw_file: int) -> None:
    append = raw_appender(raw_file)
    group = b"".join(set_data_entry(z) for z in range(1, GROUP + 1))
    benchmark(lambda: append(group))
