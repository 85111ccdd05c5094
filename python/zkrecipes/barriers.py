"""Barrier (a gate one party raises and removes) and DoubleBarrier (enter and leave together)."""

from __future__ import annotations

import contextlib
import threading
from types import TracebackType

from kazoo.exceptions import NodeExistsError, NoNodeError

from zkrecipes.coordinator import Coordinator
from zkrecipes.fencing import AcquireTimeout
from zkrecipes.sequential import (
    Created,
    Deadline,
    delete_quietly,
    ensure_path,
    join,
    protected_create,
    sorted_by_sequence,
    state_poll_s,
    wait_for_deletion,
)


class Barrier:
    """Processes `wait()` while the barrier node exists; `remove()` lets them all through."""

    def __init__(self, coordinator: Coordinator, path: str) -> None:
        self.coordinator = coordinator
        self.path = path

    def create(self) -> bool:
        """Raise the barrier; False if it was already up."""
        parent = self.path.rsplit("/", 1)[0]
        if parent:
            ensure_path(self.coordinator, parent)
        try:
            self.coordinator.retry(self.coordinator.client.create, self.path)
        except NodeExistsError:
            return False
        return True

    def remove(self) -> bool:
        """Lower the barrier; False if it was not up."""
        try:
            self.coordinator.retry(self.coordinator.client.delete, self.path)
        except NoNodeError:
            return False
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the barrier is down; False if still up after `timeout` seconds."""
        gone = wait_for_deletion(
            self.coordinator, self.path, Deadline(timeout), self.coordinator.session_id
        )
        return gone and self.coordinator.retry(self.coordinator.client.exists, self.path) is None


class DoubleBarrier:
    """`enter()` returns once `num_parties` have entered; `leave()` once all have left.

    Leaving follows Apache's recipe: the lowest participant waits for the highest, every other
    participant removes its node and waits for the lowest, so no participant watches the herd.
    """

    def __init__(
        self, coordinator: Coordinator, path: str, num_parties: int, *, identifier: str = ""
    ) -> None:
        if num_parties < 1:
            raise ValueError("num_parties must be at least 1")
        self.coordinator = coordinator
        self.path = path
        self.num_parties = num_parties
        self.identifier = identifier
        self._ready = join(path, "ready")
        self._node: Created | None = None

    def _participants(self) -> list[str]:
        names = self.coordinator.retry(self.coordinator.client.get_children, self.path)
        return sorted_by_sequence([n for n in names if n != "ready"])

    def enter(self, timeout: float | None = None) -> None:
        """Join and block until every party has; AcquireTimeout (after leaving) otherwise."""
        deadline = Deadline(timeout)
        ensure_path(self.coordinator, self.path)
        client = self.coordinator.client
        ready = threading.Event()
        if self.coordinator.retry(client.exists, self._ready, watch=lambda _e: ready.set()):
            ready.set()
        self._node = protected_create(
            self.coordinator, self.path, "party-", self.identifier.encode()
        )
        if len(self._participants()) >= self.num_parties:
            with contextlib.suppress(NodeExistsError):
                self.coordinator.retry(client.create, self._ready)
            return
        while not ready.wait(deadline.slice(state_poll_s)):
            if deadline.expired:
                delete_quietly(self.coordinator, self._node.path)
                self._node = None
                raise AcquireTimeout(f"{self.path}: fewer than {self.num_parties} entered")

    def leave(self, timeout: float | None = None) -> None:
        """Leave and block until every party has; AcquireTimeout otherwise."""
        if self._node is None:
            raise RuntimeError(f"{self.path}: not entered")
        deadline = Deadline(timeout)
        me = self._node
        while True:
            names = self._participants()
            if not names or names == [me.name]:
                delete_quietly(self.coordinator, me.path)
                delete_quietly(self.coordinator, self._ready)
                self._node = None
                return
            if me.name not in names:
                # Gone already: wait for the lowest, which leaves last.
                target = names[0]
            elif names[0] == me.name:
                target = names[-1]
            else:
                delete_quietly(self.coordinator, me.path)
                target = names[0]
            if deadline.expired:
                raise AcquireTimeout(f"{self.path}: {len(names)} parties have not left")
            wait_for_deletion(self.coordinator, join(self.path, target), deadline, me.session_id)

    def __enter__(self) -> DoubleBarrier:
        self.enter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.leave()
