"""Lease: exclusive ownership for a bounded time, renewed by its holder.

A lease is the ephemeral node `<path>/holder`, whose data records the holder and the wall-clock
time it expires. The holder's own view of validity uses its monotonic clock: `is_valid` turns
false when the session is lost or `duration` has passed since the last renewal, and the lost
signal fires then. A contender waits for the node to go, or takes over a lease whose recorded
expiry is more than `grace` in the past (a holder that stopped renewing but kept its session);
the takeover is a versioned delete, and the new holder's fencing token is larger.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from zkrecipes.coordinator import Coordinator
from zkrecipes.fencing import AcquireTimeout, Grant, Ownership, OwnershipLost, OwnershipState
from zkrecipes.sequential import Deadline, check_session, join, setter, state_poll_s


class LeaseOwnership(Ownership):
    """An Ownership that also ends when its duration passes without renewal."""

    def __init__(self, coordinator: Coordinator, grant: Grant, duration: float) -> None:
        super().__init__(coordinator, grant)
        self.duration = duration
        self._expires = time.monotonic() + duration
        self._timer: threading.Timer | None = None
        self._arm()

    @property
    def is_valid(self) -> bool:
        return super().is_valid and time.monotonic() < self._expires

    @property
    def remaining(self) -> float:
        return max(self._expires - time.monotonic(), 0.0)

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(self.duration, self._on_expiry)
        self._timer.daemon = True
        self._timer.start()

    def _on_expiry(self) -> None:
        if time.monotonic() >= self._expires:
            self._coordinator.dispatch(lambda: self._mark(OwnershipState.LOST))

    def _renewed(self) -> None:
        self._expires = time.monotonic() + self.duration
        self._arm()

    def _release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super()._release()


class Lease:
    """An exclusive, renewable, time-bounded ownership at `path`."""

    def __init__(
        self,
        coordinator: Coordinator,
        path: str,
        duration: float,
        *,
        identifier: str = "",
        grace: float = 1.0,
    ) -> None:
        if duration <= 0:
            raise ValueError("duration must be positive")
        self.coordinator = coordinator
        self.path = path
        self.duration = duration
        self.grace = grace
        self.identifier = identifier
        self._holder = join(path, "holder")
        self._guid = uuid.uuid4().hex

    def _record(self) -> bytes:
        expires_at = time.time() + self.duration
        return json.dumps(
            {"holder": self.identifier, "guid": self._guid, "expires_at": expires_at}
        ).encode()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> LeaseOwnership | None:
        """The lease, or None when another holder kept it for `timeout` seconds."""
        deadline = Deadline(timeout if blocking else 0.0)
        client = self.coordinator.client
        while True:
            created = self._try_create()
            if created is not None:
                return created
            changed = threading.Event()
            try:
                data, stat = self.coordinator.retry(client.get, self._holder, watch=setter(changed))
            except NoNodeError:
                continue
            record = json.loads(data)
            if record.get("guid") == self._guid:
                return LeaseOwnership(
                    self.coordinator,
                    Grant(self._holder, stat.czxid, self.coordinator.session_id),
                    self.duration,
                )
            stale_at = float(record["expires_at"]) + self.grace
            if time.time() > stale_at:
                with suppress(BadVersionError, NoNodeError):
                    self.coordinator.retry(client.delete, self._holder, stat.version)
                continue
            # Wake on any change of the record, and when it turns stale.
            while not changed.wait(deadline.slice(state_poll_s)):
                check_session(self.coordinator, self.coordinator.session_id)
                if deadline.expired:
                    return None
                if time.time() > stale_at:
                    break

    def _try_create(self) -> LeaseOwnership | None:
        try:
            path, stat = self.coordinator.retry(
                self.coordinator.client.create,
                self._holder,
                self._record(),
                ephemeral=True,
                makepath=True,
                include_data=True,
            )
        except NodeExistsError:
            return None
        return LeaseOwnership(
            self.coordinator, Grant(path, stat.czxid, self.coordinator.session_id), self.duration
        )

    def renew(self, ownership: LeaseOwnership) -> None:
        """Extend the lease by `duration` from now; OwnershipLost if it is no longer ours."""
        ownership.check()
        version = self._own_version(ownership)
        try:
            self.coordinator.retry(
                self.coordinator.client.set, self._holder, self._record(), version
            )
        except (NoNodeError, BadVersionError) as error:
            raise OwnershipLost(f"{self._holder} was taken over") from error
        ownership._renewed()

    def _own_version(self, ownership: LeaseOwnership) -> int:
        stat = self.coordinator.retry(self.coordinator.client.exists, self._holder)
        if stat is None or stat.czxid != ownership.token:
            raise OwnershipLost(f"{self._holder} was taken over")
        return int(stat.version)

    def release(self, ownership: LeaseOwnership) -> None:
        ownership._release()
        try:
            version = self._own_version(ownership)
            self.coordinator.retry(self.coordinator.client.delete, self._holder, version)
        except (OwnershipLost, NoNodeError, BadVersionError):
            pass

    @contextmanager
    def hold(self, timeout: float | None = None) -> Iterator[LeaseOwnership]:
        ownership = self.acquire(timeout=timeout)
        if ownership is None:
            raise AcquireTimeout(f"lease {self.path} not acquired within {timeout} s")
        try:
            yield ownership
        finally:
            self.release(ownership)
