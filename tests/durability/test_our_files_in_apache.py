"""Files we write are read by Apache ZooKeeper 3.8: its tools and the server itself."""

import base64
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from zkrecipes import _core
from zkrecipes.testing.apache import ApacheZooKeeper, missing_reason

from .apache_tools import SNAPSHOT_TOOL, TXN_LOG_TOOL, run_tool
from .txn_bytes import (
    CREATE,
    CREATE_SESSION,
    DELETE,
    SET_DATA,
    Txn,
    create,
    create_session,
    delete,
    set_data,
)

pytestmark = [
    pytest.mark.apache,
    pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason())),
]

SESSION = 0x100000ABC
TXNS = (
    Txn(1, SESSION, CREATE_SESSION, create_session(30000)),
    Txn(2, SESSION, CREATE, create("/durable", b"hello")),
    Txn(3, SESSION, CREATE, create("/durable/child", b"c")),
    Txn(4, SESSION, SET_DATA, set_data("/durable", b"v2", 1)),
    Txn(5, SESSION, CREATE, create("/durable/eph", None, ephemeral=True)),
    Txn(6, SESSION, DELETE, delete("/durable/child")),
)


def write_log(version_dir: Path) -> Path:
    log = _core.TxnLog(str(version_dir), prealloc_bytes=4096)
    assert log.append_batch([t.entry() for t in TXNS[:3]]) == 3
    log.commit()
    for t in TXNS[3:]:
        log.append_raw(t.zxid, t.entry())
    log.commit()
    log.close()
    return version_dir / "log.1"


def write_snapshot(version_dir: Path) -> Path:
    db = _core.recover(str(version_dir), str(version_dir), trust_empty_snapshot=True)
    assert db.last_zxid == 6
    return Path(db.write_snapshot(str(version_dir)))


def test_txn_log_toolkit_lists_our_txns(tmp_path: Path) -> None:
    out = run_tool(TXN_LOG_TOOL, write_log(tmp_path))
    assert out.startswith("ZooKeeper Transactional Log File with dbid 0 txnlog format version 2")
    assert "session 0x100000abc cxid 0x1 zxid 0x1 createSession 30000" in out
    assert "zxid 0x2 create /durable,hello,[31,s{'world,'anyone}" in out
    assert "zxid 0x4 setData /durable,v2,1" in out
    assert "zxid 0x5 create /durable/eph,,[31,s{'world,'anyone}\n],true,-1" in out
    assert "zxid 0x6 delete '/durable/child" in out
    assert out.rstrip().endswith("EOF reached after 6 txns.")


def test_snapshot_formatter_shows_our_nodes(tmp_path: Path) -> None:
    write_log(tmp_path)
    snapshot = write_snapshot(tmp_path)
    assert snapshot.name == "snapshot.6"
    out = run_tool(SNAPSHOT_TOOL, "-d", snapshot)
    # Apache counts the root twice.
    assert "ZNode Details (count=7):" in out
    blocks = {b.strip().splitlines()[0]: b for b in out.split("----")[1:-2]}
    assert list(blocks) == [
        "/",
        "/durable",
        "/durable/eph",
        "/zookeeper",
        "/zookeeper/config",
        "/zookeeper/quota",
    ]
    durable = blocks["/durable"]
    assert "cZxid = 0x00000000000002" in durable
    assert "mZxid = 0x00000000000004" in durable
    assert "pZxid = 0x00000000000006" in durable
    assert "dataVersion = 1" in durable
    assert f"data = {base64.b64encode(b'v2').decode()}" in durable
    assert "ephemeralOwner = 0x00000100000abc" in blocks["/durable/eph"]
    assert "aclVersion = -1" in blocks["/zookeeper/config"]
    assert "0x00000100000abc, 30000, 1" in out
    assert out.rstrip().endswith("Last zxid: 0x6")


def test_apache_serves_a_data_dir_we_wrote(tmp_path: Path) -> None:
    version_dir = tmp_path / "data" / "version-2"
    version_dir.mkdir(parents=True)
    write_log(version_dir)
    write_snapshot(version_dir)
    server = ApacheZooKeeper(tmp_path)
    with server:
        zk = KazooClient(hosts=server.hosts, timeout=10.0)
        zk.start(timeout=30.0)
        try:
            data, stat = zk.get("/durable")
            assert (data, stat.version, stat.czxid, stat.mzxid) == (b"v2", 1, 2, 4)
            assert zk.get_children("/durable") == ["eph"]
            eph = zk.exists("/durable/eph")
            assert eph is not None and eph.ephemeralOwner == SESSION
            zk.create("/after", b"apache")
            assert zk.exists("/after").czxid > 6
        finally:
            zk.stop()
            zk.close()
    assert "Digests are not matching" not in server.log_tail(size=1 << 20)
    # And back: Apache's new log after our snapshot replays on our side.
    db = _core.recover(str(version_dir), str(version_dir))
    node = db.node("/after")
    assert node is not None and node[0] == b"apache"
    assert db.digest_mismatches == []
