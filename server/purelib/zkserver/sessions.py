"""Session expiry in tick buckets, as Apache's ExpiryQueue does it (sans-IO: time is passed in).

A session expires at its deadline rounded up to the next tick boundary; every packet from the
session pushes the deadline out again. Checking one bucket per tick keeps expiry O(expired).
"""

from __future__ import annotations

from collections import defaultdict


class SessionExpiry:
    def __init__(self, tick_ms: int) -> None:
        if tick_ms <= 0:
            raise ValueError("tick_ms must be positive")
        self.tick_ms = tick_ms
        self._deadline: dict[int, int] = {}
        self._timeout: dict[int, int] = {}
        self._buckets: defaultdict[int, set[int]] = defaultdict(set)

    def _bucket_of(self, t_ms: int) -> int:
        return (t_ms // self.tick_ms + 1) * self.tick_ms

    def add(self, session_id: int, timeout_ms: int, now_ms: int) -> None:
        self._timeout[session_id] = timeout_ms
        self.touch(session_id, now_ms)

    def touch(self, session_id: int, now_ms: int) -> None:
        timeout = self._timeout.get(session_id)
        if timeout is None:
            return
        new = self._bucket_of(now_ms + timeout)
        old = self._deadline.get(session_id)
        if old == new:
            return
        if old is not None:
            self._buckets[old].discard(session_id)
        self._deadline[session_id] = new
        self._buckets[new].add(session_id)

    def remove(self, session_id: int) -> None:
        old = self._deadline.pop(session_id, None)
        self._timeout.pop(session_id, None)
        if old is not None:
            self._buckets[old].discard(session_id)

    def expired(self, now_ms: int) -> list[int]:
        """Sessions whose deadline has passed; they are forgotten here."""
        due = sorted(b for b in self._buckets if b <= now_ms)
        out: list[int] = []
        for b in due:
            out.extend(sorted(self._buckets.pop(b)))
        for sid in out:
            self._deadline.pop(sid, None)
            self._timeout.pop(sid, None)
        return out

    def next_deadline(self) -> int | None:
        return min((b for b, s in self._buckets.items() if s), default=None)

    def deadline_of(self, session_id: int) -> int | None:
        return self._deadline.get(session_id)

    def __len__(self) -> int:
        return len(self._deadline)
