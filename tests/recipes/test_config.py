"""Config against a real server."""

import pytest

import zkrecipes
from zkrecipes.coordinator import Coordinator

from .conftest import CoordinatorFactory
from .support import WAIT_S, wait_until


def test_watched_values_cas_and_transactions(coordinator_factory: CoordinatorFactory) -> None:
    writer = zkrecipes.Config(coordinator_factory(), "/cfg", schema={"replicas": int}).start()
    reader = zkrecipes.Config(coordinator_factory(), "/cfg").start()
    changes: list[tuple[str, object, object]] = []
    reader.on_change(lambda key, old, new: changes.append((key, old, new)))

    version = writer.set("replicas", 3)
    writer.set("features", {"beta": True, "tags": ["a"]})
    assert reader.wait_for(lambda s: s.get("features") == {"beta": True, "tags": ["a"]}, WAIT_S)
    assert reader.wait_for(lambda s: s.get("replicas") == 3, WAIT_S)

    assert writer.set("replicas", 4, version=version) == version + 1
    with pytest.raises(zkrecipes.ConfigConflict):
        writer.set("replicas", 5, version=version)  # stale version
    with pytest.raises(TypeError):
        writer.set("replicas", "many")

    writer.update({"replicas": 6, "region": "eu"}, versions={"replicas": version + 1})
    assert reader.wait_for(lambda s: s.get("region") == "eu" and s.get("replicas") == 6, WAIT_S)
    with pytest.raises(zkrecipes.ConfigConflict):
        writer.update({"replicas": 7, "zone": "b"}, versions={"replicas": version})
    assert "zone" not in reader  # all or nothing
    writer.delete("region")
    assert reader.wait_for(lambda s: "region" not in s, WAIT_S)
    assert wait_until(lambda: ("replicas", 3, 4) in changes and ("region", "eu", None) in changes)
    assert reader.snapshot() == {"replicas": 6, "features": {"beta": True, "tags": ["a"]}}


def test_create_only_once(coordinator: Coordinator) -> None:
    config = zkrecipes.Config(coordinator, "/cfg").start()
    assert config.create("owner", "a") == 0
    with pytest.raises(zkrecipes.ConfigConflict):
        config.create("owner", "b")
    assert config["owner"] == "a"
