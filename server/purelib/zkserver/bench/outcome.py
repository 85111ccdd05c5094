"""What one worker process reports for one timed phase."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Outcome:
    """Replies counted and checked, errors by kind, latencies in microseconds, own CPU time."""

    ops: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_sample: str = ""
    latencies_us: array[float] = field(default_factory=lambda: array("d"))
    t_start: float = 0.0
    t_end: float = 0.0
    cpu_s: float = 0.0
    # Per fan-out round: the perf_counter time each session saw its notification.
    notified_at: list[list[float]] = field(default_factory=list)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if not self.error_sample:
            self.error_sample = f"{kind}: {detail}"

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass
class WorkerFailure:
    """A worker raised: the traceback, so the coordinator can stop with it."""

    worker: int
    traceback: str
