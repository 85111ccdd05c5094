"""Ownership handles with fencing tokens, and a resource that rejects stale tokens.

The rule for every holder (lock, read/write lock, semaphore lease, leadership, lease):

1. Read `ownership.token` once after acquiring and send it with every write to the resource
   the ownership protects. The resource keeps the highest token it has accepted and refuses
   any lower one (`FencedResource`). This is what makes a paused or partitioned former holder
   harmless: ZooKeeper cannot stop it, but the resource can.
2. Check `ownership.is_valid` before each step of work. It is false as soon as the connection
   is SUSPENDED (another client may take over if the session then expires) and forever once
   the session is LOST, the node is deleted, or the ownership is released.
3. On the lost signal (`ownership.lost` is set, `on_lost` callbacks run), stop the work and do
   not retry it under the old token; acquire again to get a new, larger token.

Tokens are the czxid of the znode that grants ownership. ZooKeeper assigns zxids in one total
order, so a znode created later has a larger czxid; every recipe here grants ownership in
creation order of its znodes, which is what makes a later holder's token larger.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from zkrecipes.coordinator import ConnectionState, Coordinator, StateChange

T = TypeVar("T")


class RecipeError(Exception):
    """Base of the errors raised by zkrecipes."""


class AcquireTimeout(RecipeError):
    """A blocking acquire or wait did not finish within its timeout."""


class OwnershipLost(RecipeError):
    """The session that granted an ownership expired, or its znode was removed."""


class StaleTokenError(RecipeError):
    """A fenced resource refused a token lower than one it already accepted."""

    def __init__(self, token: int, highest: int) -> None:
        super().__init__(f"stale fencing token {token}: resource already accepted {highest}")
        self.token = token
        self.highest = highest


class OwnershipState(enum.Enum):
    VALID = "valid"
    SUSPENDED = "suspended"
    LOST = "lost"
    RELEASED = "released"


OwnershipListener = Callable[[OwnershipState], None]


@dataclass(frozen=True)
class Grant:
    """What the server said about the znode that grants an ownership."""

    path: str
    czxid: int
    session_id: int


class Ownership:
    """A held lock, lease or leadership: its token, its validity, and its lost signal."""

    def __init__(self, coordinator: Coordinator, grant: Grant) -> None:
        self._coordinator = coordinator
        self.path = grant.path
        self.token = grant.czxid
        self.session_id = grant.session_id
        self.lost = threading.Event()
        self._released = False
        self._lock = threading.Lock()
        self._listeners: list[OwnershipListener] = []
        self._unsubscribe = coordinator.subscribe(self._on_state)
        coordinator.retry(coordinator.client.exists, self.path, watch=self._on_node_event)
        if coordinator.session_id != self.session_id:
            self._mark(OwnershipState.LOST)

    @property
    def is_valid(self) -> bool:
        """True while the granting session is connected and the ownership neither lost nor
        released. Check it before every step of work (rule 2 of the module docstring)."""
        c = self._coordinator
        return (
            not self._released
            and not self.lost.is_set()
            and c.state is ConnectionState.CONNECTED
            and c.session_id == self.session_id
        )

    @property
    def state(self) -> OwnershipState:
        if self._released:
            return OwnershipState.RELEASED
        if self.lost.is_set():
            return OwnershipState.LOST
        return OwnershipState.VALID if self.is_valid else OwnershipState.SUSPENDED

    def add_listener(self, listener: OwnershipListener) -> None:
        """Call `listener` on the dispatch thread with SUSPENDED, VALID (restored) or LOST."""
        with self._lock:
            self._listeners.append(listener)

    def on_lost(self, callback: Callable[[], None]) -> None:
        def listener(state: OwnershipState) -> None:
            if state is OwnershipState.LOST:
                callback()

        self.add_listener(listener)
        if self.lost.is_set():
            self._coordinator.dispatch(callback)

    def check(self) -> None:
        """Raise OwnershipLost unless `is_valid`."""
        if not self.is_valid:
            raise OwnershipLost(f"{self.path} ({self.state.value})")

    def wait_lost(self, timeout: float) -> bool:
        return self.lost.wait(timeout)

    def _release(self) -> None:
        with self._lock:
            self._released = True
            self._listeners.clear()
        self._unsubscribe()

    def _on_state(self, change: StateChange) -> None:
        if change.state is ConnectionState.SUSPENDED:
            self._notify(OwnershipState.SUSPENDED)
        elif change.state is ConnectionState.LOST or change.session_id != self.session_id:
            self._mark(OwnershipState.LOST)
        else:
            self._notify(OwnershipState.VALID)

    def _on_node_event(self, event: object) -> None:
        if self._released or self.lost.is_set():
            return
        if getattr(event, "type", None) == "DELETED":
            # Deleted by anyone but our own release: an operator, or the session's expiry.
            self._coordinator.dispatch(lambda: self._mark(OwnershipState.LOST))
        elif getattr(event, "type", None) == "CHANGED":
            self._coordinator.client.exists_async(self.path, watch=self._on_node_event)

    def _mark(self, state: OwnershipState) -> None:
        if self._released or self.lost.is_set():
            return
        self.lost.set()
        self._unsubscribe()
        self._notify(state)

    def _notify(self, state: OwnershipState) -> None:
        with self._lock:
            if self._released:
                return
            listeners = list(self._listeners)
        for listener in listeners:
            listener(state)

    def __repr__(self) -> str:
        return f"Ownership(path={self.path!r}, token={self.token}, state={self.state.value})"


class FencedResource(Generic[T]):
    """A resource that accepts a write only with a token at least as large as any seen before.

    This is the storage side of the fencing rule; in a real system the same check lives in the
    database (a conditional update on a `fence` column) or the storage service.
    """

    def __init__(self, initial: T) -> None:
        self._lock = threading.Lock()
        self._value = initial
        self.highest_token = -1

    def write(self, token: int, value: T) -> None:
        with self._lock:
            if token < self.highest_token:
                raise StaleTokenError(token, self.highest_token)
            self.highest_token = token
            self._value = value

    def read(self) -> T:
        with self._lock:
            return self._value
