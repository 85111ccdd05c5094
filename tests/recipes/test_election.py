"""Election (leader latch, run, observer) against a real server."""

import functools
import threading

import zkrecipes
from zkrecipes.fencing import Ownership

from .conftest import CoordinatorFactory
from .support import WAIT_S, expire_session, wait_until


def test_leader_latch_succession_and_observer(coordinator_factory: CoordinatorFactory) -> None:
    gained: list[str] = []
    elections = []
    for count, name in enumerate(("a", "b", "c"), start=1):
        election = zkrecipes.Election(
            coordinator_factory(),
            "/election",
            identifier=name,
            on_gained=functools.partial(_record, gained, name),
        )
        elections.append(election.start())
        # Join one at a time so that the order of the line is known.
        assert wait_until(functools.partial(_contenders_are, elections[0], count))
    a, b, c = elections
    first = a.wait_for_leadership(WAIT_S)
    assert first is not None
    assert not b.is_leader and not c.is_leader
    observer = zkrecipes.LeaderObserver(coordinator_factory(), "/election")
    seen: list[str | None] = []
    observer.watch(seen.append)
    assert observer.leader() == "a"

    a.close()
    second = b.wait_for_leadership(WAIT_S)
    assert second is not None and second.token > first.token
    assert wait_until(lambda: seen[-1:] == ["b"])
    assert not c.is_leader
    assert c.wakeups == 0  # c watched b, which did not change
    b.close()
    third = c.wait_for_leadership(WAIT_S)
    assert third is not None and third.token > second.token
    assert wait_until(lambda: gained == ["a", "b", "c"])
    c.close()
    assert wait_until(lambda: observer.leader() is None)


def test_leadership_lost_on_expiry_and_regained_with_larger_token(
    coordinator_factory: CoordinatorFactory, zk_server: object
) -> None:
    leader_coordinator = coordinator_factory()
    lost = threading.Event()
    leader = zkrecipes.Election(
        leader_coordinator, "/election", identifier="leader", on_lost=lost.set
    ).start()
    first = leader.wait_for_leadership(WAIT_S)
    assert first is not None
    backup = zkrecipes.Election(coordinator_factory(), "/election", identifier="backup").start()
    assert wait_until(lambda: len(backup.contenders()) == 2)

    expire_session(leader_coordinator, zk_server.hosts)  # type: ignore[attr-defined]
    assert lost.wait(WAIT_S)
    assert not first.is_valid
    second = backup.wait_for_leadership(WAIT_S)
    assert second is not None and second.token > first.token
    # The deposed leader rejoins with its new session, behind the backup.
    assert wait_until(lambda: backup.contenders() == ["backup", "leader"])
    backup.close()
    third = leader.wait_for_leadership(WAIT_S)
    assert third is not None and third.token > second.token
    leader.close()


def test_run_blocks_until_elected(coordinator_factory: CoordinatorFactory) -> None:
    holder = zkrecipes.Election(coordinator_factory(), "/run", identifier="holder").start()
    assert holder.wait_for_leadership(WAIT_S) is not None
    result: list[int] = []

    def lead(ownership: Ownership) -> int:
        assert ownership.is_valid
        return ownership.token

    runner = zkrecipes.Election(coordinator_factory(), "/run", identifier="runner")
    thread = threading.Thread(target=lambda: result.append(runner.run(lead, timeout=WAIT_S)))
    thread.start()
    assert wait_until(lambda: len(holder.contenders()) == 2)
    assert result == []
    holder.close()
    thread.join(WAIT_S)
    assert len(result) == 1 and result[0] > 0
    assert runner.contenders() == []  # run() resigned


def _record(log: list[str], name: str, _ownership: Ownership) -> None:
    log.append(name)


def _contenders_are(election: zkrecipes.Election, count: int) -> bool:
    return len(election.contenders()) == count
