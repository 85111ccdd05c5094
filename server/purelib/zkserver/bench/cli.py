"""Command line of the comparison: `zkr bench compare` and `python -m zkserver.bench compare`."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from zkserver.bench import report
from zkserver.bench.compare import DEFAULT_WORKLOADS, SERVERS, Comparison, Options
from zkserver.bench.progress import Progress
from zkserver.cli import BENCH_HELP

# The fan-out holds a thousand sockets in the generator and in each server.
OPEN_FILES_WANTED = 8192


def add_compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="tiny counts: checks the harness only")
    p.add_argument("--rounds", type=int, help="timed rounds per workload and server (default 3)")
    p.add_argument("--seconds", type=float, help="length of a timed round (default 2)")
    p.add_argument("--workloads", help=f"comma-separated subset of {','.join(DEFAULT_WORKLOADS)}")
    p.add_argument("--data-size", type=int, help="bytes of data per znode (default 100)")
    p.add_argument(
        "--paced-rate", type=int, help="offered ops/s of the paced workloads (default 10000)"
    )
    p.add_argument("--workers", type=int, help="load generator processes (default 2)")
    p.add_argument("--connections", type=int, help="sessions per worker process (default 4)")
    p.add_argument("--depth", type=int, help="outstanding requests per session (default 64)")
    p.add_argument("--fanout-sessions", type=int, help="sessions watching one node (default 1000)")
    p.add_argument("--znodes", type=int, help="znodes loaded for RSS and restart (default 100k)")
    p.add_argument("--million", action="store_true", help="load 1M znodes (takes long)")
    p.add_argument("--workdir", type=Path, help="keep servers' directories here (default: temp)")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON ('-': stdout)")
    p.add_argument("--plot", type=Path, metavar="PNG", help="draw the comparison (matplotlib)")
    p.add_argument("--markdown", type=Path, metavar="MD", help="write the tables as markdown")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or step lines")


def options_from(args: argparse.Namespace) -> Options:
    opts = Options.quick() if args.quick else Options()
    for name in ("rounds", "seconds", "data_size", "workers", "connections", "depth", "paced_rate"):
        if getattr(args, name) is not None:
            setattr(opts, name, getattr(args, name))
    if args.fanout_sessions is not None:
        opts.fanout_sessions = args.fanout_sessions
    if args.workloads:
        chosen = tuple(w.strip() for w in args.workloads.split(",") if w.strip())
        unknown = [w for w in chosen if w not in DEFAULT_WORKLOADS]
        if unknown:
            raise SystemExit(f"unknown workloads: {', '.join(unknown)}")
        opts.workloads = chosen
    if args.znodes is not None:
        opts.load_znodes = args.znodes
    if args.million:
        opts.load_znodes = 1_000_000
        opts.apache_heap = "2g"
    opts.workdir = args.workdir
    return opts


def total_steps(opts: Options) -> int:
    per_workload = 2 + opts.rounds * len(SERVERS)
    return 1 + len(opts.workloads) * per_workload + opts.launches * len(SERVERS) + 2 * len(SERVERS)


def machine() -> dict[str, str]:
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        java = subprocess.run(
            ["java", "-version"], capture_output=True, text=True, timeout=30
        ).stderr.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        java = "unknown"
    return {
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "memory_gib": f"{mem_kib / 1024 / 1024:.1f}",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "java": java,
    }


def raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(OPEN_FILES_WANTED, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def run_compare(args: argparse.Namespace) -> int:
    opts = options_from(args)
    raise_open_files_limit()
    with Progress(total_steps(opts), enabled=not args.no_progress) as progress:
        measured = Comparison(opts, progress).run()
    command = " ".join(["zkr bench", *sys.argv[1:]]) if sys.argv else "zkr bench compare"
    figures = report.to_json(measured, machine(), command)
    if args.json == "-":
        print(json.dumps(figures, indent=2))
    else:
        report.print_tables(measured)
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
    if args.markdown:
        args.markdown.write_text(report.markdown(measured) + "\n")
    if args.plot:
        why_not = report.plot(measured, args.plot)
        if why_not:
            print(f"zkr bench: {why_not}", file=sys.stderr)
    errors = sum(s.errors for per in report.summaries(measured).values() for s in per.values())
    if errors:
        print(f"zkr bench: {errors} replies failed their check", file=sys.stderr)
        return 1
    return 0


def add_bench_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`bench compare ...` under a parent command line (`zkr`)."""
    bench = sub.add_parser("bench", help=BENCH_HELP)
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    compare = bench_sub.add_parser("compare", help="the same load on both servers, as ratios")
    add_compare_arguments(compare)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zkserver.bench", description=__doc__)
    sub = parser.add_subparsers(dest="bench_command", required=True)
    add_compare_arguments(sub.add_parser("compare", help="the same load on both servers"))
    args = parser.parse_args(argv)
    return run_compare(args)
