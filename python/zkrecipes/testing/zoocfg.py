"""Apache-format zoo.cfg files for servers started by tests."""

from collections.abc import Mapping
from pathlib import Path

from zkrecipes.testing.ports import LOOPBACK

# Small enough that session expiry takes about a second (min session timeout is 2 x tickTime,
# max 20 x tickTime), large enough that a loaded 2-core machine keeps sessions alive.
TEST_TICK_TIME_MS = 200

TEST_DEFAULTS: Mapping[str, str | int] = {
    "tickTime": TEST_TICK_TIME_MS,
    # Jetty's servlet API is missing from the Debian package, and it would take port 8080.
    "admin.enableServer": "false",
    "4lw.commands.whitelist": "*",
    # Needed for TTL nodes; Apache reads it as the system property zookeeper.extendedTypesEnabled.
    "extendedTypesEnabled": "true",
    # The default preallocates txn logs in 64 MiB steps.
    "preAllocSize": 1024,
    "clientPortAddress": LOOPBACK,
}


def server_settings(
    data_dir: Path, port: int, overrides: Mapping[str, str | int] | None = None
) -> dict[str, str | int]:
    """The test defaults plus dataDir and clientPort, then the caller's overrides."""
    settings: dict[str, str | int] = dict(TEST_DEFAULTS)
    settings["dataDir"] = str(data_dir)
    settings["clientPort"] = port
    settings.update(overrides or {})
    return settings


def write_zoo_cfg(path: Path, settings: Mapping[str, str | int]) -> None:
    """Write `settings` as `key=value` lines, the format Apache's QuorumPeerConfig reads."""
    lines = []
    for key, value in settings.items():
        text = str(value)
        if "\n" in key or "\n" in text or "=" in key:
            raise ValueError(f"zoo.cfg entry cannot be written: {key!r}={text!r}")
        lines.append(f"{key}={text}\n")
    path.write_text("".join(lines), encoding="utf-8")
