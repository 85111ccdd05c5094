"""zoo.cfg: Apache ZooKeeper's configuration file, read as Apache 3.8 reads it.

The file is a Java properties file (``key=value``, ``key: value`` or ``key value``; ``#`` and
``!`` start comments). Unlike Apache, which turns unknown keys into ``zookeeper.<key>`` system
properties, an unknown or malformed key is an error naming the key and the line, so a typo never
passes silently.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from zkserver.security_settings import (
    SecurityConfigError,
    SecuritySettings,
    apply_security_setting,
    is_security_key,
)

JUTE_MAXBUFFER_DEFAULT_BYTES = 0xFFFFF
FOUR_LETTER_WORDS = frozenset(
    {
        "conf",
        "cons",
        "crst",
        "dirs",
        "dump",
        "envi",
        "gtmk",
        "hash",
        "isro",
        "mntr",
        "ruok",
        "srst",
        "srvr",
        "stat",
        "stmk",
        "wchc",
        "wchp",
        "wchs",
    }
)


class ConfigError(ValueError):
    """A configuration mistake, with the key and line it concerns."""

    def __init__(self, message: str, key: str | None = None, line: int | None = None) -> None:
        where = ""
        if key is not None:
            where = f"{key}: " if line is None else f"line {line}: {key}: "
        super().__init__(where + message)
        self.key = key
        self.line = line


@dataclass(frozen=True)
class QuorumServer:
    """One ``server.N=host:quorumPort:electionPort[:role][;[clientAddr:]clientPort]`` entry."""

    sid: int
    host: str
    quorum_port: int
    election_port: int
    role: str = "participant"
    client_address: str | None = None
    client_port: int | None = None


@dataclass
class ServerConfig:
    tick_time_ms: int = 3000
    data_dir: Path = Path("zkdata")
    data_log_dir: Path | None = None
    # None: no plaintext port (a zoo.cfg with secureClientPort and no clientPort).
    client_port: int | None = 2181
    client_port_address: str = "0.0.0.0"
    max_client_cnxns: int = 60
    min_session_timeout_ms: int | None = None
    max_session_timeout_ms: int | None = None
    jute_maxbuffer_bytes: int = JUTE_MAXBUFFER_DEFAULT_BYTES
    four_letter_words: frozenset[str] = frozenset({"srvr"})
    extended_types_enabled: bool = False
    skip_acl: bool = False
    super_digest: str | None = None
    global_outstanding_limit: int = 1000
    pre_alloc_size_kb: int = 65536
    snap_count: int = 100000
    autopurge_snap_retain_count: int = 3
    autopurge_purge_interval_hours: int = 0
    force_sync: bool = True
    init_limit: int | None = None
    sync_limit: int | None = None
    peer_type: str = "participant"
    servers: dict[int, QuorumServer] = field(default_factory=dict)
    standalone_enabled: bool = True
    reconfig_enabled: bool = False
    container_check_interval_ms: int = 60000
    server_id: int = 0
    security: SecuritySettings = field(default_factory=SecuritySettings)
    source: Path | None = None

    @property
    def min_session_timeout(self) -> int:
        """Apache's default: two ticks."""
        return self.min_session_timeout_ms or 2 * self.tick_time_ms

    @property
    def max_session_timeout(self) -> int:
        """Apache's default: twenty ticks."""
        return self.max_session_timeout_ms or 20 * self.tick_time_ms

    @property
    def log_dir(self) -> Path:
        return self.data_log_dir or self.data_dir

    def validate(self) -> None:
        if self.min_session_timeout > self.max_session_timeout:
            raise ConfigError(
                f"minSessionTimeout {self.min_session_timeout} must not be larger than "
                f"maxSessionTimeout {self.max_session_timeout}",
                "minSessionTimeout",
            )
        if self.servers and (self.init_limit is None or self.sync_limit is None):
            missing = "initLimit" if self.init_limit is None else "syncLimit"
            raise ConfigError("is required when server.N entries are given", missing)
        try:
            self.security.validate()
        except SecurityConfigError as e:
            raise ConfigError(str(e), e.key) from None


