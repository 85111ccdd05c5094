"""The jobs a worker process runs, and how each meets the coordinator at the shared barrier.

Every job waits at the barrier when its timed phase starts and again when it ends (all replies
in), so the coordinator reads the server's CPU time exactly around the timed work. A fan-out job
meets the barrier twice per round: after its watches are set, and after every notification.
"""

from __future__ import annotations

import selectors
import socket
import struct
import time
from dataclasses import dataclass
from threading import Barrier

from zkrecipes.testing.handshake import recv_frame
from zkserver.bench import protocol as p
from zkserver.bench import workloads
from zkserver.bench.outcome import Outcome
from zkserver.bench.paced import run_paced
from zkserver.bench.session import (
    LINGER_RESET,
    RECV_BYTES,
    close_sessions,
    open_session,
)
from zkserver.bench.streams import StreamConn, run_streams

SESSION_TIMEOUT_MS = 30_000
SOCKET_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Target:
    host: str
    port: int


@dataclass(frozen=True)
class StreamJob:
    target: Target
    workload: str
    tag: str
    connections: int
    depth: int
    ops_per_connection: int
    seconds: float
    data_size: int
    # Requests per second per connection on a fixed schedule (open loop), `depth` the bound
    # on unanswered ones; 0: closed loop, `depth` always outstanding.
    rate_per_connection: float = 0.0


@dataclass(frozen=True)
class ConnectJob:
    target: Target
    slots: int
    ops: int
    seconds: float


@dataclass(frozen=True)
class FanoutJob:
    target: Target
    sessions: int
    rounds: int
    timeout_s: float


Job = StreamJob | ConnectJob | FanoutJob


def run_job(job: Job, worker: int, barrier: Barrier, barrier_timeout_s: float) -> Outcome:
    if isinstance(job, StreamJob):
        return run_stream_job(job, worker, barrier, barrier_timeout_s)
    if isinstance(job, ConnectJob):
        return run_connect_job(job, barrier, barrier_timeout_s)
    return run_fanout_job(job, barrier, barrier_timeout_s)


def run_stream_job(job: StreamJob, worker: int, barrier: Barrier, wait_s: float) -> Outcome:
    data = b"x" * job.data_size
    t = job.target
    socks = [
        open_session(t.host, t.port, SESSION_TIMEOUT_MS, SOCKET_TIMEOUT_S)
        for _ in range(job.connections)
    ]
    try:
        plans = [
            workloads.plan(job.workload, job.tag, worker, c, job.ops_per_connection, data)
            for c in range(job.connections)
        ]
        next_xid = 1
        prepared = [pl.prepare for pl in plans]
        if prepared and all(s is not None for s in prepared):
            conns = [StreamConn(s, pr, 1) for s, pr in zip(socks, prepared, strict=True) if pr]
            prep = Outcome()
            deadline = time.perf_counter() + DRAIN_TIMEOUT_S
            run_streams(conns, job.depth, deadline, deadline, prep)
            if prep.error_count:
                raise RuntimeError(f"preparing {job.workload} failed: {prep.error_sample}")
            next_xid = max(c.next_xid for c in conns)
        conns = [StreamConn(s, pl.measure, next_xid) for s, pl in zip(socks, plans, strict=True)]
        out = Outcome()
        barrier.wait(wait_s)
        cpu0 = time.process_time()
        out.t_start = time.perf_counter()
        stop_at = out.t_start + job.seconds
        give_up_at = stop_at + DRAIN_TIMEOUT_S
        if job.rate_per_connection > 0:
            run_paced(conns, job.rate_per_connection, job.depth, stop_at, give_up_at, out)
        else:
            run_streams(conns, job.depth, stop_at, give_up_at, out)
        out.t_end = time.perf_counter()
        out.cpu_s = time.process_time() - cpu0
        barrier.wait(wait_s)
        close_xid = max((c.next_xid for c in conns), default=1)
    except BaseException:
        for s in socks:
            s.close()
        raise
    failures = close_sessions([(s, close_xid) for s in socks])
    if failures:
        out.errors["close"] += failures
    return out


