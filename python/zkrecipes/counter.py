"""Counter: a shared integer changed by compare-and-set on the znode version."""

from __future__ import annotations

import contextlib

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from zkrecipes.coordinator import Coordinator
from zkrecipes.fencing import RecipeError

# Contention bound: a caller that loses this many CAS races in a row gives up.
cas_attempts_max = 1000


class CounterContention(RecipeError):
    """`add` lost the compare-and-set race `cas_attempts_max` times in a row."""


class Counter:
    """An integer stored as decimal text at `path` (created with `default` on first use)."""

    def __init__(self, coordinator: Coordinator, path: str, default: int = 0) -> None:
        self.coordinator = coordinator
        self.path = path
        self.default = default

    def _read(self) -> tuple[int, int]:
        client = self.coordinator.client
        try:
            data, stat = self.coordinator.retry(client.get, self.path)
        except NoNodeError:
            with contextlib.suppress(NodeExistsError):
                self.coordinator.retry(
                    client.create, self.path, str(self.default).encode(), makepath=True
                )
            data, stat = self.coordinator.retry(client.get, self.path)
        return int(data.decode() or self.default), int(stat.version)

    @property
    def value(self) -> int:
        return self._read()[0]

    def compare_and_set(self, expected: int, new: int) -> bool:
        """Set `new` only if the value is `expected`; whether it did."""
        value, version = self._read()
        if value != expected:
            return False
        return self._write(new, version)

    def _write(self, new: int, version: int) -> bool:
        try:
            self.coordinator.retry(
                self.coordinator.client.set, self.path, str(new).encode(), version
            )
        except BadVersionError:
            return False
        return True

    def add(self, delta: int) -> int:
        """Add `delta` atomically and return the new value."""
        for _ in range(cas_attempts_max):
            value, version = self._read()
            if self._write(value + delta, version):
                return value + delta
        raise CounterContention(f"{self.path}: {cas_attempts_max} lost races")

    def __iadd__(self, delta: int) -> Counter:
        self.add(delta)
        return self

    def __isub__(self, delta: int) -> Counter:
        self.add(-delta)
        return self
