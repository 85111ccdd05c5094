"""Naming: a service registry of ephemeral instances, and a unique-id generator."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any

from kazoo.exceptions import NodeExistsError, NoNodeError
from kazoo.recipe.watchers import ChildrenWatch

from zkrecipes.coordinator import Coordinator, StateChange
from zkrecipes.sequential import delete_quietly, ensure_path, join, protected_create


@dataclass(frozen=True)
class ServiceInstance:
    name: str
    id: str
    host: str
    port: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @staticmethod
    def decode(data: bytes) -> ServiceInstance:
        raw = json.loads(data)
        return ServiceInstance(
            name=str(raw["name"]),
            id=str(raw["id"]),
            host=str(raw["host"]),
            port=int(raw["port"]),
            metadata=dict(raw.get("metadata") or {}),
        )


class ServiceRegistry:
    """Instances live at `<base>/<service>/<instance id>` as ephemeral JSON nodes.

    Registrations of this registry are made again after its session expires and a new one
    starts (as Curator's ServiceDiscovery does), so a service survives a long partition.
    """

    def __init__(self, coordinator: Coordinator, base_path: str = "/services") -> None:
        self.coordinator = coordinator
        self.base_path = base_path
        self._registered: dict[str, ServiceInstance] = {}
        self._lock = threading.Lock()
        self._unsubscribe = coordinator.subscribe(self._on_state)

    def _path(self, instance: ServiceInstance) -> str:
        return join(join(self.base_path, instance.name), instance.id)

    def register(
        self,
        name: str,
        host: str,
        port: int,
        metadata: dict[str, Any] | None = None,
        *,
        instance_id: str | None = None,
    ) -> ServiceInstance:
        instance_id = instance_id or uuid.uuid4().hex
        instance = ServiceInstance(name, instance_id, host, port, metadata or {})
        self._create(instance)
        with self._lock:
            self._registered[self._path(instance)] = instance
        return instance

    def _create(self, instance: ServiceInstance) -> None:
        client = self.coordinator.client
        try:
            self.coordinator.retry(
                client.create,
                self._path(instance),
                instance.encode(),
                ephemeral=True,
                makepath=True,
            )
        except NodeExistsError:
            stat = self.coordinator.retry(client.exists, self._path(instance))
            if stat is None or stat.ephemeralOwner != self.coordinator.session_id:
                raise

    def unregister(self, instance: ServiceInstance) -> None:
        with self._lock:
            self._registered.pop(self._path(instance), None)
        delete_quietly(self.coordinator, self._path(instance))

    def discover(self, name: str) -> list[ServiceInstance]:
        """Every live instance of `name`, ordered by id."""
        client = self.coordinator.client
        parent = join(self.base_path, name)
        try:
            ids = self.coordinator.retry(client.get_children, parent)
        except NoNodeError:
            return []
        found = []
        for instance_id in sorted(ids):
            try:
                data, _ = self.coordinator.retry(client.get, join(parent, instance_id))
            except NoNodeError:
                continue
            found.append(ServiceInstance.decode(data))
        return found

    def watch(self, name: str, callback: Callable[[list[ServiceInstance]], None]) -> None:
        """Call `callback(instances)` now and after every change of the instance set."""
        parent = join(self.base_path, name)
        ensure_path(self.coordinator, parent)

        def on_children(_ids: list[str]) -> None:
            callback(self.discover(name))

        ChildrenWatch(self.coordinator.client, parent, on_children)

    def close(self) -> None:
        self._unsubscribe()
        with self._lock:
            instances = list(self._registered.values())
            self._registered.clear()
        for instance in instances:
            delete_quietly(self.coordinator, self._path(instance))

    def __enter__(self) -> ServiceRegistry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _on_state(self, change: StateChange) -> None:
        if not change.new_session:
            return
        with self._lock:
            instances = list(self._registered.values())
        for instance in instances:
            self._create(instance)


class UniqueIdGenerator:
    """Cluster-wide unique, increasing integers from sequential node numbers under `path`.

    Each id costs a create and a delete; ids are unique and increase, with gaps.
    """

    def __init__(self, coordinator: Coordinator, path: str) -> None:
        self.coordinator = coordinator
        self.path = path

    def next_id(self) -> int:
        created = protected_create(self.coordinator, self.path, "id-")
        delete_quietly(self.coordinator, created.path)
        return int(created.name[-10:])
