"""Lock, ReadWriteLock and Semaphore: ownership recipes with fencing tokens.

Each has three forms: `acquire(blocking=True, timeout=None) -> bool` then `release()` (as
`threading.Lock`), `with lock:` (blocks, yields the Ownership), and `with lock.hold(timeout):`
(raises AcquireTimeout). While held, `ownership.token` is the fencing token; read the rule for
holders in `zkrecipes.fencing`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from kazoo.exceptions import NoNodeError

from zkrecipes.contender import BlockerRule, Contender, kind_of, predecessor_rule
from zkrecipes.coordinator import Coordinator
from zkrecipes.fencing import AcquireTimeout, Ownership, OwnershipLost
from zkrecipes.sequential import (
    Deadline,
    check_session,
    delete_quietly,
    ensure_path,
    join,
    protected_create,
    setter,
    state_poll_s,
)


class _SequentialLock:
    """The shared machinery of Lock and the two halves of ReadWriteLock."""

    def __init__(
        self,
        coordinator: Coordinator,
        path: str,
        prefix: str,
        rule: BlockerRule,
        identifier: str,
        reentrant: bool,
    ) -> None:
        self.coordinator = coordinator
        self.path = path
        self.identifier = identifier
        self.reentrant = reentrant
        self._contender = Contender(coordinator, path, prefix, rule)
        self._local = threading.Lock()
        self._owner_thread: int | None = None
        self._depth = 0
        self._ownership: Ownership | None = None

    @property
    def ownership(self) -> Ownership | None:
        return self._ownership

    @property
    def token(self) -> int:
        """The fencing token of the current hold (raises if not held)."""
        if self._ownership is None:
            raise RuntimeError(f"{self.path} is not held")
        return self._ownership.token

    @property
    def is_held(self) -> bool:
        return self._ownership is not None and self._ownership.is_valid

    @property
    def wakeups(self) -> int:
        """How often a watch woke this lock's waits: one per release ahead of it, no herd."""
        return self._contender.wakeups

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        me = threading.get_ident()
        if self._owner_thread == me:
            if not self.reentrant:
                raise RuntimeError(f"{self.path} is already held by this thread (not reentrant)")
            self._depth += 1
            return True
        deadline = Deadline(timeout if blocking else 0.0)
        local_timeout = deadline.remaining()
        if blocking:
            got_local = self._local.acquire(True, -1 if local_timeout is None else local_timeout)
        else:
            got_local = self._local.acquire(False)
        if not got_local:
            return False
        try:
            self._ownership = self._acquire_node(deadline)
        except AcquireTimeout:
            self._local.release()
            return False
        except BaseException:
            self._local.release()
            raise
        self._owner_thread = me
        self._depth = 1
        return True

    def _acquire_node(self, deadline: Deadline) -> Ownership:
        contender = self._contender
        node = contender.enter(self.identifier.encode())
        try:
            contender.wait_until_granted(deadline)
            return Ownership(self.coordinator, node.grant())
        except BaseException:
            contender.leave()
            raise

    def release(self) -> None:
        """Release one level of hold. As with `threading.Lock`, any thread may release a
        non-reentrant lock; a reentrant one only by its holding thread (as `threading.RLock`)."""
        if self._owner_thread is None:
            raise RuntimeError(f"{self.path} is not held")
        if self.reentrant and self._owner_thread != threading.get_ident():
            raise RuntimeError(f"{self.path} is not held by this thread")
        self._depth -= 1
        if self._depth > 0:
            return
        ownership, self._ownership = self._ownership, None
        self._owner_thread = None
        try:
            if ownership is not None:
                ownership._release()
            self._contender.leave()
        finally:
            self._local.release()

    @contextmanager
    def hold(self, timeout: float | None = None) -> Iterator[Ownership]:
        """Hold the lock for a `with` block; AcquireTimeout if not granted within `timeout`."""
        if not self.acquire(timeout=timeout):
            raise AcquireTimeout(f"{self.path} not acquired within {timeout} s")
        try:
            assert self._ownership is not None
            yield self._ownership
        finally:
            self.release()

    def contenders(self) -> list[str]:
        """Identifiers of holder and waiters, holder first."""
        return [data.decode() for _, data in self._contender.contenders()]

    def __enter__(self) -> Ownership:
        self.acquire()
        assert self._ownership is not None
        return self._ownership

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class Lock(_SequentialLock):
    """An exclusive lock; `reentrant=True` lets the holding thread acquire it again."""

    def __init__(
        self,
        coordinator: Coordinator,
        path: str,
        *,
        identifier: str = "",
        reentrant: bool = False,
    ) -> None:
        super().__init__(coordinator, path, "lock-", predecessor_rule, identifier, reentrant)


