"""Micro benchmarks of the core's hot path: one `Engine.receive` call decodes 100k pipelined
requests, answers or applies each, and encodes every reply into one buffer.

The floor each is compared with: the same 100k frames merely split and their headers unpacked
in pure Python (`split_frames`), i.e. the least work a Python server could do per request.
Run: `pytest benches --benchmark-only`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from benches import frames
from zkrecipes._core import Engine

REQUESTS = 100_000
DATA = b"x" * 100


def new_engine() -> Engine:
    e = Engine(
        now_ms=1,
        min_session_timeout_ms=4000,
        max_session_timeout_ms=40000,
        max_buffer_bytes=64 * 1024 * 1024,
    )
    e.open_connection(1, "127.0.0.1")
    e.receive(1, frames.connect_request(), 1)
    e.receive(1, frames.create(1, "/bench", DATA), 1)
    return e


def pipelined(make: Callable[[int], bytes]) -> bytes:
    return b"".join(make(i + 2) for i in range(REQUESTS))


def replies(out: tuple[object, ...]) -> int:
    sends = out[0]
    assert isinstance(sends, list)
    return sum(len(frames.split_frames(b)) for _, b in sends)


@pytest.mark.benchmark(group="get-100k")
def test_engine_get_100k(benchmark: pytest.FixtureDef) -> None:  # type: ignore[type-arg]
    e = new_engine()
    batch = pipelined(lambda x: frames.get_data(x, "/bench"))
    out = benchmark(lambda: e.receive(1, batch, 2))
    assert len(out[0]) == 1
    body = out[0][0][1]
    xid, _zxid, err = struct.unpack_from(">iqi", body, 4)
    assert (xid, err) == (2, 0)


@pytest.mark.benchmark(group="set-100k")
def test_engine_set_100k(benchmark: pytest.FixtureDef) -> None:  # type: ignore[type-arg]
    e = new_engine()
    batch = pipelined(lambda x: frames.set_data(x, "/bench", DATA))
    out = benchmark.pedantic(lambda: e.receive(1, batch, 2), rounds=5, iterations=1)
    assert out[4] == REQUESTS  # one txn per setData


@pytest.mark.benchmark(group="get-100k")
def test_floor_python_split_get_100k(benchmark: pytest.FixtureDef) -> None:  # type: ignore[type-arg]
    batch = pipelined(lambda x: frames.get_data(x, "/bench"))

    def split_and_unpack() -> int:
        n = 0
        for f in frames.split_frames(batch):
            struct.unpack_from(">ii", f, 0)
            n += 1
        return n

    assert benchmark(split_and_unpack) == REQUESTS
