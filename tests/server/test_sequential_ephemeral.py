"""Sequential and ephemeral nodes, compared between Apache and ours."""

from typing import Any

from kazoo.client import KazooClient

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.observe import EventLog, error_name, stat_shape
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import OP_CREATE, RawSession, create_body
from zkrecipes.testing.targets import ZkTarget

EPHEMERAL = 1


def test_sequential_suffix_is_ten_digits(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[str]:
        zk = target.client()
        zk.create("/q", b"")
        return [zk.create("/q/item-", b"", sequence=True) for _ in range(3)]

    observed = differential.run(scenario)
    assert observed == ["/q/item-0000000000", "/q/item-0000000001", "/q/item-0000000002"]


def test_sequence_counts_parent_cversion_after_deletes(differential: Differential) -> None:
    """The suffix counts every create under the parent (plain ones too) but not deletes,
    although the cversion that Stat reports counts both."""

    def scenario(target: ZkTarget) -> list[str]:
        zk = target.client()
        zk.create("/q", b"")
        first = zk.create("/q/s-", b"", sequence=True)
        zk.delete(first)
        zk.create("/q/plain", b"")
        second = zk.create("/q/s-", b"", sequence=True)
        zk.delete("/q/plain")
        zk.delete(second)
        third = zk.create("/q/s-", b"", sequence=True)
        return [first, second, third]

    observed = differential.run(scenario)
    assert observed == ["/q/s-0000000000", "/q/s-0000000002", "/q/s-0000000003"]


def test_sequential_counter_per_parent_and_empty_prefix(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[str]:
        zk = target.client()
        zk.create("/a", b"")
        zk.create("/b", b"")
        return [
            zk.create("/a/", b"", sequence=True),
            zk.create("/b/x", b"", sequence=True),
            zk.create("/a/y", b"", sequence=True),
            zk.create("/a/z9", b"", sequence=True, ephemeral=True),
        ]

    observed = differential.run(scenario)
    assert observed == ["/a/0000000000", "/b/x0000000000", "/a/y0000000001", "/a/z90000000002"]


def test_sequential_node_exists_collision(differential: Differential) -> None:
    """A plain node that already has the next sequential name makes the create fail."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/c", b"")
        zk.create("/c/n-0000000001", b"")
        collision = error_name(lambda: zk.create("/c/n-", b"", sequence=True))
        # A failed create does not advance the counter: the same name collides again.
        again = error_name(lambda: zk.create("/c/n-", b"", sequence=True))
        zk.create("/c/other", b"")
        return {
            "collision": collision,
            "again": again,
            "next": zk.create("/c/n-", b"", sequence=True),
            "cversion": zk.exists("/c").cversion,
        }

    observed = differential.run(scenario)
    assert observed == {
        "collision": "NodeExistsError",
        "again": "NodeExistsError",
        "next": "/c/n-0000000002",
        "cversion": 3,
    }


def test_ephemeral_owner_and_removal_on_close(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        owner = target.client()
        observer = target.client()
        owner.create("/e", b"", ephemeral=True)
        stat = observer.exists("/e")
        events = EventLog()
        observer.exists("/e", watch=events)
        owner_is_session = stat.ephemeralOwner == owner.client_id[0]
        owner.stop()
        return {
            "shape": stat_shape(stat),
            "owner_is_session": owner_is_session,
            "events": events.wait_for(1),
            "after_close": observer.exists("/e"),
        }

    observed = differential.run(scenario)
    assert observed["shape"]["ephemeral"] is True
    assert observed["owner_is_session"] is True
    assert observed["events"] == [("DELETED", "/e")]
    assert observed["after_close"] is None


def test_ephemeral_sequential_and_parent_child_events(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        owner = target.client()
        observer = target.client()
        observer.create("/members", b"")
        names = [owner.create("/members/m-", b"", ephemeral=True, sequence=True) for _ in range(2)]
        events = EventLog()
        before = sorted(observer.get_children("/members", watch=events))
        owner.stop()
        return {
            "names": names,
            "before": before,
            "events": events.wait_for(1),
            "after": observer.get_children("/members"),
        }

    observed = differential.run(scenario)
    assert observed == {
        "names": ["/members/m-0000000000", "/members/m-0000000001"],
        "before": ["m-0000000000", "m-0000000001"],
        "events": [("CHILD", "/members")],
        "after": [],
    }


def test_ephemeral_delete_by_other_session_and_recreate(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        owner = target.client()
        other = target.client()
        owner.create("/e", b"", ephemeral=True)
        other.delete("/e")
        other.create("/e", b"", ephemeral=True)
        mine = other.exists("/e").ephemeralOwner == other.client_id[0]
        owner.stop()
        return {"still_there": other.exists("/e") is not None, "owned_by_other": mine}

    observed = differential.run(scenario)
    assert observed == {"still_there": True, "owned_by_other": True}


def test_ephemerals_survive_connection_loss_with_session(differential: Differential) -> None:
    """A session outlives its connection: kazoo resumes it by id and password."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        raw = RawSession(LOOPBACK, target.port)
        handshake = raw.connect(timeout_ms=4000)
        created = raw.call(OP_CREATE, create_body(target.path("held"), flags=EPHEMERAL)).err
        raw.close()  # no closeSession: only the connection ends
        resumed: KazooClient = target.client(client_id=(handshake.session_id, handshake.password))
        owner = resumed.exists("/held")
        return {
            "created": created,
            "same_session": resumed.client_id[0] == handshake.session_id,
            "held": owner is not None and owner.ephemeralOwner == handshake.session_id,
        }

    observed = differential.run(scenario)
    assert observed == {"created": 0, "same_session": True, "held": True}
