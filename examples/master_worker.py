"""Master-worker on zkrecipes: the design from the ZooKeeper book, with fencing.

Znodes (under the namespace):
    /master             Election: the leader assigns, the backups wait
    /workers/<worker>   ephemeral, one per live worker (GroupMembership)
    /tasks/<task>       a submitted task (payload), removed when its result is committed
    /assign/<w>/<task>  the master's assignment of a task to a worker
    /status/<task>      the committed result (JSON), created exactly once

Fencing is done by ZooKeeper transactions:
- every assignment the master makes is one transaction that also checks the master's own
  election node, so a deposed master (its session expired, its node gone) cannot assign;
- a worker commits a result in one transaction that checks its assignment still exists, creates
  /status/<task> and deletes the task and the assignment, so a worker presumed dead (whose
  assignment the master already moved) cannot commit, and no task is committed twice.

One command runs a whole demo (two masters, three workers, a worker crash and a master crash):
    python examples/master_worker.py demo --hosts 127.0.0.1:2181
The roles also run as separate processes:
    python examples/master_worker.py master --hosts H --id m1
    python examples/master_worker.py worker --hosts H --id w1
    python examples/master_worker.py submit --hosts H --count 20
    python examples/master_worker.py wait --hosts H --count 20
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import threading
import time
from contextlib import suppress

from kazoo.exceptions import KazooException, NodeExistsError, NoNodeError

import zkrecipes
from zkrecipes import Coordinator, Election, GroupMembership, Ownership

log = logging.getLogger("master_worker")

PATHS = ("/workers", "/tasks", "/assign", "/status")
poll_s = 0.2
session_timeout_s = 2.0


def prepare(coordinator: Coordinator) -> None:
    for path in PATHS:
        coordinator.retry(coordinator.client.ensure_path, path)


def children(coordinator: Coordinator, path: str) -> list[str]:
    try:
        return sorted(coordinator.retry(coordinator.client.get_children, path))
    except NoNodeError:
        return []


class Master:
    """Contends for /master; while leading, reconciles assignments with live workers."""

    def __init__(self, coordinator: Coordinator, master_id: str) -> None:
        self.coordinator = coordinator
        self.master_id = master_id
        self.stopping = threading.Event()
        self.election = Election(coordinator, "/master", identifier=master_id)
        self.assignments = 0

    def run(self) -> None:
        prepare(self.coordinator)
        self.election.start()
        try:
            while not self.stopping.is_set():
                leadership = self.election.wait_for_leadership(timeout=poll_s)
                if leadership is not None:
                    log.info("%s leads with token %d", self.master_id, leadership.token)
                    self._lead(leadership)
        finally:
            self.election.close()

    def _lead(self, leadership: Ownership) -> None:
        while leadership.is_valid and not self.stopping.is_set():
            try:
                self.reconcile(leadership)
            except KazooException as error:
                log.info("%s: reconcile interrupted: %r", self.master_id, error)
            self.stopping.wait(poll_s)

    def _fenced(self, leadership: Ownership, operation: str, path: str) -> bool:
        """Create or delete `path` in a transaction that holds only while we lead."""
        transaction = self.coordinator.client.transaction()
        transaction.check(leadership.path, 0)
        if operation == "create":
            transaction.create(path)
        else:
            transaction.delete(path)
        results = transaction.commit()
        return not any(isinstance(r, Exception) for r in results)

    def reconcile(self, leadership: Ownership) -> None:
        live = children(self.coordinator, "/workers")
        assigned: dict[str, list[str]] = {}
        for worker in children(self.coordinator, "/assign"):
            tasks = children(self.coordinator, f"/assign/{worker}")
            if worker in live:
                assigned[worker] = tasks
                continue
            for task in tasks:  # crash detected: take the task back
                self._fenced(leadership, "delete", f"/assign/{worker}/{task}")
                log.info("%s: %s is gone; %s returns to the pool", self.master_id, worker, task)
        busy = {task for tasks in assigned.values() for task in tasks}
        for task in children(self.coordinator, "/tasks"):
            if task in busy or not live:
                continue
            worker = min(live, key=lambda w: len(assigned.get(w, [])))
            with suppress(NodeExistsError):
                self.coordinator.retry(self.coordinator.client.ensure_path, f"/assign/{worker}")
            if self._fenced(leadership, "create", f"/assign/{worker}/{task}"):
                assigned.setdefault(worker, []).append(task)
                self.assignments += 1


class Worker:
    """Registers under /workers, executes its assignments, commits each result once."""

    def __init__(self, coordinator: Coordinator, worker_id: str, work_s: float = 0.02) -> None:
        self.coordinator = coordinator
        self.worker_id = worker_id
        self.work_s = work_s
        self.stopping = threading.Event()
        self.committed: list[str] = []
        self.rejected: list[str] = []

    def run(self) -> None:
        prepare(self.coordinator)
        with GroupMembership(self.coordinator, "/workers", self.worker_id):
            self.coordinator.retry(self.coordinator.client.ensure_path, self._assign_path)
            while not self.stopping.is_set():
                try:
                    for task in children(self.coordinator, self._assign_path):
                        self._execute(task)
                except KazooException as error:
                    log.info("%s: interrupted: %r", self.worker_id, error)
                self.stopping.wait(poll_s)

    @property
    def _assign_path(self) -> str:
        return f"/assign/{self.worker_id}"

    def _execute(self, task: str) -> None:
        try:
            payload, _ = self.coordinator.retry(self.coordinator.client.get, f"/tasks/{task}")
        except NoNodeError:
            return
        time.sleep(self.work_s)
        result = {
            "worker": self.worker_id,
            "digest": hashlib.sha256(payload).hexdigest()[:16],
        }
        transaction = self.coordinator.client.transaction()
        transaction.check(f"{self._assign_path}/{task}", 0)
        transaction.create(f"/status/{task}", json.dumps(result).encode())
        transaction.delete(f"{self._assign_path}/{task}")
        transaction.delete(f"/tasks/{task}")
        outcome = transaction.commit()
        if any(isinstance(r, Exception) for r in outcome):
            self.rejected.append(task)
            print(f"rejected {task} {self.worker_id}", flush=True)
        else:
            self.committed.append(task)
            print(f"committed {task} {self.worker_id}", flush=True)


def submit(coordinator: Coordinator, count: int, first: int = 0) -> list[str]:
    prepare(coordinator)
    names = [f"task-{i:05d}" for i in range(first, first + count)]
    for name in names:
        with suppress(NodeExistsError):
            coordinator.retry(coordinator.client.create, f"/tasks/{name}", name.encode())
    return names


def wait_done(coordinator: Coordinator, count: int, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if len(children(coordinator, "/status")) >= count:
            return True
        time.sleep(poll_s)
    return len(children(coordinator, "/status")) >= count


def demo(hosts: str, namespace: str, tasks: int) -> int:
    """Two masters and three workers in threads; one worker and the leading master crash."""

    def connect() -> Coordinator:
        return zkrecipes.connect(hosts, namespace=namespace, timeout=session_timeout_s)

    admin = connect()
    for path in ("/master", *PATHS):
        with suppress(NoNodeError):
            admin.client.delete(path, recursive=True)
    prepare(admin)
    masters = [Master(connect(), f"master-{i}") for i in range(2)]
    workers = [Worker(connect(), f"worker-{i}", work_s=0.1) for i in range(3)]
    runners: list[Master | Worker] = [*masters, *workers]
    threads = [threading.Thread(target=r.run, daemon=True) for r in runners]
    for thread in threads:
        thread.start()
    submit(admin, tasks)
    half = tasks // 2
    end = time.monotonic() + 60
    while len(children(admin, "/status")) < half and time.monotonic() < end:
        time.sleep(poll_s)
    # A crash is a session that ends without warning: close the connection, stop the loop.
    workers[0].coordinator.close()
    workers[0].stopping.set()
    leader = next((m for m in masters if m.election.is_leader), None)
    if leader is not None:
        leader.coordinator.close()
        leader.stopping.set()
    done = wait_done(admin, tasks, timeout=60)
    statuses = children(admin, "/status")
    for runner in runners:
        runner.stopping.set()
    print(f"tasks {tasks}, committed {len(statuses)}, all done: {done}")
    for worker in workers:
        print(
            f"{worker.worker_id}: {len(worker.committed)} committed, {len(worker.rejected)} fenced"
        )
    admin.close()
    return 0 if done and len(statuses) == tasks else 1


def demo_on_embedded_server(namespace: str, tasks: int) -> int:
    """Runs the demo against our own server, started in a temporary directory."""
    import tempfile
    from pathlib import Path

    from zkrecipes.testing.ours import OurServer

    with tempfile.TemporaryDirectory() as work, OurServer(Path(work)) as server:
        return demo(server.hosts, namespace, tasks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("role", choices=["demo", "master", "worker", "submit", "wait"])
    parser.add_argument(
        "--hosts",
        help="host:port[,host:port...]; without it, `demo` starts our server on a free port",
    )
    parser.add_argument("--namespace", default="/master-worker")
    parser.add_argument("--id", default="")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--work-s", type=float, default=0.05, help="time each task takes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    if args.role == "demo" and args.hosts is None:
        return demo_on_embedded_server(args.namespace, args.count)
    if args.role == "demo":
        return demo(args.hosts, args.namespace, args.count)
    if args.hosts is None:
        parser.error("--hosts is required for this role")
    with zkrecipes.connect(
        args.hosts, namespace=args.namespace, timeout=session_timeout_s
    ) as coordinator:
        if args.role == "master":
            Master(coordinator, args.id or "master").run()
        elif args.role == "worker":
            Worker(coordinator, args.id or "worker", args.work_s).run()
        elif args.role == "submit":
            submit(coordinator, args.count)
        else:
            return 0 if wait_done(coordinator, args.count, args.timeout) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
