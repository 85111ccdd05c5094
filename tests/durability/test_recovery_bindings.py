"""Torn tails, damage, epoch files and purge through the Python bindings."""

from pathlib import Path

import pytest

from zkrecipes import _core

from .txn_bytes import CREATE, CREATE_SESSION, Txn, create, create_session

SESSION = 0x200000001
TXNS = [Txn(1, SESSION, CREATE_SESSION, create_session(10000))] + [
    Txn(z, SESSION, CREATE, create(f"/n{z}", b"x" * z)) for z in range(2, 12)
]


def _write(version_dir: Path, prealloc_bytes: int = 0) -> Path:
    log = _core.TxnLog(str(version_dir), prealloc_bytes=prealloc_bytes)
    log.append_batch([t.entry() for t in TXNS])
    log.commit()
    assert (log.last_zxid, log.entries_in_file) == (11, 11)
    assert log.current_file == str(version_dir / "log.1")
    log.close()
    with pytest.raises(_core.PersistError):
        log.roll()
    return version_dir / "log.1"


def test_a_torn_tail_is_reported_then_cut(tmp_path: Path) -> None:
    log = _write(tmp_path)
    whole = log.read_bytes()
    log.write_bytes(whole[:-7])
    entries, tail = _core.read_txn_log(str(tmp_path))
    assert [z for z, _, _ in entries] == list(range(1, 11))
    assert tail is not None
    file, valid_len, file_len, _reason = tail
    assert (file, file_len) == (str(log), len(whole) - 7)
    db = _core.recover(str(tmp_path), str(tmp_path), trust_empty_snapshot=True, repair_tail=True)
    assert (db.last_zxid, db.replayed, db.tail) == (10, 10, tail)
    assert log.stat().st_size == valid_len
    assert _core.read_txn_log(str(tmp_path))[1] is None
    assert db.sessions() == [(SESSION, 10000)]


def test_damage_before_the_tail_names_file_and_offset(tmp_path: Path) -> None:
    log = _write(tmp_path, prealloc_bytes=65536)
    entries, _ = _core.read_txn_log(str(tmp_path))
    # Frames: 16-byte file header, then checksum (8) + length (4) + entry + 'B' each.
    third = 16 + sum(13 + len(e) for _, _, e in entries[:2])
    data = bytearray(log.read_bytes())
    data[third + 20] ^= 0xFF
    log.write_bytes(bytes(data))
    with pytest.raises(_core.CorruptFileError, match=f"log.1 is corrupt at offset {third}"):
        _core.read_txn_log(str(tmp_path))
    with pytest.raises(_core.CorruptFileError):
        _core.recover(str(tmp_path), str(tmp_path), trust_empty_snapshot=True)


def test_logs_without_a_snapshot_are_refused_unless_trusted(tmp_path: Path) -> None:
    _write(tmp_path)
    with pytest.raises(_core.PersistError, match="No snapshot found"):
        _core.recover(str(tmp_path), str(tmp_path))


def test_epoch_files(tmp_path: Path) -> None:
    assert _core.read_epoch(str(tmp_path), "currentEpoch") is None
    _core.write_epoch(str(tmp_path), "currentEpoch", 4)
    assert (tmp_path / "currentEpoch").read_text() == "4"
    assert _core.read_epoch(str(tmp_path), "currentEpoch") == 4


def test_purge_keeps_three_snapshots(tmp_path: Path) -> None:
    _write(tmp_path)
    db = _core.recover(str(tmp_path), str(tmp_path), trust_empty_snapshot=True)
    snapshot = Path(db.write_snapshot(str(tmp_path)))
    for name in ("snapshot.0", "snapshot.3", "snapshot.5"):
        (tmp_path / name).write_bytes(snapshot.read_bytes())
    removed = _core.purge(str(tmp_path), str(tmp_path), 3)
    assert removed == [str(tmp_path / "snapshot.0")]
    with pytest.raises(_core.PersistError):
        _core.purge(str(tmp_path), str(tmp_path), 2)
