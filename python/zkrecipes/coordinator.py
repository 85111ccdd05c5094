"""The client framework: one Coordinator per application session.

A Coordinator owns a kazoo client, the namespace (chroot) every recipe path lives under, the
credentials, the retry policy, and the connection-state stream that recipes subscribe to.

kazoo calls its state listeners on its connection thread, where blocking or issuing requests
would stall the session. The Coordinator therefore records the new state synchronously (so
`Ownership.is_valid` never lags) and hands subscriber callbacks to its own dispatch thread.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import tenacity
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, NodeExistsError, OperationTimeoutError
from kazoo.protocol.states import KazooState

log = logging.getLogger(__name__)

T = TypeVar("T")

dispatch_queue_max = 10_000
dispatcher_join_timeout_s = 5.0


class ConnectionState(enum.Enum):
    """Curator's three states: SUSPENDED may recover with the same session; LOST may not."""

    CONNECTED = "connected"
    SUSPENDED = "suspended"
    LOST = "lost"


@dataclass(frozen=True)
class StateChange:
    """One event of the connection-state stream.

    `session_id` is the session the client holds after the change (0 when LOST).
    `new_session` is true on the first CONNECTED of a session that replaced an expired one:
    every ephemeral node of the old session is gone.
    """

    state: ConnectionState
    session_id: int
    new_session: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """Which kazoo errors are retried, with what backoff, and for how long at most.

    Only errors after which the same request may safely be sent again are retried: a lost
    connection (the session may still be alive) and a request timeout. A create is made safe to
    repeat by the protected-create scheme in `zkrecipes.sequential`, never by this policy alone.
    """

    attempts: int = 20
    deadline_s: float = 30.0
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 2.0
    retry_on: tuple[type[BaseException], ...] = (ConnectionLoss, OperationTimeoutError)

    def retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(self.retry_on),
            stop=tenacity.stop_after_attempt(self.attempts)
            | tenacity.stop_after_delay(self.deadline_s),
            wait=tenacity.wait_exponential(
                multiplier=self.backoff_initial_s, max=self.backoff_max_s
            )
            + tenacity.wait_random(0, self.backoff_initial_s),
            reraise=True,
        )


Subscriber = Callable[[StateChange], None]

_STATE_OF = {
    KazooState.CONNECTED: ConnectionState.CONNECTED,
    KazooState.SUSPENDED: ConnectionState.SUSPENDED,
    KazooState.LOST: ConnectionState.LOST,
}


@dataclass
class _Subscribers:
    lock: threading.Lock = field(default_factory=threading.Lock)
    items: dict[int, Subscriber] = field(default_factory=dict)
    next_id: int = 0


