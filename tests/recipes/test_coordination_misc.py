"""Barriers, naming, groups, counter and lease against a real server."""

import threading

import pytest
from kazoo.exceptions import NoAuthError
from kazoo.security import make_digest_acl

import zkrecipes
from zkrecipes.coordinator import ConnectionState, Coordinator, StateChange

from .conftest import CoordinatorFactory
from .support import WAIT_S, expire_session, wait_until


def test_state_stream_reports_expiry_and_new_session(
    coordinator_factory: CoordinatorFactory, zk_server: object
) -> None:
    coordinator = coordinator_factory()
    changes: list[StateChange] = []
    coordinator.subscribe(changes.append)
    old = coordinator.session_id
    expire_session(coordinator, zk_server.hosts)  # type: ignore[attr-defined]
    assert wait_until(lambda: any(c.new_session for c in changes))
    states = [c.state for c in changes]
    assert ConnectionState.LOST in states and states[-1] is ConnectionState.CONNECTED
    assert changes[-1].session_id == coordinator.session_id != old


def test_namespace_and_auth(coordinator_factory: CoordinatorFactory) -> None:
    acl = [make_digest_acl("app", "secret", all=True)]
    owner = coordinator_factory(auth=[("digest", "app:secret")], default_acl=acl)
    owner.client.create("/private", b"x")
    stranger = coordinator_factory()
    assert stranger.client.exists("/private") is not None  # same namespace
    with pytest.raises(NoAuthError):
        stranger.client.get("/private")
    assert owner.client.get("/private")[0] == b"x"


def test_barrier(coordinator_factory: CoordinatorFactory) -> None:
    barrier = zkrecipes.Barrier(coordinator_factory(), "/gate/b")
    assert barrier.create()
    waiter = zkrecipes.Barrier(coordinator_factory(), "/gate/b")
    assert not waiter.wait(timeout=0.2)
    passed: list[bool] = []
    thread = threading.Thread(target=lambda: passed.append(waiter.wait(timeout=WAIT_S)))
    thread.start()
    assert barrier.remove()
    thread.join(WAIT_S)
    assert passed == [True]


