"""The target checks of `zkr bench compare`, on figures made up for the purpose: which bound
each figure is held to, and when a target counts as met."""

from __future__ import annotations

from array import array

from zkserver.bench.compare import Measured, Round
from zkserver.bench.physical import Floor
from zkserver.bench.report import summaries
from zkserver.bench.targets import checks


def one_round(ops: int, latency_us: float) -> Round:
    return Round(
        ops=ops,
        wall_s=1.0,
        errors={},
        error_sample="",
        latencies_us=array("d", [latency_us] * 10),
        server_cpu_s=0.1,
        generator_cpu=0.5,
    )


def measured(ours_get: int, ours_set_serial_us: float) -> Measured:
    m = Measured()
    m.rounds["get/apache"] = [one_round(50_000, 5000)]
    m.rounds["get/ours"] = [one_round(ours_get, 500)]
    m.rounds["set-serial/apache"] = [one_round(2000, 400)]
    m.rounds["set-serial/ours"] = [one_round(3000, ours_set_serial_us)]
    m.floors["fsync"] = Floor(samples=10, p50_us=100.0, p99_us=200.0)
    m.floors["rtt"] = Floor(samples=10, p50_us=50.0, p99_us=90.0)
    m.launch_s = {"apache": [0.4], "ours": [0.08]}
    return m


def by_target(m: Measured) -> dict[str, tuple[float, bool, str]]:
    return {c.target: (c.measured, c.met, c.detail) for c in checks(m, summaries(m))}


def test_bounds_and_verdicts() -> None:
    got = by_target(measured(ours_get=200_000, ours_set_serial_us=160.0))
    assert got["get throughput, ours / Apache"][:2] == (4.0, True)
    assert got["set-serial p50 / fsync p50"][:2] == (1.6, False)
    assert got["set-serial p50 / fsync p50"][2] == "physical floor (RTT + fsync) / fsync = 1.50x"
    assert got["launch to first answered session (s)"][:2] == (0.08, True)
    # Workloads that did not run are not judged.
    assert "connect throughput, ours / Apache" not in got
    assert not any(t.startswith("RSS") for t in got)


def test_a_ratio_below_its_floor_is_not_met() -> None:
    got = by_target(measured(ours_get=100_000, ours_set_serial_us=150.0))
    assert got["get throughput, ours / Apache"][:2] == (2.0, False)
    assert got["set-serial p50 / fsync p50"][:2] == (1.5, True)


def test_memory_targets_name_the_tree_size() -> None:
    m = measured(ours_get=200_000, ours_set_serial_us=150.0)
    common = {"znodes_loaded": 100_000.0, "restart_s": 1.0}
    m.loaded = {
        "apache": {**common, "rss_settled_bytes": 1000.0, "rss_restarted_bytes": 1000.0},
        "ours": {**common, "rss_settled_bytes": 250.0, "rss_restarted_bytes": 400.0},
    }
    got = by_target(m)
    assert got["RSS idle after the load, ours / Apache"][:2] == (0.25, True)
    assert got["RSS after a restart, ours / Apache"][:2] == (0.4, False)
    assert got["restart time, ours / Apache"][2] == "measured with 100,000 znodes, not 1M"
