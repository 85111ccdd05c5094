"""Worker processes kept for the whole comparison, fed jobs over pipes, meeting the
coordinator at one shared barrier (parties: the workers and the coordinator)."""

from __future__ import annotations

import contextlib
import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from threading import Barrier
from types import TracebackType
from typing import Self

from zkserver.bench.jobs import Job, run_job
from zkserver.bench.outcome import Outcome, WorkerFailure

BARRIER_TIMEOUT_S = 120.0
RESULT_TIMEOUT_S = 180.0
JOIN_TIMEOUT_S = 10.0


class WorkerError(RuntimeError):
    """A worker failed or did not answer; the message carries its traceback."""


def worker_main(index: int, pipe: Connection, barrier: Barrier) -> None:
    # Bounded by the coordinator: it sends None (or closes the pipe) when it is done.
    while True:
        try:
            job = pipe.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            result: Outcome | WorkerFailure = run_job(job, index, barrier, BARRIER_TIMEOUT_S)
        except BaseException:
            barrier.abort()
            result = WorkerFailure(index, traceback.format_exc())
        pipe.send(result)


class WorkerPool:
    def __init__(self, workers: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.size = workers
        self.barrier = ctx.Barrier(workers + 1)
        self.pipes: list[Connection] = []
        self.processes: list[BaseProcess] = []
        for i in range(workers):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(i, theirs, self.barrier), daemon=True)
            proc.start()
            theirs.close()
            self.pipes.append(mine)
            self.processes.append(proc)

    def run(self, jobs: Sequence[Job], meetings: Sequence[Callable[[], None]]) -> list[Outcome]:
        """Sends one job per worker; at each barrier meeting runs the next callback (e.g. read
        the server's CPU time, send the fan-out setData); returns every worker's outcome."""
        assert len(jobs) == self.size
        for pipe, job in zip(self.pipes, jobs, strict=True):
            pipe.send(job)
        problem: Exception | None = None
        try:
            for meet in meetings:
                self.barrier.wait(BARRIER_TIMEOUT_S)
                meet()
        except Exception as e:
            problem = e
            self.barrier.abort()
        results = [self._result(i) for i in range(self.size)]
        if self.barrier.broken:
            self.barrier.reset()
        failures = [r for r in results if isinstance(r, WorkerFailure)]
        if failures:
            raise WorkerError("\n".join(f"worker {f.worker}:\n{f.traceback}" for f in failures))
        if problem is not None:
            raise WorkerError(f"the coordinator failed between barriers: {problem!r}")
        if len(results) != self.size:
            raise WorkerError("a worker returned nothing")
        return [r for r in results if isinstance(r, Outcome)]

    def _result(self, i: int) -> Outcome | WorkerFailure:
        if not self.pipes[i].poll(RESULT_TIMEOUT_S):
            return WorkerFailure(i, "no result within the time limit")
        result = self.pipes[i].recv()
        assert isinstance(result, Outcome | WorkerFailure)
        return result

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
            pipe.close()
        for proc in self.processes:
            proc.join(JOIN_TIMEOUT_S)
            if proc.is_alive():
                proc.kill()
                proc.join(JOIN_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
