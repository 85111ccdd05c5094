"""Shared pieces of the SASL tests: a JAAS file in Apache's format, settings, clients."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

from kazoo.client import KazooClient

from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.rawclient import OP_GET_DATA, OP_WHO_AM_I, RawSession, path_watch
from zkrecipes.testing.sasl import SaslOutcome, digest_md5_login
from zkrecipes.testing.targets import ZkTarget

SASL_PROVIDER = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
JAAS_PROPERTY = "java.security.auth.login.config"
PASSWORDS = {"bob": "bob-secret", "alice": "alice-secret", "super": "super-secret"}
# What Apache writes for each SASL failure (KeeperException codes).
AUTH_FAILED = -115
SESSION_CLOSED_REQUIRE_SASL_AUTH = -124
NO_AUTH = -102

SERVER_JAAS = """\
/* The users DIGEST-MD5 accepts, as Apache's documentation writes them. */
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_bob="bob-secret"
    user_alice="alice-secret"
    user_super="super-secret";
};
"""


def write_server_jaas(directory: Path, text: str = SERVER_JAAS) -> Path:
    path = directory / "jaas.conf"
    path.write_text(text)
    return path


def client_jaas(directory: Path, user: str) -> Path:
    """A JAAS file with the Java client's "Client" section for `user`."""
    path = directory / f"client-{user}.jaas"
    path.write_text(
        "Client {\n"
        "    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
        f'    username="{user}"\n'
        f'    password="{PASSWORDS[user]}";\n'
        "};\n"
    )
    return path


def jvm_props(jaas: Path) -> dict[str, str | int]:
    """Apache reads the JAAS location only as a system property; ours takes it the same way."""
    return {JAAS_PROPERTY: str(jaas)}


def sasl_settings(**extra: str | int) -> dict[str, str | int]:
    settings: dict[str, str | int] = {"authProvider.1": SASL_PROVIDER, "superUser": "super"}
    settings.update(extra)
    return settings


def sasl_options(user: str, password: str | None = None) -> dict[str, str]:
    return {
        "mechanism": "DIGEST-MD5",
        "username": user,
        "password": PASSWORDS[user] if password is None else password,
    }


def sasl_kazoo(target: ZkTarget, user: str, password: str | None = None) -> KazooClient:
    """A started kazoo client chrooted to the test root, logged in by DIGEST-MD5."""
    target.ensure_root()
    client: KazooClient = target.client(sasl_options=sasl_options(user, password))
    return client


def ensure_root_as(target: ZkTarget, user: str) -> None:
    """Create the test root in a SASL session (anonymous sessions may be refused)."""
    client = target.client(chroot=False, sasl_options=sasl_options(user))
    client.ensure_path(target.root)


def raw_session(target: ZkTarget) -> RawSession:
    raw = RawSession(LOOPBACK, target.port)
    raw.connect()
    return raw


def raw_login(target: ZkTarget, user: str, password: str | None = None) -> RawSession:
    raw = raw_session(target)
    outcome = digest_md5_login(raw, user, PASSWORDS[user] if password is None else password)
    assert outcome.result == "authenticated", outcome
    return raw


def failed_login(target: ZkTarget, user: str, password: str) -> tuple[SaslOutcome, str]:
    """A login that should fail, and what became of its connection afterwards."""
    raw = raw_session(target)
    try:
        outcome = digest_md5_login(raw, user, password)
        return outcome, connection_after(raw)
    finally:
        raw.close()


def get_error(raw: RawSession, path: str) -> int:
    return raw.call(OP_GET_DATA, path_watch(path)).err


def connection_after(raw: RawSession) -> str:
    """ "open" if the session still answers a read, else "closed"."""
    try:
        raw.call(OP_GET_DATA, path_watch("/"))
    except (ConnectionError, OSError, EOFError, struct.error):
        return "closed"
    return "open"


def who_am_i(raw: RawSession) -> list[tuple[str | None, str | None]]:
    reader = raw.call(OP_WHO_AM_I).reader()
    return sorted((reader.read_ustring(), reader.read_ustring()) for _ in range(reader.read_int()))


def close_quietly(raw: RawSession) -> None:
    with contextlib.suppress(ConnectionError, OSError, EOFError, struct.error):
        raw.close_session()
    raw.close()
