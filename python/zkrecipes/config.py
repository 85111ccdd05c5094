"""Config: a watched tree of JSON values, one znode per key, with CAS and atomic updates.

Reads come from a local cache kept current by watches; writes go to the server and return the
new version, which is the compare-and-set handle for the next write. `update()` writes several
keys in one transaction: all succeed or none do.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError
from kazoo.recipe.watchers import ChildrenWatch, DataWatch

from zkrecipes.coordinator import Coordinator
from zkrecipes.fencing import RecipeError
from zkrecipes.sequential import Deadline, ensure_path, join, state_poll_s

log = logging.getLogger(__name__)

JSON = None | bool | int | float | str | list[Any] | dict[str, Any]
ChangeCallback = Callable[[str, JSON, JSON], None]

ANY_VERSION = -1


class ConfigConflict(RecipeError):
    """A compare-and-set lost: the key's version was not the expected one."""


@dataclass(frozen=True)
class _Entry:
    value: JSON
    version: int
    mzxid: int


def _encode(value: JSON) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _check_key(key: str) -> None:
    if not key or "/" in key or key in (".", ".."):
        raise ValueError(f"invalid config key {key!r}")


class Config:
    """Keys under `path` as a dict of JSON values; `schema` maps keys to required types."""

    def __init__(
        self,
        coordinator: Coordinator,
        path: str,
        *,
        schema: Mapping[str, type | tuple[type, ...]] | None = None,
    ) -> None:
        self.coordinator = coordinator
        self.path = path
        self.schema = dict(schema or {})
        self._entries: dict[str, _Entry] = {}
        self._watched: set[str] = set()
        self._callbacks: list[ChangeCallback] = []
        self._lock = threading.Condition()
        self._closed = False
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Config:
        ensure_path(self.coordinator, self.path)
        ChildrenWatch(self.coordinator.client, self.path, self._on_children)
        self._started = True
        return self

    def close(self) -> None:
        """Stop applying changes (kazoo's watchers end on their next event)."""
        self._closed = True

    def __enter__(self) -> Config:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: str, default: JSON = None) -> JSON:
        with self._lock:
            entry = self._entries.get(key)
        return default if entry is None else entry.value

    def __getitem__(self, key: str) -> JSON:
        with self._lock:
            return self._entries[key].value

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._entries

    def version(self, key: str) -> int:
        """The version to pass to `set(..., version=)` for compare-and-set."""
        with self._lock:
            return self._entries[key].version

    def snapshot(self) -> dict[str, JSON]:
        with self._lock:
            return {key: entry.value for key, entry in self._entries.items()}

    def on_change(self, callback: ChangeCallback) -> None:
        """Call `callback(key, old, new)` on the dispatch thread; new is None when deleted."""
        self._callbacks.append(callback)

    def wait_for(self, predicate: Callable[[dict[str, JSON]], bool], timeout: float) -> bool:
        """Block until `predicate(snapshot)` holds or `timeout` passes."""
        deadline = Deadline(timeout)
        with self._lock:
            while not predicate({k: e.value for k, e in self._entries.items()}):
                if deadline.expired:
                    return False
                self._lock.wait(deadline.slice(state_poll_s))
            return True

    # -- writes ------------------------------------------------------------------------------

    def set(self, key: str, value: JSON, version: int = ANY_VERSION) -> int:
        """Write `key`; with `version`, only if the stored version is that (else ConfigConflict).
        Returns the new version."""
        _check_key(key)
        self._check_type(key, value)
        client = self.coordinator.client
        node = join(self.path, key)
        data = _encode(value)
        try:
            stat = self.coordinator.retry(client.set, node, data, version)
        except BadVersionError as error:
            raise ConfigConflict(f"{key}: version is not {version}") from error
        except NoNodeError:
            if version not in (ANY_VERSION, -1):
                raise ConfigConflict(f"{key}: does not exist") from None
            try:
                _, stat = self.coordinator.retry(client.create, node, data, include_data=True)
            except NodeExistsError:
                return self.set(key, value, version)
        self._apply(key, value, stat.version, stat.mzxid)
        return int(stat.version)

    def create(self, key: str, value: JSON) -> int:
        """Write `key` only if it does not exist (ConfigConflict otherwise)."""
        _check_key(key)
        self._check_type(key, value)
        try:
            _, stat = self.coordinator.retry(
                self.coordinator.client.create,
                join(self.path, key),
                _encode(value),
                include_data=True,
            )
        except NodeExistsError as error:
            raise ConfigConflict(f"{key}: already exists") from error
        self._apply(key, value, stat.version, stat.mzxid)
        return int(stat.version)

    def update(self, values: Mapping[str, JSON], versions: Mapping[str, int] | None = None) -> None:
        """Write every key of `values` in one transaction. Keys in `versions` must have that
        version; a key with version -2 must not exist yet. ConfigConflict if any check fails."""
        versions = dict(versions or {})
        for key, value in values.items():
            _check_key(key)
            self._check_type(key, value)
        client = self.coordinator.client
        existing = set(self.coordinator.retry(client.get_children, self.path))
        transaction = client.transaction()
        for key, value in values.items():
            node = join(self.path, key)
            if key in existing and versions.get(key) != -2:
                transaction.set_data(node, _encode(value), versions.get(key, ANY_VERSION))
            else:
                transaction.create(node, _encode(value))
        results = transaction.commit()
        failures = [r for r in results if isinstance(r, Exception)]
        if failures:
            raise ConfigConflict(f"update of {sorted(values)} failed: {failures[0]!r}")

    def delete(self, key: str, version: int = ANY_VERSION) -> None:
        try:
            self.coordinator.retry(self.coordinator.client.delete, join(self.path, key), version)
        except BadVersionError as error:
            raise ConfigConflict(f"{key}: version is not {version}") from error
        except NoNodeError:
            pass

    def _check_type(self, key: str, value: JSON) -> None:
        expected = self.schema.get(key)
        if expected is not None and not isinstance(value, expected):
            raise TypeError(f"config key {key!r} must be {expected}, got {type(value).__name__}")

    # -- watches -----------------------------------------------------------------------------

    def _on_children(self, names: list[str]) -> bool | None:
        if self._closed:
            return False
        for name in names:
            if name not in self._watched:
                self._watched.add(name)
                DataWatch(self.coordinator.client, join(self.path, name), self._data_watch(name))
        return None

    def _data_watch(self, key: str) -> Callable[[bytes | None, Any], bool | None]:
        def on_data(data: bytes | None, stat: Any) -> bool | None:
            if self._closed:
                return False
            if stat is None:
                self._watched.discard(key)
                self._remove(key)
                return False
            try:
                value = json.loads(data) if data else None
            except ValueError:
                log.warning("config key %s under %s is not JSON; ignored", key, self.path)
                return None
            self._apply(key, value, stat.version, stat.mzxid)
            return None

        return on_data

    def _apply(self, key: str, value: JSON, version: int, mzxid: int) -> None:
        with self._lock:
            old = self._entries.get(key)
            if old is not None and old.mzxid >= mzxid:
                return
            self._entries[key] = _Entry(value, version, mzxid)
            self._lock.notify_all()
        self._notify(key, None if old is None else old.value, value)

    def _remove(self, key: str) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            self._lock.notify_all()
        if old is not None:
            self._notify(key, old.value, None)

    def _notify(self, key: str, old: JSON, new: JSON) -> None:
        for callback in list(self._callbacks):
            self.coordinator.dispatch(functools.partial(callback, key, old, new))
