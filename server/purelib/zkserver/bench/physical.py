"""The physical floors, measured in the same run: fdatasync of a 1 KiB append into a
preallocated file on the data disk, and a loopback TCP round trip between two processes.

Both are measured from Python, as the load generator's latencies are, so `read p50 / RTT`
compares like with like (the generator's own per-request overhead is in both).
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

APPEND_BYTES = 1024
PREALLOC_BYTES = 16 * 1024 * 1024
ECHO_MESSAGE_BYTES = 16
ACCEPT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Floor:
    p50_us: float
    p99_us: float
    samples: int


def summarize(samples_s: list[float]) -> Floor:
    us = sorted(s * 1e6 for s in samples_s)
    return Floor(statistics.median(us), us[min(len(us) - 1, int(len(us) * 0.99))], len(us))


def fsync_latency(directory: Path, samples: int) -> Floor:
    """fdatasync after each 1 KiB append into a file preallocated (and synced) beforehand, as a
    txn log write is."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fsync-probe.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.posix_fallocate(fd, 0, PREALLOC_BYTES)
        os.fsync(fd)
        block = b"\x5a" * APPEND_BYTES
        times = []
        for i in range(min(samples, PREALLOC_BYTES // APPEND_BYTES)):
            t0 = time.perf_counter()
            os.pwrite(fd, block, i * APPEND_BYTES)
            os.fdatasync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return summarize(times)


def _echo(listener: socket.socket, count: int) -> None:
    listener.settimeout(ACCEPT_TIMEOUT_S)
    conn, _addr = listener.accept()
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            data = conn.recv(ECHO_MESSAGE_BYTES)
            if not data:
                return
            conn.sendall(data)


def loopback_rtt(samples: int, warmup: int = 200) -> Floor:
    """Round trip of a 16-byte message to an echo process over 127.0.0.1 TCP."""
    listener = socket.create_server(("127.0.0.1", 0))
    ctx = multiprocessing.get_context("fork")
    echo = ctx.Process(target=_echo, args=(listener, samples + warmup), daemon=True)
    echo.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=ACCEPT_TIMEOUT_S) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            message = b"r" * ECHO_MESSAGE_BYTES
            times = []
            for i in range(samples + warmup):
                t0 = time.perf_counter()
                sock.sendall(message)
                received = 0
                while received < ECHO_MESSAGE_BYTES:
                    chunk = sock.recv(ECHO_MESSAGE_BYTES - received)
                    if not chunk:
                        raise ConnectionError("echo process closed early")
                    received += len(chunk)
                if i >= warmup:
                    times.append(time.perf_counter() - t0)
    finally:
        listener.close()
        echo.join(ACCEPT_TIMEOUT_S)
        if echo.is_alive():
            echo.kill()
    return summarize(times)
