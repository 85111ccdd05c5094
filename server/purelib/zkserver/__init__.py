"""zkserver: the ZooKeeper-compatible server layer (an asyncio shell around zkrecipes._core)."""

__version__ = "0.1.0"
# Clients and tools compare versions by prefix; we speak the 3.8 protocol.
VERSION_STRING = f"3.8.0-zkrecipes-{__version__}, built on 1970-01-01 00:00 UTC"
