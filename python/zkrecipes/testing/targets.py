"""Which servers a test run covers, and the per-test view of one server (`ZkTarget`)."""

import os
import socket
from contextlib import suppress
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.handlers.threading import KazooTimeoutError

from zkrecipes.testing.apache import ApacheZooKeeper
from zkrecipes.testing.ours import OurServer
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.server_process import ServerProcess

TARGETS_ENV = "ZKR_TARGETS"
ALL_TARGETS = ("apache", "ours")
SERVER_CLASSES: dict[str, type[ServerProcess]] = {"apache": ApacheZooKeeper, "ours": OurServer}
CLIENT_START_TIMEOUT_S = 15.0
FOUR_LETTER_TIMEOUT_S = 5.0
FOUR_LETTER_MAX_BYTES = 1 << 22


def selected_targets() -> list[str]:
    """Targets named in ZKR_TARGETS (comma-separated), default every target."""
    raw = os.environ.get(TARGETS_ENV, ",".join(ALL_TARGETS))
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVER_CLASSES]
    if unknown:
        raise ValueError(f"{TARGETS_ENV} names unknown targets {unknown}; known: {ALL_TARGETS}")
    return names


def make_server(
    name: str,
    workdir: Path,
    settings: dict[str, str | int] | None = None,
    jvm_props: dict[str, str | int] | None = None,
) -> ServerProcess:
    return SERVER_CLASSES[name](workdir, settings, jvm_props)


def four_letter_word(
    host: str, port: int, command: str, timeout_s: float = FOUR_LETTER_TIMEOUT_S
) -> str:
    """Send a four-letter word and read until the server closes the connection."""
    chunks: list[bytes] = []
    size = 0
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(command.encode("ascii"))
        while size < FOUR_LETTER_MAX_BYTES:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


class ZkTarget:
    """One server as one test sees it: a unique root path and clients that the test owns."""

    def __init__(self, name: str, server: ServerProcess, root: str) -> None:
        self.name = name
        self.server = server
        self.root = root
        self._clients: list[KazooClient] = []
        self._admin: KazooClient | None = None

    @property
    def hosts(self) -> str:
        return self.server.hosts

    @property
    def port(self) -> int:
        return self.server.port

    def path(self, relative: str = "") -> str:
        """Absolute path of `relative` under this test's root."""
        return self.root + ("/" + relative.lstrip("/") if relative else "")

    def client(self, chroot: bool = True, start: bool = True, **kwargs: Any) -> KazooClient:
        """A kazoo client, chrooted to the test root unless `chroot` is false."""
        if chroot:
            self.ensure_root()
        hosts = self.hosts + (self.root if chroot else "")
        kwargs.setdefault("timeout", 4.0)
        client = KazooClient(hosts=hosts, **kwargs)
        self._clients.append(client)
        if start:
            client.start(timeout=CLIENT_START_TIMEOUT_S)
        return client

    def admin(self) -> KazooClient:
        """A client without chroot, shared within the test, for set-up and clean-up."""
        if self._admin is None:
            self._admin = KazooClient(hosts=self.hosts, timeout=4.0)
            self._admin.start(timeout=CLIENT_START_TIMEOUT_S)
        return self._admin

    def ensure_root(self) -> None:
        self.admin().ensure_path(self.root)

    def four_letter(self, command: str) -> str:
        return four_letter_word(LOOPBACK, self.port, command)

    def close(self) -> None:
        """Stop every client of this test and remove its root (best effort)."""
        for client in self._clients:
            _stop_quietly(client)
        if self._admin is not None and self.server.is_running():
            with suppress(KazooException, KazooTimeoutError):
                self._admin.delete(self.root, recursive=True)
        if self._admin is not None:
            _stop_quietly(self._admin)
        self._clients.clear()
        self._admin = None


def _stop_quietly(client: KazooClient) -> None:
    with suppress(KazooException, KazooTimeoutError, OSError):
        client.stop()
    with suppress(KazooException, KazooTimeoutError, OSError):
        client.close()
