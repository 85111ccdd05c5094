"""The README's one-example-per-recipe block runs as written against a real server."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import zkrecipes
from zkrecipes.testing.targets import ZkTarget

README = Path(__file__).resolve().parents[2] / "README.md"


def _recipe_examples() -> str:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (block,) = [b for b in blocks if "UniqueIdGenerator(zk" in b]
    return block


def _double_barrier_partner(zk: zkrecipes.Coordinator) -> None:
    barrier = zkrecipes.DoubleBarrier(zk, "/barriers/round", num_parties=3)
    barrier.enter(timeout=30)
    barrier.leave(timeout=30)


def test_readme_recipe_examples_run(zk_server: ZkTarget) -> None:
    calls: list[tuple[str, Any]] = []

    def record(name: str) -> Any:
        return lambda *args: calls.append((name, args))

    with zkrecipes.connect(zk_server.hosts, namespace="/readme") as zk:
        # Party.wait_for(5) needs five parties: join four others first.
        others = [zkrecipes.Party(zk, "/parties/start", f"worker-{i}") for i in range(4)]
        for p in others:
            p.join()
        # The DoubleBarrier of the example has three parties: two more enter from threads.
        partners = [
            threading.Thread(target=_double_barrier_partner, args=(zk,), daemon=True)
            for _ in range(2)
        ]
        for t in partners:
            t.start()
        names: dict[str, Any] = {"zk": zk, "print": record("print")}
        for fn in (
            "work",
            "read",
            "write",
            "train",
            "start",
            "stop",
            "compute",
            "process",
            "compact",
        ):
            names[fn] = record(fn)
        # Barrier.wait returns at once once nobody holds the barrier.
        exec(compile(_recipe_examples(), str(README), "exec"), names)
        for p in others:
            p.leave()
        for t in partners:
            t.join(timeout=30)
            assert not t.is_alive()
        assert names["election"].is_leader
        names["election"].close()
        names["config"].close()
    called = {name for name, _ in calls}
    assert {"work", "read", "write", "train", "start", "compute", "process", "compact"} <= called
    tokens = [args[0] for name, args in calls if name in ("work", "write", "train", "compact")]
    assert all(isinstance(t, int) and t > 0 for t in tokens)
