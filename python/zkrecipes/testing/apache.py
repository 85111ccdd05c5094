"""Apache ZooKeeper 3.8 from the Debian package `zookeeper`: the reference implementation."""

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from zkrecipes.testing.server_process import ServerProcess

JAVA_DIR = Path(os.environ.get("ZKR_APACHE_JAVA_DIR", "/usr/share/java"))
ZKCLI = Path(os.environ.get("ZKR_APACHE_ZKCLI", "/usr/share/zookeeper/bin/zkCli.sh"))
MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
# zookeeper.jar's manifest pulls in netty, jackson and metrics, but not netty-codec and
# netty-resolver, which the Netty connection classes (TLS) need; slf4j-simple logs to stderr.
CLASSPATH_JARS = (
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "slf4j-simple.jar",
    "netty-codec.jar",
    "netty-resolver.jar",
)
DEFAULT_JVM_PROPS: Mapping[str, str | int] = {
    # The container and TTL sweep period is read only as a system property (default 60 s).
    "znode.container.checkIntervalMs": 1000,
}


def java_classpath() -> str:
    return ":".join(str(JAVA_DIR / jar) for jar in CLASSPATH_JARS)


class ReferenceUnavailable(RuntimeError):
    """Java or the Debian zookeeper package is not installed."""


def missing_reason() -> str | None:
    """Why Apache ZooKeeper cannot run here, or None if it can."""
    if shutil.which("java") is None:
        return "java is not installed (Apache ZooKeeper needs Java 17)"
    for jar in CLASSPATH_JARS[:2]:
        if not (JAVA_DIR / jar).is_file():
            return f"{JAVA_DIR / jar} is missing: install the Debian package `zookeeper`"
    return None


class ApacheZooKeeper(ServerProcess):
    """Standalone Apache ZooKeeper in the foreground, logging to `log_path`."""

    name = "apache"

    def command(self) -> Sequence[str]:
        reason = missing_reason()
        if reason is not None:
            raise ReferenceUnavailable(reason)
        classpath = java_classpath()
        props = {**DEFAULT_JVM_PROPS, **self.jvm_props}
        return [
            "java",
            "-Xmx512m",
            *(f"-D{key}={value}" for key, value in props.items()),
            "-cp",
            classpath,
            MAIN_CLASS,
            str(self.config_path),
        ]
