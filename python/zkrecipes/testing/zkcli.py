"""Apache's Java CLI, zkCli.sh, run against a server with its output normalized.

Without jline (missing from the Debian package) zkCli reads commands from stdin, so a script
of several commands runs in one session.
"""

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zkrecipes.testing.apache import ZKCLI, java_classpath

ZKCLI_TIMEOUT_S = 60.0
NOISE_PREFIXES = ("SLF4J:", "Connecting to ", "Welcome to ZooKeeper!", "JLine support is")
ZXID_FIELDS = re.compile(r"^(cZxid|mZxid|pZxid) = 0x[0-9a-f]+$")
TIME_FIELDS = re.compile(r"^(ctime|mtime) = .*$")
OWNER_FIELD = re.compile(r"^ephemeralOwner = 0x[0-9a-f]+$")


CLOSED_AT_EXIT = ["WATCHER::", "WatchedEvent state:Closed type:None path:null"]


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: list[str]
    stderr: list[str]


def normalize(text: str, root: str) -> list[str]:
    """Lines without start-up noise, times, zxids and session ids; `root` becomes /ROOT."""
    lines = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(NOISE_PREFIXES):
            continue
        line = line.replace(root, "/ROOT") if root else line
        line = ZXID_FIELDS.sub(r"\1 = ZXID", line)
        line = TIME_FIELDS.sub(r"\1 = TIME", line)
        if OWNER_FIELD.match(line) and line != "ephemeralOwner = 0x0":
            line = "ephemeralOwner = SESSION"
        if line.startswith("[") and line.endswith("]") and len(line) > 2:
            # getEphemerals prints a hash set: its order means nothing.
            line = "[" + ", ".join(sorted(line[1:-1].split(", "))) + "]"
        lines.append(line)
    # At `quit` the client raises its own Closed event, which the JVM prints or not depending
    # on whether its event thread runs before the exit: a race in the client, whatever the
    # server did. The last lines are dropped when they are that event.
    if lines[-2:] == CLOSED_AT_EXIT:
        del lines[-2:]
    return lines


def run_zkcli(
    hosts: str,
    args: Sequence[str] = (),
    script: str | None = None,
    root: str = "",
    jvm_props: Mapping[str, str] | None = None,
) -> CliResult:
    """One command as arguments, or a script of commands on stdin (one session).

    `jvm_props` become -D flags of the client JVM (CLIENT_JVMFLAGS), e.g. its TLS settings.
    """
    env = dict(os.environ)
    if jvm_props:
        # zkCli.sh's class path lacks netty-codec (the Netty client socket needs it); a later
        # -cp on the java command line replaces the script's.
        flags = f"-cp {java_classpath()} " + " ".join(f"-D{k}={v}" for k, v in jvm_props.items())
        env["CLIENT_JVMFLAGS"] = f"{env.get('CLIENT_JVMFLAGS', '')} {flags}".strip()
    completed = subprocess.run(
        [str(ZKCLI), "-server", hosts, *args],
        input=script if script is not None else "",
        capture_output=True,
        text=True,
        timeout=ZKCLI_TIMEOUT_S,
        check=False,
        env=env,
    )
    return CliResult(
        completed.returncode,
        normalize(completed.stdout, root),
        normalize(completed.stderr, root),
    )
