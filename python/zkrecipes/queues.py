"""Queue (FIFO) and PriorityQueue with exactly-once take and acknowledgement.

Items are persistent sequential nodes under `<path>/items`. A consumer takes an item by
creating the ephemeral claim `<path>/taken/<item>`; only one create can succeed, so one consumer
holds an item at a time. `ack()` removes item and claim in one transaction that runs only while
the claim's session is alive; if the consumer dies first its claim vanishes with its session
and the item is taken again by another consumer.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from zkrecipes.coordinator import Coordinator
from zkrecipes.fencing import OwnershipLost, RecipeError
from zkrecipes.sequential import (
    Deadline,
    delete_quietly,
    ensure_path,
    join,
    protected_create,
    sequence_of,
    setter,
    state_poll_s,
    strip_protection,
)

priority_min = 0
priority_max = 999
default_priority = 500

_PRIORITY = re.compile(r"^item-(\d{3})-\d{10}$")


class ClaimLost(OwnershipLost):
    """The session that took an item expired before `ack`: another consumer may take it."""


class QueueEmpty(RecipeError):
    """No item arrived within the timeout."""


def _order_key(name: str) -> tuple[int, int]:
    match = _PRIORITY.match(strip_protection(name))
    priority = int(match.group(1)) if match else default_priority
    return priority, sequence_of(name)


@dataclass
class Item:
    """A taken item. Call `ack()` once processed, or `release()` to give it back."""

    value: bytes
    name: str
    _queue: _BaseQueue
    _session_id: int

    def ack(self) -> None:
        self._queue._ack(self)

    def release(self) -> None:
        delete_quietly(self._queue.coordinator, join(self._queue.taken_path, self.name))


class _BaseQueue:
    def __init__(self, coordinator: Coordinator, path: str) -> None:
        self.coordinator = coordinator
        self.path = path
        self.items_path = join(path, "items")
        self.taken_path = join(path, "taken")
        ensure_path(coordinator, self.items_path)
        ensure_path(coordinator, self.taken_path)

    def _put(self, value: bytes, prefix: str) -> str:
        created = protected_create(
            self.coordinator, self.items_path, prefix, value, ephemeral=False
        )
        return created.name

    def __len__(self) -> int:
        names = self.coordinator.retry(self.coordinator.client.get_children, self.items_path)
        return len(names)

    def take(self, timeout: float | None = None) -> Item:
        """Claim the first unclaimed item, waiting up to `timeout`; QueueEmpty otherwise."""
        deadline = Deadline(timeout)
        client = self.coordinator.client
        while True:
            changed = threading.Event()
            names = self.coordinator.retry(
                client.get_children, self.items_path, watch=setter(changed)
            )
            taken = set(
                self.coordinator.retry(client.get_children, self.taken_path, watch=setter(changed))
            )
            for name in sorted(names, key=_order_key):
                if name not in taken:
                    item = self._claim(name)
                    if item is not None:
                        return item
            while not changed.wait(deadline.slice(state_poll_s)):
                if deadline.expired:
                    raise QueueEmpty(f"{self.path}: no item within {timeout} s")

    def get(self, timeout: float | None = None) -> bytes:
        """Take and acknowledge at once (at-most-once processing)."""
        item = self.take(timeout)
        item.ack()
        return item.value

    def _claim(self, name: str) -> Item | None:
        client = self.coordinator.client
        claim = join(self.taken_path, name)
        session_id = self.coordinator.session_id
        try:
            self.coordinator.retry(client.create, claim, ephemeral=True)
        except NodeExistsError:
            # Another consumer, or our own create whose reply was lost.
            stat = self.coordinator.retry(client.exists, claim)
            if stat is None or stat.ephemeralOwner != session_id:
                return None
        try:
            value, _ = self.coordinator.retry(client.get, join(self.items_path, name))
        except NoNodeError:
            delete_quietly(self.coordinator, claim)
            return None
        return Item(bytes(value), name, self, session_id)

    def _ack(self, item: Item) -> None:
        if self.coordinator.session_id != item._session_id:
            raise ClaimLost(f"{item.name}: claim's session expired")
        client = self.coordinator.client
        claim = join(self.taken_path, item.name)
        item_path = join(self.items_path, item.name)

        def commit() -> None:
            transaction = client.transaction()
            transaction.check(claim, 0)
            transaction.delete(item_path)
            transaction.delete(claim)
            results = transaction.commit()
            failures = [r for r in results if isinstance(r, Exception)]
            if not failures:
                return
            if client.exists(item_path) is None and client.exists(claim) is None:
                return  # an earlier attempt committed; its reply was lost
            if any(isinstance(r, (NoNodeError, BadVersionError)) for r in failures):
                raise ClaimLost(f"{item.name}: claim gone before ack")
            raise failures[0]

        self.coordinator.retry(commit)


class Queue(_BaseQueue):
    """A FIFO queue of byte strings."""

    def put(self, value: bytes) -> str:
        """Append `value`; returns the item's node name."""
        return self._put(value, "item-")


class PriorityQueue(_BaseQueue):
    """Lower priority numbers are taken first; FIFO within one priority."""

    def put(self, value: bytes, priority: int = default_priority) -> str:
        if not priority_min <= priority <= priority_max:
            raise ValueError(f"priority must be in [{priority_min}, {priority_max}]")
        return self._put(value, f"item-{priority:03d}-")
