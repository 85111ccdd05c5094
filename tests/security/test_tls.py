"""TLS on secureClientPort and the x509 ACL scheme, on Apache ZooKeeper and ours alike."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from kazoo.exceptions import NoAuthError
from kazoo.security import make_acl

from zkrecipes.testing.certs import keytool_available
from zkrecipes.testing.differential import Differential
from zkrecipes.testing.handshake import connect_request, frame
from zkrecipes.testing.ports import LOOPBACK
from zkrecipes.testing.targets import ZkTarget
from zkrecipes.testing.zkcli import run_zkcli

from .tls_setup import (
    ALICE,
    BOB,
    STORE_PASSWORD,
    Pki,
    connection_state_after,
    handshake_outcome,
    make_pki,
    secure_port,
    secure_settings,
    tls_kazoo,
    who_am_i,
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_client_certificate_is_the_x509_identity(differential: Differential, pki: Pki) -> None:
    def scenario(target: ZkTarget) -> object:
        zk = tls_kazoo(pki, target, "alice")
        try:
            zk.create("/tls", b"over tls")
            data = zk.get("/tls")[0]
        finally:
            zk.stop()
            zk.close()
        return data, who_am_i(pki, target, "alice")

    observed = differential.run_with_settings(secure_settings(pki, "need"), scenario)
    assert observed == (b"over tls", [("ip", "127.0.0.1"), ("x509", ALICE)])


def test_need_refuses_a_client_without_certificate(differential: Differential, pki: Pki) -> None:
    def scenario(target: ZkTarget) -> object:
        refused = handshake_outcome(pki, target, None)
        # The refusal harms no one: plaintext and TLS clients go on working.
        plain = target.client()
        plain.create("/after", b"x")
        return refused, handshake_outcome(pki, target, "bob"), plain.exists("/after") is not None

    observed = differential.run_with_settings(secure_settings(pki, "need"), scenario)
    assert observed == ("refused", "session", True)


def test_want_makes_the_certificate_optional(differential: Differential, pki: Pki) -> None:
    def scenario(target: ZkTarget) -> object:
        anonymous = tls_kazoo(pki, target, None)  # kazoo over TLS without a certificate
        try:
            anonymous.create("/anon", b"no cert")
            data = anonymous.get("/anon")[0]
        finally:
            anonymous.stop()
            anonymous.close()
        return data, who_am_i(pki, target, None), who_am_i(pki, target, "bob")

    observed = differential.run_with_settings(secure_settings(pki, "want"), scenario)
    # Identities come in the iteration order of Apache's hash set.
    assert observed == (
        b"no cert",
        [("ip", "127.0.0.1")],
        [("x509", BOB), ("ip", "127.0.0.1")],
    )


def test_none_asks_for_no_certificate(differential: Differential, pki: Pki) -> None:
    def scenario(target: ZkTarget) -> object:
        return who_am_i(pki, target, "alice")

    observed = differential.run_with_settings(secure_settings(pki, "none"), scenario)
    assert observed == [("ip", "127.0.0.1")]


def test_untrusted_and_expired_certificates_are_refused(
    differential: Differential, pki: Pki
) -> None:
    def scenario(target: ZkTarget) -> object:
        return [handshake_outcome(pki, target, who) for who in ("stranger", "expired", "alice")]

    observed = differential.run_with_settings(secure_settings(pki, "want"), scenario)
    assert observed == ["refused", "refused", "session"]


def test_port_unification_serves_tls_and_plaintext_on_one_port(
    differential: Differential, pki: Pki
) -> None:
    def scenario(target: ZkTarget) -> object:
        plain = target.client()
        plain.create("/unified", b"plain")
        return who_am_i(pki, target, "alice", port=target.port), plain.get("/unified")[0]

    settings = secure_settings(pki, "need", **{"client.portUnification": "true"})
    observed = differential.run_with_settings(settings, scenario)
    assert observed == ([("ip", "127.0.0.1"), ("x509", ALICE)], b"plain")


def test_x509_acl_grants_and_denies(differential: Differential, pki: Pki) -> None:
    def scenario(target: ZkTarget) -> object:
        alice = tls_kazoo(pki, target, "alice")
        bob = tls_kazoo(pki, target, "bob")
        plain = target.client()
        try:
            alice.create("/mine", b"alice's", acl=[make_acl("x509", ALICE, all=True)])
            outcomes = {"alice": alice.get("/mine")[0]}
            for name, client in (("bob", bob), ("plain", plain)):
                try:
                    outcomes[name] = client.get("/mine")[0]
                except NoAuthError:
                    outcomes[name] = b"NoAuth"
            acl = alice.get_acls("/mine")[0]
            return outcomes, [(a.perms, a.id.scheme, a.id.id) for a in acl]
        finally:
            for c in (alice, bob):
                c.stop()
                c.close()

    observed = differential.run_with_settings(secure_settings(pki, "need"), scenario)
    assert observed == (
        {"alice": b"alice's", "bob": b"NoAuth", "plain": b"NoAuth"},
        [(31, "x509", ALICE)],
    )


def test_x509_super_user_passes_every_acl(differential: Differential, pki: Pki) -> None:
    def scenario(target: ZkTarget) -> object:
        alice = tls_kazoo(pki, target, "alice")
        bob = tls_kazoo(pki, target, "bob")
        try:
            alice.create("/mine", b"alice's", acl=[make_acl("x509", ALICE, read=True)])
            return bob.get("/mine")[0], who_am_i(pki, target, "bob")
        finally:
            for c in (alice, bob):
                c.stop()
                c.close()

    settings = secure_settings(pki, "need", **{"X509AuthenticationProvider.superUser": BOB})
    observed = differential.run_with_settings(settings, scenario)
    # whoAmI has no user name for "super" (no provider of that scheme), in both servers.
    assert observed == (b"alice's", [("super", ""), ("x509", BOB), ("ip", "127.0.0.1")])


def test_plaintext_client_on_the_tls_port_is_refused(differential: Differential, pki: Pki) -> None:
    def scenario(target: ZkTarget) -> object:
        with socket.create_connection((LOOPBACK, secure_port(target)), timeout=10) as sock:
            sock.sendall(frame(connect_request(4000, 0, bytes(16), 0, False)))
            got = connection_state_after(sock, 10.0)
        return got, handshake_outcome(pki, target, "alice")

    observed = differential.run_with_settings(secure_settings(pki, "need"), scenario)
    assert observed == ("closed", "session")


def test_stalled_handshake_harms_no_one(differential: Differential, pki: Pki) -> None:
    """A client that opens the TLS port and never finishes its handshake holds nothing up."""

    def scenario(target: ZkTarget) -> object:
        with socket.create_connection((LOOPBACK, secure_port(target)), timeout=10) as stalled:
            # Half a TLS record header, then silence.
            stalled.sendall(b"\x16\x03")
            outcome = handshake_outcome(pki, target, "alice")
            zk = tls_kazoo(pki, target, "bob")
            zk.create("/busy", b"")
            zk.stop()
            zk.close()
        return outcome

    observed = differential.run_with_settings(secure_settings(pki, "need"), scenario)
    assert observed == "session"


def test_our_server_ends_a_stalled_handshake(pki: Pki, differential: Differential) -> None:
    """Ours closes a handshake that has not completed after ten seconds (Netty's default
    handshake timeout)."""
    if "ours" not in differential.servers:
        pytest.skip("runs only against our server (ZKR_TARGETS excludes it)")

    def scenario(target: ZkTarget) -> object:
        with socket.create_connection((LOOPBACK, secure_port(target)), timeout=30) as stalled:
            stalled.sendall(b"\x16\x03")
            return connection_state_after(stalled, 30.0)

    ours = {"ours": differential.servers["ours"]}
    only_ours = Differential(ours, differential.root, differential._server_factory)
    assert only_ours.run_with_settings(secure_settings(pki, "need"), scenario) == "closed"


@pytest.mark.skipif(
    not keytool_available(), reason="keytool (Java) makes the JKS and PKCS12 stores"
)
@pytest.mark.parametrize("kind", ["JKS", "PKCS12"])
def test_java_key_and_trust_stores(differential: Differential, pki: Pki, kind: str) -> None:
    directory = pki.directory
    keystore = pki.server.write_keystore(directory, f"server-{kind}", kind, STORE_PASSWORD)
    truststore = pki.ca.write_truststore(directory, f"trust-{kind}", kind, STORE_PASSWORD)
    settings = secure_settings(
        pki,
        "need",
        **{
            "ssl.keyStore.location": str(keystore),
            "ssl.keyStore.password": STORE_PASSWORD,
            "ssl.keyStore.type": kind,
            "ssl.trustStore.location": str(truststore),
            "ssl.trustStore.password": STORE_PASSWORD,
            "ssl.trustStore.type": kind,
        },
    )

    def scenario(target: ZkTarget) -> object:
        return who_am_i(pki, target, "alice"), handshake_outcome(pki, target, "stranger")

    observed = differential.run_with_settings(settings, scenario)
    assert observed == ([("ip", "127.0.0.1"), ("x509", ALICE)], "refused")


def test_encrypted_pem_key_store(differential: Differential, pki: Pki, tmp_path: Path) -> None:
    keystore = pki.server.write_pem(tmp_path, "server-encrypted", password=STORE_PASSWORD)
    settings = secure_settings(
        pki,
        "need",
        **{"ssl.keyStore.location": str(keystore), "ssl.keyStore.password": STORE_PASSWORD},
    )
    observed = differential.run_with_settings(
        settings, lambda target: handshake_outcome(pki, target, "bob")
    )
    assert observed == "session"


def test_java_cli_over_tls(differential: Differential, pki: Pki, tmp_path: Path) -> None:
    """Apache's own zkCli.sh with its Netty socket and TLS properties."""
    keystore = pki.alice.write_pem(tmp_path, "alice-java")

    def scenario(target: ZkTarget) -> object:
        target.ensure_root()
        result = run_zkcli(
            f"{LOOPBACK}:{secure_port(target)}",
            script=f"create {target.root}/cli tls-data\nget {target.root}/cli\nwhoami\nquit\n",
            root=target.root,
            jvm_props={
                "zookeeper.client.secure": "true",
                "zookeeper.clientCnxnSocket": "org.apache.zookeeper.ClientCnxnSocketNetty",
                "zookeeper.ssl.keyStore.location": str(keystore),
                "zookeeper.ssl.keyStore.type": "PEM",
                "zookeeper.ssl.trustStore.location": str(pki.truststore()),
                "zookeeper.ssl.trustStore.type": "PEM",
            },
        )
        return [line for line in result.stdout if line.strip()]

    observed = differential.run_with_settings(secure_settings(pki, "need"), scenario)
    assert "tls-data" in observed
    assert f"x509: {ALICE}" in observed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"ssl.keyStore.location": "/nonexistent/server.pem"}, "ssl.keyStore.location"),
        ({"ssl.keyStore.password": "wrong"}, "ssl.keyStore"),
        ({"ssl.ciphersuites": "TLS_NO_SUCH_SUITE"}, "ssl.ciphersuites"),
        ({"ssl.enabledProtocols": "SSLv3"}, "ssl.enabledProtocols"),
    ],
)
def test_bad_tls_settings_stop_our_server_with_the_key(
    pki: Pki, tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    import subprocess
    import sys

    from zkrecipes.testing.zoocfg import server_settings, write_zoo_cfg

    encrypted = pki.server.write_pem(tmp_path, "enc", password=STORE_PASSWORD)
    settings = secure_settings(pki, "need", **{"ssl.keyStore.location": str(encrypted)})("ours")
    settings["ssl.keyStore.password"] = STORE_PASSWORD
    settings.update(extra)
    cfg = tmp_path / "zoo.cfg"
    write_zoo_cfg(cfg, server_settings(tmp_path / "data", 1, settings))
    done = subprocess.run(
        [sys.executable, "-m", "zkserver", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "configuration error" in done.stderr and message in done.stderr


def test_tls_session_carries_large_replies(differential: Differential, pki: Pki) -> None:
    """Replies spanning many TLS records arrive whole and in order."""

    def scenario(target: ZkTarget) -> object:
        zk = tls_kazoo(pki, target, "alice")
        try:
            big = bytes(range(256)) * 2000  # 512,000 bytes: about 32 TLS records
            zk.create("/big", big)
            return [zk.get("/big")[0] == big for _ in range(5)]
        finally:
            zk.stop()
            zk.close()

    observed = differential.run_with_settings(secure_settings(pki, "need"), scenario)
    assert observed == [True] * 5


def test_refused_handshakes_show_in_mntr(differential: Differential, pki: Pki) -> None:
    def scenario(target: ZkTarget) -> object:
        outcomes = [handshake_outcome(pki, target, who) for who in (None, "stranger", "alice")]
        mntr = dict(
            line.split("\t", 1) for line in target.four_letter("mntr").splitlines() if "\t" in line
        )
        keys = ("zk_unsuccessful_handshake", "zk_auth_failed_count", "zk_outstanding_tls_handshake")
        return outcomes, {k: mntr[k] for k in keys}

    observed = differential.run_with_settings(secure_settings(pki, "need"), scenario)
    assert observed == (
        ["refused", "refused", "session"],
        {
            "zk_unsuccessful_handshake": "2",
            "zk_auth_failed_count": "2",
            "zk_outstanding_tls_handshake": "0",
        },
    )
