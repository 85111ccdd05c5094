"""The master-worker example under crashes: every task is committed exactly once."""

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kazoo.exceptions import KazooException

import zkrecipes
from zkrecipes.coordinator import Coordinator

from .support import WAIT_S, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "master_worker.py"
TASKS = 40
# A stopped worker stays stopped longer than its 2 s session, so the master presumes it dead.
presumed_dead_pause_s = 3.0


def _spawn(hosts: str, namespace: str, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    package_root = str(Path(zkrecipes.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    command = [sys.executable, str(EXAMPLE), *args, "--hosts", hosts, "--namespace", namespace]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def test_every_task_once_under_master_and_worker_kills(
    coordinator: Coordinator, zk_server: object
) -> None:
    hosts = zk_server.hosts  # type: ignore[attr-defined]
    namespace = f"{coordinator.namespace}/mw"
    with zkrecipes.connect(hosts, namespace=namespace, timeout=4.0) as admin:
        masters = {f"m{i}": _spawn(hosts, namespace, "master", "--id", f"m{i}") for i in range(2)}
        workers = {
            f"w{i}": _spawn(hosts, namespace, "worker", "--id", f"w{i}", "--work-s", "0.1")
            for i in range(3)
        }
        try:
            observer = zkrecipes.LeaderObserver(admin, "/master")
            assert wait_until(lambda: observer.leader() in masters)
            assert wait_until(lambda: _count(admin, "/workers") == 3)
            assert (
                subprocess.run(
                    [
                        sys.executable,
                        str(EXAMPLE),
                        "submit",
                        "--hosts",
                        hosts,
                        "--namespace",
                        namespace,
                        "--count",
                        str(TASKS),
                    ],
                    env={**os.environ, "PYTHONPATH": str(Path(zkrecipes.__file__).parents[1])},
                    timeout=WAIT_S,
                ).returncode
                == 0
            )
            assert wait_until(lambda: _count(admin, "/status") >= 5)

            leader = observer.leader()
            assert leader is not None
            masters[leader].send_signal(signal.SIGKILL)
            workers["w0"].send_signal(signal.SIGKILL)
            workers["w1"].send_signal(signal.SIGSTOP)
            time.sleep(presumed_dead_pause_s)
            workers["w1"].send_signal(signal.SIGCONT)

            assert wait_until(lambda: _count(admin, "/status") == TASKS, timeout=WAIT_S * 3)
            assert wait_until(lambda: observer.leader() not in (None, leader))
            assert _count(admin, "/tasks") == 0
        finally:
            for process in (*masters.values(), *workers.values()):
                process.send_signal(signal.SIGCONT)
                process.kill()
        commits = collections.Counter[str]()
        for process in workers.values():
            output = process.communicate(timeout=WAIT_S)[0].decode()
            commits.update(
                line.split()[1] for line in output.splitlines() if line.startswith("committed ")
            )
        assert all(count == 1 for count in commits.values()), commits
        statuses = sorted(admin.client.get_children("/status"))
        assert statuses == [f"task-{i:05d}" for i in range(TASKS)]
        assert set(commits) <= set(statuses)


def _count(coordinator: Coordinator, path: str) -> int:
    try:
        return len(coordinator.client.get_children(path))
    except KazooException:
        return -1
