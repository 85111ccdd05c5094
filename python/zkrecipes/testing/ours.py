"""Our server (`python -m zkserver`) run from the same generated zoo.cfg as the reference."""

import sys
from collections.abc import Sequence

from zkrecipes.testing.server_process import ServerProcess


class OurServer(ServerProcess):
    """`python -m zkserver --config zoo.cfg` with this interpreter, logging to `log_path`.

    `jvm_props` have no meaning here and are ignored, so that both launchers take the same
    arguments.
    """

    name = "ours"

    def command(self) -> Sequence[str]:
        return [sys.executable, "-m", "zkserver", "--config", str(self.config_path)]
