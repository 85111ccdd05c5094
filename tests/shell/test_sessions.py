"""Session expiry in tick buckets (sans-IO)."""

from __future__ import annotations

from zkserver.sessions import SessionExpiry


def test_deadline_rounds_up_to_the_next_tick() -> None:
    e = SessionExpiry(tick_ms=100)
    e.add(1, timeout_ms=1000, now_ms=1050)
    assert e.deadline_of(1) == 2100
    assert e.expired(2099) == []
    assert e.expired(2100) == [1]
    assert len(e) == 0


def test_touch_pushes_the_deadline_and_remove_forgets() -> None:
    e = SessionExpiry(tick_ms=100)
    e.add(1, 1000, 0)
    e.add(2, 1000, 0)
    e.touch(1, 900)
    assert e.expired(1100) == [2]
    assert e.deadline_of(1) == 2000
    e.remove(1)
    assert e.expired(10_000) == []
    assert e.next_deadline() is None


def test_touch_of_unknown_session_is_ignored() -> None:
    e = SessionExpiry(tick_ms=50)
    e.touch(99, 10)
    assert len(e) == 0