def test_double_barrier(coordinator_factory: CoordinatorFactory) -> None:
    parties = 3
    log: list[str] = []
    lock = threading.Lock()

    def party(i: int) -> None:
        barrier = zkrecipes.DoubleBarrier(coordinator_factory(), "/db", parties, identifier=str(i))
        barrier.enter(timeout=WAIT_S)
        with lock:
            log.append("in")
        barrier.leave(timeout=WAIT_S)
        with lock:
            log.append("out")

    threads = [threading.Thread(target=party, args=(i,)) for i in range(parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 2)
    assert log == ["in"] * parties + ["out"] * parties
    lonely = zkrecipes.DoubleBarrier(coordinator_factory(), "/db", parties)
    with pytest.raises(zkrecipes.AcquireTimeout):
        lonely.enter(timeout=0.2)


def test_service_registry(coordinator_factory: CoordinatorFactory, zk_server: object) -> None:
    provider_coordinator = coordinator_factory()
    provider = zkrecipes.ServiceRegistry(provider_coordinator)
    client = zkrecipes.ServiceRegistry(coordinator_factory())
    seen: list[list[int]] = []
    client.watch("api", lambda instances: seen.append([i.port for i in instances]))
    one = provider.register("api", "127.0.0.1", 8001, {"zone": "a"}, instance_id="one")
    provider.register("api", "127.0.0.1", 8002, instance_id="two")
    assert wait_until(lambda: seen[-1:] == [[8001, 8002]])
    assert client.discover("api")[0] == one
    # A registration survives the expiry of its session: it is made again.
    expire_session(provider_coordinator, zk_server.hosts)  # type: ignore[attr-defined]
    assert wait_until(lambda: [i.id for i in client.discover("api")] == ["one", "two"])
    provider.unregister(one)
    assert wait_until(lambda: seen[-1:] == [[8002]])
    provider.close()
    assert wait_until(lambda: client.discover("api") == [])


def test_unique_ids(coordinator_factory: CoordinatorFactory) -> None:
    generators = [zkrecipes.UniqueIdGenerator(coordinator_factory(), "/ids") for _ in range(2)]
    ids = [generators[i % 2].next_id() for i in range(10)]
    assert ids == sorted(ids) and len(set(ids)) == 10


def test_group_membership(coordinator_factory: CoordinatorFactory) -> None:
    alice = zkrecipes.GroupMembership(coordinator_factory(), "/group", "alice", b"A")
    bob_coordinator = coordinator_factory()
    bob = zkrecipes.GroupMembership(bob_coordinator, "/group", "bob", b"B")
    seen: list[list[str]] = []
    alice.watch(seen.append)
    alice.join()
    bob.join()
    assert alice.members() == {"alice": b"A", "bob": b"B"}
    with pytest.raises(zkrecipes.MemberExists):
        zkrecipes.GroupMembership(coordinator_factory(), "/group", "bob").join()
    assert wait_until(lambda: seen[-1:] == [["alice", "bob"]])
    bob_coordinator.close()  # a crash: the session ends, the member leaves
    assert wait_until(lambda: seen[-1:] == [["alice"]])
    alice.leave()
    assert wait_until(lambda: seen[-1:] == [[]])


def test_party(coordinator_factory: CoordinatorFactory) -> None:
    parties = [zkrecipes.Party(coordinator_factory(), "/party", f"p{i}") for i in range(3)]
    assert not parties[0].wait_for(1, timeout=0.1)
    for party in parties:
        party.join()
    assert parties[0].wait_for(3, timeout=WAIT_S)
    assert len(parties[0]) == 3
    assert parties[0].participants() == ["p0", "p1", "p2"]
    parties[1].leave()
    assert parties[2].participants() == ["p0", "p2"]


def test_counter(coordinator_factory: CoordinatorFactory) -> None:
    counters = [zkrecipes.Counter(coordinator_factory(), "/count") for _ in range(3)]

    def bump(counter: zkrecipes.Counter) -> None:
        for _ in range(20):
            counter.add(1)

    threads = [threading.Thread(target=bump, args=(c,)) for c in counters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 2)
    assert counters[0].value == 60
    assert counters[1].compare_and_set(60, 100)
    assert not counters[2].compare_and_set(60, 7)
    counters[2] -= 1
    assert counters[0].value == 99


def test_lease(coordinator_factory: CoordinatorFactory, zk_server: object) -> None:
    holder_coordinator = coordinator_factory()
    lease = zkrecipes.Lease(holder_coordinator, "/lease", duration=30.0, identifier="a")
    other = zkrecipes.Lease(coordinator_factory(), "/lease", duration=30.0, identifier="b")
    first = lease.acquire(timeout=WAIT_S)
    assert first is not None and first.is_valid
    assert other.acquire(timeout=0.2) is None
    lease.renew(first)
    assert first.remaining > 25.0
    expire_session(holder_coordinator, zk_server.hosts)  # type: ignore[attr-defined]
    assert first.wait_lost(WAIT_S)
    with other.hold(timeout=WAIT_S) as second:
        assert second.token > first.token
        with pytest.raises(zkrecipes.OwnershipLost):
            lease.renew(first)


def test_lease_expires_without_renewal(coordinator_factory: CoordinatorFactory) -> None:
    short = zkrecipes.Lease(coordinator_factory(), "/short", duration=0.3, grace=0.0)
    held = short.acquire(timeout=WAIT_S)
    assert held is not None
    assert held.wait_lost(WAIT_S)  # the holder stopped renewing: its own clock ends it
    assert not held.is_valid
    taker = zkrecipes.Lease(coordinator_factory(), "/short", duration=30.0)
    taken = taker.acquire(timeout=WAIT_S)  # takes over the stale record
    assert taken is not None and taken.token > held.token


def test_fenced_resource_rejects_stale_tokens(coordinator: Coordinator) -> None:
    resource = zkrecipes.FencedResource("")
    lock = zkrecipes.Lock(coordinator, "/fenced")
    with lock as old:
        resource.write(old.token, "old")
    with lock as new:
        resource.write(new.token, "new")
    with pytest.raises(zkrecipes.StaleTokenError):
        resource.write(old.token, "late write from a deposed holder")
    assert resource.read() == "new"
