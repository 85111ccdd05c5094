"""Apache ZooKeeper 3.8's own file tools, run on our files."""

import subprocess
from pathlib import Path

from zkrecipes.testing.apache import CLASSPATH_JARS, JAVA_DIR

TOOL_TIMEOUT_S = 60.0
# Debian's 3.8 jar has no LogFormatter any more; TxnLogToolkit is its replacement (it also
# checks every entry's checksum).
TXN_LOG_TOOL = "org.apache.zookeeper.server.persistence.TxnLogToolkit"
SNAPSHOT_TOOL = "org.apache.zookeeper.server.SnapshotFormatter"


def run_tool(main_class: str, *args: str | Path) -> str:
    """The tool's standard output; a non-zero exit fails with its error output."""
    classpath = ":".join(str(JAVA_DIR / jar) for jar in CLASSPATH_JARS)
    done = subprocess.run(
        ["java", "-cp", classpath, main_class, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"{main_class} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout
