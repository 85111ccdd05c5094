"""GroupMembership (named members with data) and Party (anonymous participants to count)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

from kazoo.exceptions import NodeExistsError, NoNodeError
from kazoo.recipe.watchers import ChildrenWatch

from zkrecipes.coordinator import Coordinator, StateChange
from zkrecipes.fencing import RecipeError
from zkrecipes.sequential import (
    Created,
    Deadline,
    delete_quietly,
    ensure_path,
    join,
    protected_create,
    setter,
    state_poll_s,
    strip_protection,
)


class MemberExists(RecipeError):
    """Another live session already joined the group under this member id."""


class _Members:
    """Reads and watches of the children of one group node."""

    def __init__(self, coordinator: Coordinator, path: str) -> None:
        self.coordinator = coordinator
        self.path = path

    def names(self) -> list[str]:
        try:
            return sorted(self.coordinator.retry(self.coordinator.client.get_children, self.path))
        except NoNodeError:
            return []

    def watch(self, callback: Callable[[list[str]], None]) -> None:
        ensure_path(self.coordinator, self.path)
        ChildrenWatch(self.coordinator.client, self.path, lambda names: callback(sorted(names)))


class GroupMembership:
    """Join a group as `member_id` with data; list members; watch membership.

    Membership is an ephemeral node, so a crashed member leaves the group when its session
    expires. After a new session starts, a joined member joins again.
    """

    def __init__(
        self, coordinator: Coordinator, path: str, member_id: str, data: bytes = b""
    ) -> None:
        if not member_id or "/" in member_id:
            raise ValueError(f"invalid member id {member_id!r}")
        self.coordinator = coordinator
        self.path = path
        self.member_id = member_id
        self.data = data
        self._members = _Members(coordinator, path)
        self._joined = False
        self._unsubscribe: Callable[[], None] | None = None

    def join(self) -> None:
        self._create()
        self._joined = True
        if self._unsubscribe is None:
            self._unsubscribe = self.coordinator.subscribe(self._on_state)

    def _create(self) -> None:
        client = self.coordinator.client
        node = join(self.path, self.member_id)
        try:
            self.coordinator.retry(client.create, node, self.data, ephemeral=True, makepath=True)
        except NodeExistsError:
            stat = self.coordinator.retry(client.exists, node)
            if stat is None or stat.ephemeralOwner != self.coordinator.session_id:
                raise MemberExists(f"{self.member_id} already in {self.path}") from None

    def leave(self) -> None:
        self._joined = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        delete_quietly(self.coordinator, join(self.path, self.member_id))

    def members(self) -> dict[str, bytes]:
        """Member id -> data of every current member."""
        result = {}
        for name in self._members.names():
            try:
                data, _ = self.coordinator.retry(self.coordinator.client.get, join(self.path, name))
            except NoNodeError:
                continue
            result[name] = bytes(data)
        return result

    def watch(self, callback: Callable[[list[str]], None]) -> None:
        """Call `callback(member_ids)` now and after every change."""
        self._members.watch(callback)

    def _on_state(self, change: StateChange) -> None:
        if change.new_session and self._joined:
            self._create()

    def __enter__(self) -> GroupMembership:
        self.join()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.leave()


class Party:
    """Anonymous participants: join, count, and wait until enough have joined."""

    def __init__(self, coordinator: Coordinator, path: str, identifier: str = "") -> None:
        self.coordinator = coordinator
        self.path = path
        self.identifier = identifier
        self._members = _Members(coordinator, path)
        self._node: Created | None = None

    def join(self) -> None:
        if self._node is None:
            self._node = protected_create(
                self.coordinator, self.path, "member-", self.identifier.encode()
            )

    def leave(self) -> None:
        if self._node is not None:
            delete_quietly(self.coordinator, self._node.path)
            self._node = None

    def __len__(self) -> int:
        return len(self._members.names())

    def participants(self) -> list[str]:
        """The identifiers of every participant, in joining order."""
        result = []
        for name in sorted(self._members.names(), key=strip_protection):
            try:
                data, _ = self.coordinator.retry(self.coordinator.client.get, join(self.path, name))
            except NoNodeError:
                continue
            result.append(bytes(data).decode())
        return result

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until at least `count` participants are present, or `timeout` passes."""
        deadline = Deadline(timeout)
        ensure_path(self.coordinator, self.path)
        while True:
            changed = threading.Event()
            names = self.coordinator.retry(
                self.coordinator.client.get_children, self.path, watch=setter(changed)
            )
            if len(names) >= count:
                return True
            while not changed.wait(deadline.slice(state_poll_s)):
                if deadline.expired:
                    return False

    def __enter__(self) -> Party:
        self.join()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.leave()
