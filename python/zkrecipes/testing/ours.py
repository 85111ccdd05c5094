"""Our server (`python -m zkserver`) run from the same generated zoo.cfg as the reference."""

import sys
from collections.abc import Sequence

from zkrecipes.testing.apache import DEFAULT_JVM_PROPS
from zkrecipes.testing.server_process import ServerProcess


class OurServer(ServerProcess):
    """`python -m zkserver --config zoo.cfg` with this interpreter, logging to `log_path`.

    The system properties Apache is started with (`jvm_props` and the launcher's defaults) are
    passed as `--set key=value`: our server reads them as configuration keys.
    """

    name = "ours"

    def command(self) -> Sequence[str]:
        props = {**DEFAULT_JVM_PROPS, **self.jvm_props}
        sets = [arg for k, v in props.items() for arg in ("--set", f"{k}={v}")]
        return [sys.executable, "-m", "zkserver", "--config", str(self.config_path), *sets]
