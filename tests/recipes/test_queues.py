"""Queue and PriorityQueue against a real server."""

import pytest

import zkrecipes
from zkrecipes.coordinator import Coordinator

from .conftest import CoordinatorFactory
from .faulty_proxy import FaultyProxy
from .support import WAIT_S, expire_session


def test_fifo_take_and_ack(coordinator: Coordinator) -> None:
    queue = zkrecipes.Queue(coordinator, "/q")
    for value in (b"one", b"two", b"three"):
        queue.put(value)
    assert len(queue) == 3
    first = queue.take(timeout=WAIT_S)
    second = queue.take(timeout=WAIT_S)  # the first is claimed, so the next is taken
    assert (first.value, second.value) == (b"one", b"two")
    first.ack()
    second.release()  # given back: taken again before later items
    assert queue.get(timeout=WAIT_S) == b"two"
    assert queue.get(timeout=WAIT_S) == b"three"
    assert len(queue) == 0
    with pytest.raises(zkrecipes.QueueEmpty):
        queue.take(timeout=0.2)


def test_priority_order(coordinator: Coordinator) -> None:
    queue = zkrecipes.PriorityQueue(coordinator, "/pq")
    queue.put(b"low-1", priority=900)
    queue.put(b"high", priority=1)
    queue.put(b"low-2", priority=900)
    queue.put(b"middle")
    taken = [queue.get(timeout=WAIT_S) for _ in range(4)]
    assert taken == [b"high", b"middle", b"low-1", b"low-2"]


def test_consumer_death_returns_item(
    coordinator_factory: CoordinatorFactory, zk_server: object
) -> None:
    producer = zkrecipes.Queue(coordinator_factory(), "/work")
    producer.put(b"job")
    doomed_coordinator = coordinator_factory()
    doomed = zkrecipes.Queue(doomed_coordinator, "/work").take(timeout=WAIT_S)
    survivor = zkrecipes.Queue(coordinator_factory(), "/work")
    with pytest.raises(zkrecipes.QueueEmpty):
        survivor.take(timeout=0.2)  # claimed by the doomed consumer

    expire_session(doomed_coordinator, zk_server.hosts)  # type: ignore[attr-defined]
    again = survivor.take(timeout=WAIT_S)
    assert again.value == b"job"
    with pytest.raises(zkrecipes.ClaimLost):
        doomed.ack()  # the dead consumer cannot complete it too
    again.ack()
    assert len(survivor) == 0


def test_lost_put_reply_leaves_one_item(
    coordinator_factory: CoordinatorFactory, zk_server: object
) -> None:
    observer = coordinator_factory()
    proxy = FaultyProxy(zk_server.port)  # type: ignore[attr-defined]
    try:
        with zkrecipes.connect(proxy.hosts, namespace=observer.namespace, timeout=4.0) as flaky:
            queue = zkrecipes.Queue(flaky, "/lossy")
            proxy.arm()
            queue.put(b"once")
            assert proxy.dropped.is_set()
        assert len(observer.client.get_children("/lossy/items")) == 1
    finally:
        proxy.close()
