"""Session faults and bounded waiting for the recipe tests."""

import time
from collections.abc import Callable

from kazoo.client import KazooClient

from zkrecipes.coordinator import Coordinator

# Sessions of the test servers (tickTime 200 ms) are negotiated into [0.4 s, 4 s].
SESSION_TIMEOUT_S = 4.0
WAIT_S = 20.0


def expire_session(coordinator: Coordinator, hosts: str) -> None:
    """Expire `coordinator`'s session from outside: another client attaches to the same session
    (id and password) and closes it, which is what the server does when a session times out."""
    old_session = coordinator.session_id
    intruder = KazooClient(hosts=hosts, client_id=coordinator.client.client_id, timeout=4.0)
    intruder.start(timeout=WAIT_S)
    intruder.stop()
    intruder.close()
    assert wait_until(
        lambda: coordinator.connected and coordinator.session_id not in (0, old_session)
    ), f"session {old_session:#x} was not replaced; state {coordinator.state}"


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Poll `predicate` every 20 ms for at most `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
