"""Damaged txn logs through our server: a torn tail is cut and everything before it served;
damage anywhere else stops the server with the file and offset."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from zkrecipes.testing.ours import OurServer

from .server_tree import Tree, connected, diff, walk

FILE_HEADER_BYTES = 16
# checksum (8) + length (4) before each entry, the end-of-record byte after it.
FRAME_PREFIX_BYTES = 12
FRAMES_MAX = 1_000_000
REFUSE_TIMEOUT_S = 60.0
# Several log files: snapshots (and log rolls) every 10 to 20 txns.
SNAP_COUNT = 20


def frames(log: Path) -> list[tuple[int, int]]:
    """(offset, length with prefix and end-of-record byte) of every entry of a log file."""
    data = log.read_bytes()
    out: list[tuple[int, int]] = []
    off = FILE_HEADER_BYTES
    while off + FRAME_PREFIX_BYTES <= len(data) and len(out) < FRAMES_MAX:
        (length,) = struct.unpack_from(">i", data, off + 8)
        if length <= 0:
            break
        out.append((off, FRAME_PREFIX_BYTES + length + 1))
        off += FRAME_PREFIX_BYTES + length + 1
    return out


def logs(server: OurServer) -> list[Path]:
    """The log files, oldest first."""
    return sorted(
        (server.data_dir / "version-2").glob("log.*"), key=lambda p: int(p.suffix[1:], 16)
    )


def newest_snapshot_zxid(server: OurServer) -> int:
    return max(int(p.suffix[1:], 16) for p in (server.data_dir / "version-2").glob("snapshot.*"))


def _populate(zk: KazooClient, count: int) -> None:
    zk.ensure_path("/torn")
    for i in range(count):
        zk.create(f"/torn/n{i:04}", f"value {i}".encode())
    zk.set("/torn", b"parent updated")


def _stop_after_last_write(server: OurServer, zk: KazooClient) -> tuple[Tree, int]:
    """Takes the tree, makes one more write and stops the server while the session is still
    open (so that write is the last txn of the log). Returns the tree before that write and
    the write's zxid."""
    before = walk(zk, "/torn")
    zk.create("/torn/last", b"the last txn")
    last = zk.exists("/torn/last")
    assert last is not None
    server.stop()
    return before, last.czxid


def _serve_tree(server: OurServer) -> Tree:
    server.start()
    with connected(server.hosts) as zk:
        return walk(zk, "/torn")


@pytest.mark.parametrize("damage", ["truncate", "scribble"])
def test_a_torn_tail_is_cut_and_the_rest_served(tmp_path: Path, damage: str) -> None:
    server = OurServer(tmp_path)
    server.start()
    zk = KazooClient(hosts=server.hosts, timeout=10.0)
    zk.start(timeout=30.0)
    try:
        _populate(zk, 30)
        before, last_zxid = _stop_after_last_write(server, zk)
    finally:
        zk.stop()
        zk.close()
    log = logs(server)[-1]
    offset, length = frames(log)[-1]
    data = log.read_bytes()
    # TxnHeader: clientId (8), cxid (4), zxid (8), ...
    assert struct.unpack_from(">q", data, offset + FRAME_PREFIX_BYTES + 12)[0] == last_zxid, (
        "the last entry of the newest log should be the last write"
    )
    if damage == "truncate":
        log.write_bytes(data[: offset + length - 5])
    else:
        scribbled = bytearray(data)
        for i in range(offset + length - 6, offset + length):
            scribbled[i] ^= 0x5A
        log.write_bytes(bytes(scribbled))

    assert diff(before, _serve_tree(server)) == []
    log_text = server.log_tail(size=1 << 20)
    assert "truncated a torn log tail" in log_text
    assert str(log) in log_text
    assert log.stat().st_size == offset, "the log should end at the last whole entry"

    # Writes continue after the cut, and a second start finds no damage.
    with connected(server.hosts) as zk:
        zk.create("/torn/after", b"after the cut")
        expected = walk(zk, "/torn")
    server.stop()
    assert diff(expected, _serve_tree(server)) == []
    server.stop()
    assert server.log_tail(size=1 << 20).count("truncated a torn log tail") == 1


def _refused_start(server: OurServer) -> subprocess.CompletedProcess[str]:
    """Runs the server in the foreground on its data directory; it must exit by itself."""
    return subprocess.run(
        list(server.command()),
        cwd=server.workdir,
        capture_output=True,
        text=True,
        timeout=REFUSE_TIMEOUT_S,
        check=False,
    )


def _flip_byte_in_entry(log: Path, index: int) -> int:
    """Damages the checksummed body of entry `index`; returns the entry's offset."""
    offset, length = frames(log)[index]
    data = bytearray(log.read_bytes())
    data[offset + FRAME_PREFIX_BYTES + (length - FRAME_PREFIX_BYTES) // 2] ^= 0xFF
    log.write_bytes(bytes(data))
    return offset


def _cut_newest_snapshot(server: OurServer) -> int:
    """Cuts the newest snapshot in half, as a crash while writing it would leave it; returns
    the zxid recovery must then start from (the snapshot before it)."""
    snaps = sorted(
        (server.data_dir / "version-2").glob("snapshot.*"), key=lambda p: int(p.suffix[1:], 16)
    )
    assert len(snaps) >= 2
    data = snaps[-1].read_bytes()
    snaps[-1].write_bytes(data[: len(data) // 2])
    return int(snaps[-2].suffix[1:], 16)


def _write_through_rolls(server: OurServer) -> Tree:
    """Enough writes for several snapshots and logs, then, after a restart, a few more (too
    few for a snapshot) in a new log that starts after the newest snapshot."""
    with server, connected(server.hosts) as zk:
        _populate(zk, 60)
    with server, connected(server.hosts) as zk:
        zk.create("/torn/after-restart", b"")
        tree = walk(zk, "/torn")
    assert len(logs(server)) >= 3, "snapCount should have rolled the log"
    return tree


def test_a_half_written_snapshot_is_skipped(tmp_path: Path) -> None:
    server = OurServer(tmp_path, settings={"snapCount": SNAP_COUNT})
    expected = _write_through_rolls(server)
    fallback = _cut_newest_snapshot(server)
    assert diff(expected, _serve_tree(server)) == []
    server.stop()
    # As in Apache, a snapshot that fails the tail check is passed over without a word.
    assert f"snapshot.{fallback:x} (zxid 0x{fallback:x})" in server.log_tail(size=1 << 20)


@pytest.mark.parametrize("where", ["older log", "newest log, whole entries after"])
def test_damage_before_the_tail_stops_the_server(tmp_path: Path, where: str) -> None:
    server = OurServer(tmp_path, settings={"snapCount": SNAP_COUNT})
    _write_through_rolls(server)
    files = logs(server)
    if where == "older log":
        # Recovery falls back to the snapshot before the cut one and replays the logs from
        # there: the log holding its next zxid is not the newest one.
        start = _cut_newest_snapshot(server) + 1
        target = [p for p in files if int(p.suffix[1:], 16) <= start][-1]
        assert target != files[-1]
    else:
        target = files[-1]
    entries = frames(target)
    assert len(entries) >= 3
    offset = _flip_byte_in_entry(target, len(entries) // 2)

    done = _refused_start(server)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert f"{target} is corrupt at offset {offset}" in output, output
