"""Fixtures for the recipe tests: Coordinators on the per-test root, and session faults."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import zkrecipes
from zkrecipes.coordinator import Coordinator
from zkrecipes.testing.targets import ZkTarget

from .support import SESSION_TIMEOUT_S

CoordinatorFactory = Callable[..., Coordinator]


@pytest.fixture
def coordinator_factory(zk_target: ZkTarget) -> Iterator[CoordinatorFactory]:
    """Started Coordinators whose namespace is this test's root; closed after the test."""
    opened: list[Coordinator] = []

    def make(**kwargs: Any) -> Coordinator:
        kwargs.setdefault("namespace", zk_target.root)
        kwargs.setdefault("timeout", SESSION_TIMEOUT_S)
        coordinator = zkrecipes.connect(zk_target.hosts, **kwargs)
        opened.append(coordinator)
        return coordinator

    try:
        yield make
    finally:
        for coordinator in opened:
            coordinator.close()


@pytest.fixture
def coordinator(coordinator_factory: CoordinatorFactory) -> Coordinator:
    return coordinator_factory()
