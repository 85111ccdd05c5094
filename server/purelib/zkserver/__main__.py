"""`python -m zkserver [--config zoo.cfg] ...`: the same as `zkr server`."""

import sys

from zkserver.argformat import Parser
from zkserver.cli import add_server_arguments, run_server


def main() -> int:
    parser = Parser(prog="python -m zkserver", description="ZooKeeper-compatible server")
    add_server_arguments(parser)
    return run_server(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
