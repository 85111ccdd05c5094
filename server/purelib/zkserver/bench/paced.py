"""The open-loop driver: requests sent on a fixed schedule, whatever the replies do.

A closed loop (`streams.run_streams`) offers each server as much load as it can take, so two
servers are compared at different loads. Here both get the same offered rate, and latency is
counted from the time a request was *scheduled*, not sent: a stalled server cannot slow the
generator down and hide its own stall (coordinated omission, as wrk2 avoids it).

`select()` takes a timeout in microseconds (epoll rounds up to whole milliseconds), and the
timer slack of the process is cut to a microsecond, so sends leave close to their schedule.
"""

from __future__ import annotations

import ctypes
import selectors
import time

from zkserver.bench.outcome import Outcome
from zkserver.bench.streams import StreamConn, count_missing, receive

PR_SET_TIMERSLACK = 29
TIMER_SLACK_NS = 1000
# Late requests sent in one write at most; the rest follow at the next turn.
SEND_BATCH_MAX = 64
SELECT_TIMEOUT_MAX_S = 0.05


def tighten_timer_slack() -> None:
    """Linux lets a sleeping process wake up to 50 µs late by default; ask for 1 µs."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_TIMERSLACK, TIMER_SLACK_NS, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Schedule:
    """Request i of a connection is due at start + (i + phase) / rate."""

    def __init__(self, start: float, rate: float, phase: float) -> None:
        self.start = start
        self.interval = 1.0 / rate
        self.phase = phase

    def due_at(self, i: int) -> float:
        return self.start + (i + self.phase) * self.interval

    def due_by(self, now: float) -> int:
        """How many requests are due by `now`."""
        return max(0, int((now - self.start) / self.interval - self.phase) + 1)


def run_paced(
    conns: list[StreamConn],
    rate_per_conn: float,
    max_outstanding: int,
    stop_at: float,
    give_up_at: float,
    out: Outcome,
) -> None:
    """Sends on every connection at `rate_per_conn` until `stop_at` (phases spread over the
    connections), at most `max_outstanding` unanswered per connection (a request held back
    by that bound still counts its latency from its due time), then waits for the replies
    until `give_up_at`."""
    tighten_timer_slack()
    start = time.perf_counter()
    spread = len(conns) or 1
    schedules = [Schedule(start, rate_per_conn, k / spread) for k in range(len(conns))]
    sel = selectors.SelectSelector()
    try:
        for c in conns:
            sel.register(c.sock, selectors.EVENT_READ, c)
        while True:
            now = time.perf_counter()
            if now >= give_up_at:
                break
            sending = now < stop_at
            if sending:
                for c, sched in zip(conns, schedules, strict=True):
                    send_due(c, sched, now, max_outstanding)
            elif all(c.outstanding == 0 for c in conns):
                break
            wake = next_wake(conns, schedules, max_outstanding) if sending else give_up_at
            timeout = min(max(0.0, wake - time.perf_counter()), SELECT_TIMEOUT_MAX_S)
            for key, _events in sel.select(timeout):
                c = key.data
                receive(c, out)
                if c.received >= c.stream.count:  # closed by the server: its stream ended
                    sel.unregister(c.sock)
        for c in conns:
            c.stream.count = c.sent
        count_missing(conns, out)
    finally:
        sel.close()


def send_due(c: StreamConn, sched: Schedule, now: float, max_outstanding: int) -> None:
    due = min(sched.due_by(now), c.stream.count)
    count = min(due - c.sent, max_outstanding - c.outstanding, SEND_BATCH_MAX)
    if count > 0:
        c.send(count, [sched.due_at(i) for i in range(c.sent, c.sent + count)])


def next_wake(conns: list[StreamConn], schedules: list[Schedule], max_outstanding: int) -> float:
    """The next due time of a connection that may send (one at its bound waits for a reply)."""
    times = [
        sched.due_at(c.sent)
        for c, sched in zip(conns, schedules, strict=True)
        if c.outstanding < max_outstanding
    ]
    return min(times, default=time.perf_counter() + SELECT_TIMEOUT_MAX_S)
