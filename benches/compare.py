"""`python benches/compare.py [options]`: the same as `zkr bench compare [options]`.

Runs the same load against Apache ZooKeeper 3.8 and our server and prints the ratios; see
`--help` and docs/performance.md.
"""

import sys

from zkserver.bench.cli import main

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
