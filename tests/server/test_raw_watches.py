"""Watch opcodes kazoo never sends, over the raw client: setWatches and setWatches2 on a
reconnect, addWatch (persistent and persistent-recursive), checkWatches and removeWatches.

Most changes are made by the watching session itself, so that each event arrives before the
reply of the request that caused it and the observed frame sequence is deterministic.
"""

import struct
from typing import Any

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import (
    MODE_PERSISTENT,
    MODE_PERSISTENT_RECURSIVE,
    OP_ADD_WATCH,
    OP_CHECK_WATCHES,
    OP_CREATE,
    OP_DELETE,
    OP_EXISTS,
    OP_GET_CHILDREN,
    OP_GET_DATA,
    OP_REMOVE_WATCHES,
    OP_SET_DATA,
    OP_SET_WATCHES,
    OP_SET_WATCHES2,
    SET_WATCHES_XID,
    WATCHER_ANY,
    WATCHER_CHILDREN,
    WATCHER_DATA,
    Notification,
    RawSession,
    Reply,
    buffer,
    create_body,
    path_int,
    path_watch,
    set_watches_body,
    ustring,
)
from zkrecipes.testing.targets import ZkTarget

EVENT_NAMES = {1: "created", 2: "deleted", 3: "data", 4: "children"}
QUIET_S = 0.5
SESSION_MS = 4000


def _session(target: ZkTarget) -> RawSession:
    target.ensure_root()
    raw = RawSession(LOOPBACK, target.port)
    raw.connect(timeout_ms=SESSION_MS)
    return raw


def _event(target: ZkTarget, note: Notification) -> tuple[str, str]:
    name = EVENT_NAMES.get(note.event_type, str(note.event_type))
    return (name, str(note.path).removeprefix(target.root) or "/")


def _frames(target: ZkTarget, items: list[Reply | Notification]) -> list[Any]:
    """Notifications as (kind, relative path), replies as ("reply", xid, err)."""
    return [
        _event(target, item) if isinstance(item, Notification) else ("reply", item.xid, item.err)
        for item in items
    ]


def _step(target: ZkTarget, raw: RawSession, opcode: int, body: bytes) -> list[Any]:
    """Send one request; the error code, preceded by the events that arrived before it."""
    xid = raw.send(opcode, body)
    seen: list[Any] = []
    for _ in range(100):
        item = raw.receive()
        if isinstance(item, Notification):
            seen.append(_event(target, item))
        elif item.xid == xid:
            return [*seen, item.err]
    raise ConnectionError(f"no reply for xid {xid}")


def _set(path: str, data: bytes = b"v") -> bytes:
    return ustring(path) + buffer(data) + struct.pack(">i", -1)


def _delete(path: str) -> bytes:
    return ustring(path) + struct.pack(">i", -1)


