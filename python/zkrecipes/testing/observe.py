"""Normalized observations: results that two servers can be compared on.

Raw zxids, times and session ids differ between any two runs; what must match is the shape of
the answers: values, error class names, Stat relations and watch event sequences.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

from kazoo.protocol.states import WatchedEvent, ZnodeStat

EVENT_WAIT_S = 10.0


def outcome(action: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", result) or ("error", exception class name)."""
    try:
        return ("ok", action())
    except Exception as error:  # the class name is the observation
        return ("error", type(error).__name__)


def error_name(action: Callable[[], Any]) -> str | None:
    """The exception class name `action` raises, or None if it succeeds."""
    kind, value = outcome(action)
    return str(value) if kind == "error" else None


def stat_shape(stat: ZnodeStat) -> dict[str, Any]:
    """The fields of a Stat that do not depend on time or on the zxid counter."""
    return {
        "version": stat.version,
        "cversion": stat.cversion,
        "aversion": stat.aversion,
        "dataLength": stat.dataLength,
        "numChildren": stat.numChildren,
        "ephemeral": stat.ephemeralOwner != 0,
        "modified_after_create": stat.mzxid > stat.czxid,
        "children_changed_after_create": stat.pzxid > stat.czxid,
        "ctime_le_mtime": stat.ctime <= stat.mtime,
    }


def event_shape(event: WatchedEvent) -> tuple[str, str]:
    return (str(event.type), str(event.path))


class EventLog:
    """Collects watch events from kazoo callbacks (which run on kazoo's threads)."""

    def __init__(self) -> None:
        self._events: list[tuple[str, str]] = []
        self._changed = threading.Condition()

    def __call__(self, event: WatchedEvent) -> None:
        with self._changed:
            self._events.append(event_shape(event))
            self._changed.notify_all()

    def labelled(self, label: str) -> Callable[[WatchedEvent], None]:
        """A watcher that records (label, type, path) so several watches can share one log."""

        def watcher(event: WatchedEvent) -> None:
            with self._changed:
                self._events.append((f"{label}:{event.type}", str(event.path)))
                self._changed.notify_all()

        return watcher

    def wait_for(self, count: int, timeout_s: float = EVENT_WAIT_S) -> list[tuple[str, str]]:
        """The events once at least `count` arrived, or those that came within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self._events) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return list(self._events)

    def snapshot(self) -> list[tuple[str, str]]:
        with self._changed:
            return list(self._events)
