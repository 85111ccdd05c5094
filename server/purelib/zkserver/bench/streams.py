"""The pipelined request engine of one worker process: several sessions, `depth` requests
outstanding on each, every reply checked (xid in order, err 0, exact length).

One `select` wakes the loop; each readable socket is read once, all complete frames in the
buffer are checked in one pass, and the window is refilled with one `sendall`: per reply, a
struct unpack, three comparisons and an append, so the generator costs about a microsecond of
CPU per request (measured and reported per run, so a saturated generator shows).
"""

from __future__ import annotations

import selectors
import socket
import time

from zkserver.bench import protocol as p
from zkserver.bench.outcome import Outcome
from zkserver.bench.session import RECV_BYTES
from zkserver.bench.workloads import OpStream

SELECT_TIMEOUT_S = 0.5


class StreamConn:
    """One session's stream: requests i = 0.. are sent with xid = base_xid + i."""

    def __init__(self, sock: socket.socket, stream: OpStream, base_xid: int) -> None:
        self.sock = sock
        self.stream = stream
        self.base_xid = base_xid
        self.buf = bytearray()
        self.sent = 0
        self.received = 0
        self.sent_at: list[float] = []

    @property
    def next_xid(self) -> int:
        return self.base_xid + self.sent

    @property
    def outstanding(self) -> int:
        return self.sent - self.received

    def send(self, count: int, scheduled: list[float] | None = None) -> None:
        """Sends the next `count` requests; latency counts from `scheduled` (one time per
        request, for a paced load) or from now."""
        count = min(count, self.stream.count - self.sent)
        if count <= 0:
            return
        request, base, start = self.stream.request, self.base_xid, self.sent
        data = b"".join(p.frame(base + i, request(i)) for i in range(start, start + count))
        if scheduled is None:
            self.sent_at.extend([time.perf_counter()] * count)
        else:
            self.sent_at.extend(scheduled[:count])
        self.sent += count
        self.sock.sendall(data)

    def check_frames(self, now: float, out: Outcome) -> int:
        """Checks every complete reply in the buffer; returns how many were consumed."""
        buf = self.buf
        size = len(buf)
        off = 0
        done = 0
        base, reply_len, sent_at = self.base_xid, self.stream.reply_len, self.sent_at
        lat = out.latencies_us
        unpack = p.REPLY.unpack_from
        while size - off >= p.MIN_REPLY_FRAME_BYTES:
            length, xid, _zxid, err = unpack(buf, off)
            if size - off - 4 < length:
                break
            off += 4 + length
            if xid == p.NOTIFICATION_XID or xid == p.PING_XID:
                continue
            i = self.received + done
            done += 1
            if xid != base + i:
                out.error("xid", f"expected {base + i}, got {xid}")
            elif err != 0:
                out.error(f"err {err}", f"request {i} answered with error {err}")
            elif length != reply_len(i):
                out.error("length", f"request {i}: reply of {length} bytes, not {reply_len(i)}")
            else:
                lat.append((now - sent_at[i]) * 1e6)
        del buf[:off]
        self.received += done
        return done


def receive(c: StreamConn, out: Outcome) -> tuple[float, int]:
    """Reads `c` once and checks the replies it completed: (time read, replies answered). A
    closed connection ends its stream, counting what it left unanswered as lost."""
    try:
        chunk = c.sock.recv(RECV_BYTES)
    except OSError as e:
        chunk = b""
        out.error("socket", repr(e))
    if not chunk:
        out.error("closed", f"server closed after {c.received} replies")
        out.errors["lost"] += c.sent - c.received
        c.stream.count = c.sent = c.received
    now = time.perf_counter()
    c.buf += chunk
    answered = c.check_frames(now, out)
    out.ops += answered
    return now, answered


def count_missing(conns: list[StreamConn], out: Outcome) -> None:
    for c in conns:
        missing = c.sent - c.received
        if missing > 0:
            out.errors["timeout"] += missing
            out.error_sample = out.error_sample or f"timeout: {missing} replies missing"


def run_streams(
    conns: list[StreamConn], depth: int, stop_at: float, give_up_at: float, out: Outcome
) -> None:
    """Keeps `depth` requests outstanding per connection until its stream is sent or `stop_at`
    passes, then waits for the outstanding replies until `give_up_at` (unanswered: errors)."""
    sel = selectors.DefaultSelector()
    try:
        for c in conns:
            sel.register(c.sock, selectors.EVENT_READ, c)
            c.send(depth)
        active = len(conns)
        while active > 0:
            now = time.perf_counter()
            if now >= give_up_at:
                break
            for key, _events in sel.select(min(SELECT_TIMEOUT_S, give_up_at - now)):
                c = key.data
                now, answered = receive(c, out)
                if now < stop_at:
                    c.send(answered)
                else:
                    c.stream.count = c.sent
                if c.received >= c.stream.count:
                    sel.unregister(c.sock)
                    active -= 1
        count_missing(conns, out)
    finally:
        sel.close()
