"""Create, read, update, delete and their errors, compared between Apache and ours."""

from typing import Any

from kazoo.security import OPEN_ACL_UNSAFE

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.observe import error_name, outcome, stat_shape
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import OP_CREATE, OP_GET_DATA, RawSession, create_body, path_watch
from zkrecipes.testing.targets import ZkTarget


def test_create_get_set_delete_lifecycle(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        created = zk.create("/node", b"one")
        data, stat_created = zk.get("/node")
        stat_set = zk.set("/node", b"two!")
        data_after, stat_after = zk.get("/node")
        zk.delete("/node")
        return {
            "created": created,
            "data": data,
            "stat_created": stat_shape(stat_created),
            "stat_set": stat_shape(stat_set),
            "data_after": data_after,
            "same_stat_from_set_and_get": stat_set == stat_after,
            "exists_after_delete": zk.exists("/node"),
        }

    observed = differential.run(scenario)
    assert observed["created"] == "/node"
    assert observed["data"] == b"one"
    assert observed["stat_created"]["version"] == 0
    assert observed["stat_created"]["dataLength"] == 3
    assert not observed["stat_created"]["modified_after_create"]
    assert observed["stat_set"]["version"] == 1
    assert observed["stat_set"]["dataLength"] == 4
    assert observed["stat_set"]["modified_after_create"]
    assert observed["data_after"] == b"two!"
    assert observed["same_stat_from_set_and_get"]
    assert observed["exists_after_delete"] is None


def test_missing_node_errors(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        return {
            "get": error_name(lambda: zk.get("/missing")),
            "set": error_name(lambda: zk.set("/missing", b"x")),
            "delete": error_name(lambda: zk.delete("/missing")),
            "children": error_name(lambda: zk.get_children("/missing")),
            "acl": error_name(lambda: zk.get_acls("/missing")),
            "set_acl": error_name(lambda: zk.set_acls("/missing", OPEN_ACL_UNSAFE)),
            "create_under_missing": error_name(lambda: zk.create("/missing/child")),
            "exists": zk.exists("/missing"),
        }

    observed = differential.run(scenario)
    assert observed == {
        "get": "NoNodeError",
        "set": "NoNodeError",
        "delete": "NoNodeError",
        "children": "NoNodeError",
        "acl": "NoNodeError",
        "set_acl": "NoNodeError",
        "create_under_missing": "NoNodeError",
        "exists": None,
    }


def test_node_exists_and_not_empty(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/parent", b"")
        zk.create("/parent/child", b"")
        return {
            "create_again": error_name(lambda: zk.create("/parent")),
            "delete_parent": error_name(lambda: zk.delete("/parent")),
            "children": zk.get_children("/parent"),
            "recursive_delete": outcome(lambda: zk.delete("/parent", recursive=True)),
            "gone": zk.exists("/parent"),
        }

    observed = differential.run(scenario)
    assert observed == {
        "create_again": "NodeExistsError",
        "delete_parent": "NotEmptyError",
        "children": ["child"],
        "recursive_delete": ("ok", None),
        "gone": None,
    }


def test_versioned_set_and_delete(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/v", b"0")
        return {
            "set_wrong": error_name(lambda: zk.set("/v", b"x", version=5)),
            "set_right": zk.set("/v", b"1", version=0).version,
            "set_any": zk.set("/v", b"2", version=-1).version,
            "delete_wrong": error_name(lambda: zk.delete("/v", version=0)),
            "data_kept": zk.get("/v")[0],
            "delete_right": outcome(lambda: zk.delete("/v", version=2)),
        }

    observed = differential.run(scenario)
    assert observed == {
        "set_wrong": "BadVersionError",
        "set_right": 1,
        "set_any": 2,
        "delete_wrong": "BadVersionError",
        "data_kept": b"2",
        "delete_right": ("ok", True),
    }


def test_children_under_ephemeral_are_refused(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/eph", b"", ephemeral=True)
        return {
            "child": error_name(lambda: zk.create("/eph/child")),
            "sequential_child": error_name(lambda: zk.create("/eph/s-", sequence=True)),
        }

    observed = differential.run(scenario)
    assert observed == {
        "child": "NoChildrenForEphemeralsError",
        "sequential_child": "NoChildrenForEphemeralsError",
    }


def test_invalid_paths_rejected_by_server(differential: Differential) -> None:
    """kazoo normalizes paths before sending; a raw client sends them as they are."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.ensure_root()
        base = target.root
        cases = {
            "relative": "a",
            "empty": "",
            "trailing_slash": base + "/a/",
            "double_slash": base + "//a",
            "dot": base + "/./a",
            "dotdot": base + "/a/../b",
            "nul": base + "/a\x00b",
            "bare_dot": base + "/.",
            "control_char": base + "/a\x01",
            "dot_prefix_ok": base + "/.a",
            "dots_ok": base + "/a..b",
            "trailing_slash_parent_exists": base + "/p/",
            "double_slash_parent_exists": base + "/p//a",
            "dot_parent_exists": base + "/p/.",
            "dotdot_parent_exists": base + "/p/..",
        }
        raw = RawSession(LOOPBACK, target.port)
        raw.connect()
        try:
            raw.call(OP_CREATE, create_body(base + "/p"))
            created = {name: raw.call(OP_CREATE, create_body(p)).err for name, p in cases.items()}
            read = {name: raw.call(OP_GET_DATA, path_watch(p)).err for name, p in cases.items()}
        finally:
            raw.close_session()
        return {"create": created, "get": read}

    observed = differential.run(scenario)
    # Apache looks up the parent before validating the path: a missing parent answers NoNode
    # (-101), and reads never validate (the empty path reads the root).
    no_node, bad_arguments = -101, -8
    assert observed["create"] == {
        "relative": bad_arguments,
        "empty": bad_arguments,
        "trailing_slash": no_node,
        "double_slash": no_node,
        "dot": no_node,
        "dotdot": no_node,
        "nul": bad_arguments,
        "bare_dot": bad_arguments,
        "control_char": bad_arguments,
        "dot_prefix_ok": 0,
        "dots_ok": 0,
        "trailing_slash_parent_exists": bad_arguments,
        "double_slash_parent_exists": no_node,
        "dot_parent_exists": bad_arguments,
        "dotdot_parent_exists": bad_arguments,
    }
    assert observed["get"] == {
        name: 0 if name in {"empty", "dot_prefix_ok", "dots_ok"} else no_node
        for name in observed["create"]
    }


def test_root_node_operations(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client(chroot=False)
        return {
            "delete_root": error_name(lambda: zk.delete("/")),
            "create_root": error_name(lambda: zk.create("/")),
            "root_children_has_zookeeper": "zookeeper" in zk.get_children("/"),
            "root_data": zk.get("/")[0],
        }

    observed = differential.run(scenario)
    assert observed["root_children_has_zookeeper"] is True
    assert observed["root_data"] == b""
    assert observed["delete_root"] == "BadArgumentsError"
    assert observed["create_root"] == "NodeExistsError"


def test_child_stat_counters(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/p", b"")
        shapes = [stat_shape(zk.exists("/p"))]
        zk.create("/p/a", b"")
        zk.create("/p/b", b"")
        shapes.append(stat_shape(zk.exists("/p")))
        zk.delete("/p/a")
        shapes.append(stat_shape(zk.exists("/p")))
        zk.set("/p/b", b"data")
        shapes.append(stat_shape(zk.exists("/p")))
        return {"shapes": shapes, "children": sorted(zk.get_children("/p"))}

    observed = differential.run(scenario)
    counters = [(s["cversion"], s["numChildren"], s["version"]) for s in observed["shapes"]]
    assert counters == [(0, 0, 0), (2, 2, 0), (3, 1, 0), (3, 1, 0)]
    assert observed["shapes"][1]["children_changed_after_create"]
    assert observed["children"] == ["b"]


def test_get_children_with_stat_and_order(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/c", b"")
        for name in ("b", "a", "c10", "c2"):
            zk.create(f"/c/{name}", b"")
        children, stat = zk.get_children("/c", include_data=True)
        return {"children": sorted(children), "numChildren": stat.numChildren}

    observed = differential.run(scenario)
    assert observed == {"children": ["a", "b", "c10", "c2"], "numChildren": 4}


def test_empty_and_none_data(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/empty", b"")
        zk.create("/none")
        zk.create("/bin", bytes(range(256)))
        return {
            "empty": zk.get("/empty")[0],
            "none": zk.get("/none")[0],
            "bin": zk.get("/bin")[0] == bytes(range(256)),
            "len": zk.exists("/bin").dataLength,
        }

    observed = differential.run(scenario)
    assert observed == {"empty": b"", "none": b"", "bin": True, "len": 256}


def test_large_data_accepted_below_maxbuffer(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        payload = b"x" * (1024 * 1000)
        zk.create("/big", payload)
        return {"length": zk.exists("/big").dataLength, "same": zk.get("/big")[0] == payload}

    observed = differential.run(scenario)
    assert observed == {"length": 1024 * 1000, "same": True}


def test_sync_and_read_your_writes(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        writer = target.client()
        reader = target.client()
        writer.create("/ryw", b"a")
        writer.set("/ryw", b"b")
        synced = reader.sync("/ryw")
        return {"sync": synced, "seen": reader.get("/ryw")[0], "own": writer.get("/ryw")[0]}

    observed = differential.run(scenario)
    assert observed["seen"] == b"b"
    assert observed["own"] == b"b"
    assert observed["sync"] is not None


def test_unicode_node_names(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/ünï", b"")
        zk.create("/ünï/日本", "值".encode())
        return {"children": zk.get_children("/ünï"), "data": zk.get("/ünï/日本")[0].decode()}

    observed = differential.run(scenario)
    assert observed == {"children": ["日本"], "data": "值"}


def test_transaction_check_and_makepath(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        made = zk.create("/deep/er/path", b"leaf", makepath=True)
        return {
            "made": made,
            "chain": [zk.exists(p) is not None for p in ("/deep", "/deep/er", "/deep/er/path")],
            "ensure": zk.ensure_path("/deep/er/path"),
            "data": zk.get("/deep/er/path")[0],
        }

    observed = differential.run(scenario)
    assert observed["made"] == "/deep/er/path"
    assert observed["chain"] == [True, True, True]
    assert observed["data"] == b"leaf"
