"""pytest fixtures for tests against Apache ZooKeeper 3.8 and our server.

ZKR_TARGETS (comma-separated, default "apache,ours") chooses the servers. One server per
target serves the whole session; every test gets its own root path so tests never collide.
"""

import hashlib
import itertools
from collections.abc import Callable, Iterator

import pytest
from kazoo.client import KazooClient

from zkrecipes.testing.apache import ReferenceUnavailable, missing_reason
from zkrecipes.testing.differential import Differential
from zkrecipes.testing.server_process import ServerProcess
from zkrecipes.testing.targets import ZkTarget, make_server, selected_targets

_root_counter = itertools.count()


def _start_or_skip(server: ServerProcess) -> ServerProcess:
    try:
        return server.start()
    except ReferenceUnavailable as error:
        pytest.skip(f"Apache ZooKeeper reference unavailable: {error}")


def _session_server(name: str, factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if name == "apache" and (reason := missing_reason()) is not None:
        pytest.skip(f"Apache ZooKeeper reference unavailable: {reason}")
    server = _start_or_skip(make_server(name, factory.mktemp(f"{name}-zk")))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def apache_zk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Apache ZooKeeper 3.8 for the whole session (skipped if the Debian package is absent)."""
    yield from _session_server("apache", tmp_path_factory)


@pytest.fixture(scope="session")
def our_zk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Our server for the whole session."""
    yield from _session_server("ours", tmp_path_factory)


def _server_fixture_name(target: str) -> str:
    return {"apache": "apache_zk", "ours": "our_zk"}[target]


@pytest.fixture
def zk_root(request: pytest.FixtureRequest) -> str:
    """A root path no other test uses: /zkr-<hash of the test id>-<counter>."""
    digest = hashlib.sha1(request.node.nodeid.encode("utf-8")).hexdigest()[:10]
    return f"/zkr-{digest}-{next(_root_counter)}"


@pytest.fixture(params=selected_targets(), ids=lambda name: str(name))
def zk_server(request: pytest.FixtureRequest) -> ServerProcess:
    """The session's server for each selected target, one test run per target."""
    server: ServerProcess = request.getfixturevalue(_server_fixture_name(request.param))
    return server


@pytest.fixture
def zk_target(zk_server: ServerProcess, zk_root: str) -> Iterator[ZkTarget]:
    target = ZkTarget(zk_server.name, zk_server, zk_root)
    try:
        yield target
    finally:
        target.close()


@pytest.fixture
def zk_client(zk_target: ZkTarget) -> KazooClient:
    """A started kazoo client chrooted to this test's root; stopped after the test."""
    return zk_target.client()


@pytest.fixture
def zk_client_factory(zk_target: ZkTarget) -> Callable[..., KazooClient]:
    """More clients like `zk_client` (keyword arguments go to KazooClient)."""
    return zk_target.client


@pytest.fixture
def zk_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., ServerProcess]]:
    """Start a dedicated server of a target kind with extra zoo.cfg settings (and Java system
    properties, which our server reads as settings too); stopped after."""
    started: list[ServerProcess] = []

    def start(
        name: str,
        settings: dict[str, str | int],
        jvm_props: dict[str, str | int] | None = None,
    ) -> ServerProcess:
        workdir = tmp_path_factory.mktemp(f"{name}-zk-custom")
        server = make_server(name, workdir, settings, jvm_props)
        started.append(server)
        return _start_or_skip(server)

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def differential(
    request: pytest.FixtureRequest,
    zk_root: str,
    zk_server_factory: Callable[..., ServerProcess],
) -> Differential:
    """Runs a scenario on every selected target and requires equal observations."""
    servers = {
        name: request.getfixturevalue(_server_fixture_name(name)) for name in selected_targets()
    }
    return Differential(servers, zk_root, zk_server_factory)