def test_set_watches_on_reconnect_fires_what_changed(differential: Differential) -> None:
    """Changes since relativeZxid fire at once, before the reply, in list order (data, exist,
    child); unchanged watches are registered and fire on the next change."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        p = target.path
        for name in ("changed", "gone", "same", "kids", "kids-same", "kids-gone"):
            raw.call(OP_CREATE, create_body(p(name)))
        for name in ("changed", "gone", "same"):
            raw.call(OP_GET_DATA, path_watch(p(name), True))
        for name in ("kids", "kids-same", "kids-gone"):
            raw.call(OP_GET_CHILDREN, path_watch(p(name), True))
        for name in ("absent", "absent-still"):
            raw.call(OP_EXISTS, path_watch(p(name), True))
        last_zxid = raw.last_zxid
        session = raw.handshake
        assert session is not None
        raw.close()  # dropped, not closed: the session lives on

        zk = target.admin()
        zk.set(p("changed"), b"new")
        zk.delete(p("gone"))
        zk.create(p("kids/k"))
        zk.delete(p("kids-gone"))
        zk.create(p("absent"))

        again = RawSession(LOOPBACK, target.port)
        resumed = again.connect(
            timeout_ms=SESSION_MS,
            session_id=session.session_id,
            password=session.password,
            last_zxid_seen=last_zxid,
        )
        again.send(
            OP_SET_WATCHES,
            set_watches_body(
                last_zxid,
                data=(p("changed"), p("gone"), p("same")),
                exist=(p("absent"), p("absent-still")),
                child=(p("kids"), p("kids-same"), p("kids-gone")),
            ),
            xid=SET_WATCHES_XID,
        )
        at_once = _frames(target, again.drain(QUIET_S))
        later = [
            _step(target, again, OP_SET_DATA, _set(p("same"))),
            _step(target, again, OP_CREATE, create_body(p("kids-same/k"))),
            _step(target, again, OP_CREATE, create_body(p("absent-still"))),
            # Fired watches were one-shot: these change nothing any more.
            _step(target, again, OP_SET_DATA, _set(p("changed"))),
            _step(target, again, OP_CREATE, create_body(p("kids/k2"))),
        ]
        again.close_session()
        return {
            "same_session": resumed.session_id == session.session_id,
            "at_once": at_once,
            "later": later,
        }

    observed = differential.run(scenario)
    assert observed == {
        "same_session": True,
        "at_once": [
            ("data", "/changed"),
            ("deleted", "/gone"),
            ("created", "/absent"),
            ("children", "/kids"),
            ("deleted", "/kids-gone"),
            ("reply", SET_WATCHES_XID, 0),
        ],
        "later": [
            [("data", "/same"), 0],
            [("children", "/kids-same"), 0],
            [("created", "/absent-still"), 0],
            [0],
            [0],
        ],
    }


def test_set_watches_relative_zxid_bounds(differential: Differential) -> None:
    """relativeZxid 0 makes every existing watched node look changed; a zxid from the future
    makes none look changed."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        p = target.path
        raw.call(OP_CREATE, create_body(p("n")))
        raw.call(OP_CREATE, create_body(p("n/c")))
        lists = {"data": (p("n"),), "exist": (p("n"),), "child": (p("n"),)}
        from_zero = RawSession(LOOPBACK, target.port)
        from_zero.connect(timeout_ms=SESSION_MS)
        from_zero.send(OP_SET_WATCHES, set_watches_body(0, **lists), xid=SET_WATCHES_XID)
        zero_frames = _frames(target, from_zero.drain(QUIET_S))
        from_zero.close_session()
        future = RawSession(LOOPBACK, target.port)
        future.connect(timeout_ms=SESSION_MS)
        future.send(OP_SET_WATCHES, set_watches_body(1 << 60, **lists), xid=SET_WATCHES_XID)
        future_frames = _frames(target, future.drain(QUIET_S))
        after = _step(target, future, OP_DELETE, _delete(p("n/c")))
        future.close_session()
        raw.close_session()
        return {"zero": zero_frames, "future": future_frames, "after": after}

    observed = differential.run(scenario)
    assert observed == {
        "zero": [("data", "/n"), ("created", "/n"), ("children", "/n"), ("reply", -8, 0)],
        # exists on a node that is there fires NodeCreated whatever the zxid.
        "future": [("created", "/n"), ("reply", -8, 0)],
        "after": [("children", "/n"), 0],
    }


