"""Test fixtures: launchers for Apache ZooKeeper and our server, and the pytest plugin."""

from zkrecipes.testing.apache import ApacheZooKeeper, ReferenceUnavailable
from zkrecipes.testing.ours import OurServer
from zkrecipes.testing.server_process import ServerProcess, ServerStartError

__all__ = [
    "ApacheZooKeeper",
    "OurServer",
    "ReferenceUnavailable",
    "ServerProcess",
    "ServerStartError",
]
