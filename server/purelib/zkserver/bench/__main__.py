"""`python -m zkserver.bench compare ...`."""

import sys

from zkserver.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