class ConnectSlot:
    """One session cycle: connect, ConnectRequest, closeSession, reset the socket."""

    def __init__(self, target: Target) -> None:
        self.started = time.perf_counter()
        self.sock = socket.create_connection((target.host, target.port), timeout=SOCKET_TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        self.sock.sendall(p.connect_request(SESSION_TIMEOUT_MS))
        self.buf = bytearray()
        self.connected = False

    def step(self, out: Outcome) -> bool:
        """Reads once; returns True when the cycle is over (done or failed)."""
        chunk = self.sock.recv(RECV_BYTES)
        if not chunk:
            out.error("closed", "server closed a session before answering closeSession")
            return True
        self.buf += chunk
        if len(self.buf) < 4:
            return False
        (length,) = struct.unpack_from(">i", self.buf)
        if len(self.buf) < 4 + length:
            return False
        body = bytes(self.buf[4 : 4 + length])
        del self.buf[: 4 + length]
        if not self.connected:
            if p.session_id_of(body) == 0:
                out.error("refused", "session id 0")
                return True
            self.connected = True
            self.sock.sendall(p.frame(1, p.close_session()))
            return False
        xid, _zxid, err = struct.unpack_from(">iqi", body)
        if xid != 1 or err != 0:
            out.error("close", f"closeSession answered xid {xid} err {err}")
        else:
            out.ops += 1
            out.latencies_us.append((time.perf_counter() - self.started) * 1e6)
        return True


def run_connect_job(job: ConnectJob, barrier: Barrier, wait_s: float) -> Outcome:
    out = Outcome()
    sel = selectors.DefaultSelector()
    barrier.wait(wait_s)
    cpu0 = time.process_time()
    out.t_start = time.perf_counter()
    stop_at = out.t_start + job.seconds
    give_up_at = stop_at + DRAIN_TIMEOUT_S
    started = 0
    try:
        for _ in range(min(job.slots, job.ops)):
            sel.register((slot := ConnectSlot(job.target)).sock, selectors.EVENT_READ, slot)
            started += 1
        while sel.get_map() and time.perf_counter() < give_up_at:
            for key, _ev in sel.select(0.5):
                slot = key.data
                if not slot.step(out):
                    continue
                sel.unregister(slot.sock)
                slot.sock.close()
                if started < job.ops and time.perf_counter() < stop_at:
                    nxt = ConnectSlot(job.target)
                    sel.register(nxt.sock, selectors.EVENT_READ, nxt)
                    started += 1
        for key in list(sel.get_map().values()):
            out.error("timeout", "session cycle unanswered")
            key.fileobj.close()  # type: ignore[union-attr]
    finally:
        sel.close()
    out.t_end = time.perf_counter()
    out.cpu_s = time.process_time() - cpu0
    barrier.wait(wait_s)
    return out


def run_fanout_job(job: FanoutJob, barrier: Barrier, wait_s: float) -> Outcome:
    """Per round: every session sets a data watch on the fan-out node, the barrier lets the
    coordinator send setData, and each session records when its notification arrives."""
    t = job.target
    out = Outcome()
    socks = [
        open_session(t.host, t.port, SESSION_TIMEOUT_MS, SOCKET_TIMEOUT_S)
        for _ in range(job.sessions)
    ]
    try:
        cpu0 = time.process_time()
        for r in range(job.rounds):
            set_watches(socks, r + 1, out)
            barrier.wait(wait_s)
            out.notified_at.append(await_notifications(socks, job.timeout_s, out))
            barrier.wait(wait_s)
        out.cpu_s = time.process_time() - cpu0
    except BaseException:
        for s in socks:
            s.close()
        raise
    failures = close_sessions([(s, job.rounds + 1) for s in socks])
    if failures:
        out.errors["close"] += failures
    return out


def set_watches(socks: list[socket.socket], xid: int, out: Outcome) -> None:
    request = p.frame(xid, p.get_data(workloads.FANOUT_NODE, watch=True))
    for s in socks:
        s.sendall(request)
    for s in socks:
        reply = recv_frame(s)
        got, _zxid, err = struct.unpack_from(">iqi", reply)
        if got != xid or err != 0:
            out.error("watch", f"getData with watch answered xid {got} err {err}")


def await_notifications(socks: list[socket.socket], timeout_s: float, out: Outcome) -> list[float]:
    """When each session received its NodeDataChanged notification (perf_counter seconds)."""
    expected = struct.pack(">ii", p.EVENT_NODE_DATA_CHANGED, 3) + p.ustring(workloads.FANOUT_NODE)
    arrived: list[float] = []
    buffers = {s.fileno(): bytearray() for s in socks}
    sel = selectors.DefaultSelector()
    give_up_at = time.perf_counter() + timeout_s
    try:
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        while sel.get_map() and time.perf_counter() < give_up_at:
            for key, _ev in sel.select(0.5):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                buf = buffers[sock.fileno()]
                chunk = sock.recv(RECV_BYTES)
                if not chunk:
                    sel.unregister(sock)
                    out.error("closed", "server closed a watching session")
                    continue
                buf += chunk
                if len(buf) < 4 or len(buf) < 4 + struct.unpack_from(">i", buf)[0]:
                    continue
                now = time.perf_counter()
                sel.unregister(sock)
                (length,) = struct.unpack_from(">i", buf)
                xid = struct.unpack_from(">i", buf, 4)[0]
                body = bytes(buf[4 + p.REPLY_HEADER_BYTES : 4 + length])
                del buf[: 4 + length]
                if xid != p.NOTIFICATION_XID or body != expected:
                    out.error("notification", f"unexpected frame xid {xid} body {body!r}")
                    continue
                arrived.append(now)
                out.ops += 1
        missing = len(sel.get_map())
        if missing:
            out.errors["timeout"] += missing
            out.error_sample = out.error_sample or f"timeout: {missing} notifications missing"
    finally:
        sel.close()
    return arrived
