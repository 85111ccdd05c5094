"""The standalone server: asyncio sockets and timers around the Rust request engine.

Everything with protocol logic lives in `zkrecipes._core.Engine` (framing, handshake, reads,
prep/apply of writes, watches) and in the sans-IO modules here (`sessions`, `fourletter`). This
module only moves bytes, keeps time and carries out the engine's outputs in order.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import ssl
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from zkrecipes._core import Engine, TxnLog, recover, release_free_memory
from zkserver.config import ServerConfig
from zkserver.durability import CommitPipeline, open_database
from zkserver.jaas import server_sasl_users
from zkserver.listeners import listening_sockets
from zkserver.purge import start_autopurge
from zkserver.sessions import SessionExpiry

if TYPE_CHECKING:
    from zkserver import fourletter

log = logging.getLogger("zkserver")

# Apache queues replies for a client that does not read them without bound. We stop reading
# its requests once its output passes the transport's high-water mark (backpressure), so the
# queue grows only by one socket read's worth of replies (or by notifications); past this
# bound the connection is cut rather than the server running out of memory.
OUTGOING_BYTES_MAX = 1024 * 1024 * 1024
WRITE_HIGH_WATER_BYTES = 4 * 1024 * 1024
BACKLOG = 1024


def now_ms() -> int:
    """Wall-clock milliseconds: txn times (ctime/mtime) are wall-clock in Apache too."""
    return time.time_ns() // 1_000_000


def mono_ms() -> int:
    return time.monotonic_ns() // 1_000_000


def new_engine(cfg: ServerConfig, sasl_users: dict[str, str] | None = None) -> Engine:
    """The engine for `cfg`; `sasl_users` are the JAAS DIGEST-MD5 users (None: no SASL)."""
    sec = cfg.security
    # Session ids embed the start time; wall clock keeps them unique across reboots.
    return Engine(
        now_ms=now_ms(),
        min_session_timeout_ms=cfg.min_session_timeout,
        max_session_timeout_ms=cfg.max_session_timeout,
        max_buffer_bytes=cfg.jute_maxbuffer_bytes,
        server_id=cfg.server_id,
        extended_types=cfg.extended_types_enabled,
        skip_acl=cfg.skip_acl,
        super_digest=cfg.super_digest,
        # x509 (and sasl as an ACL scheme) are known once their provider is registered.
        auth_providers=sorted(sec.auth_providers),
        sasl_users=sasl_users,
        sasl_super_users=sec.sasl_super_users(),
        allow_sasl_failed_clients=sec.allow_sasl_failed_clients,
        enforce_auth_schemes=list(sec.effective_enforce_auth_schemes()),
        x509_super_user=sec.x509_super_user,
        sasl_any_user_acl=sec.sasl_any_user_acl,
        enforce_quota=sec.enforce_quota,
    )


def secure_client_context(cfg: ServerConfig) -> ssl.SSLContext | None:
    """The TLS context when a secure port (or a unified plaintext port) needs one."""
    sec = cfg.security
    if sec.secure_client_port is None and not (
        sec.port_unification and sec.tls.key_store_location is not None
    ):
        return None
    from zkserver.tls import server_context

    return server_context(sec.tls)


class ClientConnection(asyncio.Protocol):
    def __init__(self, server: ZooKeeperServer, conn_id: int) -> None:
        self.server = server
        self.conn_id = conn_id
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.ip = "?"
        self.closing = False
        # Identities established before the first request (a TLS client certificate).
        self.identities: list[tuple[str, str]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.attach(transport)
        self.server.accept(self)

    def attach(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        transport = self.transport
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER_BYTES)
        addr = transport.get_extra_info("peername") or ("?", 0)
        self.ip, self.peer = str(addr[0]), f"{addr[0]}:{addr[1]}"

    def data_received(self, data: bytes) -> None:
        if not self.closing:
            self.server.receive(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.lost(self)

    def pause_writing(self) -> None:
        # Backpressure: stop reading requests from a client that does not read its replies.
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.closing:
            self.transport.resume_reading()

    def write(self, data: bytes) -> None:
        t = self.transport
        if t is None or self.closing:
            return
        t.write(data)
        if t.get_write_buffer_size() > OUTGOING_BYTES_MAX:
            log.warning("closing connection %s: it does not read its replies", self.peer)
            self.abort()

    def close(self) -> None:
        """Flushes pending output, then sends FIN before closing, as Apache shuts down output
        first: the client reads an orderly end of stream, not a reset."""
        t = self.transport
        if t is not None and not self.closing:
            self.closing = True
            if t.can_write_eof():
                t.write_eof()
            t.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.closing = True
            self.transport.abort()


class ZooKeeperServer:
    def __init__(self, cfg: ServerConfig) -> None:
        self.cfg = cfg
        # Read once: a JAAS file that cannot be used stops the start (JaasError).
        self.sasl_users = server_sasl_users(cfg.security)
        self.engine = new_engine(cfg, self.sasl_users)
        self.expiry = SessionExpiry(cfg.tick_time_ms)
        self.pipeline: CommitPipeline | None = None
        self.txn_log: TxnLog | None = None
        self.conns: dict[int, ClientConnection] = {}
        self.per_ip: Counter[str] = Counter()
        # TLS handshakes under way ("in_progress") and refused ("failed"), for mntr.
        self.tls_counters: Counter[str] = Counter()
        self.next_conn_id = 1
        self.started_at = time.time()
        self._servers: list[asyncio.base_events.Server] = []
        # Built before the loop starts, so that a bad key store stops the start-up.
        self.tls_context = secure_client_context(cfg)
        self._ticker: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._purger: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()

    # ---- connections ----
    def make_protocol(self) -> ClientConnection:
        conn = ClientConnection(self, self.next_conn_id)
        self.next_conn_id += 1
        return conn

    def make_tls_protocol(self, unified: bool = False) -> ClientConnection:
        from zkserver.tls_connection import TlsConnection

        assert self.tls_context is not None
        conn = TlsConnection(
            self, self.next_conn_id, self.tls_context, self.cfg.security, unified=unified
        )
        self.next_conn_id += 1
        return conn

    def accept(self, conn: ClientConnection) -> None:
        limit = self.cfg.max_client_cnxns
        if limit and self.per_ip[conn.ip] >= limit:
            log.warning("Too many connections from /%s - max is %d", conn.ip, limit)
            conn.abort()
            return
        self.per_ip[conn.ip] += 1
        self.conns[conn.conn_id] = conn
        self.engine.open_connection(conn.conn_id, conn.ip)
        for scheme, ident in conn.identities:
            self.engine.add_auth_info(conn.conn_id, scheme, ident)

    def lost(self, conn: ClientConnection) -> None:
        if self.conns.pop(conn.conn_id, None) is None:
            return
        self.per_ip[conn.ip] -= 1
        if self.per_ip[conn.ip] <= 0:
            del self.per_ip[conn.ip]
        self.engine.connection_lost(conn.conn_id)

    def receive(self, conn: ClientConnection, data: bytes) -> None:
        now = mono_ms()
        sid = self.engine.session_of(conn.conn_id)
        if sid:
            self.expiry.touch(sid, now)
        if self.pipeline is not None:
            self.pipeline.note_request(conn.conn_id)
        try:
            out = self.engine.receive(conn.conn_id, data, now_ms())
        except OSError as e:
            self.storage_failed(e)
            return
        self.submit(out)

    def submit(self, out: tuple[Any, ...]) -> None:
        """Hands an engine output to the commit step (or runs it, without a log)."""
        if self.pipeline is None:
            self.carry_out(out)
        else:
            self.pipeline.submit(out)

    def carry_out(self, out: tuple[Any, ...]) -> None:
        """Executes an engine output in order: sends, session changes, then closes."""
        now = mono_ms()
        sends, closes, sessions, words, _txns, _last_zxid = out
        for conn_id, data in sends:
            c = self.conns.get(conn_id)
            if c is not None:
                c.write(data)
        for kind, sid, timeout, _conn, _reconnect in sessions:
            if kind == "opened":
                self.expiry.add(sid, timeout, now)
            else:
                self.expiry.remove(sid)
        for conn_id, word in words:
            self.answer_four_letter_word(conn_id, word)
        for conn_id, why in closes:
            c = self.conns.get(conn_id)
            if c is not None:
                # A client closing its own session is routine; anything else is worth a line.
                level = logging.DEBUG if why == "client closed the session" else logging.INFO
                log.log(level, "closing connection %s: %s", c.peer, why)
                c.close()

    # ---- four-letter words ----
    def view(self) -> fourletter.ServerView:
        # Imported at the first four-letter word, not at launch.
        from zkserver import fourletter

        e = self.engine
        timeouts = dict(e.session_list())
        infos = []
        for cid, sid, recv, sent, lop, est, lcxid, lzxid, lresp in e.connection_stats():
            c = self.conns.get(cid)
            if c is None:
                continue
            infos.append(
                fourletter.ConnectionInfo(
                    c.peer, sid, timeouts.get(sid, 0), recv, sent, lop, est, lcxid, lzxid, lresp
                )
            )
        return fourletter.ServerView(
            config=self.cfg,
            stats={
                **e.stats(),
                "read_only": int(e.read_only),
                "tls_handshakes_in_progress": self.tls_counters["in_progress"],
                "tls_handshakes_failed": self.tls_counters["failed"],
                # Apache counts a failed TLS handshake or x509 check as a failed auth.
                "auth_failed": e.stats().get("auth_failed", 0) + self.tls_counters["failed"],
            },
            connections=infos,
            sessions=e.session_list(),
            ephemerals=e.ephemerals_by_session(),
            watches_by_connection=e.watches_by_connection(),
            watches_by_path=e.watches_by_path(),
            started_at=self.started_at,
            session_of_connection={cid: e.session_of(cid) for cid in self.conns},
        )

    def answer_four_letter_word(self, conn_id: int, word: str) -> None:
        c = self.conns.get(conn_id)
        if c is None:
            return
        if word == "srst" and word in self.cfg.four_letter_words:
            self.engine.reset_counters()
        from zkserver import fourletter

        text = fourletter.answer(word, self.cfg.four_letter_words, self.view())
        c.write(text.encode())

    # ---- time ----
    async def tick(self) -> None:
        """Expires sessions bucket by bucket (one bucket per tick)."""
        while True:
            await asyncio.sleep(self.cfg.tick_time_ms / 1000)
            now = mono_ms()
            for sid in self.expiry.expired(now):
                log.info("Expiring session 0x%x, timeout exceeded", sid & 0xFFFFFFFFFFFFFFFF)
                try:
                    self.submit(self.engine.expire_session(sid, now_ms()))
                except OSError as e:
                    self.storage_failed(e)

    async def sweep_containers(self) -> None:
        """Apache's ContainerManager: every checkIntervalMs, delete empty containers and
        expired TTL nodes."""
        while True:
            await asyncio.sleep(self.cfg.container_check_interval_ms / 1000)
            try:
                self.submit(self.engine.sweep_containers(now_ms()))
            except OSError as e:
                self.storage_failed(e)

    # ---- storage ----
    def open_storage(self) -> None:
        """Recovers the data directory and starts group-committing the txn log."""
        txn_log = open_database(self.cfg, self.engine)
        self.txn_log = txn_log
        now = mono_ms()
        for sid, timeout in self.engine.session_list():
            self.expiry.add(sid, timeout, now)
        self.pipeline = CommitPipeline(
            self.cfg, self.engine, txn_log, self.carry_out, self.storage_failed
        )

    def storage_failed(self, e: Exception) -> None:
        """The log cannot be written: drop everything not yet durable and go on serving reads.

        Every connection is closed (the outcome of its pending writes is unknown to it, as
        after any connection loss), the state is reloaded from disk, which holds exactly what
        was acknowledged, and writes are refused with NotReadOnly from then on.
        """
        log.error("the txn log failed (%s): serving reads only from now on", e)
        self.pipeline = None
        for c in list(self.conns.values()):
            c.abort()
        engine = new_engine(self.cfg, self.sasl_users)
        try:
            db = recover(
                str(self.cfg.data_dir / "version-2"),
                str(self.cfg.log_dir / "version-2"),
                repair_tail=False,
            )
            engine.restore(db)
        except OSError as reload_error:
            log.error("cannot reload the data directory (%s): stopping", reload_error)
            self.stop()
            return
        engine.set_read_only(True)
        self.engine = engine
        self.expiry = SessionExpiry(self.cfg.tick_time_ms)
        now = mono_ms()
        for sid, timeout in engine.session_list():
            self.expiry.add(sid, timeout, now)

    # ---- lifecycle ----
    async def start(self) -> None:
        self.open_storage()
        loop = asyncio.get_running_loop()
        sec = self.cfg.security
        if self.cfg.client_port is not None:
            plain: Callable[[], ClientConnection] = self.make_protocol
            if sec.port_unification and self.tls_context is not None:
                plain = functools.partial(self.make_tls_protocol, unified=True)
            for sock in listening_sockets(
                self.cfg.client_port_address, self.cfg.client_port, BACKLOG
            ):
                self._servers.append(await loop.create_server(plain, sock=sock, backlog=BACKLOG))
        if sec.secure_client_port is not None:
            tls_host = sec.secure_client_port_address or "0.0.0.0"
            for sock in listening_sockets(tls_host, sec.secure_client_port, BACKLOG):
                self._servers.append(
                    await loop.create_server(self.make_tls_protocol, sock=sock, backlog=BACKLOG)
                )
            log.info(
                "serving TLS on %s:%d (client certificates: %s)",
                sec.secure_client_port_address or "0.0.0.0",
                sec.secure_client_port,
                sec.tls.client_auth,
            )
        # What recovery built and dropped goes back to the OS once the listeners are up, so
        # the first sessions need not wait for it.
        loop.call_soon(release_free_memory)
        self._ticker = asyncio.create_task(self.tick())
        self._sweeper = asyncio.create_task(self.sweep_containers())
        self._purger = start_autopurge(self.cfg)
        log.info(
            "serving on %s:%s (tickTime %d ms, session timeouts %d..%d ms)",
            self.cfg.client_port_address,
            "-" if self.cfg.client_port is None else self.cfg.client_port,
            self.cfg.tick_time_ms,
            self.cfg.min_session_timeout,
            self.cfg.max_session_timeout,
        )

    def stop(self) -> None:
        self._stopped.set()

    async def run_until_stopped(self) -> None:
        await self.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        await self._stopped.wait()
        log.info("shutting down")
        await self.shutdown()

    async def shutdown(self) -> None:
        for task in (self._ticker, self._sweeper, self._purger):
            if task is not None:
                task.cancel()
        if self.pipeline is not None:
            await self.pipeline.drain()
        try:
            if self.txn_log is not None:
                self.txn_log.close()
        except OSError as e:
            log.error("closing the txn log: %s", e)
        for listener in self._servers:
            listener.close()
        for c in list(self.conns.values()):
            c.close()
        for listener in self._servers:
            await listener.wait_closed()