def test_set_watches2_registers_persistent_watches(differential: Differential) -> None:
    """Persistent lists never fire at once; they are registered and survive firing."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        p = target.path
        raw.call(OP_CREATE, create_body(p("per")))
        raw.call(OP_CREATE, create_body(p("rec")))
        raw.call(OP_CREATE, create_body(p("one")))
        zxid = raw.last_zxid
        raw.call(OP_SET_DATA, _set(p("per")))
        raw.call(OP_SET_DATA, _set(p("rec")))
        again = RawSession(LOOPBACK, target.port)
        again.connect(timeout_ms=SESSION_MS)
        again.send(
            OP_SET_WATCHES2,
            set_watches_body(zxid, data=(p("one"),), persistent=(p("per"),), recursive=(p("rec"),)),
            xid=SET_WATCHES_XID,
        )
        at_once = _frames(target, again.drain(QUIET_S))
        later = [
            _step(target, again, OP_SET_DATA, _set(p("one"))),
            _step(target, again, OP_SET_DATA, _set(p("one"))),
            _step(target, again, OP_SET_DATA, _set(p("per"))),
            _step(target, again, OP_SET_DATA, _set(p("per"))),
            _step(target, again, OP_CREATE, create_body(p("per/c"))),
            _step(target, again, OP_CREATE, create_body(p("rec/c"))),
            _step(target, again, OP_SET_DATA, _set(p("rec/c"))),
            _step(target, again, OP_SET_DATA, _set(p("rec"))),
        ]
        again.close_session()
        raw.close_session()
        return {"at_once": at_once, "later": later}

    observed = differential.run(scenario)
    assert observed == {
        "at_once": [("reply", -8, 0)],
        "later": [
            [("data", "/one"), 0],
            [0],
            [("data", "/per"), 0],
            [("data", "/per"), 0],
            [("children", "/per"), 0],
            [("created", "/rec/c"), 0],
            [("data", "/rec/c"), 0],
            [("data", "/rec"), 0],
        ],
    }


def test_add_watch_persistent_sequence(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        p = target.path
        added = raw.call(OP_ADD_WATCH, path_int(p("w"), MODE_PERSISTENT))
        steps = [
            _step(target, raw, OP_CREATE, create_body(p("w"))),
            _step(target, raw, OP_SET_DATA, _set(p("w"))),
            _step(target, raw, OP_SET_DATA, _set(p("w"))),
            _step(target, raw, OP_CREATE, create_body(p("w/c"))),
            _step(target, raw, OP_SET_DATA, _set(p("w/c"))),
            _step(target, raw, OP_CREATE, create_body(p("w/c/g"))),
            _step(target, raw, OP_DELETE, _delete(p("w/c/g"))),
            _step(target, raw, OP_DELETE, _delete(p("w/c"))),
            _step(target, raw, OP_DELETE, _delete(p("w"))),
            _step(target, raw, OP_CREATE, create_body(p("w"))),
            _step(target, raw, OP_CREATE, create_body(p("wx"))),
        ]
        raw.close_session()
        return {"added": (added.err, len(added.body)), "steps": steps}

    observed = differential.run(scenario)
    assert observed == {
        "added": (0, 4),  # ErrorResponse(0)
        "steps": [
            [("created", "/w"), 0],
            [("data", "/w"), 0],
            [("data", "/w"), 0],
            [("children", "/w"), 0],
            [0],
            [0],
            [0],
            [("children", "/w"), 0],
            [("deleted", "/w"), 0],
            [("created", "/w"), 0],
            [0],
        ],
    }


def test_add_watch_persistent_recursive_sequence(differential: Differential) -> None:
    """Every create, set and delete at or below the path; never NodeChildrenChanged."""

    def scenario(target: ZkTarget) -> list[Any]:
        raw = _session(target)
        p = target.path
        raw.call(OP_ADD_WATCH, path_int(p("r"), MODE_PERSISTENT_RECURSIVE))
        steps = [
            _step(target, raw, OP_CREATE, create_body(p("r"))),
            _step(target, raw, OP_CREATE, create_body(p("r/a"))),
            _step(target, raw, OP_SET_DATA, _set(p("r/a"))),
            _step(target, raw, OP_CREATE, create_body(p("r/a/b"))),
            _step(target, raw, OP_SET_DATA, _set(p("r/a/b"))),
            _step(target, raw, OP_DELETE, _delete(p("r/a/b"))),
            _step(target, raw, OP_DELETE, _delete(p("r/a"))),
            _step(target, raw, OP_SET_DATA, _set(p("r"))),
            _step(target, raw, OP_CREATE, create_body(p("rx"))),
            _step(target, raw, OP_DELETE, _delete(p("r"))),
            _step(target, raw, OP_CREATE, create_body(p("r"))),
        ]
        raw.close_session()
        return steps

    observed = differential.run(scenario)
    assert observed == [
        [("created", "/r"), 0],
        [("created", "/r/a"), 0],
        [("data", "/r/a"), 0],
        [("created", "/r/a/b"), 0],
        [("data", "/r/a/b"), 0],
        [("deleted", "/r/a/b"), 0],
        [("deleted", "/r/a"), 0],
        [("data", "/r"), 0],
        [0],
        [("deleted", "/r"), 0],
        [("created", "/r"), 0],
    ]


def test_persistent_and_one_shot_on_same_path(differential: Differential) -> None:
    """A one-shot data watch set by the session that holds a persistent watch on the path."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        p = target.path
        raw.call(OP_CREATE, create_body(p("q")))
        raw.call(OP_ADD_WATCH, path_int(p("q"), MODE_PERSISTENT))
        one_shot = raw.call(OP_GET_DATA, path_watch(p("q"), True)).err
        steps = [
            _step(target, raw, OP_SET_DATA, _set(p("q"))),
            _step(target, raw, OP_SET_DATA, _set(p("q"))),
            _step(target, raw, OP_CREATE, create_body(p("q/c"))),
            _step(target, raw, OP_CREATE, create_body(p("q/d"))),
        ]
        raw.close_session()
        return {"one_shot": one_shot, "steps": steps}

    observed = differential.run(scenario)
    # The persistent watch is counted in both Apache's data and child tables; the one-shot
    # registration turns the data half into a one-shot watch (Apache 3.8 keeps one mode per
    # session and path), while the child half stays persistent.
    assert observed == {
        "one_shot": 0,
        "steps": [
            [("data", "/q"), 0],
            [0],
            [("children", "/q"), 0],
            [("children", "/q"), 0],
        ],
    }


