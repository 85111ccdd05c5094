"""Run one scenario on every selected server and require the same observation from each."""

import pprint
from collections.abc import Callable, Mapping
from typing import TypeVar

from zkrecipes.testing.server_process import ServerProcess
from zkrecipes.testing.targets import ZkTarget

T = TypeVar("T")


class ObservationMismatch(AssertionError):
    """Two servers answered the same scenario differently."""


class Differential:
    """Scenarios are functions of a `ZkTarget` returning plain, comparable data.

    The first selected target (Apache when it runs) is the reference; every other target's
    observation must equal it. `run` returns the reference observation so that the test can
    also assert concrete values.
    """

    def __init__(
        self,
        servers: Mapping[str, ServerProcess],
        root: str,
        server_factory: Callable[..., ServerProcess],
    ) -> None:
        self.servers = dict(servers)
        self.root = root
        self._server_factory = server_factory
        self.observations: dict[str, object] = {}

    def run(self, scenario: Callable[[ZkTarget], T]) -> T:
        return self._run_on(self.servers, scenario)

    def run_with_settings(
        self,
        settings: dict[str, str | int] | Callable[[str], dict[str, str | int]],
        scenario: Callable[[ZkTarget], T],
        jvm_props: dict[str, str | int] | None = None,
    ) -> T:
        """Run on fresh servers started from the test defaults plus `settings` (or the
        settings a function gives for each target name, e.g. distinct extra ports) and the
        Java system properties `jvm_props` (Apache reads some settings only from those)."""
        servers = {
            name: self._server_factory(
                name, settings(name) if callable(settings) else settings, jvm_props
            )
            for name in self.servers
        }
        return self._run_on(servers, scenario)

    def _run_on(self, servers: Mapping[str, ServerProcess], scenario: Callable[[ZkTarget], T]) -> T:
        results: dict[str, T] = {}
        for name, server in servers.items():
            target = ZkTarget(name, server, self.root)
            try:
                results[name] = scenario(target)
            finally:
                target.close()
        self.observations = dict(results)
        names = list(results)
        reference = names[0]
        for other in names[1:]:
            if results[other] != results[reference]:
                raise ObservationMismatch(
                    f"{reference} and {other} differ\n"
                    f"--- {reference}:\n{pprint.pformat(results[reference])}\n"
                    f"--- {other}:\n{pprint.pformat(results[other])}"
                )
        return results[reference]
