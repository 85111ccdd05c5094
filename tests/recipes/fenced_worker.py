"""A lock contender that checks mutual exclusion on shared files, as a thread or a process.

While holding the lock it creates `inside` exclusively (a second holder would find it there),
checks that its fencing token is larger than the last one written to `fence`, writes its own,
and removes `inside`. Run as a script: `python fenced_worker.py HOSTS NAMESPACE DIR ROUNDS`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import zkrecipes

acquire_timeout_s = 60.0


def contend(coordinator: zkrecipes.Coordinator, shared: Path, rounds: int, name: str) -> list[str]:
    """Take the lock `rounds` times; return every violation seen (empty when correct)."""
    violations: list[str] = []
    lock = zkrecipes.Lock(coordinator, "/contended", identifier=name)
    for _ in range(rounds):
        with lock.hold(timeout=acquire_timeout_s) as ownership:
            try:
                fd = os.open(shared / "inside", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                violations.append(f"{name}: another holder inside")
                continue
            os.close(fd)
            fence = shared / "fence"
            last = int(fence.read_text()) if fence.exists() else -1
            if ownership.token <= last:
                violations.append(f"{name}: token {ownership.token} <= {last}")
            fence.write_text(str(ownership.token))
            with (shared / "log").open("a") as log:
                log.write(f"{name} {ownership.token}\n")
            os.remove(shared / "inside")
    return violations


def main() -> int:
    hosts, namespace, shared, rounds = sys.argv[1:5]
    with zkrecipes.connect(hosts, namespace=namespace, timeout=4.0) as coordinator:
        violations = contend(coordinator, Path(shared), int(rounds), f"process-{os.getpid()}")
    for violation in violations:
        print(violation)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
