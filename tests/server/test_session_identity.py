"""Session identity across connections: a dropped connection resumes the same session (with
its ephemerals, and its watches once the client sends setWatches), an expired session is never
silently replaced, two connections fighting over one session, and a client that has seen the
future."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from kazoo.client import KazooClient, KazooState

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.observe import EventLog
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import (
    OP_CREATE,
    OP_EXISTS,
    OP_GET_DATA,
    OP_SET_WATCHES,
    SET_WATCHES_XID,
    Notification,
    RawSession,
    create_body,
    path_watch,
    set_watches_body,
)
from zkrecipes.testing.targets import ZkTarget
from zkrecipes.testing.zoocfg import TEST_TICK_TIME_MS

EPHEMERAL = 1
WAIT_S = 20.0
SESSION_MS = 4000
PROXY_CHUNK = 65536


class CuttableProxy:
    """A loopback TCP relay to the server whose connections a test can cut, and which can
    refuse new ones, so that kazoo sees a dropped connection it did not choose."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(0.2)
        self.refusing = False
        self._stopped = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def hosts(self) -> str:
        return f"{LOOPBACK}:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            if self.refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection((LOOPBACK, self.port), timeout=5.0)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(None)
        with contextlib.suppress(OSError):
            while data := source.recv(PROXY_CHUNK):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every relayed connection (both sides see a reset or EOF)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for end in pair:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self._stopped.set()
        self.cut()
        self.listener.close()
        self._acceptor.join(timeout=2.0)


class StateLog:
    """kazoo connection states in order, from kazoo's own thread."""

    def __init__(self) -> None:
        self.states: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, state: str) -> None:
        with self._changed:
            self.states.append(str(state))
            self._changed.notify_all()

    def wait_for(self, state: str, count: int = 1, timeout_s: float = WAIT_S) -> list[str]:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self.states.count(state) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return list(self.states)


@contextlib.contextmanager
def _kazoo(hosts: str, timeout_ms: int, states: "StateLog") -> Iterator[KazooClient]:
    client = KazooClient(hosts=hosts, timeout=timeout_ms / 1000)
    client.add_listener(states)
    client.start(timeout=WAIT_S)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.stop()
        client.close()


def _relative(target: ZkTarget, events: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(kind, path.removeprefix(target.root)) for kind, path in events]


def test_kazoo_resumes_session_after_dropped_connection(differential: Differential) -> None:
    """kazoo 2.11 resumes the session and keeps its ephemerals; it sends no setWatches but
    drops its own watchers on the disconnect instead, so only watches set after the resume
    fire."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        with contextlib.ExitStack() as stack:
            proxy = CuttableProxy(target.port)
            stack.callback(proxy.close)
            states = StateLog()
            zk = stack.enter_context(_kazoo(proxy.hosts + target.root, SESSION_MS, states))
            session_id = zk.client_id[0]
            zk.create("/mine", b"", ephemeral=True)
            zk.create("/watched", b"")
            before = EventLog()
            zk.get("/watched", watch=before)
            proxy.cut()
            states.wait_for(KazooState.CONNECTED, count=2)
            after = EventLog()
            zk.exists("/later", watch=after)
            target.admin().set(target.path("watched"), b"changed while resumed")
            target.admin().create(target.path("later"), b"")
            fired_after = _relative(target, after.wait_for(1))
            # Both servers deliver the later event; a pre-drop watch would have come first.
            return {
                "states": list(states.states),
                "same_session": zk.client_id[0] == session_id,
                "ephemeral_owner_same": target.admin().exists(target.path("mine")).ephemeralOwner
                == session_id,
                "fired_after": fired_after,
                "fired_before": _relative(target, before.snapshot()),
            }

    observed = differential.run(scenario)
    assert observed == {
        "states": ["CONNECTED", "SUSPENDED", "CONNECTED"],
        "same_session": True,
        "ephemeral_owner_same": True,
        "fired_after": [("CREATED", "/later")],
        # kazoo forgets its watches on the drop, telling each watcher with a NONE event.
        "fired_before": [("NONE", "None")],
    }


def test_kazoo_after_expiry_sees_lost_not_a_silent_new_session(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        with contextlib.ExitStack() as stack:
            proxy = CuttableProxy(target.port)
            stack.callback(proxy.close)
            states = StateLog()
            zk = stack.enter_context(
                _kazoo(proxy.hosts + target.root, 2 * TEST_TICK_TIME_MS, states)
            )
            session_id = zk.client_id[0]
            zk.create("/mine", b"", ephemeral=True)
            proxy.refusing = True
            proxy.cut()
            deadline = time.monotonic() + WAIT_S
            while target.admin().exists(target.path("mine")) and time.monotonic() < deadline:
                time.sleep(0.1)
            expired = target.admin().exists(target.path("mine")) is None
            proxy.refusing = False
            states.wait_for(KazooState.CONNECTED, count=2)
            return {
                "expired": expired,
                "states": list(states.states),
                "new_session": zk.client_id[0] != session_id,
                "ephemeral_gone": zk.exists("/mine") is None,
            }

    observed = differential.run(scenario)
    assert observed == {
        "expired": True,
        "states": ["CONNECTED", "SUSPENDED", "LOST", "CONNECTED"],
        "new_session": True,
        "ephemeral_gone": True,
    }


def test_raw_resume_then_set_watches_fires_after_resume(differential: Differential) -> None:
    """What the Java client does: resume with id and password, then setWatches with the last
    zxid; unchanged watches fire on the first change after the resume."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        first = RawSession(LOOPBACK, target.port)
        real = first.connect(timeout_ms=SESSION_MS)
        first.call(OP_CREATE, create_body(target.path("eph"), flags=EPHEMERAL))
        first.call(OP_CREATE, create_body(target.path("node")))
        first.call(OP_GET_DATA, path_watch(target.path("node"), True))
        first.call(OP_EXISTS, path_watch(target.path("eph"), True))
        last_zxid = first.last_zxid
        first.close()
        second = RawSession(LOOPBACK, target.port)
        resumed = second.connect(
            timeout_ms=SESSION_MS,
            session_id=real.session_id,
            password=real.password,
            last_zxid_seen=last_zxid,
        )
        reply = second.call(
            OP_SET_WATCHES,
            set_watches_body(last_zxid, data=(target.path("node"), target.path("eph"))),
            xid=SET_WATCHES_XID,
        )
        target.admin().set(target.path("node"), b"x")
        fired = [
            (item.event_type, str(item.path).removeprefix(target.root))
            for item in second.drain(0.5)
            if isinstance(item, Notification)
        ]
        second.close_session()
        all_events = [
            (item.event_type, str(item.path).removeprefix(target.root))
            for item in second.frames
            if isinstance(item, Notification)
        ]
        gone = target.admin().exists(target.path("eph")) is None
        return {
            "same_session": resumed.session_id == real.session_id,
            "set_watches": (reply.xid, reply.err, reply.body),
            "fired": fired,
            "all_events": all_events,
            "ephemeral_gone_after_close": gone,
        }

    observed = differential.run(scenario)
    assert observed == {
        "same_session": True,
        "set_watches": (SET_WATCHES_XID, 0, b""),
        "fired": [(3, "/node")],
        # The session's own ephemeral goes at close, firing its re-registered watch first.
        "all_events": [(3, "/node"), (2, "/eph")],
        "ephemeral_gone_after_close": True,
    }


