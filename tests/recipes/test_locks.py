"""Lock, ReadWriteLock and Semaphore against a real server."""

import functools
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import zkrecipes
from zkrecipes.coordinator import Coordinator
from zkrecipes.fencing import OwnershipState

from .conftest import CoordinatorFactory
from .faulty_proxy import FaultyProxy
from .fenced_worker import contend
from .support import WAIT_S, expire_session, wait_until


def test_lock_excludes_and_times_out(coordinator_factory: CoordinatorFactory) -> None:
    first = zkrecipes.Lock(coordinator_factory(), "/lock", identifier="first")
    second = zkrecipes.Lock(coordinator_factory(), "/lock", identifier="second")
    assert first.acquire(timeout=WAIT_S)
    assert not second.acquire(blocking=False)
    assert not second.acquire(timeout=0.2)
    assert first.contenders() == ["first"]  # failed attempts leave no node behind
    first.release()
    assert second.acquire(timeout=WAIT_S)
    assert second.token > 0
    second.release()
    assert second.contenders() == []


def test_lock_forms_and_reentrancy(coordinator: Coordinator) -> None:
    lock = zkrecipes.Lock(coordinator, "/lock", reentrant=True)
    with lock as ownership:
        assert ownership.is_valid
        assert lock.acquire(timeout=WAIT_S)  # reentrant: same node, same token
        assert lock.token == ownership.token
        lock.release()
        assert lock.is_held
    assert not lock.is_held
    assert not ownership.is_valid
    assert ownership.state is OwnershipState.RELEASED
    with lock.hold(timeout=WAIT_S) as again:
        assert again.token > ownership.token
    plain = zkrecipes.Lock(coordinator, "/plain")
    with plain, pytest.raises(RuntimeError, match="not reentrant"):
        plain.acquire()


def test_each_release_wakes_exactly_one_waiter(coordinator_factory: CoordinatorFactory) -> None:
    waiters_count = 4
    holder = zkrecipes.Lock(coordinator_factory(), "/herd", identifier="holder")
    assert holder.acquire(timeout=WAIT_S)
    locks = [
        zkrecipes.Lock(coordinator_factory(), "/herd", identifier=f"w{i}")
        for i in range(waiters_count)
    ]
    acquired: list[zkrecipes.Lock] = []
    release = {id(lock): threading.Event() for lock in locks}
    condition = threading.Condition()

    def wait(lock: zkrecipes.Lock) -> None:
        assert lock.acquire(timeout=WAIT_S * 2)
        with condition:
            acquired.append(lock)
            condition.notify_all()
        release[id(lock)].wait(WAIT_S * 2)
        lock.release()

    threads = [threading.Thread(target=wait, args=(lock,)) for lock in locks]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: len(holder.contenders()) == waiters_count + 1)
    holder.release()
    for released in range(1, waiters_count + 1):
        with condition:
            assert condition.wait_for(functools.partial(_has_length, acquired, released), WAIT_S)
        assert sum(lock.wakeups for lock in locks) == released
        release[id(acquired[-1])].set()
    for thread in threads:
        thread.join(WAIT_S)
    assert sum(lock.wakeups for lock in locks) == waiters_count
    assert [lock.identifier for lock in acquired] == [
        f"w{i}" for i in sorted(range(waiters_count), key=lambda i: acquired.index(locks[i]))
    ]


def test_session_expiry_fires_lost_and_next_token_is_larger(
    coordinator_factory: CoordinatorFactory, zk_server: object
) -> None:
    holder_coordinator = coordinator_factory()
    holder = zkrecipes.Lock(holder_coordinator, "/expiring", identifier="holder")
    assert holder.acquire(timeout=WAIT_S)
    held = holder.ownership
    assert held is not None
    lost_callbacks = threading.Event()
    held.on_lost(lost_callbacks.set)

    waiter = zkrecipes.Lock(coordinator_factory(), "/expiring", identifier="waiter")
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(waiter.acquire(timeout=WAIT_S * 2)))
    thread.start()
    assert wait_until(lambda: len(waiter.contenders()) == 2)

    expire_session(holder_coordinator, zk_server.hosts)  # type: ignore[attr-defined]
    assert held.wait_lost(WAIT_S)
    assert lost_callbacks.wait(WAIT_S)
    assert not held.is_valid
    assert held.state is OwnershipState.LOST
    thread.join(WAIT_S * 2)
    assert outcome == [True]
    assert waiter.token > held.token
    waiter.release()


