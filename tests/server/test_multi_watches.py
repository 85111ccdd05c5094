"""Multi transactions and watches, compared between Apache and ours."""

from typing import Any

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.observe import EventLog, error_name
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import (
    OP_GET_DATA,
    OP_SET_DATA,
    Notification,
    RawSession,
    Reply,
    buffer,
    path_watch,
    ustring,
)
from zkrecipes.testing.targets import ZkTarget


def _result_names(results: list[Any]) -> list[Any]:
    return [type(r).__name__ if isinstance(r, Exception) else r for r in results]


def test_multi_success_results(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/m", b"")
        txn = zk.transaction()
        txn.create("/m/a", b"1")
        txn.create("/m/s-", b"", sequence=True)
        txn.set_data("/m/a", b"2")
        txn.check("/m/a", 1)
        txn.delete("/m/a")
        results = txn.commit()
        return {
            "results": [
                (type(r).__name__, r.version) if hasattr(r, "version") else r for r in results
            ],
            "children": zk.get_children("/m"),
        }

    observed = differential.run(scenario)
    assert observed == {
        "results": ["/m/a", "/m/s-0000000001", ("ZnodeStat", 1), True, True],
        "children": ["s-0000000001"],
    }


def test_multi_failure_rolls_back_with_per_op_errors(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/m", b"0")
        txn = zk.transaction()
        txn.create("/m/new", b"")
        txn.set_data("/m", b"changed")
        txn.check("/m", 7)
        txn.delete("/m/absent")
        results = txn.commit()
        return {
            "results": _result_names(results),
            "new_exists": zk.exists("/m/new") is not None,
            "data": zk.get("/m")[0],
        }

    observed = differential.run(scenario)
    assert observed == {
        "results": [
            "RolledBackError",
            "RolledBackError",
            "BadVersionError",
            "RuntimeInconsistency",
        ],
        "new_exists": False,
        "data": b"0",
    }


def test_multi_first_op_fails(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[Any]:
        zk = target.client()
        txn = zk.transaction()
        txn.delete("/nothing")
        txn.create("/fine", b"")
        return [*_result_names(txn.commit()), zk.exists("/fine") is not None]

    observed = differential.run(scenario)
    assert observed == ["NoNodeError", "RuntimeInconsistency", False]


def test_multi_ops_see_earlier_ops(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[Any]:
        zk = target.client()
        txn = zk.transaction()
        txn.create("/x", b"")
        txn.create("/x/y", b"")
        txn.check("/x/y", 0)
        txn.delete("/x/y")
        txn.delete("/x")
        txn.create("/x", b"again")
        results = _result_names(txn.commit())
        return [*results, zk.get("/x")[0], zk.get_children("/x")]

    observed = differential.run(scenario)
    assert observed == ["/x", "/x/y", True, True, True, "/x", b"again", []]


def test_multi_not_empty_and_ephemeral_parent(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[Any]:
        zk = target.client()
        zk.create("/p/c", b"", makepath=True)
        txn = zk.transaction()
        txn.create("/e", b"", ephemeral=True)
        txn.create("/e/child", b"")
        first = _result_names(txn.commit())
        txn = zk.transaction()
        txn.delete("/p")
        second = _result_names(txn.commit())
        return [first, second]

    observed = differential.run(scenario)
    assert observed == [
        ["RolledBackError", "NoChildrenForEphemeralsError"],
        ["NotEmptyError"],
    ]


def test_multi_fires_watches_once_committed(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[tuple[str, str]]:
        zk = target.client()
        other = target.client()
        zk.create("/w", b"")
        events = EventLog()
        other.get("/w", watch=events.labelled("data"))
        other.get_children("/w", watch=events.labelled("child"))
        txn = zk.transaction()
        txn.create("/w/c", b"")
        txn.set_data("/w", b"x")
        txn.commit()
        return sorted(events.wait_for(2))

    observed = differential.run(scenario)
    assert observed == [("child:CHILD", "/w"), ("data:CHANGED", "/w")]


def test_data_watch_fires_once(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        writer = target.client()
        zk.create("/d", b"0")
        events = EventLog()
        zk.get("/d", watch=events)
        writer.set("/d", b"1")
        first = events.wait_for(1)
        writer.set("/d", b"2")
        writer.delete("/d")
        # A marker write after the further changes: its watch proves those were delivered.
        marker = EventLog()
        zk.exists("/marker", watch=marker)
        writer.create("/marker", b"")
        marker.wait_for(1)
        return {"first": first, "all": events.snapshot(), "marker": marker.snapshot()}

    observed = differential.run(scenario)
    assert observed == {
        "first": [("CHANGED", "/d")],
        "all": [("CHANGED", "/d")],
        "marker": [("CREATED", "/marker")],
    }


def test_exists_watch_on_missing_node(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[tuple[str, str]]:
        zk = target.client()
        writer = target.client()
        events = EventLog()
        assert zk.exists("/later", watch=events) is None
        writer.create("/later", b"")
        zk.exists("/later", watch=events)
        writer.delete("/later")
        return events.wait_for(2)

    observed = differential.run(scenario)
    assert observed == [("CREATED", "/later"), ("DELETED", "/later")]


def test_child_watch_events_on_create_delete_and_parent_delete(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[tuple[str, str]]:
        zk = target.client()
        writer = target.client()
        zk.create("/p", b"")
        events = EventLog()
        zk.get_children("/p", watch=events.labelled("c1"))
        writer.create("/p/a", b"")
        events.wait_for(1)
        zk.get_children("/p", watch=events.labelled("c2"))
        writer.set("/p/a", b"no child event")
        writer.delete("/p/a")
        events.wait_for(2)
        zk.get_children("/p", watch=events.labelled("c3"))
        zk.get("/p", watch=events.labelled("d3"))
        writer.delete("/p")
        return events.wait_for(4)[:2] + sorted(events.wait_for(4)[2:])

    observed = differential.run(scenario)
    assert observed == [
        ("c1:CHILD", "/p"),
        ("c2:CHILD", "/p"),
        ("c3:DELETED", "/p"),
        ("d3:DELETED", "/p"),
    ]


def test_same_watcher_registered_twice_fires_once(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[tuple[str, str]]:
        zk = target.client()
        writer = target.client()
        zk.create("/dup", b"")
        events = EventLog()
        zk.get("/dup", watch=events)
        zk.exists("/dup", watch=events)
        writer.set("/dup", b"x")
        marker = EventLog()
        zk.exists("/marker", watch=marker)
        writer.create("/marker", b"")
        marker.wait_for(1)
        return events.snapshot()

    observed = differential.run(scenario)
    assert observed == [("CHANGED", "/dup")]


def test_watch_event_precedes_reply_of_later_request(differential: Differential) -> None:
    """Apache's ordering guarantee, seen on the wire of the watching session."""

    def scenario(target: ZkTarget) -> list[str]:
        writer = target.client()
        writer.create("/o", b"0")
        watcher = RawSession(LOOPBACK, target.port)
        watcher.connect()
        try:
            watcher.call(OP_GET_DATA, path_watch(target.path("o"), watch=True))
            writer.set("/o", b"1")
            watcher.call(OP_GET_DATA, path_watch(target.path("o")))
            kinds = []
            for item in watcher.frames:
                if isinstance(item, Notification):
                    kinds.append(f"event:{item.event_type}")
                elif isinstance(item, Reply):
                    kinds.append(f"reply:{item.err}")
            return kinds
        finally:
            watcher.close_session()

    observed = differential.run(scenario)
    assert observed == ["reply:0", "event:3", "reply:0"]


def test_own_write_event_precedes_own_reply(differential: Differential) -> None:
    """A session that changes a node it watches gets the event before the write's reply."""

    def scenario(target: ZkTarget) -> list[str]:
        target.client().create("/own", b"0")
        raw = RawSession(LOOPBACK, target.port)
        raw.connect()
        try:
            raw.call(OP_GET_DATA, path_watch(target.path("own"), watch=True))
            raw.call(OP_SET_DATA, ustring(target.path("own")) + buffer(b"1") + b"\xff" * 4)
            return [
                f"event:{item.event_type}:{str(item.path).removeprefix(target.root)}"
                if isinstance(item, Notification)
                else f"reply:{item.err}"
                for item in raw.frames
            ]
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == ["reply:0", "event:3:/own", "reply:0"]


def test_watch_on_node_deleted_by_session_close(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        owner = target.client()
        zk = target.client()
        owner.create("/eph", b"", ephemeral=True)
        events = EventLog()
        zk.get("/eph", watch=events.labelled("data"))
        zk.get_children("/", watch=events.labelled("root"))
        owner.stop()
        return {
            "events": sorted(events.wait_for(2)),
            "set_missing": error_name(lambda: zk.set("/eph", b"")),
        }

    observed = differential.run(scenario)
    assert observed == {
        "events": [("data:DELETED", "/eph"), ("root:CHILD", "/")],
        "set_missing": "NoNodeError",
    }
