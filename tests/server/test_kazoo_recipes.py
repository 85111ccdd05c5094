"""kazoo's own recipes end to end: each returns a deterministic trace of what it did."""

import threading
import time
from typing import Any

from kazoo.recipe.barrier import Barrier, DoubleBarrier
from kazoo.recipe.counter import Counter
from kazoo.recipe.election import Election
from kazoo.recipe.lock import Lock, Semaphore
from kazoo.recipe.partitioner import SetPartitioner
from kazoo.recipe.party import Party, ShallowParty
from kazoo.recipe.queue import LockingQueue, Queue

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.targets import ZkTarget

WAIT_S = 10.0


def test_lock_mutual_exclusion_and_order(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        first, second = target.client(), target.client()
        lock_a = Lock(first, "/lock", "a")
        lock_b = Lock(second, "/lock", "b")
        assert lock_a.acquire(timeout=WAIT_S)
        blocked = lock_b.acquire(blocking=False)
        contenders = lock_a.contenders()
        acquired_b = threading.Event()

        def take_b() -> None:
            if lock_b.acquire(timeout=WAIT_S):
                acquired_b.set()

        thread = threading.Thread(target=take_b)
        thread.start()
        lock_a.release()
        thread.join(WAIT_S)
        result = {
            "blocked": blocked,
            "contenders_while_held": contenders,
            "b_acquired_after_release": acquired_b.is_set(),
        }
        lock_b.release()
        return result

    observed = differential.run(scenario)
    assert observed == {
        "blocked": False,
        "contenders_while_held": ["a"],
        "b_acquired_after_release": True,
    }


def test_lock_released_when_holder_session_closes(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> bool:
        holder, waiter = target.client(), target.client()
        assert Lock(holder, "/lock2", "h").acquire(timeout=WAIT_S)
        holder.stop()
        lock = Lock(waiter, "/lock2", "w")
        acquired: bool = lock.acquire(timeout=WAIT_S)
        lock.release()
        return acquired

    assert differential.run(scenario) is True


def test_election_leader_and_succession(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        clients = [target.client() for _ in range(3)]
        leaders: list[str] = []
        done = threading.Event()
        elections = [Election(c, "/election", f"node{i}") for i, c in enumerate(clients)]

        def lead(name: str) -> None:
            leaders.append(name)
            if len(leaders) == 3:
                done.set()

        threads = []
        for i, election in enumerate(elections):
            thread = threading.Thread(target=election.run, args=(lead, f"node{i}"))
            thread.start()
            threads.append(thread)
            # Each joins after the previous one stands or has led, so the order is known.
            for _ in range(200):
                if len(election.contenders()) == i + 1 or len(leaders) > i:
                    break
                time.sleep(0.05)
        done.wait(WAIT_S)
        for thread in threads:
            thread.join(WAIT_S)
        return {"leaders": leaders, "contenders_after": elections[0].contenders()}

    observed = differential.run(scenario)
    assert observed == {"leaders": ["node0", "node1", "node2"], "contenders_after": []}


def test_barrier(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        controller, worker = target.client(), target.client()
        barrier = Barrier(controller, "/barrier")
        barrier.create()
        waiting = Barrier(worker, "/barrier")
        timed_out = waiting.wait(timeout=0.2)
        passed = threading.Event()

        def wait_then_mark() -> None:
            if waiting.wait(WAIT_S):
                passed.set()

        thread = threading.Thread(target=wait_then_mark)
        thread.start()
        barrier.remove()
        thread.join(WAIT_S)
        return {"held": timed_out, "passed_after_remove": passed.is_set()}

    observed = differential.run(scenario)
    assert observed == {"held": False, "passed_after_remove": True}


def test_double_barrier(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        clients = [target.client() for _ in range(3)]
        entered: list[int] = []
        left: list[int] = []
        lock = threading.Lock()

        def participant(index: int) -> None:
            barrier = DoubleBarrier(clients[index], "/double", 3, identifier=f"p{index}")
            barrier.enter()
            with lock:
                entered.append(index)
            barrier.leave()
            with lock:
                left.append(index)

        threads = [threading.Thread(target=participant, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_S)
        return {
            "entered": sorted(entered),
            "left": sorted(left),
            "remaining": clients[0].get_children("/double"),
        }

    observed = differential.run(scenario)
    assert observed == {"entered": [0, 1, 2], "left": [0, 1, 2], "remaining": []}


def test_queue_fifo_and_priority(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        producer, consumer = target.client(), target.client()
        queue = Queue(producer, "/queue")
        for item in (b"one", b"two", b"three"):
            queue.put(item)
        queue.put(b"urgent", priority=10)
        queue.put(b"first", priority=1)
        reader = Queue(consumer, "/queue")
        length = len(reader)
        items = [reader.get() for _ in range(5)]
        return {"length": length, "items": items, "empty": reader.get()}

    observed = differential.run(scenario)
    assert observed == {
        "length": 5,
        "items": [b"first", b"urgent", b"one", b"two", b"three"],
        "empty": None,
    }


def test_locking_queue(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        producer, consumer, other = target.client(), target.client(), target.client()
        queue = LockingQueue(producer, "/lq")
        queue.put_all([b"a", b"b"])
        taker = LockingQueue(consumer, "/lq")
        first = taker.get(timeout=WAIT_S)
        other_sees = LockingQueue(other, "/lq").get(timeout=WAIT_S)
        consumed = taker.consume()
        length_after_consume = len(LockingQueue(producer, "/lq"))
        # An item taken by a session that ends without consuming it returns to the queue.
        other.stop()
        again = LockingQueue(producer, "/lq").get(timeout=WAIT_S)
        return {
            "first": first,
            "other_got_next": other_sees,
            "consumed": consumed,
            "length_after_consume": length_after_consume,
            "returned_item": again,
        }

    observed = differential.run(scenario)
    assert observed == {
        "first": b"a",
        "other_got_next": b"b",
        "consumed": True,
        "length_after_consume": 1,
        "returned_item": b"b",
    }


def test_counter(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[Any]:
        a, b = target.client(), target.client()
        counter_a = Counter(a, "/counter")
        counter_b = Counter(b, "/counter")
        counter_a += 5
        counter_b += 2
        counter_a -= 1
        floats = Counter(a, "/fcounter", default=0.5)
        floats += 1.25
        return [counter_a.value, counter_b.value, floats.value, a.get("/counter")[0]]

    observed = differential.run(scenario)
    assert observed == [6, 6, 1.75, b"6"]


def test_semaphore(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        clients = [target.client() for _ in range(3)]
        sems = [Semaphore(c, "/sem", f"s{i}", max_leases=2) for i, c in enumerate(clients)]
        first = sems[0].acquire(timeout=WAIT_S)
        second = sems[1].acquire(timeout=WAIT_S)
        third = sems[2].acquire(blocking=False)
        lease_holders = sorted(sems[0].lease_holders())
        sems[0].release()
        third_after = sems[2].acquire(timeout=WAIT_S)
        return {
            "acquired": [first, second, third, third_after],
            "holders": lease_holders,
            "holders_after": sorted(sems[1].lease_holders()),
        }

    observed = differential.run(scenario)
    assert observed == {
        "acquired": [True, True, False, True],
        "holders": ["s0", "s1"],
        "holders_after": ["s1", "s2"],
    }


def test_party_and_shallow_party(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        a, b = target.client(), target.client()
        party_a = Party(a, "/party", "alice")
        party_b = Party(b, "/party", "bob")
        party_a.join()
        party_b.join()
        members = sorted(party_a)
        party_b.leave()
        shallow = ShallowParty(a, "/shallow", "carol")
        shallow.join()
        return {
            "members": members,
            "after_leave": sorted(Party(a, "/party")),
            "count": len(party_a),
            "shallow": list(ShallowParty(b, "/shallow")),
        }

    observed = differential.run(scenario)
    assert observed == {
        "members": ["alice", "bob"],
        "after_leave": ["alice"],
        "count": 1,
        "shallow": ["carol"],
    }


def test_set_partitioner(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[Any]:
        zk = target.client()
        partitioner = SetPartitioner(zk, "/partition", set=("x", "y", "z"), time_boundary=0.2)
        partitioner.wait_for_acquire(timeout=WAIT_S)
        result = [partitioner.acquired, sorted(partitioner)]
        partitioner.finish()
        return result

    observed = differential.run(scenario)
    assert observed == [True, ["x", "y", "z"]]
