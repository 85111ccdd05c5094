"""A client connection over TLS, driven through memory BIOs.

Running TLS here rather than in the event loop's transport lets the server log a refused
handshake once with its reason (asyncio drops it silently), bound the handshake in time, detect
TLS on a unified port by its first byte, and read the client certificate before the connection
reaches the engine, where Apache adds the x509 identity.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import TYPE_CHECKING

from zkserver.security_settings import SecuritySettings
from zkserver.tls import subject_id

if TYPE_CHECKING:
    from zkserver.server import ClientConnection, ZooKeeperServer
else:  # the base class is needed at run time; server.py imports this module lazily
    from zkserver.server import ClientConnection

log = logging.getLogger("zkserver.tls")

TLS_HANDSHAKE_RECORD = 0x16
READ_CHUNK = 256 * 1024
# Netty's SslHandler gives a handshake ten seconds, Apache keeps that default.
HANDSHAKE_TIMEOUT_S = 10.0


class TlsConnection(ClientConnection):
    """TLS on the secure port; with `unified`, TLS or plaintext by the first byte."""

    def __init__(
        self,
        server: ZooKeeperServer,
        conn_id: int,
        context: ssl.SSLContext,
        security: SecuritySettings,
        unified: bool = False,
    ) -> None:
        super().__init__(server, conn_id)
        self.context = context
        self.security = security
        self.unified = unified
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls: ssl.SSLObject | None = None
        self.established = False
        self.plaintext = False
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.attach(transport)
        if self.unified:
            # Apache's ssl.handshakeDetectionTimeoutMillis: a client silent that long is taken
            # for a plaintext one.
            wait_s = self.security.tls.handshake_timeout_ms / 1000
            self.timer = asyncio.get_running_loop().call_later(wait_s, self.detection_timed_out)
        else:
            self.start_handshake_timer()

    def start_handshake_timer(self) -> None:
        self.cancel_timer()
        self.timer = asyncio.get_running_loop().call_later(HANDSHAKE_TIMEOUT_S, self.timed_out)

    def detection_timed_out(self) -> None:
        self.timer = None
        if self.tls is None and not self.plaintext and not self.closing:
            self.plaintext = True
            self.server.accept(self)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if self.plaintext:
            super().data_received(data)
            return
        if self.tls is None:
            if self.unified and data and data[0] != TLS_HANDSHAKE_RECORD:
                self.plaintext = True
                self.cancel_timer()
                self.server.accept(self)
                super().data_received(data)
                return
            self.tls = self.context.wrap_bio(self.incoming, self.outgoing, server_side=True)
            self.server.tls_counters["in_progress"] += 1
            if self.unified:
                self.start_handshake_timer()
        self.incoming.write(data)
        if not self.established and not self.handshake():
            return
        self.read_plaintext()

    def handshake(self) -> bool:
        assert self.tls is not None
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            self.flush()
            return False
        except (ssl.SSLError, ssl.CertificateError) as e:
            self.flush()  # the alert tells the client why
            self.refuse(f"TLS handshake failed: {getattr(e, 'reason', None) or e}")
            return False
        self.flush()
        self.established = True
        self.server.tls_counters["in_progress"] -= 1
        self.cancel_timer()
        if self.authenticate():
            self.server.accept(self)
        return not self.closing

    def authenticate(self) -> bool:
        """Apache's CertificateVerifier: when a certificate was asked for and given, the x509
        provider named by ssl.authProvider must exist and turns its subject into an id."""
        assert self.tls is not None
        tls = self.security.tls
        if tls.client_auth == "none":
            return True
        der = self.tls.getpeercert(binary_form=True)
        if der is None:
            return True  # "want" and no certificate: no identity
        if tls.auth_provider != "x509" or "x509" not in self.security.auth_providers:
            self.refuse(f"X509 Auth provider not found: {tls.auth_provider}")
            return False
        self.identities = [("x509", subject_id(der))]
        if self.identities[0][1] == self.security.x509_super_user:
            self.identities.insert(0, ("super", self.identities[0][1]))
        return True

    def read_plaintext(self) -> None:
        assert self.tls is not None
        chunks = []
        while True:
            try:
                chunk = self.tls.read(READ_CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.close()
                break
            except ssl.SSLError as e:
                self.refuse(f"TLS error: {e.reason or e}")
                return
            if not chunk:
                break
            chunks.append(chunk)
        self.flush()  # renegotiation or key updates may want to answer
        if chunks and not self.closing:
            super().data_received(b"".join(chunks))

    def write(self, data: bytes) -> None:
        if self.tls is None or self.plaintext:
            super().write(data)
            return
        if self.closing:
            return
        view = memoryview(data)
        try:
            while view:
                view = view[self.tls.write(view) :]
        except ssl.SSLError as e:
            self.refuse(f"TLS error while sending: {e.reason or e}")
            return
        self.flush()

    def flush(self) -> None:
        pending = self.outgoing.read()
        if pending:
            super().write(pending)

    def close(self) -> None:
        if self.tls is not None and self.established and not self.closing:
            with contextlib.suppress(ssl.SSLError):
                self.tls.unwrap()  # close_notify
            self.flush()
        self.cancel_timer()
        super().close()

    def refuse(self, why: str) -> None:
        """Closes a connection that never became a session, with one log line."""
        log.warning("refusing connection from %s: %s", self.peer, why)
        if not self.established:
            self.server.tls_counters["failed"] += 1
            self.handshake_over()
        self.cancel_timer()
        super().close()

    def handshake_over(self) -> None:
        """Leaves the count of handshakes in progress (once)."""
        if self.tls is not None and not self.established:
            self.established = True  # nothing more to wait for
            self.server.tls_counters["in_progress"] -= 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_timer()
        self.handshake_over()
        super().connection_lost(exc)

    def timed_out(self) -> None:
        self.timer = None
        if not self.established and not self.plaintext and not self.closing:
            self.refuse(f"no TLS handshake within {HANDSHAKE_TIMEOUT_S:g} s")

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
