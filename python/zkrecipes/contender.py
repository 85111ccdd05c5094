"""The queue of contenders under one parent znode, shared by locks and elections.

Each contender creates one protected ephemeral sequential node and is granted ownership when a
recipe-specific rule finds nothing ahead of it that blocks it. Otherwise it watches exactly one
node (the blocker the rule names), so a release wakes one waiter, never the herd.
"""

from __future__ import annotations

from collections.abc import Callable

from kazoo.exceptions import NoNodeError

from zkrecipes.coordinator import Coordinator
from zkrecipes.fencing import AcquireTimeout, OwnershipLost
from zkrecipes.sequential import (
    Created,
    Deadline,
    delete_quietly,
    join,
    protected_create,
    sorted_by_sequence,
    strip_protection,
    wait_for_deletion,
)

# Given the children sorted by sequence and our own name: the node to wait for, or None.
BlockerRule = Callable[[list[str], str], str | None]


def predecessor_rule(children: list[str], me: str) -> str | None:
    """Exclusive: wait for the node just ahead of ours, whatever its kind."""
    index = children.index(me)
    return children[index - 1] if index > 0 else None


def kind_of(name: str) -> str:
    """`_c_<guid>-write-0000000004` -> `write`."""
    return strip_protection(name).rsplit("-", 1)[0]


class Contender:
    """One node in the queue under `parent`; `wait_until_granted` applies the rule."""

    def __init__(self, coordinator: Coordinator, parent: str, prefix: str, rule: BlockerRule):
        self.coordinator = coordinator
        self.parent = parent
        self.prefix = prefix
        self.rule = rule
        self.node: Created | None = None
        self.wakeups = 0

    def enter(self, data: bytes) -> Created:
        self.node = protected_create(self.coordinator, self.parent, self.prefix, data)
        return self.node

    def blocker(self) -> str | None:
        """The node we wait for now, or None when granted. Raises OwnershipLost if ours is gone."""
        assert self.node is not None
        try:
            names = self.coordinator.retry(self.coordinator.client.get_children, self.parent)
        except NoNodeError as error:
            raise OwnershipLost(f"{self.parent} was removed") from error
        if self.node.name not in names:
            raise OwnershipLost(f"{self.node.path} vanished (session expired?)")
        return self.rule(sorted_by_sequence(names), self.node.name)

    def wait_until_granted(self, deadline: Deadline) -> None:
        """Block until no node blocks ours; AcquireTimeout when the deadline passes first."""
        assert self.node is not None
        while True:
            blocker = self.blocker()
            if blocker is None:
                return
            if deadline.expired:
                raise AcquireTimeout(f"{self.node.path} still waits for {blocker}")
            wait_for_deletion(
                self.coordinator,
                join(self.parent, blocker),
                deadline,
                self.node.session_id,
                self._count_wakeup,
            )

    def _count_wakeup(self) -> None:
        self.wakeups += 1

    def leave(self) -> None:
        if self.node is not None:
            delete_quietly(self.coordinator, self.node.path)
            self.node = None

    def contenders(self) -> list[tuple[str, bytes]]:
        """Every contender's (node name, data), first in line first."""
        client = self.coordinator.client
        try:
            names = self.coordinator.retry(client.get_children, self.parent)
        except NoNodeError:
            return []
        result = []
        for name in sorted_by_sequence(names):
            try:
                data, _ = self.coordinator.retry(client.get, join(self.parent, name))
            except NoNodeError:
                continue
            result.append((name, data))
        return result
