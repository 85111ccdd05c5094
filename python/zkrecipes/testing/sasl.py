"""SASL DIGEST-MD5 over a raw session, as the Java client and kazoo run it (opcode 102)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from zkrecipes.testing.rawclient import OP_SASL, RawSession, Reader, buffer

# Both clients use this fixed server name for DIGEST-MD5; it is the digest-uri's host part.
DIGEST_SERVER_NAME = "zk-sasl-md5"
SERVICE = "zookeeper"
MAX_ROUNDS = 5


@dataclass(frozen=True)
class SaslOutcome:
    """How an exchange ended: "authenticated"; "failed" (a non-zero error code, in `err`);
    "unanswered" (an OK reply without a token before the client was done: the server has no
    SASL, or lets a failed client stay); "closed" (closed without an error reply)."""

    result: str
    err: int = 0
    rounds: int = 0


def sasl_request(raw: RawSession, token: bytes) -> tuple[int, bytes | None]:
    """One SASL request: the reply's error code and the server's token."""
    reply = raw.call(OP_SASL, buffer(token))
    if reply.err != 0:
        return reply.err, None
    return 0, Reader(reply.body).read_buffer()


def digest_md5_login(raw: RawSession, username: str, password: str) -> SaslOutcome:
    """Run the DIGEST-MD5 exchange on a connected session, the way kazoo does it."""
    from puresasl.client import SASLClient

    client = SASLClient(
        DIGEST_SERVER_NAME,
        service=SERVICE,
        mechanism="DIGEST-MD5",
        username=username,
        password=password,
    )
    token: bytes = client.process(None) or b""
    for rounds in range(1, MAX_ROUNDS + 1):
        try:
            err, challenge = sasl_request(raw, token)
        except (ConnectionError, OSError, EOFError, struct.error):
            return SaslOutcome("closed", rounds=rounds)
        if err != 0:
            return SaslOutcome("failed", err, rounds)
        if challenge is None:
            return SaslOutcome("unanswered", rounds=rounds)
        token = client.process(challenge) or b""
        if client.complete:
            return SaslOutcome("authenticated", rounds=rounds)
    return SaslOutcome("failed", rounds=MAX_ROUNDS)
