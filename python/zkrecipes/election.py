"""Leader election: a leader latch with callbacks, a blocking `run(fn)`, and an observer.

Every candidate owns one protected ephemeral sequential node; the lowest is the leader and
every other candidate watches only the node just ahead of it. Leadership is an Ownership: its
token is the leader node's czxid, so each new leader's token is larger than every earlier one.
After losing leadership through session expiry, a started Election rejoins at the back of the
line with a new session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from kazoo.exceptions import NoNodeError
from kazoo.recipe.watchers import ChildrenWatch

from zkrecipes.contender import Contender, predecessor_rule
from zkrecipes.coordinator import Coordinator, StateChange
from zkrecipes.fencing import AcquireTimeout, Ownership, OwnershipLost
from zkrecipes.sequential import Deadline, join, sorted_by_sequence, state_poll_s

log = logging.getLogger(__name__)

T = TypeVar("T")

thread_join_timeout_s = 10.0


def current_leader(coordinator: Coordinator, path: str) -> str | None:
    """The identifier of the current leader of the election at `path`, or None."""
    client = coordinator.client
    try:
        names = sorted_by_sequence(coordinator.retry(client.get_children, path))
    except NoNodeError:
        return None
    for name in names:
        try:
            data, _ = coordinator.retry(client.get, join(path, name))
        except NoNodeError:
            continue
        return bytes(data).decode()
    return None


class LeaderObserver:
    """Reports the current leader of an election without taking part in it."""

    def __init__(self, coordinator: Coordinator, path: str) -> None:
        self.coordinator = coordinator
        self.path = path

    def leader(self) -> str | None:
        return current_leader(self.coordinator, self.path)

    def watch(self, callback: Callable[[str | None], None]) -> None:
        """Call `callback(leader_identifier)` now and after every change of candidates."""
        self.coordinator.retry(self.coordinator.client.ensure_path, self.path)

        def on_children(_names: list[str]) -> None:
            callback(self.leader())

        ChildrenWatch(self.coordinator.client, self.path, on_children)


class Election:
    """A leader latch. `start()` joins; `is_leader`, `ownership` and the callbacks report."""

    def __init__(
        self,
        coordinator: Coordinator,
        path: str,
        *,
        identifier: str = "",
        on_gained: Callable[[Ownership], None] | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.coordinator = coordinator
        self.path = path
        self.identifier = identifier
        self._on_gained = on_gained
        self._on_lost = on_lost
        self._contender = Contender(coordinator, path, "latch-", predecessor_rule)
        self._ownership: Ownership | None = None
        self._changed = threading.Condition()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.wakeups = 0

    # -- public ------------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        ownership = self._ownership
        return ownership is not None and ownership.is_valid

    @property
    def ownership(self) -> Ownership | None:
        return self._ownership

    def start(self) -> Election:
        if self._thread is not None:
            raise RuntimeError("election already started")
        self._unsubscribe = self.coordinator.subscribe(self._on_state)
        self._thread = threading.Thread(
            target=self._loop, name=f"election {self.path}", daemon=True
        )
        self._thread.start()
        return self

    def wait_for_leadership(self, timeout: float | None = None) -> Ownership | None:
        """Block until this candidate leads (its Ownership) or `timeout` passes (None)."""
        deadline = Deadline(timeout)
        with self._changed:
            while not self.is_leader:
                if deadline.expired or self._closing.is_set():
                    return None
                self._changed.wait(deadline.slice(state_poll_s))
            return self._ownership

    def run(self, fn: Callable[[Ownership], T], timeout: float | None = None) -> T:
        """Join, block until leader, call `fn(ownership)`, then resign and return its result."""
        self.start()
        try:
            ownership = self.wait_for_leadership(timeout)
            if ownership is None:
                raise AcquireTimeout(f"not elected at {self.path} within {timeout} s")
            return fn(ownership)
        finally:
            self.close()

    def leader(self) -> str | None:
        return current_leader(self.coordinator, self.path)

    def contenders(self) -> list[str]:
        return [data.decode() for _, data in self._contender.contenders()]

    def close(self) -> None:
        """Resign (without calling on_lost) and leave the election."""
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=thread_join_timeout_s)
        if self._unsubscribe is not None:
            self._unsubscribe()
        ownership, self._ownership = self._ownership, None
        if ownership is not None:
            ownership._release()
        self._contender.leave()
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> Election:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the latch ---------------------------------------------------------------------------

    def _on_state(self, _change: StateChange) -> None:
        self._wake.set()

    def _on_watch(self, _event: object) -> None:
        self.wakeups += 1
        self._wake.set()

    def _loop(self) -> None:
        while not self._closing.is_set():
            try:
                self._step()
            except OwnershipLost:
                self._contender.node = None
            except Exception:
                log.exception("election step at %s failed; retrying", self.path)
            self._wake.wait(state_poll_s * 2)
            self._wake.clear()

    def _step(self) -> None:
        if not self.coordinator.connected or self._closing.is_set():
            return
        if self._ownership is not None:
            return
        contender = self._contender
        node = contender.node
        if node is None or node.session_id != self.coordinator.session_id:
            contender.enter(self.identifier.encode())
        blocker = contender.blocker()
        if blocker is None:
            assert contender.node is not None
            self._become_leader(Ownership(self.coordinator, contender.node.grant()))
            return
        stat = self.coordinator.retry(
            self.coordinator.client.exists, join(self.path, blocker), watch=self._on_watch
        )
        if stat is None:
            self._wake.set()

    def _become_leader(self, ownership: Ownership) -> None:
        with self._changed:
            self._ownership = ownership
            self._changed.notify_all()
        ownership.on_lost(lambda: self._lose(ownership))
        if self._on_gained is not None:
            on_gained = self._on_gained
            self.coordinator.dispatch(lambda: on_gained(ownership))

    def _lose(self, ownership: Ownership) -> None:
        with self._changed:
            if self._ownership is not ownership:
                return
            self._ownership = None
            self._contender.node = None
            self._changed.notify_all()
        self._wake.set()
        if self._on_lost is not None:
            self._on_lost()