def _read_rule(children: list[str], me: str) -> str | None:
    """A reader waits only for the nearest writer ahead of it."""
    index = children.index(me)
    for name in reversed(children[:index]):
        if kind_of(name) == "write":
            return name
    return None


class ReadWriteLock:
    """Many readers or one writer, granted in arrival order (a waiting writer blocks later
    readers, so writers do not starve). Both halves share one parent znode."""

    def __init__(
        self,
        coordinator: Coordinator,
        path: str,
        *,
        identifier: str = "",
        reentrant: bool = False,
    ) -> None:
        self.read_lock = _SequentialLock(
            coordinator, path, "read-", _read_rule, identifier, reentrant
        )
        self.write_lock = _SequentialLock(
            coordinator, path, "write-", predecessor_rule, identifier, reentrant
        )


class Semaphore:
    """Up to `max_leases` holders at once, each with its own lease and fencing token.

    Waiters queue on an internal Lock; only the first in that queue watches the lease count,
    so a returned lease wakes one waiter. All users of a path must agree on `max_leases`.
    """

    def __init__(
        self, coordinator: Coordinator, path: str, max_leases: int, *, identifier: str = ""
    ) -> None:
        if max_leases < 1:
            raise ValueError("max_leases must be at least 1")
        self.coordinator = coordinator
        self.path = path
        self.max_leases = max_leases
        self.identifier = identifier
        self._leases_path = join(path, "leases")
        self._gate = Lock(coordinator, join(path, "gate"), identifier=identifier)
        self._held = threading.local()
        self.wakeups = 0

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> Ownership | None:
        """A lease, or None if none was free within `timeout` (or at once if not blocking)."""
        deadline = Deadline(timeout if blocking else 0.0)
        if not self._gate.acquire(blocking, deadline.remaining()):
            return None
        try:
            return self._take_lease(deadline)
        finally:
            self._gate.release()

    def _take_lease(self, deadline: Deadline) -> Ownership | None:
        ensure_path(self.coordinator, self._leases_path)
        node = protected_create(
            self.coordinator, self._leases_path, "lease-", self.identifier.encode()
        )
        try:
            while True:
                changed = threading.Event()
                names = self.coordinator.retry(
                    self.coordinator.client.get_children,
                    self._leases_path,
                    watch=setter(changed),
                )
                if node.name not in names:
                    raise OwnershipLost(f"{node.path} vanished (session expired?)")
                if len(names) <= self.max_leases:
                    return Ownership(self.coordinator, node.grant())
                while not changed.wait(deadline.slice(state_poll_s)):
                    check_session(self.coordinator, node.session_id)
                    if deadline.expired:
                        delete_quietly(self.coordinator, node.path)
                        return None
                self.wakeups += 1
        except BaseException:
            delete_quietly(self.coordinator, node.path)
            raise

    def release(self, lease: Ownership) -> None:
        lease._release()
        delete_quietly(self.coordinator, lease.path)

    @contextmanager
    def hold(self, timeout: float | None = None) -> Iterator[Ownership]:
        lease = self.acquire(timeout=timeout)
        if lease is None:
            raise AcquireTimeout(f"no lease of {self.path} within {timeout} s")
        try:
            yield lease
        finally:
            self.release(lease)

    def __enter__(self) -> Ownership:
        lease = self.acquire()
        assert lease is not None
        self._held.__dict__.setdefault("leases", []).append(lease)
        return lease

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release(self._held.leases.pop())

    def holders(self) -> list[str]:
        client = self.coordinator.client
        try:
            names = self.coordinator.retry(client.get_children, self._leases_path)
        except NoNodeError:
            return []
        result = []
        for name in names:
            try:
                data, _ = self.coordinator.retry(client.get, join(self._leases_path, name))
            except NoNodeError:
                continue
            result.append(data.decode())
        return result
