"""Four-letter words (`ruok`, `srvr`, `mntr`, ...): text answers in Apache 3.8's formats.

Sans-IO: each command is a function of a `ServerView` snapshot, so the formats are testable
without a socket.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from zkserver import VERSION_STRING, mntr_keys
from zkserver.config import ServerConfig

NOT_SERVING = "This ZooKeeper instance is not currently serving requests"


@dataclass
class ConnectionInfo:
    peer: str  # "127.0.0.1:40000"
    session_id: int
    timeout_ms: int
    received: int = 0
    sent: int = 0
    last_op: str = "NA"
    established_ms: int = 0
    last_cxid: int = 0
    last_zxid: int = 0
    last_response_ms: int = 0


@dataclass
class ServerView:
    config: ServerConfig
    stats: dict[str, int]
    connections: list[ConnectionInfo]
    sessions: list[tuple[int, int]]
    ephemerals: list[tuple[int, list[str]]]
    watches_by_connection: list[tuple[int, list[str]]]
    watches_by_path: list[tuple[str, list[int]]]
    started_at: float
    session_of_connection: dict[int, int] = field(default_factory=dict)
    min_latency_ms: int = 0
    avg_latency_ms: float = 0.0
    max_latency_ms: int = 0


def _hex(n: int) -> str:
    return f"0x{n & 0xFFFFFFFFFFFFFFFF:x}"


def _dir_size(p: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(p):
        for f in files:
            try:
                total += (Path(root) / f).stat().st_size
            except OSError:
                continue
    return total


def _stats_block(v: ServerView) -> str:
    s = v.stats
    return (
        f"Latency min/avg/max: {v.min_latency_ms}/{v.avg_latency_ms}/{v.max_latency_ms}\n"
        f"Received: {s['packets_received']}\n"
        f"Sent: {s['packets_sent']}\n"
        f"Connections: {len(v.connections)}\n"
        f"Outstanding: 0\n"
        f"Zxid: {_hex(s['last_zxid'])}\n"
        f"Mode: standalone\n"
        f"Node count: {s['znode_count']}\n"
    )


def _connection_line(c: ConnectionInfo, full: bool) -> str:
    head = f" /{c.peer}[{1 if c.session_id else 0}](queued=0,recved={c.received},sent={c.sent}"
    if full and c.session_id:
        # Replies are produced within the request's own event-loop turn: latencies are 0 ms.
        return head + (
            f",sid={_hex(c.session_id)},lop={c.last_op},est={c.established_ms},to={c.timeout_ms}"
            f",lcxid={_hex(c.last_cxid)},lzxid={_hex(c.last_zxid)},lresp={c.last_response_ms}"
            ",llat=0,minlat=0,avglat=0,maxlat=0)\n"
        )
    return head + ")\n"


def srvr(v: ServerView) -> str:
    return f"Zookeeper version: {VERSION_STRING}\n" + _stats_block(v)


def stat(v: ServerView) -> str:
    clients = "".join(_connection_line(c, False) for c in v.connections)
    return f"Zookeeper version: {VERSION_STRING}\nClients:\n{clients}\n" + _stats_block(v)


def cons(v: ServerView) -> str:
    return "".join(_connection_line(c, True) for c in v.connections) + "\n"


def ruok(v: ServerView) -> str:
    return "imok"


def isro(v: ServerView) -> str:
    return "ro" if v.stats.get("read_only") else "rw"


def conf(v: ServerView) -> str:
    c = v.config
    data = c.data_dir / "version-2"
    log = c.log_dir / "version-2"
    return (
        f"clientPort={-1 if c.client_port is None else c.client_port}\n"
        f"secureClientPort={c.security.secure_client_port or -1}\n"
        f"dataDir={data.absolute()}\n"
        f"dataDirSize={_dir_size(data)}\n"
        f"dataLogDir={log.absolute()}\n"
        f"dataLogSize={_dir_size(log)}\n"
        f"tickTime={c.tick_time_ms}\n"
        f"maxClientCnxns={c.max_client_cnxns}\n"
        f"minSessionTimeout={c.min_session_timeout}\n"
        f"maxSessionTimeout={c.max_session_timeout}\n"
        f"clientPortListenBacklog=-1\n"
        f"serverId={c.server_id}\n"
    )


def envi(v: ServerView) -> str:
    """Apache's keys, so tools that parse `envi` find them; the java.* values describe the
    Python runtime that serves instead of a JVM."""
    # Imported here: they cost milliseconds of every launch and only `envi` needs them.
    import getpass
    import platform
    import tempfile

    rss_max = _max_rss_mb()
    lines = [
        "Environment:",
        f"zookeeper.version={VERSION_STRING}",
        f"host.name={socket.gethostname()}",
        f"java.version={platform.python_version()}",
        f"java.vendor={platform.python_implementation()}",
        f"java.home={sys.prefix}",
        f"java.class.path={os.pathsep.join(p for p in sys.path if p)}",
        f"java.library.path={sys.exec_prefix}",
        f"java.io.tmpdir={tempfile.gettempdir()}",
        "java.compiler=<NA>",
        f"os.name={platform.system()}",
        f"os.arch={_java_arch(platform.machine())}",
        f"os.version={platform.release()}",
        f"user.name={getpass.getuser()}",
        f"user.home={Path.home()}",
        f"user.dir={Path.cwd()}",
        "os.memory.free=0MB",
        f"os.memory.max={rss_max}MB",
        f"os.memory.total={rss_max}MB",
    ]
    return "\n".join(lines) + "\n"


def _java_arch(machine: str) -> str:
    """The JVM's `os.arch` for a machine name as uname gives it."""
    return {"x86_64": "amd64", "aarch64": "aarch64"}.get(machine, machine)


