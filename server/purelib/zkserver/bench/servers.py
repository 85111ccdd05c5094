"""Both servers started from the same generated zoo.cfg, and timed launches.

The launchers are the test fixtures' (`zkrecipes.testing`); the benchmark adds its zoo.cfg
settings, a heap size for Apache that fits the 1M-znode load, and a probe that times the launch
to the first answered session more finely than the launcher's readiness poll.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from zkrecipes.testing.apache import ApacheZooKeeper, missing_reason
from zkrecipes.testing.handshake import probe_session
from zkrecipes.testing.ours import OurServer
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.server_process import ServerProcess

PROBE_INTERVAL_S = 0.002
PROBE_FIRST_TIMEOUT_S = 0.05
PROBE_SOCKET_TIMEOUT_S = 2.0
APACHE_PACKAGE = "zookeeper"
APT_TIMEOUT_S = 600.0


def bench_settings(fanout_sessions: int) -> dict[str, str | int]:
    """zoo.cfg keys on top of the fixtures' defaults (small preAllocSize, admin server off, every
    four-letter word): Apache's default tick, so idle fan-out sessions of 30 s are allowed, and
    room for the fan-out's sessions from one address."""
    return {
        "tickTime": 2000,
        "maxClientCnxns": fanout_sessions + 100,
        "forceSync": "yes",
    }


class BenchApache(ApacheZooKeeper):
    """Apache ZooKeeper with a chosen maximum heap (the fixture uses 512 MiB)."""

    def __init__(
        self,
        workdir: Path,
        settings: Mapping[str, str | int] | None = None,
        heap: str = "512m",
    ) -> None:
        super().__init__(workdir, settings)
        self.heap = heap

    def command(self) -> Sequence[str]:
        return [f"-Xmx{self.heap}" if a.startswith("-Xmx") else a for a in super().command()]


def make_servers(
    workdir: Path, settings: Mapping[str, str | int], apache_heap: str
) -> dict[str, ServerProcess]:
    return {
        "apache": BenchApache(workdir / "apache", settings, heap=apache_heap),
        "ours": OurServer(workdir / "ours", settings),
    }


def timed_start(server: ServerProcess) -> float:
    """Starts `server`; returns seconds from launch to the first session it answered."""
    answered: list[float] = []
    stop = threading.Event()
    launched = time.perf_counter()

    def probe() -> None:
        # A server may accept connections before it answers sessions (Apache loads its
        # database first): a short, growing socket timeout keeps the probe from sleeping
        # through the moment it starts answering.
        deadline = launched + 120.0
        timeout_s = PROBE_FIRST_TIMEOUT_S
        while not stop.is_set() and time.perf_counter() < deadline:
            try:
                probe_session(LOOPBACK, server.port, timeout_s)
            except TimeoutError:
                timeout_s = min(timeout_s * 1.5, PROBE_SOCKET_TIMEOUT_S)
                continue
            except Exception:
                time.sleep(PROBE_INTERVAL_S)
                continue
            answered.append(time.perf_counter())
            return

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        server.start()
    finally:
        prober.join(10.0)
        stop.set()
    if not answered:
        raise RuntimeError(f"{server.name} started but the probe saw no answered session")
    return answered[0] - launched


def ensure_apache() -> None:
    """Installs the Debian package if Java or its jars are missing (needs root and apt)."""
    if missing_reason() is None:
        return
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"Apache ZooKeeper is unavailable: {missing_reason()}")
    for args in (["apt-get", "update"], ["apt-get", "install", "-y", APACHE_PACKAGE]):
        subprocess.run(args, check=True, timeout=APT_TIMEOUT_S, stdout=subprocess.DEVNULL)
    reason = missing_reason()
    if reason is not None:
        raise RuntimeError(f"Apache ZooKeeper is still unavailable: {reason}")