def test_suspension_invalidates_until_reconnected(
    coordinator_factory: CoordinatorFactory, zk_server: object
) -> None:
    proxy = FaultyProxy(zk_server.port)  # type: ignore[attr-defined]
    try:
        root = coordinator_factory().namespace
        suspended = zkrecipes.connect(proxy.hosts, namespace=root, timeout=4.0)
        try:
            lock = zkrecipes.Lock(suspended, "/suspend")
            ownership = lock.__enter__()
            states: list[OwnershipState] = []
            ownership.add_listener(states.append)
            proxy.block()
            assert wait_until(lambda: not ownership.is_valid)
            assert ownership.state is OwnershipState.SUSPENDED
            proxy.unblock()
            assert wait_until(lambda: ownership.is_valid)
            assert wait_until(lambda: states == [OwnershipState.SUSPENDED, OwnershipState.VALID])
            assert not ownership.lost.is_set()
            lock.release()
        finally:
            suspended.close()
    finally:
        proxy.close()


def test_lost_create_reply_leaves_no_orphan(
    coordinator_factory: CoordinatorFactory, zk_server: object
) -> None:
    observer = coordinator_factory()
    proxy = FaultyProxy(zk_server.port)  # type: ignore[attr-defined]
    try:
        with zkrecipes.connect(proxy.hosts, namespace=observer.namespace, timeout=4.0) as flaky:
            lock = zkrecipes.Lock(flaky, "/lossy", identifier="flaky")
            proxy.arm()
            assert lock.acquire(timeout=WAIT_S)
            assert proxy.dropped.is_set()
            assert observer.client.get_children("/lossy") == [lock.ownership.path.rsplit("/")[-1]]  # type: ignore[union-attr]
            lock.release()
            assert observer.client.get_children("/lossy") == []
    finally:
        proxy.close()


def test_contending_threads_never_overlap(
    coordinator_factory: CoordinatorFactory, tmp_path: Path
) -> None:
    results: list[list[str]] = []
    coordinators = [coordinator_factory() for _ in range(4)]
    threads = [
        threading.Thread(target=lambda c=c, i=i: results.append(contend(c, tmp_path, 10, f"t{i}")))
        for i, c in enumerate(coordinators)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 6)
    assert results == [[], [], [], []]
    tokens = [int(line.split()[1]) for line in (tmp_path / "log").read_text().splitlines()]
    assert len(tokens) == 40
    assert tokens == sorted(tokens) and len(set(tokens)) == 40


def test_contending_processes_never_overlap(
    coordinator: Coordinator, zk_server: object, tmp_path: Path
) -> None:
    worker = Path(__file__).with_name("fenced_worker.py")
    env = dict(os.environ)
    package_root = str(Path(zkrecipes.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    args = [zk_server.hosts, coordinator.namespace or "/", str(tmp_path), "8"]  # type: ignore[attr-defined]
    processes = [
        subprocess.Popen([sys.executable, str(worker), *args], env=env, stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=WAIT_S * 6)[0].decode() for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    tokens = [int(line.split()[1]) for line in (tmp_path / "log").read_text().splitlines()]
    assert len(tokens) == 24
    assert tokens == sorted(tokens) and len(set(tokens)) == 24


def test_read_write_lock(coordinator_factory: CoordinatorFactory) -> None:
    a = zkrecipes.ReadWriteLock(coordinator_factory(), "/rw", identifier="a")
    b = zkrecipes.ReadWriteLock(coordinator_factory(), "/rw", identifier="b")
    c = zkrecipes.ReadWriteLock(coordinator_factory(), "/rw", identifier="c")
    assert a.read_lock.acquire(timeout=WAIT_S)
    assert b.read_lock.acquire(timeout=WAIT_S)  # readers share
    assert not c.write_lock.acquire(timeout=0.2)  # a writer waits for readers
    b.read_lock.release()
    a.read_lock.release()
    with c.write_lock as ownership:
        assert ownership.is_valid
        assert not a.read_lock.acquire(timeout=0.2)  # readers wait for the writer
    assert a.read_lock.acquire(timeout=WAIT_S)
    a.read_lock.release()


def test_semaphore_grants_at_most_max_leases(coordinator_factory: CoordinatorFactory) -> None:
    semaphores = [
        zkrecipes.Semaphore(coordinator_factory(), "/sem", 2, identifier=f"s{i}") for i in range(3)
    ]
    first = semaphores[0].acquire(timeout=WAIT_S)
    second = semaphores[1].acquire(timeout=WAIT_S)
    assert first is not None and second is not None
    assert semaphores[2].acquire(timeout=0.2) is None
    assert sorted(semaphores[2].holders()) == ["s0", "s1"]
    semaphores[0].release(first)
    with semaphores[2].hold(timeout=WAIT_S) as third:
        assert third.token > second.token > first.token
        assert sorted(semaphores[2].holders()) == ["s1", "s2"]
    semaphores[1].release(second)
    with semaphores[0] as lease:
        assert lease.is_valid


def _has_length(items: list[zkrecipes.Lock], length: int) -> bool:
    return len(items) == length
