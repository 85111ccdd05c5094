"""Protected sequential creates and waiting on one znode: the building blocks of the recipes.

A create whose reply is lost (the connection drops after the server applied it) leaves a znode
the client does not know about. As in Apache Curator, every recipe node name starts with
`_c_<guid>-`; after a lost connection the client lists the parent and adopts the child with its
guid instead of creating a second one.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kazoo.exceptions import ConnectionClosedError, NoNodeError, NotEmptyError

from zkrecipes.coordinator import ConnectionState, Coordinator
from zkrecipes.fencing import Grant, OwnershipLost

PROTECTED_PREFIX = "_c_"
# A waiter sleeps at most this long between checks of the session, so a LOST session is noticed
# even though ZooKeeper fires no watch for it.
state_poll_s = 0.5

_SEQUENCE = re.compile(r"(\d{10})$")


def sequence_of(name: str) -> int:
    """The server-assigned sequence suffix of a node name (-1 when there is none)."""
    match = _SEQUENCE.search(name)
    return int(match.group(1)) if match else -1


def strip_protection(name: str) -> str:
    """`_c_<guid>-lock-0000000003` -> `lock-0000000003`."""
    if name.startswith(PROTECTED_PREFIX):
        _, _, rest = name.partition("-")
        return rest
    return name


def sorted_by_sequence(names: list[str]) -> list[str]:
    return sorted(names, key=sequence_of)


def join(parent: str, name: str) -> str:
    return parent.rstrip("/") + "/" + name


class Deadline:
    """A timeout turned into a point on the monotonic clock (None: wait forever)."""

    def __init__(self, timeout: float | None) -> None:
        self._end = None if timeout is None else time.monotonic() + max(timeout, 0.0)

    def remaining(self) -> float | None:
        return None if self._end is None else max(self._end - time.monotonic(), 0.0)

    @property
    def expired(self) -> bool:
        return self._end is not None and time.monotonic() >= self._end

    def slice(self, longest: float) -> float:
        """How long to sleep now: the rest of the deadline, at most `longest`."""
        remaining = self.remaining()
        return longest if remaining is None else min(remaining, longest)


@dataclass(frozen=True)
class Created:
    path: str
    name: str
    czxid: int
    session_id: int

    def grant(self) -> Grant:
        return Grant(self.path, self.czxid, self.session_id)


def protected_create(
    coordinator: Coordinator,
    parent: str,
    prefix: str,
    data: bytes = b"",
    *,
    ephemeral: bool = True,
    sequence: bool = True,
) -> Created:
    """Create `parent/_c_<guid>-<prefix>[seq]`, adopting the node if a lost reply created it."""
    client = coordinator.client
    guid = uuid.uuid4().hex
    marker = f"{PROTECTED_PREFIX}{guid}-"
    attempts = 0
    for attempt in coordinator.retry_policy.retrying():
        with attempt:
            attempts += 1
            if attempts > 1:
                found = _find_protected(coordinator, parent, marker)
                if found is not None:
                    return found
            path, stat = client.create(
                join(parent, marker + prefix),
                data,
                ephemeral=ephemeral,
                sequence=sequence,
                makepath=True,
                include_data=True,
            )
            return Created(path, path.rsplit("/", 1)[1], stat.czxid, coordinator.session_id)
    raise AssertionError("tenacity with reraise=True returns or raises")


def _find_protected(coordinator: Coordinator, parent: str, marker: str) -> Created | None:
    client = coordinator.client
    try:
        children = client.get_children(parent)
    except NoNodeError:
        return None
    for name in children:
        if name.startswith(marker):
            path = join(parent, name)
            stat = client.exists(path)
            if stat is not None:
                return Created(path, name, stat.czxid, coordinator.session_id)
    return None


def delete_quietly(coordinator: Coordinator, path: str) -> None:
    """Delete `path` under the retry policy; a node already gone counts as deleted, and so does
    any node once the client is closed (its session, and every ephemeral node, is gone)."""
    with contextlib.suppress(NoNodeError, NotEmptyError, ConnectionClosedError):
        coordinator.retry(coordinator.client.delete, path)


def ensure_path(coordinator: Coordinator, path: str) -> None:
    coordinator.retry(coordinator.client.ensure_path, path)


def check_session(coordinator: Coordinator, session_id: int) -> None:
    """Raise OwnershipLost if the session that created a waiter's node is gone."""
    if coordinator.state is ConnectionState.LOST or (
        coordinator.state is ConnectionState.CONNECTED and coordinator.session_id != session_id
    ):
        raise OwnershipLost("session expired while waiting")


def setter(event: threading.Event) -> Callable[[Any], None]:
    """A watch callback that sets `event`."""

    def watch(_event: Any) -> None:
        event.set()

    return watch


def wait_for_deletion(
    coordinator: Coordinator,
    path: str,
    deadline: Deadline,
    session_id: int,
    on_wake: Callable[[], None] | None = None,
) -> bool:
    """Wait until `path` changes or goes, or the deadline passes (then False).

    `on_wake` is called from the watch each time it fires, so callers can count wakeups."""
    event = threading.Event()

    def watch(_event: Any) -> None:
        if on_wake is not None:
            on_wake()
        event.set()

    if coordinator.retry(coordinator.client.exists, path, watch=watch) is None:
        return True
    while not event.wait(deadline.slice(state_poll_s)):
        check_session(coordinator, session_id)
        if deadline.expired:
            return False
    return True
