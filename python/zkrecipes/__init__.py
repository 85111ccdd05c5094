"""zkrecipes: coordination recipes on the ZooKeeper protocol, and the Rust core of our server.

The Rust extension (`zkrecipes._core`) is imported lazily by the server layer; the recipes
themselves are pure Python on kazoo and do not load it.

    import zkrecipes
    with zkrecipes.connect("127.0.0.1:2181", namespace="/app") as zk:
        with zkrecipes.Lock(zk, "/locks/report") as ownership:
            storage.write(ownership.token, data)
"""

from zkrecipes.barriers import Barrier, DoubleBarrier
from zkrecipes.config import Config, ConfigConflict
from zkrecipes.coordinator import ConnectionState, Coordinator, RetryPolicy, StateChange, connect
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
