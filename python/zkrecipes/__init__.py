"""zkrecipes: coordination recipes on the ZooKeeper protocol, and the Rust core of our server.

The Rust extension (`zkrecipes._core`) is imported lazily by the server layer; the recipes
themselves are pure Python on kazoo and do not load it.

    import zkrecipes
    with zkrecipes.connect("127.0.0.1:2181", namespace="/app") as zk:
        with zkrecipes.Lock(zk, "/locks/report") as ownership:
            storage.write(ownership.token, data)
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zkrecipes.barriers import Barrier, DoubleBarrier
    from zkrecipes.config import Config, ConfigConflict
    from zkrecipes.coordinator import (
        ConnectionState,
        Coordinator,
        RetryPolicy,
        StateChange,
        connect,
    )
    from zkrecipes.counter import Counter
    from zkrecipes.election import Election, LeaderObserver
    from zkrecipes.fencing import (
        AcquireTimeout,
        FencedResource,
        Ownership,
        OwnershipLost,
        OwnershipState,
        RecipeError,
        StaleTokenError,
    )
    from zkrecipes.groups import GroupMembership, MemberExists, Party
    from zkrecipes.lease import Lease, LeaseOwnership
    from zkrecipes.locks import Lock, ReadWriteLock, Semaphore
    from zkrecipes.naming import ServiceInstance, ServiceRegistry, UniqueIdGenerator
    from zkrecipes.queues import ClaimLost, Item, PriorityQueue, Queue, QueueEmpty

# Names resolve on first use (PEP 562): the server imports `zkrecipes._core` and must not pay
# for kazoo and the recipes on every launch.
_EXPORTS = {
    "AcquireTimeout": "fencing",
    "Barrier": "barriers",
    "ClaimLost": "queues",
    "Config": "config",
    "ConfigConflict": "config",
    "ConnectionState": "coordinator",
    "Coordinator": "coordinator",
    "Counter": "counter",
    "DoubleBarrier": "barriers",
    "Election": "election",
    "FencedResource": "fencing",
    "GroupMembership": "groups",
    "Item": "queues",
    "LeaderObserver": "election",
    "Lease": "lease",
    "LeaseOwnership": "lease",
    "Lock": "locks",
    "MemberExists": "groups",
    "Ownership": "fencing",
    "OwnershipLost": "fencing",
    "OwnershipState": "fencing",
    "Party": "groups",
    "PriorityQueue": "queues",
    "Queue": "queues",
    "QueueEmpty": "queues",
    "ReadWriteLock": "locks",
    "RecipeError": "fencing",
    "RetryPolicy": "coordinator",
    "Semaphore": "locks",
    "ServiceInstance": "naming",
    "ServiceRegistry": "naming",
    "StaleTokenError": "fencing",
    "StateChange": "coordinator",
    "UniqueIdGenerator": "naming",
    "connect": "coordinator",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'zkrecipes' has no attribute {name!r}")
    value = getattr(import_module(f"zkrecipes.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "AcquireTimeout",
    "Barrier",
    "ClaimLost",
    "Config",
    "ConfigConflict",
    "ConnectionState",
    "Coordinator",
    "Counter",
    "DoubleBarrier",
    "Election",
    "FencedResource",
    "GroupMembership",
    "Item",
    "LeaderObserver",
    "Lease",
    "LeaseOwnership",
    "Lock",
    "MemberExists",
    "Ownership",
    "OwnershipLost",
    "OwnershipState",
    "Party",
    "PriorityQueue",
    "Queue",
    "QueueEmpty",
    "ReadWriteLock",
    "RecipeError",
    "RetryPolicy",
    "Semaphore",
    "ServiceInstance",
    "ServiceRegistry",
    "StaleTokenError",
    "StateChange",
    "UniqueIdGenerator",
    "connect",
]
