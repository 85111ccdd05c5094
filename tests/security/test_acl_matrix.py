"""Every ACL scheme x every permission x an allowed and a denied identity, on both servers.

For each scheme and permission P a node is created whose ACL grants only P to one identity
(plus ALL to an administrator who sets the matrix up). The allowed and the denied identity
then try each of the five operations, one per permission; the error codes form the matrix.
Ours must deny exactly what Apache denies, and both must match the rule: an operation
succeeds only when it needs P and the session holds the identity (world admits everyone).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from kazoo.security import make_digest_acl_credential

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import (
    AUTH_XID,
    OP_AUTH,
    OP_CREATE,
    OP_DELETE,
    OP_GET_ACL,
    OP_GET_DATA,
    OP_SET_ACL,
    OP_SET_DATA,
    PERM_ALL,
    RawSession,
    acl_vector,
    auth_body,
    buffer,
    create_body,
    path_int,
    path_watch,
    ustring,
)
from zkrecipes.testing.sasl import digest_md5_login
from zkrecipes.testing.targets import ZkTarget

from .sasl_setup import PASSWORDS, SASL_PROVIDER, jvm_props, write_server_jaas
from .tls_setup import ALICE, Pki, client_context, make_pki, secure_port, secure_settings

NO_AUTH = -102
PERMISSIONS = {"READ": 1, "WRITE": 2, "CREATE": 4, "DELETE": 8, "ADMIN": 16}
OTHER_LOOPBACK = "127.0.0.2"
ADMIN = ("admin", "admin-pw")
ALICE_DIGEST = ("alice", "alice-pw")
BOB_DIGEST = ("bob", "bob-pw")

Acl = tuple[int, str, str]


def digest_id(user: tuple[str, str]) -> str:
    return str(make_digest_acl_credential(*user))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def jaas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_server_jaas(tmp_path_factory.mktemp("jaas"))


class Sessions:
    """Raw sessions of each identity the matrix needs, opened on demand and kept."""

    def __init__(self, target: ZkTarget, pki: Pki) -> None:
        self.target = target
        self.pki = pki
        self.open: dict[str, RawSession] = {}

    def get(self, who: str) -> RawSession:
        if who not in self.open:
            self.open[who] = self._connect(who)
        return self.open[who]

    def _connect(self, who: str) -> RawSession:
        kind, _, name = who.partition(":")
        if kind == "x509":
            raw = RawSession(LOOPBACK, secure_port(self.target), tls=client_context(self.pki, name))
            raw.connect()
            return raw
        source = OTHER_LOOPBACK if kind == "other-ip" else None
        raw = RawSession(LOOPBACK, self.target.port, source_host=source)
        raw.connect()
        if kind == "digest":
            users = {"admin": ADMIN, "alice": ALICE_DIGEST, "bob": BOB_DIGEST}
            for user in name.split("+"):
                login = ":".join(users[user]).encode()
                assert raw.call(OP_AUTH, auth_body("digest", login), AUTH_XID).err == 0
        elif kind == "sasl":
            outcome = digest_md5_login(raw, name, PASSWORDS[name])
            assert outcome.result == "authenticated", outcome
        return raw

    def close(self) -> None:
        for raw in self.open.values():
            raw.close_session()


# scheme -> (the ACL entry granting a permission, who creates the node, allowed, denied)
SCHEMES: dict[str, tuple[Callable[[int], Acl], str, str, str]] = {
    "world": (lambda p: (p, "world", "anyone"), "digest:admin", "plain", "other-ip"),
    # "auth" stands for every authenticated id of the creating session.
    "auth": (lambda p: (p, "auth", ""), "digest:admin+alice", "digest:alice", "digest:bob"),
    "digest": (
        lambda p: (p, "digest", digest_id(ALICE_DIGEST)),
        "digest:admin",
        "digest:alice",
        "digest:bob",
    ),
    "ip": (lambda p: (p, "ip", "127.0.0.1/32"), "digest:admin", "plain", "other-ip"),
    "sasl": (lambda p: (p, "sasl", "bob"), "digest:admin", "sasl:bob", "sasl:alice"),
    "x509": (lambda p: (p, "x509", ALICE), "digest:admin", "x509:alice", "x509:bob"),
}


def node_acl(raw: RawSession, path: str) -> tuple[Acl, ...]:
    reader = raw.call(OP_GET_ACL, ustring(path)).reader()
    return tuple(
        (reader.read_int(), reader.read_ustring() or "", reader.read_ustring() or "")
        for _ in range(reader.read_int())
    )


def attempt(sessions: Sessions, who: str, operation: str, node: str) -> int:
    """The error code of the operation that needs `operation`'s permission on `node`."""
    admin = sessions.get("digest:admin")
    raw = sessions.get(who)
    if operation == "READ":
        return raw.call(OP_GET_DATA, path_watch(node)).err
    if operation == "WRITE":
        return raw.call(OP_SET_DATA, ustring(node) + buffer(b"written") + struct.pack(">i", -1)).err
    if operation == "CREATE":
        child = f"{node}/made-by-{who.replace(':', '-')}"
        err = raw.call(OP_CREATE, create_body(child)).err
        if err == 0:
            admin.call(OP_DELETE, path_int(child, -1))
        return err
    if operation == "DELETE":
        victim = f"{node}/victim"
        admin.call(OP_CREATE, create_body(victim))
        return raw.call(OP_DELETE, path_int(victim, -1)).err
    # ADMIN: set the ACL the node already has, so the matrix stays as it is.
    acl = acl_vector(node_acl(admin, node))
    return raw.call(OP_SET_ACL, ustring(node) + acl + struct.pack(">i", -1)).err


def expected(scheme: str, granted: str, role: str, operation: str) -> int:
    holds = role == "allowed" or scheme == "world"
    return 0 if holds and operation == granted else NO_AUTH


def test_acl_matrix(differential: Differential, pki: Pki, jaas: Path) -> None:
    def scenario(target: ZkTarget) -> dict[tuple[str, str, str, str], int]:
        target.ensure_root()
        sessions = Sessions(target, pki)
        matrix: dict[tuple[str, str, str, str], int] = {}
        try:
            admin_entry = (PERM_ALL, "digest", digest_id(ADMIN))
            for scheme, (grant, creator, allowed, denied) in SCHEMES.items():
                for granted, bit in PERMISSIONS.items():
                    node = f"{target.root}/{scheme}-{granted.lower()}"
                    acl = (grant(bit), admin_entry)
                    err = sessions.get(creator).call(OP_CREATE, create_body(node, acls=acl)).err
                    assert err == 0, (scheme, granted, err)
                    for role, who in (("allowed", allowed), ("denied", denied)):
                        for operation in PERMISSIONS:
                            key = (scheme, granted, role, operation)
                            matrix[key] = attempt(sessions, who, operation, node)
        finally:
            sessions.close()
        return matrix

    settings = secure_settings(pki, "want", **{"authProvider.sasl": SASL_PROVIDER})
    observed = differential.run_with_settings(settings, scenario, jvm_props(jaas))
    assert len(observed) == len(SCHEMES) * len(PERMISSIONS) * 2 * len(PERMISSIONS)
    wrong = {key: err for key, err in observed.items() if err != expected(*key)}
    assert wrong == {}
