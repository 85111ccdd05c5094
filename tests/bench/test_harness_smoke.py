"""Smoke test of the benchmark harness: every workload, a few requests, both servers.

Asserts what the harness counted (every reply arrived and passed its xid, error-code and length
check), never a timing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from zkrecipes.testing.apache import missing_reason
from zkrecipes.testing.server_process import ServerProcess
from zkserver.bench import procstat, servers, workloads
from zkserver.bench.cli import main as bench_main
from zkserver.bench.compare import Comparison, Options
from zkserver.bench.jobs import ConnectJob, Job, StreamJob, Target
from zkserver.bench.pool import WorkerPool
from zkserver.bench.progress import Progress

WORKERS = 2
CONNECTIONS = 2
DEPTH = 8
OPS_PER_CONNECTION = 40
CONNECT_OPS_PER_WORKER = 10
FANOUT_SESSIONS = 30
FANOUT_ROUNDS = 2
PACED_RATE = 400
# A bound, not a measurement: a round ends by count long before this.
ROUND_LIMIT_S = 60.0
SERVER_NAMES = ("apache", "ours")


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(WORKERS) as p:
        yield p


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    opts = Options(fanout_sessions=FANOUT_SESSIONS, fanout_rounds=FANOUT_ROUNDS)
    opts.workdir = tmp_path_factory.mktemp("bench")
    return Comparison(opts, Progress(0, enabled=False))


@pytest.fixture(scope="module", params=SERVER_NAMES)
def server(request: pytest.FixtureRequest, comparison: Comparison) -> Iterator[ServerProcess]:
    if request.param == "apache" and (reason := missing_reason()) is not None:
        pytest.skip(f"Apache ZooKeeper reference unavailable: {reason}")
    assert comparison.opts.workdir is not None
    pair = servers.make_servers(comparison.opts.workdir, comparison.settings(), "512m")
    srv = pair[request.param].start()
    try:
        comparison.create_tree(srv)
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize("workload", workloads.STREAM_WORKLOADS)
def test_stream_workload_counts_every_reply(
    workload: str, server: ServerProcess, pool: WorkerPool
) -> None:
    target = Target("127.0.0.1", server.port)
    job = StreamJob(
        target,
        workload,
        f"smoke-{workload}",
        CONNECTIONS,
        DEPTH,
        OPS_PER_CONNECTION,
        ROUND_LIMIT_S,
        100,
    )
    cpu: list[float] = []
    pid = server.pid
    assert pid is not None
    outs = pool.run([job] * WORKERS, [lambda: cpu.append(procstat.cpu_seconds(pid))] * 2)
    assert [o.error_sample for o in outs] == [""] * WORKERS
    assert sum(o.error_count for o in outs) == 0
    assert sum(o.ops for o in outs) == WORKERS * CONNECTIONS * OPS_PER_CONNECTION
    assert sum(len(o.latencies_us) for o in outs) == WORKERS * CONNECTIONS * OPS_PER_CONNECTION
    assert len(cpu) == 2 and cpu[1] >= cpu[0]


def test_connect_close_cycles(server: ServerProcess, pool: WorkerPool) -> None:
    jobs: list[Job] = [
        ConnectJob(Target("127.0.0.1", server.port), 2, CONNECT_OPS_PER_WORKER, ROUND_LIMIT_S)
    ] * WORKERS
    outs = pool.run(jobs, [lambda: None] * 2)
    assert sum(o.error_count for o in outs) == 0, [o.error_sample for o in outs]
    assert sum(o.ops for o in outs) == WORKERS * CONNECT_OPS_PER_WORKER


def test_fanout_notifies_every_session(
    server: ServerProcess, pool: WorkerPool, comparison: Comparison
) -> None:
    got = comparison.run_fanout(pool, server)
    assert got.errors == {}, got.error_sample
    assert got.ops == FANOUT_SESSIONS * FANOUT_ROUNDS
    assert len(got.latencies_us) == FANOUT_SESSIONS * FANOUT_ROUNDS


def test_serial_workloads_use_one_connection(server: ServerProcess, pool: WorkerPool) -> None:
    comparison = Comparison(Options(), Progress(0, enabled=False))
    jobs = comparison.stream_jobs("set-serial", Target("127.0.0.1", server.port), 0.2, WORKERS)
    outs = pool.run(jobs, [lambda: None] * 2)
    assert sum(o.error_count for o in outs) == 0
    assert outs[0].ops > 0
    assert all(o.ops == 0 for o in outs[1:])


def test_paced_workload_keeps_to_its_schedule(server: ServerProcess, pool: WorkerPool) -> None:
    """An open-loop run sends on schedule and no faster: every request due in the run is
    answered and checked, and none beyond the schedule's count is sent."""
    opts = Options(paced_rate=PACED_RATE, connections=CONNECTIONS)
    comparison = Comparison(opts, Progress(0, enabled=False))
    comparison.tag_counter = 1000  # paths apart from the other tests' on the same server
    seconds = 0.5
    jobs = comparison.stream_jobs("set-paced", Target("127.0.0.1", server.port), seconds, WORKERS)
    outs = pool.run(jobs, [lambda: None] * 2)
    assert sum(o.error_count for o in outs) == 0, [o.error_sample for o in outs]
    sent = sum(o.ops for o in outs)
    # Due by the end: rate x seconds, plus the first request of each connection at time 0.
    assert 0 < sent <= PACED_RATE * seconds + WORKERS * CONNECTIONS
    assert sum(len(o.latencies_us) for o in outs) == sent


@pytest.mark.apache
@pytest.mark.skipif(missing_reason() is not None, reason=f"no reference: {missing_reason()}")
def test_quick_compare_checks_every_reply_on_both(tmp_path: Path) -> None:
    """`compare --quick` end to end: both servers ran every workload, no reply failed, and the
    lifecycle figures are present. The figures themselves are not asserted."""
    out = tmp_path / "bench.json"
    code = bench_main(
        ["compare", "--quick", "--no-progress", "--json", str(out), "--workdir", str(tmp_path)]
    )
    figures = json.loads(out.read_text())
    assert code == 0
    assert set(figures["workloads"]) == set(Options().workloads)
    for per in figures["workloads"].values():
        for name in SERVER_NAMES:
            assert per[name]["errors"] == 0, per[name]["error_sample"]
            assert per[name]["ops"] > 0
    for name in SERVER_NAMES:
        assert figures["loaded"][name]["znodes_loaded"] == Options.quick().load_znodes
        assert len(figures["launch_s"][name]) == Options.quick().launches
        assert figures["loaded"][name]["rss_settled_bytes"] > 0
    checked = {c["target"] for c in figures["targets"]}
    assert "get-paced p99 at the same offered load, ours / Apache" in checked
    assert "set-serial p50 / fsync p50" in checked
