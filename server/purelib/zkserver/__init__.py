"""zkserver: the ZooKeeper-compatible server layer (asyncio shell around zkrecipes._core)."""
