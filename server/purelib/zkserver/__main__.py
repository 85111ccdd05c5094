"""`python -m zkserver [--config zoo.cfg] ...`: the same as `zkr server`."""

import argparse
import sys

from zkserver.cli import add_server_arguments, run_server


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zkserver", description="ZooKeeper-compatible server"
    )
    add_server_arguments(parser)
    return run_server(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