def _int(lo: int = 0, hi: int = 2**31 - 1) -> Callable[[str], int]:
    def parse(v: str) -> int:
        try:
            n = int(v, 0) if v.lower().startswith("0x") else int(v)
        except ValueError:
            raise ValueError(f"expected an integer, got {v!r}") from None
        if not lo <= n <= hi:
            raise ValueError(f"{n} is outside [{lo}, {hi}]")
        return n

    return parse


def _bool(v: str) -> bool:
    # Apache: Boolean.parseBoolean for most keys, "yes"/"no" for skipACL and forceSync.
    low = v.strip().lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    raise ValueError(f"expected true/false or yes/no, got {v!r}")


def _address(v: str) -> str:
    try:
        ipaddress.ip_address(v)
    except ValueError:
        if not re.fullmatch(r"[A-Za-z0-9.-]+", v):
            raise ValueError(f"not an address or host name: {v!r}") from None
    return v


def _whitelist(v: str) -> frozenset[str]:
    words = {w.strip() for w in v.split(",") if w.strip()}
    if "*" in words:
        return FOUR_LETTER_WORDS
    unknown = words - FOUR_LETTER_WORDS
    if unknown:
        raise ValueError(f"unknown four-letter words: {', '.join(sorted(unknown))}")
    return frozenset(words)


def _peer_type(v: str) -> str:
    if v not in ("participant", "observer"):
        raise ValueError(f"peerType must be participant or observer, got {v!r}")
    return v


def _super_digest(v: str) -> str:
    if ":" not in v:
        raise ValueError("expected user:base64(sha1(user:password))")
    return v


def _port(v: str) -> int:
    return _int(1, 65535)(v)


_SERVER_RE = re.compile(
    r"^(?P<host>\[[^\]]+\]|[^:;]+):(?P<qport>\d+):(?P<eport>\d+)"
    r"(?::(?P<role>participant|observer))?"
    r"(?:;(?:(?P<caddr>[^:;]+):)?(?P<cport>\d+))?$"
)


def parse_server_entry(sid: int, value: str) -> QuorumServer:
    m = _SERVER_RE.match(value)
    if m is None:
        raise ValueError(
            "expected host:quorumPort:electionPort[:participant|observer][;[addr:]clientPort]"
        )
    cport = m.group("cport")
    return QuorumServer(
        sid=sid,
        host=m.group("host").strip("[]"),
        quorum_port=_port(m.group("qport")),
        election_port=_port(m.group("eport")),
        role=m.group("role") or "participant",
        client_address=m.group("caddr"),
        client_port=_port(cport) if cport else None,
    )


# key -> (ServerConfig attribute, parser). Parsers raise ValueError with a plain message.
_KEYS: dict[str, tuple[str, Callable[[str], object]]] = {
    "tickTime": ("tick_time_ms", _int(1)),
    "dataDir": ("data_dir", Path),
    "dataLogDir": ("data_log_dir", Path),
    "clientPort": ("client_port", _port),
    "clientPortAddress": ("client_port_address", _address),
    "maxClientCnxns": ("max_client_cnxns", _int(0)),
    "minSessionTimeout": ("min_session_timeout_ms", _int(1)),
    "maxSessionTimeout": ("max_session_timeout_ms", _int(1)),
    "jute.maxbuffer": ("jute_maxbuffer_bytes", _int(1)),
    "4lw.commands.whitelist": ("four_letter_words", _whitelist),
    "extendedTypesEnabled": ("extended_types_enabled", _bool),
    "skipACL": ("skip_acl", _bool),
    "DigestAuthenticationProvider.superDigest": ("super_digest", _super_digest),
    "zookeeper.DigestAuthenticationProvider.superDigest": ("super_digest", _super_digest),
    "globalOutstandingLimit": ("global_outstanding_limit", _int(1)),
    "preAllocSize": ("pre_alloc_size_kb", _int(1)),
    "snapCount": ("snap_count", _int(2)),
    # Apache warns and uses 3 for a smaller count, and schedules nothing for an interval <= 0.
    "autopurge.snapRetainCount": ("autopurge_snap_retain_count", _int(-(2**31))),
    "autopurge.purgeInterval": ("autopurge_purge_interval_hours", _int(-(2**31))),
    "forceSync": ("force_sync", _bool),
    "initLimit": ("init_limit", _int(1)),
    "syncLimit": ("sync_limit", _int(1)),
    "peerType": ("peer_type", _peer_type),
    "standaloneEnabled": ("standalone_enabled", _bool),
    "reconfigEnabled": ("reconfig_enabled", _bool),
    "znode.container.checkIntervalMs": ("container_check_interval_ms", _int(1)),
}

