"""`zkr`: the command line of zkrecipes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from zkserver.argformat import Parser
from zkserver.config import ConfigError, ServerConfig, config_from_flags, load_zoo_cfg
from zkserver.logsetup import LEVELS, setup_logging

log = logging.getLogger("zkserver")
BENCH_HELP = "benchmarks against Apache ZooKeeper 3.8"


def _server_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("server", help="run a standalone ZooKeeper-compatible server")
    add_server_arguments(p)


def add_server_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="an Apache-format zoo.cfg")
    p.add_argument("--port", type=int, help="client port (default 2181)")
    p.add_argument("--host", help="client address to bind (default 0.0.0.0)")
    p.add_argument("--data-dir", type=Path, help="data directory (default ./zkdata)")
    p.add_argument("--tick-time", type=int, help="tick in ms (default 3000)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any zoo.cfg key, e.g. --set 4lw.commands.whitelist=*",
    )
    p.add_argument("--log-level", default="INFO", choices=LEVELS, type=str.upper)


def build_config(args: argparse.Namespace) -> ServerConfig:
    settings: dict[str, str] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError("expected KEY=VALUE", item)
        settings[key.strip()] = value.strip()
    if args.config is not None:
        cfg = load_zoo_cfg(args.config)
        from zkserver.config import apply_setting

        for k, v in settings.items():
            apply_setting(cfg, k, v)
    else:
        cfg = config_from_flags(settings)
    if args.port is not None:
        cfg.client_port = args.port
    if args.host is not None:
        cfg.client_port_address = args.host
    if args.data_dir is not None:
        cfg.data_dir = args.data_dir
    if args.tick_time is not None:
        cfg.tick_time_ms = args.tick_time
    cfg.validate()
    return cfg


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Runs `main` on uvloop when it is installed (a faster loop for the same asyncio code;
    ZKR_EVENT_LOOP=asyncio forces the standard one)."""
    if os.environ.get("ZKR_EVENT_LOOP", "uvloop") == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(main)
            return
    asyncio.run(main)


def run_server(args: argparse.Namespace) -> int:
    setup_logging(args.log_level)
    try:
        cfg = build_config(args)
    except ConfigError as e:
        print(f"zkr: configuration error: {e}", file=sys.stderr)
        return 2
    from zkserver.server import ZooKeeperServer

    try:
        (cfg.data_dir / "version-2").mkdir(parents=True, exist_ok=True)
        if cfg.data_log_dir is not None:
            (cfg.data_log_dir / "version-2").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"zkr: cannot create data directory {cfg.data_dir}: {e.strerror}", file=sys.stderr)
        return 1
    from zkrecipes._core import PersistError

    try:
        server = ZooKeeperServer(cfg)
    except ConfigError as e:
        print(f"zkr: configuration error: {e}", file=sys.stderr)
        return 2
    try:
        run_event_loop(server.run_until_stopped())
    except PersistError as e:
        log.error("cannot load the data directory %s: %s", cfg.data_dir, e)
        return 1
    except OSError as e:
        log.error("cannot serve on %s: %s", cfg.client_port_address, e)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["purge"]:
        # Apache's PurgeTxnLog command line, kept as is: `zkr purge dataLogDir [snapDir] -n N`.
        from zkserver.purge import main as purge_main

        return purge_main(args_in[1:])
    parser: argparse.ArgumentParser = Parser(prog="zkr", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _server_parser(sub)
    if args_in[:1] == ["bench"]:
        from zkserver.bench.cli import add_bench_parser

        add_bench_parser(sub)
    else:
        # The benchmark's modules (and what they import) stay unloaded on a server launch.
        sub.add_parser("bench", help=BENCH_HELP)
    sub.add_parser("purge", help="remove old snapshots and logs (dataLogDir [snapDir] -n N)")
    args = parser.parse_args(args_in)
    if args.command == "server":
        return run_server(args)
    if args.command == "bench":
        from zkserver.bench.cli import run_compare

        return run_compare(args)
    parser.error(f"unknown command {args.command}")
    return 2
