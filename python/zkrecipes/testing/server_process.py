"""A ZooKeeper-protocol server run as a child process for tests and benchmarks."""

import atexit
import os
import signal
import struct
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from zkrecipes.testing.handshake import ConnectResponse, probe_session
from zkrecipes.testing.ports import LOOPBACK, free_port
from zkrecipes.testing.zoocfg import server_settings, write_zoo_cfg

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
PROBE_INTERVAL_S = 0.05
LOG_TAIL_BYTES = 4000


# Servers still running when the interpreter exits (a test run interrupted, a script that
# raised before stop) are killed rather than left behind.
_running: "set[ServerProcess]" = set()


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_running):
        server.kill()


class ServerStartError(RuntimeError):
    """The server exited or never accepted a session; the message carries its log tail."""


class ServerProcess:
    """One server in `workdir` (zoo.cfg, data/, server.log), started and stopped on demand.

    The port is picked once, so a stopped server restarts on the same port and data.
    """

    name = "server"

    def __init__(
        self,
        workdir: Path,
        settings: Mapping[str, str | int] | None = None,
        jvm_props: Mapping[str, str | int] | None = None,
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        overrides = dict(settings or {})
        port = int(overrides.pop("clientPort", 0)) or free_port()
        self.settings = server_settings(self.workdir / "data", port, overrides)
        self.jvm_props: dict[str, str | int] = dict(jvm_props or {})
        self.config_path = self.workdir / "zoo.cfg"
        self.log_path = self.workdir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self.last_handshake: ConnectResponse | None = None

    @property
    def port(self) -> int:
        return int(self.settings["clientPort"])

    @property
    def hosts(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return Path(str(self.settings["dataDir"]))

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def command(self) -> Sequence[str]:
        raise NotImplementedError

    def environment(self) -> Mapping[str, str]:
        return os.environ

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> Self:
        """Start the process and return once a session handshake succeeds."""
        if self.is_running():
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_zoo_cfg(self.config_path, self.settings)
        self._log_file = self.log_path.open("ab")
        self._process = subprocess.Popen(
            list(self.command()),
            cwd=self.workdir,
            env=dict(self.environment()),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        _running.add(self)
        try:
            self._wait_ready(time.monotonic() + timeout_s)
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self, deadline: float) -> None:
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self.is_running():
                raise ServerStartError(f"{self.name} exited during start-up\n{self.log_tail()}")
            try:
                self.last_handshake = probe_session(LOOPBACK, self.port, timeout_s=2.0)
                return
            except (OSError, struct.error) as error:
                last_error = error
                time.sleep(PROBE_INTERVAL_S)
        raise ServerStartError(
            f"{self.name} accepted no session on {self.hosts} within the start timeout "
            f"({last_error!r})\n{self.log_tail()}"
        )

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL if the process outlives `timeout_s`."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=timeout_s)
        _running.discard(self)
        self._close_log()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=STOP_TIMEOUT_S)
        _running.discard(self)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log_tail(self, size: int = LOG_TAIL_BYTES) -> str:
        try:
            data = self.log_path.read_bytes()
        except FileNotFoundError:
            return "(no log)"
        return data[-size:].decode("utf-8", errors="replace")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.hosts}, workdir={str(self.workdir)!r})"
