"""Shared pieces of the TLS tests: a test PKI, server settings for a secure port, clients."""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kazoo.client import KazooClient

from zkrecipes.testing.certs import Authority, Issued
from zkrecipes.testing.ports import LOOPBACK, free_port
from zkrecipes.testing.rawclient import OP_WHO_AM_I, RawSession
from zkrecipes.testing.targets import ZkTarget

X509_PROVIDER = "org.apache.zookeeper.server.auth.X509AuthenticationProvider"
NETTY_FACTORY = "org.apache.zookeeper.server.NettyServerCnxnFactory"
STORE_PASSWORD = "s3cret-store"
# Java prints a subject most specific attribute first (X500Principal.getName()).
ALICE = "CN=alice,OU=zk,O=zkrecipes test,C=US"
BOB = "CN=bob,OU=zk,O=zkrecipes test,C=US"


@dataclass
class Pki:
    directory: Path
    ca: Authority
    server: Issued
    alice: Issued
    bob: Issued
    stranger: Issued  # signed by another CA
    expired: Issued

    def server_keystore(self) -> Path:
        return self.server.write_pem(self.directory, "server")

    def truststore(self) -> Path:
        return self.ca.write_pem(self.directory, "ca")

    def client_files(self, who: str) -> tuple[Path, Path]:
        issued: Issued = getattr(self, who)
        return issued.write_split_pem(self.directory, who)


def make_pki(directory: Path) -> Pki:
    ca = Authority()
    other = Authority("another CA")
    return Pki(
        directory=directory,
        ca=ca,
        server=ca.issue("zk-server", server=True),
        alice=ca.issue("alice"),
        bob=ca.issue("bob"),
        stranger=other.issue("mallory"),
        expired=ca.issue("alice", expired=True),
    )


def secure_settings(
    pki: Pki, client_auth: str, **extra: str | int
) -> Callable[[str], dict[str, str | int]]:
    """Per-target settings: each server gets its own secure port beside its plain one."""

    def settings(_name: str) -> dict[str, str | int]:
        base: dict[str, str | int] = {
            "serverCnxnFactory": NETTY_FACTORY,
            "secureClientPort": free_port(),
            "secureClientPortAddress": LOOPBACK,
            "ssl.keyStore.location": str(pki.server_keystore()),
            "ssl.keyStore.type": "PEM",
            "ssl.trustStore.location": str(pki.truststore()),
            "ssl.trustStore.type": "PEM",
            "ssl.clientAuth": client_auth,
            "authProvider.x509": X509_PROVIDER,
        }
        base.update(extra)
        return base

    return settings


def secure_port(target: ZkTarget) -> int:
    return int(target.server.settings["secureClientPort"])


def client_context(pki: Pki, who: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.truststore()))
    if who is not None:
        cert, key = pki.client_files(who)
        ctx.load_cert_chain(cert, key)
    return ctx


def handshake_outcome(pki: Pki, target: ZkTarget, who: str | None) -> str:
    """What became of a TLS connection to the secure port: "session" (a ZooKeeper session
    that answers a request), "refused" (the TLS handshake failed) or "closed" (after it)."""
    raw = RawSession(LOOPBACK, secure_port(target), tls=client_context(pki, who))
    try:
        raw.connect()
    except ssl.SSLError:
        return "refused"
    except (ConnectionError, OSError, EOFError, struct.error):
        return "closed"
    try:
        raw.call(OP_WHO_AM_I)
        raw.close_session()
    except (ConnectionError, OSError, EOFError, struct.error):
        return "closed"
    return "session"


def who_am_i(
    pki: Pki, target: ZkTarget, who: str | None, port: int | None = None
) -> list[tuple[str | None, str | None]]:
    """whoAmI over TLS (on the secure port unless `port` is given)."""
    raw = RawSession(LOOPBACK, port or secure_port(target), tls=client_context(pki, who))
    raw.connect()
    try:
        reader = raw.call(OP_WHO_AM_I).reader()
        return [(reader.read_ustring(), reader.read_ustring()) for _ in range(reader.read_int())]
    finally:
        raw.close_session()


def tls_kazoo(pki: Pki, target: ZkTarget, who: str | None) -> KazooClient:
    """A started kazoo client on the secure port, chrooted to the test root."""
    target.ensure_root()
    kwargs: dict[str, object] = {}
    if who is not None:
        cert, key = pki.client_files(who)
        kwargs = {"certfile": str(cert), "keyfile": str(key)}
    client = KazooClient(
        hosts=f"{LOOPBACK}:{secure_port(target)}{target.root}",
        use_ssl=True,
        ca=str(pki.truststore()),
        verify_certs=True,
        timeout=4.0,
        **kwargs,
    )
    client.start(timeout=15)
    return client


def connection_state_after(sock: socket.socket, wait_s: float) -> str:
    """ "closed" if the peer ends the connection within `wait_s`, else "open"."""
    sock.settimeout(wait_s)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return "open"
    except OSError:
        return "closed"
    return "closed"
