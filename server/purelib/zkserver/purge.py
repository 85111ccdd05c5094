"""Removing old snapshots and txn logs: `zkr purge` and the autopurge task.

The semantics are Apache's `PurgeTxnLog` (run by zkCleanup.sh) and `DatadirCleanupManager`:
keep the newest `count` valid snapshots (at least 3) and every log needed to replay from the
oldest of them; remove older snapshots and logs. The work itself is the Rust `purge`.

    zkr purge dataLogDir [snapDir] -n count     (PurgeTxnLog's arguments)
    zkr purge --config zoo.cfg -n count         (zkCleanup.sh: the directories from zoo.cfg)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from zkrecipes._core import purge as purge_version_dirs
from zkserver.config import ConfigError, ServerConfig, load_zoo_cfg

log = logging.getLogger("zkserver.purge")

RETAIN_MIN = 3
COUNT_ERROR = f"count should be greater than or equal to {RETAIN_MIN}"
VERSION_DIR = "version-2"
EXIT_ERROR = 1
SECONDS_PER_HOUR = 3600
# The periodic task stops after this many rounds (about 114 years at the shortest interval).
PURGE_ROUNDS_MAX = 1_000_000


class PurgeError(ValueError):
    """Bad arguments or directories; the message is meant for the operator."""


def _mtimes(*dirs: Path) -> dict[Path, float]:
    """Modification times of the snapshots and logs, read before they are removed."""
    out: dict[Path, float] = {}
    for d in dirs:
        for pattern in ("log.*", "snapshot.*"):
            for p in d.glob(pattern):
                try:
                    out[p] = p.stat().st_mtime
                except FileNotFoundError:
                    continue
    return out


def purge(data_log_dir: Path, snap_dir: Path, count: int) -> list[tuple[Path, float]]:
    """Purges `<dir>/version-2` as Apache's `PurgeTxnLog.purge(dataLogDir, snapDir, count)`.

    Returns each removed file with its modification time. A directory without `version-2`
    has nothing to purge.
    """
    if count < RETAIN_MIN:
        raise PurgeError(COUNT_ERROR)
    log_v2, snap_v2 = data_log_dir / VERSION_DIR, snap_dir / VERSION_DIR
    if not log_v2.is_dir() or not snap_v2.is_dir():
        return []
    before = _mtimes(log_v2, snap_v2)
    removed = purge_version_dirs(str(log_v2), str(snap_v2), count)
    return [(Path(p), before.get(Path(p), 0.0)) for p in removed]


def _java_date_time(mtime: float) -> str:
    """Java's default DateFormat.getDateTimeInstance() in English: `Nov 2, 2026, 6:40:58 AM`."""
    import datetime  # only `zkr purge` prints dates: the server need not import it

    t = datetime.datetime.fromtimestamp(mtime)
    hour = t.hour % 12 or 12
    return f"{t:%b} {t.day}, {t.year}, {hour}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zkr purge",
        description="Remove old snapshots and txn logs, keeping the newest COUNT snapshots "
        "and the logs needed to recover from them (Apache's zkCleanup.sh).",
    )
    p.add_argument("dirs", nargs="*", type=Path, metavar="dataLogDir [snapDir]")
    p.add_argument("--config", type=Path, help="take dataDir and dataLogDir from this zoo.cfg")
    p.add_argument("-n", dest="count", required=True, help=f"snapshots to keep (>= {RETAIN_MIN})")
    return p


def _directories(args: argparse.Namespace) -> tuple[Path, Path]:
    """(dataLogDir, snapDir) from the arguments or the zoo.cfg."""
    if args.config is not None:
        if args.dirs:
            raise PurgeError("give either --config or the directories, not both")
        try:
            cfg = load_zoo_cfg(args.config)
        except ConfigError as e:
            raise PurgeError(str(e)) from None
        return cfg.log_dir, cfg.data_dir
    if not 1 <= len(args.dirs) <= 2:
        raise PurgeError("expected dataLogDir [snapDir]")
    dirs: list[Path] = args.dirs
    for d in dirs:
        if not d.exists():
            raise PurgeError(f"Path '{d.absolute()}' does not exist. ")
    return dirs[0], dirs[-1]


def _count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise PurgeError(f"'{text}' can not be parsed to integer.") from None
    if count < RETAIN_MIN:
        raise PurgeError(COUNT_ERROR)
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """`zkr purge`; prints `Removing file: <date>\\t<path>` per file, as Apache does."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        data_log_dir, snap_dir = _directories(args)
        count = _count(args.count)
        removed = purge(data_log_dir, snap_dir, count)
    except PurgeError as e:
        print(e, file=sys.stderr)
        parser.print_usage(sys.stderr)
        return EXIT_ERROR
    except OSError as e:
        print(f"zkr purge: {e}", file=sys.stderr)
        return EXIT_ERROR
    for path, mtime in removed:
        print(f"Removing file: {_java_date_time(mtime)}\t{path}")
    return 0


# ---- autopurge (Apache's DatadirCleanupManager) ----


async def purge_once(data_log_dir: Path, snap_dir: Path, count: int) -> list[Path]:
    """One round of the purge task, off the event loop; an error is logged, not raised, so
    the next round still runs."""
    log.info("Purge task started.")
    removed: list[tuple[Path, float]] = []
    try:
        removed = await asyncio.to_thread(purge, data_log_dir, snap_dir, count)
    except (OSError, ValueError) as e:
        log.error("Error occurred while purging: %s", e)
    for path, _ in removed:
        log.info("Removing file: %s", path)
    log.info("Purge task completed.")
    return [p for p, _ in removed]


async def purge_periodically(
    data_log_dir: Path,
    snap_dir: Path,
    count: int,
    period_s: float,
    rounds_max: int = PURGE_ROUNDS_MAX,
) -> None:
    """Purges at once, then every `period_s` (Apache: scheduleAtFixedRate(task, 0, period))."""
    for _ in range(rounds_max):
        await purge_once(data_log_dir, snap_dir, count)
        await asyncio.sleep(period_s)


def start_autopurge(cfg: ServerConfig) -> asyncio.Task[None] | None:
    """Starts the autopurge task on the running loop, or returns None when
    `autopurge.purgeInterval` (hours) is not positive. Cancel the task at shutdown."""
    log.info("autopurge.snapRetainCount set to %d", cfg.autopurge_snap_retain_count)
    log.info("autopurge.purgeInterval set to %d", cfg.autopurge_purge_interval_hours)
    if cfg.autopurge_purge_interval_hours <= 0:
        log.info("Purge task is not scheduled.")
        return None
    count = cfg.autopurge_snap_retain_count
    if count < RETAIN_MIN:
        # Apache raises a smaller count to the minimum rather than refusing to start.
        log.warning("Invalid autopurge.snapRetainCount: %d. Defaulting to %d", count, RETAIN_MIN)
        count = RETAIN_MIN
    period_s = float(cfg.autopurge_purge_interval_hours * SECONDS_PER_HOUR)
    return asyncio.get_running_loop().create_task(
        purge_periodically(cfg.log_dir, cfg.data_dir, count, period_s), name="autopurge"
    )


if __name__ == "__main__":
    sys.exit(main())
