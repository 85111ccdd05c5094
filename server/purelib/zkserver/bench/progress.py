"""Progress of a comparison: a rich progress bar, or one printed line per step without rich."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, Self


class Progress:
    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled
        self.started = time.monotonic()
        self._rich: Any = None
        self._task: Any = None
        if not enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress
        except ImportError:
            return
        self._rich = RichProgress(
            TextColumn("{task.description:<40}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
            console=Console(stderr=True),
        )

    def __enter__(self) -> Self:
        if self._rich is not None:
            self._rich.start()
            self._task = self._rich.add_task("starting", total=self.total)
        return self

    def step(self, description: str) -> None:
        """Marks the previous step done and names the next one."""
        if self.done < self.total:
            self.done += 1
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.update(self._task, completed=self.done - 1, description=description)
            return
        elapsed = time.monotonic() - self.started
        print(f"[{self.done}/{self.total} {elapsed:6.1f}s] {description}", file=sys.stderr)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._rich is not None:
            self._rich.update(self._task, completed=self.total)
            self._rich.stop()
