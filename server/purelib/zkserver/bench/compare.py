"""`compare`: the same load against Apache ZooKeeper 3.8 and ours, in one run, as ratios.

Order of a run: physical floors (fsync, loopback RTT); both servers started from one zoo.cfg,
tree set up and warmed; per workload a warm-up of each, then rounds alternating Apache, ours,
Apache, ours...; then fresh servers for the launch time, the load of N znodes (RSS, dataDir
size) and the restart (recovery) time.
"""

from __future__ import annotations

import math
import shutil
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from zkrecipes.testing.rawclient import OP_CREATE, OP_SET_DATA, RawSession, create_body
from zkrecipes.testing.server_process import ServerProcess
from zkserver.bench import physical, procstat, protocol, servers, workloads
from zkserver.bench.jobs import ConnectJob, FanoutJob, Job, StreamJob, Target
from zkserver.bench.outcome import Outcome
from zkserver.bench.pool import WorkerPool
from zkserver.bench.progress import Progress

SERVERS = ("apache", "ours")
SERIAL_WORKLOADS = {"get-serial": "get", "set-serial": "set"}
# The same offered rate on both servers (open loop): latency compared at the same load.
PACED_WORKLOADS = {"get-paced": "get", "set-paced": "set"}
DEFAULT_WORKLOADS = (
    *workloads.STREAM_WORKLOADS,
    *SERIAL_WORKLOADS,
    *PACED_WORKLOADS,
    "connect",
    "fanout",
)
UNLIMITED_OPS = 10**9
COUNTED_WORKLOADS = frozenset({"create", "delete"})
FANOUT_TIMEOUT_S = 30.0
MNTR_TIMEOUT_S = 5.0


@dataclass
class Options:
    workloads: tuple[str, ...] = DEFAULT_WORKLOADS
    rounds: int = 3
    seconds: float = 2.0
    warmup_seconds: float = 1.0
    workers: int = 2
    connections: int = 4
    depth: int = 64
    # Offered load of the paced workloads, all workers and sessions together.
    paced_rate: int = 10_000
    data_size: int = 100
    # create and delete run this many requests per round (or until the round's time is up):
    # an unbounded create would leave the faster server with a larger tree, whose snapshots
    # then load its later workloads more than the other's.
    counted_ops: int = 40_000
    connect_slots: int = 8
    fanout_sessions: int = 1000
    fanout_rounds: int = 5
    load_znodes: int = 100_000
    launches: int = 3
    # Idle time after the load before the settled RSS is read: background work the load set
    # off (a snapshot of the grown tree) is over by then in both servers.
    settle_seconds: float = 5.0
    fsync_samples: int = 1000
    rtt_samples: int = 3000
    apache_heap: str = "512m"
    workdir: Path | None = None

    @classmethod
    def quick(cls) -> Options:
        """Every workload and measurement, tiny: proves the harness, not the speed."""
        return cls(
            rounds=1,
            seconds=0.3,
            warmup_seconds=0.1,
            counted_ops=400,
            connect_slots=2,
            fanout_sessions=50,
            fanout_rounds=1,
            load_znodes=2000,
            launches=1,
            settle_seconds=0.2,
            fsync_samples=100,
            rtt_samples=200,
            paced_rate=1000,
        )


@dataclass
class Round:
    """One timed run of one workload against one server."""

    ops: int
    wall_s: float
    errors: dict[str, int]
    error_sample: str
    latencies_us: list[float]
    server_cpu_s: float
    generator_cpu: float  # busiest worker's CPU seconds per wall second


@dataclass
class Measured:
    rounds: dict[str, list[Round]] = field(default_factory=dict)  # key: "workload/server"
    floors: dict[str, physical.Floor] = field(default_factory=dict)
    launch_s: dict[str, list[float]] = field(default_factory=dict)
    loaded: dict[str, dict[str, float]] = field(default_factory=dict)


