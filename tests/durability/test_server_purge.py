"""`zkr purge` (zkserver.purge) against Apache's own PurgeTxnLog, and the autopurge task."""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from pathlib import Path

import pytest

from zkrecipes.testing.apache import missing_reason
from zkrecipes.testing.ours import OurServer
from zkserver.config import ServerConfig
from zkserver.purge import COUNT_ERROR, main, purge_periodically, start_autopurge

from .apache_tools import run_tool
from .server_tree import Tree, connected, walk

APACHE_PURGE = "org.apache.zookeeper.server.PurgeTxnLog"
# Snapshots (and log rolls) every 5 to 10 txns.
SNAP_COUNT = 10
WRITES = 80
POLL_S = 0.05
POLL_ROUNDS_MAX = 400
LIVE_PURGE_ROUNDS_MAX = 2000
needs_apache = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))


def _names(d: Path) -> set[str]:
    return {p.name for p in (d / "version-2").iterdir()}


def _server(workdir: Path, separate_log_dir: bool) -> OurServer:
    settings: dict[str, str | int] = {"snapCount": SNAP_COUNT}
    if separate_log_dir:
        settings["dataLogDir"] = str(workdir / "txnlog")
    return OurServer(workdir, settings=settings)


def _write(server: OurServer, prefix: str, count: int = WRITES) -> Tree:
    with server, connected(server.hosts) as zk:
        zk.ensure_path("/purge")
        for i in range(count):
            zk.create(f"/purge/{prefix}-{i:03}", b"x" * 100)
        return walk(zk, "/purge")


def _served(server: OurServer) -> Tree:
    with server, connected(server.hosts) as zk:
        return walk(zk, "/purge")


def _dirs(server: OurServer) -> tuple[Path, Path]:
    """(dataLogDir, dataDir) of the server."""
    return Path(str(server.settings.get("dataLogDir", server.data_dir))), server.data_dir


@needs_apache
@pytest.mark.apache
@pytest.mark.parametrize("separate_log_dir", [False, True], ids=["dataDir", "dataLogDir"])
def test_purge_removes_what_apache_removes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], separate_log_dir: bool
) -> None:
    server = _server(tmp_path / "ours", separate_log_dir)
    tree = _write(server, "n")
    log_dir, data_dir = _dirs(server)
    assert len(list((data_dir / "version-2").glob("snapshot.*"))) > 4
    copy = tmp_path / "copy"
    shutil.copytree(log_dir, copy / "log")
    if separate_log_dir:
        shutil.copytree(data_dir, copy / "data")
    copy_args = [copy / "log", copy / "data"] if separate_log_dir else [copy / "log"]
    args = [str(log_dir), str(data_dir)] if separate_log_dir else [str(data_dir)]

    assert main([*args, "-n", "3"]) == 0
    ours_out = capsys.readouterr().out
    apache_out = run_tool(APACHE_PURGE, *copy_args, "-n", "3")

    assert _names(log_dir) == _names(copy / "log")
    assert _names(data_dir) == _names(copy_args[-1])
    snapshots = sorted(data_dir.glob("version-2/snapshot.*"))
    assert len(snapshots) == 3

    def removed(out: str) -> set[str]:
        return {line.rsplit("/", 1)[-1] for line in out.splitlines() if "Removing file" in line}

    assert removed(ours_out) == removed(apache_out) != set()
    # What is left recovers to the same tree.
    assert _served(server) == tree


def test_errors_are_apaches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "-n", "2"]) == 1
    assert COUNT_ERROR in capsys.readouterr().err
    assert main([str(tmp_path), "-n", "three"]) == 1
    assert "'three' can not be parsed to integer." in capsys.readouterr().err
    assert main([str(tmp_path / "missing"), "-n", "3"]) == 1
    assert f"Path '{tmp_path / 'missing'}' does not exist." in capsys.readouterr().err
    # A directory that never held a server has nothing to purge.
    assert main([str(tmp_path), "-n", "3"]) == 0
    assert capsys.readouterr().out == ""


def test_purge_reads_the_directories_from_zoo_cfg(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = _server(tmp_path, separate_log_dir=True)
    tree = _write(server, "n")
    assert main(["--config", str(server.config_path), "-n", "4"]) == 0
    assert "Removing file" in capsys.readouterr().out
    log_dir, data_dir = _dirs(server)
    assert len(list((data_dir / "version-2").glob("snapshot.*"))) == 4
    assert list((log_dir / "version-2").glob("snapshot.*")) == []
    assert _served(server) == tree


def test_autopurge_runs_at_once_then_periodically(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zkserver.purge")
    server = _server(tmp_path, separate_log_dir=False)
    _write(server, "n")
    data_dir = server.data_dir

    async def first_round() -> int:
        cfg = ServerConfig()
        cfg.data_dir = data_dir
        assert start_autopurge(cfg) is None, "purgeInterval 0: not scheduled"
        cfg.autopurge_purge_interval_hours = 1
        # Below the minimum: Apache keeps 3 instead, and so do we.
        cfg.autopurge_snap_retain_count = 1
        task = start_autopurge(cfg)
        assert task is not None
        try:
            for _ in range(POLL_ROUNDS_MAX):
                snapshots = len(list((data_dir / "version-2").glob("snapshot.*")))
                if snapshots == 3:
                    break
                await asyncio.sleep(POLL_S)
            return snapshots
        finally:
            task.cancel()

    assert asyncio.run(first_round()) == 3
    assert "Invalid autopurge.snapRetainCount: 1. Defaulting to 3" in caplog.text
    assert "Purge task completed." in caplog.text


def test_purging_while_the_server_writes_keeps_it_recoverable(tmp_path: Path) -> None:
    """Apache runs its purge task beside a live server; the same here, many rounds."""
    server = _server(tmp_path, separate_log_dir=False)
    server.start()
    stop = threading.Event()
    rounds = 0

    def purge_loop() -> None:
        nonlocal rounds

        async def run() -> None:
            nonlocal rounds
            for _ in range(LIVE_PURGE_ROUNDS_MAX):
                if stop.is_set():
                    return
                await purge_periodically(server.data_dir, server.data_dir, 3, POLL_S, 1)
                rounds += 1

        asyncio.run(run())

    purger = threading.Thread(target=purge_loop, daemon=True)
    try:
        with connected(server.hosts) as zk:
            zk.ensure_path("/purge")
            purger.start()
            deadline = time.monotonic() + 60.0
            for i in range(300):
                assert time.monotonic() < deadline
                zk.create(f"/purge/live-{i:03}", b"y" * 100)
            tree = walk(zk, "/purge")
    finally:
        stop.set()
        purger.join(60.0)
        server.stop()
    assert not purger.is_alive()
    assert rounds > 1
    assert _served(server) == tree
    assert main([str(server.data_dir), "-n", "3"]) == 0
    assert len(list((server.data_dir / "version-2").glob("snapshot.*"))) == 3
    assert _served(server) == tree