def _max_rss_mb() -> int:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    except (ImportError, OSError):
        return 0


def dirs(v: ServerView) -> str:
    c = v.config
    return (
        f"datadir_size: {_dir_size(c.data_dir / 'version-2')}\n"
        f"logdir_size: {_dir_size(c.log_dir / 'version-2')}\n"
    )


def wchs(v: ServerView) -> str:
    # Apache summarises its data-watch table only.
    s = v.stats
    return (
        f"{s['wchs_connections']} connections watching {s['wchs_paths']} paths\n"
        f"Total watches:{s['wchs_total']}\n"
    )


def wchc(v: ServerView) -> str:
    out = []
    for conn, paths in v.watches_by_connection:
        out.append(_hex(v.session_of_connection.get(conn, 0)) + "\n")
        out.extend(f"\t{p}\n" for p in paths)
    return "".join(out) + "\n"


def wchp(v: ServerView) -> str:
    out = []
    for path, conns in v.watches_by_path:
        out.append(path + "\n")
        out.extend(f"\t{_hex(v.session_of_connection.get(c, 0))}\n" for c in conns)
    return "".join(out) + "\n"


def dump(v: ServerView) -> str:
    with_eph = [(sid, paths) for sid, paths in v.ephemerals if paths]
    out = [
        "SessionTracker dump:\n",
        f"Session Sets ({len(v.sessions)}):\n",
    ]
    out.extend(f"\t{_hex(sid)} (timeout {to} ms)\n" for sid, to in v.sessions)
    out.append("ephemeral nodes dump:\n")
    out.append(f"Sessions with Ephemerals ({len(with_eph)}):\n")
    for sid, paths in with_eph:
        out.append(f"{_hex(sid)}:\n")
        out.extend(f"\t{p}\n" for p in sorted(paths))
    out.append("Connections dump:\n")
    out.append(f"Connections Sets ({len(v.connections)}):\n")
    out.extend(f"\tip: /{c.peer} sessionId: {_hex(c.session_id)}\n" for c in v.connections)
    return "".join(out)


def crst(v: ServerView) -> str:
    return "Connection stats reset.\n"


def srst(v: ServerView) -> str:
    return "Server stats reset.\n"


def mntr(v: ServerView) -> str:
    s = v.stats
    rows: list[tuple[str, object]] = [
        ("zk_version", VERSION_STRING),
        ("zk_server_state", "standalone"),
        ("zk_ephemerals_count", s["ephemerals_count"]),
        ("zk_num_alive_connections", len(v.connections)),
        ("zk_avg_latency", v.avg_latency_ms),
        ("zk_outstanding_requests", 0),
        ("zk_znode_count", s["znode_count"]),
        ("zk_global_sessions", s["sessions"]),
        ("zk_non_mtls_remote_conn_count", 0),
        ("zk_packets_sent", s["packets_sent"]),
        ("zk_packets_received", s["packets_received"]),
        ("zk_watch_count", s["watch_count"]),
        ("zk_min_latency", v.min_latency_ms),
        ("zk_approximate_data_size", s["approximate_data_size"]),
        ("zk_open_file_descriptor_count", _open_fds()),
        ("zk_max_file_descriptor_count", _max_fds()),
        ("zk_local_sessions", 0),
        ("zk_uptime", int((time.time() - v.started_at) * 1000)),
        ("zk_max_latency", v.max_latency_ms),
        ("zk_outstanding_tls_handshake", s.get("tls_handshakes_in_progress", 0)),
        ("zk_unsuccessful_handshake", s.get("tls_handshakes_failed", 0)),
        ("zk_non_mtls_local_conn_count", 0),
        ("zk_proposal_count", 0),
        ("zk_connection_drop_probability", 0.0),
        ("zk_auth_failed_count", s.get("auth_failed", 0)),
    ]
    known = dict(rows)
    rest = [(k, 0) for k in mntr_keys.KEYS if k not in known]
    # The engine names its per-namespace quota metrics as mntr rows already.
    per_namespace = [(k, val) for k, val in s.items() if k.startswith("zk_")]
    return "".join(f"{k}\t{val}\n" for k, val in [*rows, *rest, *per_namespace])


def _open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def _max_fds() -> int:
    try:
        import resource

        return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError):
        return 0


COMMANDS: dict[str, Callable[[ServerView], str]] = {
    "ruok": ruok,
    "srvr": srvr,
    "stat": stat,
    "mntr": mntr,
    "conf": conf,
    "cons": cons,
    "crst": crst,
    "srst": srst,
    "envi": envi,
    "wchs": wchs,
    "wchc": wchc,
    "wchp": wchp,
    "dump": dump,
    "isro": isro,
    "dirs": dirs,
}


def answer(word: str, allowed: frozenset[str], view: ServerView) -> str:
    """The text a four-letter word gets, honouring the whitelist."""
    if word not in allowed:
        return f"{word} is not executed because it is not in the whitelist.\n"
    cmd = COMMANDS.get(word)
    if cmd is None:
        return f"{word} is not executed because it is not in the whitelist.\n"
    return cmd(view)