def test_add_watch_bad_mode_and_paths(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        try:
            return {
                "bad_mode": raw.call(OP_ADD_WATCH, path_int(target.path("m"), 7)).err,
                "missing_parent": raw.call(
                    OP_ADD_WATCH, path_int(target.path("no/such/parent"), MODE_PERSISTENT)
                ).err,
                "root": raw.call(OP_ADD_WATCH, path_int("/", MODE_PERSISTENT)).err,
                "check_root": raw.call(OP_CHECK_WATCHES, path_int("/", WATCHER_ANY)).err,
                "remove_root": raw.call(OP_REMOVE_WATCHES, path_int("/", WATCHER_ANY)).err,
            }
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == {
        "bad_mode": -5,
        "missing_parent": 0,
        "root": 0,
        "check_root": 0,
        "remove_root": 0,
    }


def test_check_and_remove_watches_by_type(differential: Differential) -> None:
    """Each watcher type; NoWatcher (-121) when nothing matches; a removed one-shot watch never
    fires; the server sends no WatchRemoved event (clients make those themselves)."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        p = target.path
        raw.call(OP_CREATE, create_body(p("a")))
        raw.call(OP_GET_DATA, path_watch(p("a"), True))

        def check(path: str, kind: int) -> int:
            return raw.call(OP_CHECK_WATCHES, path_int(path, kind)).err

        def remove(path: str, kind: int) -> int:
            return raw.call(OP_REMOVE_WATCHES, path_int(path, kind)).err

        data_watch = {
            "check_data": check(p("a"), WATCHER_DATA),
            "check_children": check(p("a"), WATCHER_CHILDREN),
            "check_any": check(p("a"), WATCHER_ANY),
            "remove_children": remove(p("a"), WATCHER_CHILDREN),
            "remove_data": remove(p("a"), WATCHER_DATA),
            "check_after": check(p("a"), WATCHER_DATA),
            "remove_again": remove(p("a"), WATCHER_DATA),
            "set_after": _step(target, raw, OP_SET_DATA, _set(p("a"))),
        }
        raw.call(OP_EXISTS, path_watch(p("m"), True))
        exist_watch = {
            "check_data": check(p("m"), WATCHER_DATA),
            "check_children": check(p("m"), WATCHER_CHILDREN),
            "remove_any": remove(p("m"), WATCHER_ANY),
            "create_after": _step(target, raw, OP_CREATE, create_body(p("m"))),
        }
        raw.call(OP_GET_CHILDREN, path_watch(p("a"), True))
        raw.call(OP_GET_DATA, path_watch(p("a"), True))
        both = {
            "check_children": check(p("a"), WATCHER_CHILDREN),
            "remove_children": remove(p("a"), WATCHER_CHILDREN),
            "child_after": _step(target, raw, OP_CREATE, create_body(p("a/x"))),
            "remove_any": remove(p("a"), WATCHER_ANY),
            "data_after": _step(target, raw, OP_SET_DATA, _set(p("a"))),
            "nothing": remove(p("nowhere"), WATCHER_ANY),
            "bad_type": check(p("a"), 9),
        }
        stray = _frames(target, raw.drain(QUIET_S))
        raw.close_session()
        return {"data_watch": data_watch, "exist_watch": exist_watch, "both": both, "stray": stray}

    observed = differential.run(scenario)
    assert observed == {
        "data_watch": {
            "check_data": 0,
            "check_children": -121,
            "check_any": 0,
            "remove_children": -121,
            "remove_data": 0,
            "check_after": -121,
            "remove_again": -121,
            "set_after": [0],
        },
        "exist_watch": {
            "check_data": 0,
            "check_children": -121,
            "remove_any": 0,
            "create_after": [0],
        },
        "both": {
            "check_children": 0,
            "remove_children": 0,
            "child_after": [0],
            "remove_any": 0,
            "data_after": [0],
            "nothing": -121,
            "bad_type": -5,
        },
        "stray": [],
    }


def test_remove_watches_on_persistent_watches(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        raw = _session(target)
        p = target.path
        raw.call(OP_CREATE, create_body(p("pw")))
        raw.call(OP_ADD_WATCH, path_int(p("pw"), MODE_PERSISTENT))
        raw.call(OP_CREATE, create_body(p("rw")))
        raw.call(OP_ADD_WATCH, path_int(p("rw"), MODE_PERSISTENT_RECURSIVE))

        def watches(path: str, kind: int, opcode: int = OP_CHECK_WATCHES) -> int:
            return raw.call(opcode, path_int(path, kind)).err

        result = {
            "check_pw": [watches(p("pw"), kind) for kind in (1, 2, 3)],
            "remove_pw_data": watches(p("pw"), WATCHER_DATA, OP_REMOVE_WATCHES),
            "set_pw": _step(target, raw, OP_SET_DATA, _set(p("pw"))),
            "child_pw": _step(target, raw, OP_CREATE, create_body(p("pw/c"))),
            "remove_pw_any": watches(p("pw"), WATCHER_ANY, OP_REMOVE_WATCHES),
            "child_pw_after": _step(target, raw, OP_CREATE, create_body(p("pw/d"))),
            "check_rw": [watches(p("rw"), kind) for kind in (1, 2, 3)],
            "check_rw_below": watches(p("rw/below"), WATCHER_DATA),
            "remove_rw_children": watches(p("rw"), WATCHER_CHILDREN, OP_REMOVE_WATCHES),
            "below_after_children": _step(target, raw, OP_CREATE, create_body(p("rw/c"))),
            "remove_rw_data": watches(p("rw"), WATCHER_DATA, OP_REMOVE_WATCHES),
            "below_after_data": _step(target, raw, OP_CREATE, create_body(p("rw/d"))),
        }
        raw.close_session()
        return result

    observed = differential.run(scenario)
    assert observed == {
        "check_pw": [0, 0, 0],
        "remove_pw_data": 0,
        "set_pw": [0],
        "child_pw": [("children", "/pw"), 0],
        "remove_pw_any": 0,
        "child_pw_after": [0],
        "check_rw": [0, 0, 0],
        "check_rw_below": -121,
        "remove_rw_children": 0,
        "below_after_children": [("created", "/rw/c"), 0],
        "remove_rw_data": 0,
        "below_after_data": [0],
    }


def test_check_watches_sees_other_sessions_watch(differential: Differential) -> None:
    """Apache 3.8 answers checkWatches from the path's watch table, whoever set the watch;
    removeWatches only removes the caller's own."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        owner = _session(target)
        other = _session(target)
        p = target.path
        owner.call(OP_CREATE, create_body(p("shared")))
        owner.call(OP_GET_DATA, path_watch(p("shared"), True))
        result = {
            "other_check": other.call(OP_CHECK_WATCHES, path_int(p("shared"), WATCHER_DATA)).err,
            "other_remove": other.call(OP_REMOVE_WATCHES, path_int(p("shared"), WATCHER_DATA)).err,
            "owner_fires": _step(target, owner, OP_SET_DATA, _set(p("shared"))),
        }
        owner.close_session()
        other.close_session()
        return result

    observed = differential.run(scenario)
    assert observed == {
        "other_check": 0,
        "other_remove": -121,
        "owner_fires": [("data", "/shared"), 0],
    }
