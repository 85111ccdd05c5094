"""zkrecipes: coordination recipes on the ZooKeeper protocol, and the Rust core of our server."""

from zkrecipes._core import __version__ as core_version

__all__ = ["core_version"]