# Keys Apache accepts that this server reads but does not act on (yet); accepted so that
# operators' zoo.cfg files load unchanged.
_ACCEPTED_KEYS = frozenset(
    {
        "admin.enableServer",
        "admin.serverPort",
        "admin.serverAddress",
        "electionAlg",
        "quorumListenOnAllIPs",
        "syncEnabled",
        "localSessionsEnabled",
        "localSessionsUpgradingEnabled",
        "maxCnxns",
        "metricsProvider.className",
        "metricsProvider.httpPort",
        "metricsProvider.exportJvmInfo",
        "snapSizeLimitInKb",
        "txnLogSizeLimitInKb",
        "electionPortBindRetry",
        "connectToLearnerMasterLimit",
        "observerMasterPort",
        "dynamicConfigFile",
        "clientCnxnSocket",
        "serverCnxnFactory",
        "audit.enable",
        "multiAddress.enabled",
        "fsync.warningthresholdms",
        "closeSessionTxnEnabled",
        "digest.enabled",
    }
)

_PROPERTY_LINE = re.compile(r"^(?P<key>(?:\\.|[^=:\s])+)\s*(?:[=:]\s*|\s+)?(?P<value>.*)$")


def iter_properties(text: str) -> Iterable[tuple[int, str, str]]:
    """Yields (line number, key, value) of a Java properties text (no line continuations)."""
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        m = _PROPERTY_LINE.match(line)
        if m is None:  # pragma: no cover - the pattern matches any non-blank line
            raise ConfigError("cannot parse line", None, lineno)
        yield lineno, m.group("key"), m.group("value").strip()


def apply_setting(cfg: ServerConfig, key: str, value: str, line: int | None = None) -> None:
    """Sets one zoo.cfg key on `cfg`, raising ConfigError naming the key and line."""
    try:
        if key.startswith("server."):
            sid = _int(0, 2**63 - 1)(key[len("server.") :])
            cfg.servers[sid] = parse_server_entry(sid, value)
            return
        if key.startswith("group.") or key.startswith("weight."):
            _int(0)(key.split(".", 1)[1])
            return
        if key in _ACCEPTED_KEYS:
            return
        if is_security_key(key):
            apply_security_setting(cfg.security, key, value)
            return
        target = _KEYS.get(key)
        if target is None:
            raise ConfigError("unknown configuration key", key, line)
        attr, parse = target
        setattr(cfg, attr, parse(value))
    except ValueError as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(str(e), key, line) from None


def parse_zoo_cfg(text: str, source: Path | None = None) -> ServerConfig:
    cfg = ServerConfig(source=source)
    seen: set[str] = set()
    for lineno, key, value in iter_properties(text):
        apply_setting(cfg, key, value, lineno)
        seen.add(key)
    if "dataDir" not in seen:
        raise ConfigError("dataDir is not set", "dataDir")
    if "clientPort" not in seen and cfg.security.secure_client_port is not None:
        cfg.client_port = None
    cfg.validate()
    return cfg


def load_zoo_cfg(path: Path) -> ServerConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    return parse_zoo_cfg(text, source=path)


def config_from_flags(settings: Mapping[str, str]) -> ServerConfig:
    """A config from zoo.cfg-style key/values given on the command line."""
    cfg = ServerConfig()
    for key, value in settings.items():
        apply_setting(cfg, key, value)
    cfg.validate()
    return cfg