class Coordinator:
    """A connected session and everything recipes share. Build it with `zkrecipes.connect`."""

    def __init__(
        self,
        hosts: str,
        *,
        namespace: str | None = None,
        auth: Sequence[tuple[str, str]] = (),
        default_acl: Sequence[Any] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        client_id: tuple[int, bytes] | None = None,
    ) -> None:
        self.retry_policy = retry or RetryPolicy()
        self.namespace = _normalize_namespace(namespace)
        self.client = KazooClient(
            hosts=hosts,
            timeout=timeout,
            auth_data=list(auth) or None,
            default_acl=list(default_acl) if default_acl is not None else None,
            client_id=client_id,
        )
        self._state = ConnectionState.LOST
        self._session_id = 0
        self._had_session = False
        self._state_changed = threading.Condition()
        self._subscribers = _Subscribers()
        self._events: queue.Queue[Callable[[], None] | None] = queue.Queue(dispatch_queue_max)
        self._dispatcher = threading.Thread(
            target=self._dispatch_loop, name="zkrecipes-dispatch", daemon=True
        )
        self._started = False
        self.client.add_listener(self._on_kazoo_state)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, connect_timeout: float = 15.0) -> Coordinator:
        """Connect, create the namespace node if missing, then apply it as the chroot."""
        self._dispatcher.start()
        self._started = True
        self.client.start(timeout=connect_timeout)
        self._note_connected()
        if self.namespace:
            with contextlib.suppress(NodeExistsError):
                self.retry(self.client.ensure_path, self.namespace)
            self.client.chroot = self.namespace
        return self

    def close(self) -> None:
        """End the session (its ephemeral nodes go at once) and stop the dispatch thread."""
        try:
            self.client.stop()
            self.client.close()
        finally:
            if self._started:
                self._events.put(None)
                if threading.current_thread() is not self._dispatcher:
                    self._dispatcher.join(timeout=dispatcher_join_timeout_s)
                self._started = False

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- requests ----------------------------------------------------------------------------

    def retry(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `fn` under the retry policy (only for requests that are safe to repeat)."""
        for attempt in self.retry_policy.retrying():
            with attempt:
                return fn(*args, **kwargs)
        raise AssertionError("tenacity with reraise=True returns or raises")

    # -- connection state --------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def session_id(self) -> int:
        return self._session_id

    @property
    def connected(self) -> bool:
        return self._state is ConnectionState.CONNECTED

    def wait_connected(self, timeout: float) -> bool:
        """Block until CONNECTED or `timeout` seconds; return whether connected."""
        with self._state_changed:
            return self._state_changed.wait_for(lambda: self.connected, timeout=timeout)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback` (on the dispatch thread) for every state change; return unsubscribe."""
        subs = self._subscribers
        with subs.lock:
            key = subs.next_id
            subs.next_id += 1
            subs.items[key] = callback

        def unsubscribe() -> None:
            with subs.lock:
                subs.items.pop(key, None)

        return unsubscribe

    def dispatch(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the dispatch thread, after every state callback queued before it."""
        self._events.put(fn)

    def _note_connected(self) -> None:
        # client.start() returns once connected; the listener may not have run yet.
        if self.client.connected and self._state is not ConnectionState.CONNECTED:
            self._on_kazoo_state(KazooState.CONNECTED)

    def _on_kazoo_state(self, kazoo_state: str) -> None:
        state = _STATE_OF[kazoo_state]
        with self._state_changed:
            if state is self._state:
                return
            new_session = False
            if state is ConnectionState.CONNECTED:
                session_id = int(self.client.client_id[0]) if self.client.client_id else 0
                new_session = self._had_session and session_id != self._session_id
                self._session_id = session_id
                self._had_session = True
            elif state is ConnectionState.LOST:
                self._session_id = 0
            self._state = state
            self._state_changed.notify_all()
        change = StateChange(state, self._session_id, new_session)
        self._events.put(lambda: self._publish(change))

    def _publish(self, change: StateChange) -> None:
        with self._subscribers.lock:
            callbacks = list(self._subscribers.items.values())
        for callback in callbacks:
            try:
                callback(change)
            except Exception:
                log.exception("state subscriber failed on %s", change)

    def _dispatch_loop(self) -> None:
        while True:
            job = self._events.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("dispatched callback failed")


def _normalize_namespace(namespace: str | None) -> str | None:
    if not namespace or namespace == "/":
        return None
    return "/" + namespace.strip("/")


def connect(
    hosts: str,
    *,
    namespace: str | None = None,
    auth: Sequence[tuple[str, str]] = (),
    default_acl: Sequence[Any] | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 10.0,
    connect_timeout: float = 15.0,
) -> Coordinator:
    """Open a session and return a started Coordinator (use it as a context manager).

    `hosts` is kazoo's "host:port,host:port" string; `namespace` is a path every recipe path is
    relative to (created if missing); `auth` is a list of (scheme, credential) pairs such as
    ("digest", "user:password"); `timeout` is the session timeout in seconds.
    """
    coordinator = Coordinator(
        hosts,
        namespace=namespace,
        auth=auth,
        default_acl=default_acl,
        retry=retry,
        timeout=timeout,
    )
    try:
        return coordinator.start(connect_timeout=connect_timeout)
    except BaseException:
        coordinator.close()
        raise