def test_two_connections_fight_over_one_session(differential: Differential) -> None:
    """A second connection with the same id and password takes the session over; the older
    connection is closed by the server."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        first = RawSession(LOOPBACK, target.port, socket_timeout_s=3.0)
        real = first.connect(timeout_ms=SESSION_MS)
        first.call(OP_CREATE, create_body(target.path("held"), flags=EPHEMERAL))
        second = RawSession(LOOPBACK, target.port, socket_timeout_s=3.0)
        taken = second.connect(
            timeout_ms=SESSION_MS, session_id=real.session_id, password=real.password
        )

        def fate(raw: RawSession) -> str:
            try:
                return f"reply {raw.call(OP_EXISTS, path_watch('/')).err}"
            except (ConnectionError, OSError):
                return "closed"

        second_fate = fate(second)
        first_fate = fate(first)
        third = RawSession(LOOPBACK, target.port, socket_timeout_s=3.0)
        third.connect(timeout_ms=SESSION_MS, session_id=real.session_id, password=real.password)
        third_fate = fate(third)
        second_after = fate(second)
        owner = target.admin().exists(target.path("held"))
        third.close_session()
        for raw in (first, second):
            raw.close()
        return {
            "same_id": taken.session_id == real.session_id,
            "fates": [second_fate, first_fate, third_fate, second_after],
            "ephemeral_kept": owner is not None and owner.ephemeralOwner == real.session_id,
        }

    observed = differential.run(scenario)
    assert observed == {
        "same_id": True,
        "fates": ["reply 0", "closed", "reply 0", "closed"],
        "ephemeral_kept": True,
    }


def test_client_that_has_seen_a_future_zxid_is_refused(differential: Differential) -> None:
    """A ConnectRequest whose lastZxidSeen is ahead of the server gets no ConnectResponse."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        owner = RawSession(LOOPBACK, target.port)
        real = owner.connect(timeout_ms=SESSION_MS)
        owner.call(OP_CREATE, create_body(target.path("held"), flags=EPHEMERAL))

        def attempt(**kwargs: Any) -> str:
            raw = RawSession(LOOPBACK, target.port, socket_timeout_s=3.0)
            try:
                response = raw.connect(last_zxid_seen=1 << 50, **kwargs)
                return f"response timeout={response.timeout_ms}"
            except (ConnectionError, OSError):
                return "closed"
            finally:
                raw.close()

        result = {
            "new": attempt(),
            "resume": attempt(session_id=real.session_id, password=real.password),
            "owner_still_works": owner.call(OP_EXISTS, path_watch("/")).err,
        }
        owner.close_session()
        return result

    observed = differential.run(scenario)
    assert observed == {"new": "closed", "resume": "closed", "owner_still_works": 0}
