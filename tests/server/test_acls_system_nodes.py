"""ACL schemes, authentication, and the /zookeeper system nodes."""

from functools import partial
from typing import Any

from kazoo.security import (
    ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    Id,
    Permissions,
    make_acl,
    make_digest_acl,
    make_digest_acl_credential,
)

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.observe import error_name, outcome
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import OP_CREATE, OP_WHO_AM_I, RawSession, create_body
from zkrecipes.testing.targets import ZkTarget

SUPER_SETTINGS: dict[str, str | int] = {
    "DigestAuthenticationProvider.superDigest": make_digest_acl_credential("super", "boss"),
}


def _acl_shape(acls: list[ACL]) -> list[tuple[int, str, str]]:
    return sorted((acl.perms, acl.id.scheme, acl.id.id) for acl in acls)


def test_digest_acl_denies_until_addauth(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        owner = target.client(auth_data=[("digest", "alice:pw")])
        stranger = target.client()
        owner.create("/secret", b"s", acl=[make_digest_acl("alice", "pw", all=True)])
        denied = {
            "get": error_name(lambda: stranger.get("/secret")),
            "set": error_name(lambda: stranger.set("/secret", b"")),
            "children": error_name(lambda: stranger.get_children("/secret")),
            "create_child": error_name(lambda: stranger.create("/secret/c")),
            "get_acls": outcome(lambda: _acl_shape(stranger.get_acls("/secret")[0])),
            "exists": stranger.exists("/secret") is not None,
        }
        stranger.add_auth("digest", "alice:wrong")
        still_denied = error_name(lambda: stranger.get("/secret"))
        stranger.add_auth("digest", "alice:pw")
        after_addauth = stranger.get("/secret")[0]
        # Deleting needs DELETE on the parent (open here), not on the node itself.
        anonymous = target.client()
        return {
            "denied": denied,
            "wrong_password": still_denied,
            "after_addauth": after_addauth,
            "anonymous_delete": error_name(lambda: anonymous.delete("/secret")),
        }

    observed = differential.run(scenario)
    assert observed == {
        "denied": {
            "get": "NoAuthError",
            "set": "NoAuthError",
            "children": "NoAuthError",
            "create_child": "NoAuthError",
            "get_acls": ("error", "NoAuthError"),
            "exists": True,
        },
        "wrong_password": "NoAuthError",
        "after_addauth": b"s",
        "anonymous_delete": None,
    }


def test_auth_scheme_acl(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        anonymous = target.client()
        authed = target.client(auth_data=[("digest", "bob:pw")])
        auth_acl = [ACL(Permissions.ALL, Id("auth", ""))]
        return {
            "anonymous": error_name(lambda: anonymous.create("/a", acl=auth_acl)),
            "authed": outcome(lambda: authed.create("/b", acl=auth_acl)),
            "stored": _acl_shape(authed.get_acls("/b")[0]),
            "anonymous_read": error_name(lambda: anonymous.get("/b")),
        }

    observed = differential.run(scenario)
    assert observed == {
        "anonymous": "InvalidACLError",
        "authed": ("ok", "/b"),
        "stored": [(31, "digest", make_digest_acl_credential("bob", "pw"))],
        "anonymous_read": "NoAuthError",
    }


def test_invalid_acls(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        cases = {
            "digest_without_colon": [make_acl("digest", "nocolon", all=True)],
            "unknown_scheme": [make_acl("nosuch", "x", all=True)],
            "bad_ip": [make_acl("ip", "999.1.1.1", all=True)],
            "bad_cidr": [make_acl("ip", "127.0.0.1/99", all=True)],
            "world_not_anyone": [make_acl("world", "someone", all=True)],
        }
        result: dict[str, Any] = {}
        for name, acl in cases.items():
            result[name] = error_name(partial(zk.create, "/" + name, acl=acl))
        # kazoo sends its default ACL for an empty list; the raw client sends it empty.
        raw = RawSession(LOOPBACK, target.port)
        raw.connect()
        try:
            result["empty_list_err"] = raw.call(
                OP_CREATE, create_body(target.path("empty"), acls=())
            ).err
        finally:
            raw.close_session()
        return result

    observed = differential.run(scenario)
    assert observed == {
        "digest_without_colon": "InvalidACLError",
        "unknown_scheme": "InvalidACLError",
        "bad_ip": "InvalidACLError",
        "bad_cidr": "InvalidACLError",
        "world_not_anyone": "InvalidACLError",
        "empty_list_err": -114,
    }


def test_ip_acls(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/loopback", b"1", acl=[make_acl("ip", "127.0.0.1", read=True)])
        zk.create("/cidr", b"2", acl=[make_acl("ip", "127.0.0.0/8", read=True)])
        zk.create("/other", b"3", acl=[make_acl("ip", "10.0.0.0/8", read=True)])
        return {
            "loopback": outcome(lambda: zk.get("/loopback")[0]),
            "cidr": outcome(lambda: zk.get("/cidr")[0]),
            "other": outcome(lambda: zk.get("/other")[0]),
            "write_without_perm": error_name(lambda: zk.set("/loopback", b"")),
        }

    observed = differential.run(scenario)
    assert observed == {
        "loopback": ("ok", b"1"),
        "cidr": ("ok", b"2"),
        "other": ("error", "NoAuthError"),
        "write_without_perm": "NoAuthError",
    }


def test_permission_bits(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/ro", b"r", acl=READ_ACL_UNSAFE)
        zk.create("/nocreate", b"", acl=[make_acl("world", "anyone", read=True, delete=True)])
        zk.create("/nodelete", b"", acl=[make_acl("world", "anyone", create=True, read=True)])
        zk.create("/nodelete/c", b"")
        zk.create("/noadmin", b"", acl=[make_acl("world", "anyone", read=True, write=True)])
        return {
            "read_only_set": error_name(lambda: zk.set("/ro", b"x")),
            "read_only_get": zk.get("/ro")[0],
            "create_without_create": error_name(lambda: zk.create("/nocreate/c")),
            "delete_without_delete": error_name(lambda: zk.delete("/nodelete/c")),
            "setacl_without_admin": error_name(lambda: zk.set_acls("/noadmin", OPEN_ACL_UNSAFE)),
            "getacl_without_admin": outcome(lambda: _acl_shape(zk.get_acls("/noadmin")[0])),
        }

    observed = differential.run(scenario)
    assert observed == {
        "read_only_set": "NoAuthError",
        "read_only_get": b"r",
        "create_without_create": "NoAuthError",
        "delete_without_delete": "NoAuthError",
        "setacl_without_admin": "NoAuthError",
        "getacl_without_admin": ("ok", [(3, "world", "anyone")]),
    }


def test_set_acl_versions(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/v", b"")
        first = zk.set_acls("/v", READ_ACL_UNSAFE + OPEN_ACL_UNSAFE, version=0)
        return {
            "aversion": first.aversion,
            "version": first.version,
            "bad_version": error_name(lambda: zk.set_acls("/v", OPEN_ACL_UNSAFE, version=0)),
            "stored": _acl_shape(zk.get_acls("/v")[0]),
            "stat_aversion": zk.get_acls("/v")[1].aversion,
        }

    observed = differential.run(scenario)
    assert observed == {
        "aversion": 1,
        "version": 0,
        "bad_version": "BadVersionError",
        "stored": [(1, "world", "anyone"), (31, "world", "anyone")],
        "stat_aversion": 1,
    }


def test_bad_auth_scheme_fails_session(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        bystander = target.client()
        result = error_name(lambda: zk.add_auth("nosuchscheme", "x"))
        return {
            "add_auth": result,
            "bystander": bystander.exists("/") is not None,
        }

    observed = differential.run(scenario)
    assert observed == {"add_auth": "AuthFailedError", "bystander": True}


def test_super_digest_bypasses_acls(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        owner = target.client(auth_data=[("digest", "alice:pw")])
        owner.create("/locked", b"l", acl=[make_digest_acl("alice", "pw", read=True)])
        admin = target.client(auth_data=[("digest", "super:boss")])
        return {
            "owner_write": error_name(lambda: owner.set("/locked", b"")),
            "super_read": admin.get("/locked")[0],
            "super_write": admin.set("/locked", b"by super").version,
            "super_setacl": admin.set_acls("/locked", OPEN_ACL_UNSAFE).aversion,
        }

    observed = differential.run_with_settings(SUPER_SETTINGS, scenario)
    assert observed == {
        "owner_write": "NoAuthError",
        "super_read": b"l",
        "super_write": 1,
        "super_setacl": 1,
    }


def test_who_am_i(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> list[tuple[str | None, str | None]]:
        target.client(auth_data=[("digest", "carol:pw")])  # not this session
        raw = RawSession(LOOPBACK, target.port)
        raw.connect()
        try:
            reply = raw.call(OP_WHO_AM_I)
            reader = reply.reader()
            infos = [
                (reader.read_ustring(), reader.read_ustring()) for _ in range(reader.read_int())
            ]
            return [(str(reply.err), None), *infos]
        finally:
            raw.close_session()

    observed = differential.run(scenario)
    assert observed == [("0", None), ("ip", "127.0.0.1")]


def test_zookeeper_system_nodes(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client(chroot=False)
        children = sorted(zk.get_children("/zookeeper"))
        quota_data, quota_stat = zk.get("/zookeeper/quota")
        config_data, _ = zk.get("/zookeeper/config")
        under = "/zookeeper" + target.root
        created_under = outcome(lambda: zk.create(under))
        return {
            "children": children,
            "quota_data": quota_data,
            "quota_children": zk.get_children("/zookeeper/quota"),
            "config_data": config_data,
            "config_acl": _acl_shape(zk.get_acls("/zookeeper/config")[0]),
            "zookeeper_acl": _acl_shape(zk.get_acls("/zookeeper")[0]),
            "delete_zookeeper": error_name(lambda: zk.delete("/zookeeper")),
            "delete_quota": error_name(lambda: zk.delete("/zookeeper/quota")),
            "set_config": error_name(lambda: zk.set("/zookeeper/config", b"x")),
            "create_under_zookeeper": [
                str(value).replace(target.root, "/ROOT") for value in created_under
            ],
            "delete_under_zookeeper": outcome(lambda: zk.delete(under)),
            "quota_ephemeral": quota_stat.ephemeralOwner,
        }

    observed = differential.run(scenario)
    assert observed == {
        "children": ["config", "quota"],
        "quota_data": b"",
        "quota_children": [],
        "config_data": b"",
        "config_acl": [(1, "world", "anyone")],
        "zookeeper_acl": [(31, "world", "anyone")],
        "delete_zookeeper": "BadArgumentsError",
        "delete_quota": "BadArgumentsError",
        "set_config": "NoAuthError",
        "create_under_zookeeper": ["ok", "/zookeeper/ROOT"],
        "delete_under_zookeeper": ("ok", True),
        "quota_ephemeral": 0,
    }