class Comparison:
    def __init__(self, opts: Options, progress: Progress) -> None:
        self.opts = opts
        self.progress = progress
        self.data = b"x" * opts.data_size
        self.result = Measured()
        self.tag_counter = 0

    # ---- the run ----
    def run(self) -> Measured:
        opts = self.opts
        servers.ensure_apache()
        base = opts.workdir or Path(tempfile.mkdtemp(prefix="zkr-bench-"))
        base.mkdir(parents=True, exist_ok=True)
        try:
            self.measure_floors(base / "floors")
            with WorkerPool(opts.workers) as pool:
                self.run_workloads(pool, base / "workloads")
                self.run_lifecycle(pool, base / "lifecycle")
        finally:
            if opts.workdir is None:
                shutil.rmtree(base, ignore_errors=True)
        return self.result

    def measure_floors(self, directory: Path) -> None:
        self.progress.step("physical floors: fsync, loopback RTT")
        self.result.floors["fsync"] = physical.fsync_latency(directory, self.opts.fsync_samples)
        self.result.floors["rtt"] = physical.loopback_rtt(self.opts.rtt_samples)

    def settings(self) -> dict[str, str | int]:
        return servers.bench_settings(self.opts.fanout_sessions)

    def run_workloads(self, pool: WorkerPool, workdir: Path) -> None:
        pair = servers.make_servers(workdir, self.settings(), self.opts.apache_heap)
        try:
            for srv in pair.values():
                srv.start()
                self.create_tree(srv)
            for name in self.opts.workloads:
                for srv in pair.values():
                    self.progress.step(f"{name}: warm-up {srv.name}")
                    self.run_once(pool, name, srv, self.opts.warmup_seconds)
                for r in range(self.opts.rounds):
                    for key in SERVERS:
                        self.progress.step(f"{name}: round {r + 1} {key}")
                        got = self.run_once(pool, name, pair[key], self.opts.seconds)
                        self.result.rounds.setdefault(f"{name}/{key}", []).append(got)
        finally:
            for srv in pair.values():
                srv.stop()

    def create_tree(self, srv: ServerProcess) -> None:
        session = RawSession("127.0.0.1", srv.port)
        session.connect()
        try:
            for path, data in workloads.setup_nodes(self.data):
                reply = session.call(OP_CREATE, create_body(path, data))
                if reply.err != 0:
                    raise RuntimeError(f"{srv.name}: creating {path} answered error {reply.err}")
        finally:
            session.close_session()

    # ---- one timed run ----
    def run_once(self, pool: WorkerPool, name: str, srv: ServerProcess, seconds: float) -> Round:
        if name == "fanout":
            return self.run_fanout(pool, srv)
        target = Target("127.0.0.1", srv.port)
        jobs: list[Job]
        if name == "connect":
            ops = UNLIMITED_OPS
            jobs = [ConnectJob(target, self.opts.connect_slots, ops, seconds)] * pool.size
        else:
            jobs = self.stream_jobs(name, target, seconds, pool.size)
        cpu: list[float] = []
        pid = server_pid(srv)
        read_cpu = lambda: cpu.append(procstat.cpu_seconds(pid))  # noqa: E731
        outs = pool.run(jobs, [read_cpu, read_cpu])
        return to_round(outs, cpu[1] - cpu[0])

    def stream_jobs(self, name: str, target: Target, seconds: float, size: int) -> list[Job]:
        self.tag_counter += 1
        tag = f"t{self.tag_counter}"
        opts = self.opts
        if name in SERIAL_WORKLOADS:
            base = SERIAL_WORKLOADS[name]
            one = StreamJob(target, base, tag, 1, 1, UNLIMITED_OPS, seconds, opts.data_size)
            idle = StreamJob(target, "get", tag, 0, 1, 0, seconds, opts.data_size)
            return [one, *([idle] * (size - 1))]
        if name in PACED_WORKLOADS:
            rate = opts.paced_rate / (size * opts.connections)
            paced = StreamJob(
                target,
                PACED_WORKLOADS[name],
                tag,
                opts.connections,
                opts.depth,
                UNLIMITED_OPS,
                seconds,
                opts.data_size,
                rate_per_connection=rate,
            )
            return [paced] * size
        per_conn = UNLIMITED_OPS
        if name in COUNTED_WORKLOADS:
            per_conn = max(1, opts.counted_ops // (size * opts.connections))
        job = StreamJob(
            target, name, tag, opts.connections, opts.depth, per_conn, seconds, opts.data_size
        )
        return [job] * size

    def run_fanout(self, pool: WorkerPool, srv: ServerProcess) -> Round:
        opts = self.opts
        target = Target("127.0.0.1", srv.port)
        share = split(opts.fanout_sessions, pool.size)
        rounds = opts.fanout_rounds
        jobs: list[Job] = [FanoutJob(target, n, rounds, FANOUT_TIMEOUT_S) for n in share]
        pid = server_pid(srv)
        trigger = RawSession("127.0.0.1", srv.port)
        trigger.connect()
        sent_at: list[float] = []
        cpu: list[float] = []
        body = protocol.set_data_body(workloads.FANOUT_NODE, self.data)

        def fire() -> None:
            cpu.append(procstat.cpu_seconds(pid))
            sent_at.append(time.perf_counter())
            reply = trigger.call(OP_SET_DATA, body)
            if reply.err != 0:
                raise RuntimeError(f"fan-out setData answered error {reply.err}")

        def done() -> None:
            cpu.append(procstat.cpu_seconds(pid))

        meetings: list[Callable[[], None]] = [fire, done] * opts.fanout_rounds
        try:
            outs = pool.run(jobs, meetings)
        finally:
            trigger.close_session()
        return fanout_round(outs, sent_at, cpu)

    # ---- launch, load, restart ----
    def run_lifecycle(self, pool: WorkerPool, workdir: Path) -> None:
        opts = self.opts
        for i in range(opts.launches):
            for key in SERVERS:
                self.progress.step(f"launch {i + 1}: {key}")
                fresh = workdir / f"launch-{i}"
                srv = servers.make_servers(fresh, self.settings(), opts.apache_heap)[key]
                try:
                    self.result.launch_s.setdefault(key, []).append(servers.timed_start(srv))
                finally:
                    srv.stop()
                shutil.rmtree(fresh / key, ignore_errors=True)
        for key in SERVERS:
            srv = servers.make_servers(workdir / "load", self.settings(), opts.apache_heap)[key]
            try:
                self.result.loaded[key] = self.load_and_restart(pool, srv)
            finally:
                srv.stop()

    def load_and_restart(self, pool: WorkerPool, srv: ServerProcess) -> dict[str, float]:
        opts = self.opts
        self.progress.step(f"load {opts.load_znodes} znodes: {srv.name}")
        srv.start()
        self.create_tree(srv)
        rss_empty = procstat.rss_bytes(server_pid(srv))
        per_conn = max(1, opts.load_znodes // (pool.size * opts.connections))
        self.tag_counter += 1
        job = StreamJob(
            Target("127.0.0.1", srv.port),
            "load",
            f"t{self.tag_counter}",
            opts.connections,
            opts.depth,
            per_conn,
            float(UNLIMITED_OPS),
            opts.data_size,
        )
        outs = pool.run([job] * pool.size, [lambda: None, lambda: None])
        loaded = to_round(outs, 0.0)
        if loaded.errors:
            raise RuntimeError(f"loading {srv.name} failed: {loaded.error_sample}")
        pid = server_pid(srv)
        figures = {
            "znodes_loaded": float(loaded.ops),
            "load_ops_per_s": loaded.ops / loaded.wall_s,
            "rss_empty_bytes": float(rss_empty),
            "rss_loaded_bytes": float(procstat.rss_bytes(pid)),
            "znode_count": float(znode_count(srv.port)),
        }
        time.sleep(opts.settle_seconds)
        figures["rss_settled_bytes"] = float(procstat.rss_bytes(pid))
        self.progress.step(f"restart with {loaded.ops} znodes: {srv.name}")
        srv.stop()
        figures["data_dir_bytes"] = float(procstat.tree_bytes(srv.data_dir))
        figures["restart_s"] = servers.timed_start(srv)
        figures["rss_restarted_bytes"] = float(procstat.rss_bytes(server_pid(srv)))
        figures["znode_count_restarted"] = float(znode_count(srv.port))
        return figures


# ---- helpers ----


def server_pid(srv: ServerProcess) -> int:
    if srv.pid is None:
        raise RuntimeError(f"{srv.name} is not running")
    return srv.pid


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def to_round(outs: list[Outcome], server_cpu_s: float) -> Round:
    active = [o for o in outs if o.ops or o.error_count]
    t0 = min((o.t_start for o in active), default=0.0)
    t1 = max((o.t_end for o in active), default=0.0)
    wall = max(t1 - t0, 1e-9)
    errors: dict[str, int] = {}
    for o in outs:
        for kind, n in o.errors.items():
            errors[kind] = errors.get(kind, 0) + n
    return Round(
        ops=sum(o.ops for o in outs),
        wall_s=wall,
        errors=errors,
        error_sample=next((o.error_sample for o in outs if o.error_sample), ""),
        latencies_us=[x for o in outs for x in o.latencies_us],
        server_cpu_s=server_cpu_s,
        generator_cpu=max((o.cpu_s / wall for o in active), default=0.0),
    )


def fanout_round(outs: list[Outcome], sent_at: list[float], cpu: list[float]) -> Round:
    """Per fan-out: latency of each notification from the setData; wall is the sum over rounds
    of the time to the last notification, so ops/s is notifications per second of fan-out."""
    latencies: list[float] = []
    wall = 0.0
    for r, t0 in enumerate(sent_at):
        arrived = [t for o in outs if r < len(o.notified_at) for t in o.notified_at[r]]
        latencies += [(t - t0) * 1e6 for t in arrived]
        wall += max(arrived, default=t0) - t0
    errors: dict[str, int] = {}
    for o in outs:
        for kind, n in o.errors.items():
            errors[kind] = errors.get(kind, 0) + n
    server_cpu = sum(cpu[i + 1] - cpu[i] for i in range(0, len(cpu) - 1, 2))
    return Round(
        ops=sum(o.ops for o in outs),
        wall_s=max(wall, 1e-9),
        errors=errors,
        error_sample=next((o.error_sample for o in outs if o.error_sample), ""),
        latencies_us=latencies,
        server_cpu_s=server_cpu,
        # Each session receives one frame per round: the generator's load is not the question.
        generator_cpu=float("nan"),
    )


def znode_count(port: int) -> int:
    """`zk_znode_count` from the `mntr` four-letter word."""
    with socket.create_connection(("127.0.0.1", port), timeout=MNTR_TIMEOUT_S) as sock:
        sock.sendall(b"mntr")
        chunks = []
        for _ in range(1000):
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    for line in b"".join(chunks).decode().splitlines():
        key, _tab, value = line.partition("\t")
        if key == "zk_znode_count":
            return int(value)
    raise RuntimeError("mntr did not report zk_znode_count")


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(len(sorted_values) * fraction))
    return sorted_values[index]


def ratio(ours: float, apache: float) -> float:
    return ours / apache if apache and not math.isnan(apache) else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
