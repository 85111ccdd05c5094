"""SASL DIGEST-MD5 with users from a JAAS file, the sasl ACL scheme and the switches that
require authentication, on Apache ZooKeeper and ours alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import AuthFailedError, NoAuthError
from kazoo.security import make_acl, make_digest_acl_credential

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.ports import LOOPBACK, free_port
from zkrecipes.testing.rawclient import AUTH_XID, OP_AUTH, OP_SASL, RawSession, auth_body, buffer
from zkrecipes.testing.sasl import digest_md5_login
from zkrecipes.testing.targets import ZkTarget
from zkrecipes.testing.zkcli import run_zkcli
from zkrecipes.testing.zoocfg import server_settings, write_zoo_cfg

from .sasl_setup import (
    AUTH_FAILED,
    NO_AUTH,
    SASL_PROVIDER,
    SESSION_CLOSED_REQUIRE_SASL_AUTH,
    client_jaas,
    close_quietly,
    connection_after,
    ensure_root_as,
    failed_login,
    get_error,
    jvm_props,
    raw_login,
    raw_session,
    sasl_kazoo,
    sasl_options,
    sasl_settings,
    who_am_i,
    write_server_jaas,
)
from .tls_setup import ALICE, client_context, make_pki, secure_port

FAILED_ATTEMPTS = 100


@pytest.fixture(scope="module")
def jaas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_server_jaas(tmp_path_factory.mktemp("jaas"))


def test_sasl_login_is_the_sasl_identity(differential: Differential, jaas: Path) -> None:
    """kazoo's DIGEST-MD5 login: the node's sasl ACL admits its user and the super user only."""

    def scenario(target: ZkTarget) -> object:
        bob = sasl_kazoo(target, "bob")
        bob.create("/owned", b"bob-data", acl=[make_acl("sasl", "bob", all=True)])
        seen: dict[str, object] = {
            "acl": [(a.id.scheme, a.id.id, a.perms) for a in bob.get_acls("/owned")[0]]
        }
        seen["bob"] = bob.get("/owned")[0]
        for who in ("alice", "super"):
            try:
                seen[who] = sasl_kazoo(target, who).get("/owned")[0]
            except NoAuthError:
                seen[who] = "NoAuth"
        try:
            seen["anonymous"] = target.client().get("/owned")[0]
        except NoAuthError:
            seen["anonymous"] = "NoAuth"
        raw = raw_login(target, "bob")
        try:
            seen["whoami"] = who_am_i(raw)
        finally:
            close_quietly(raw)
        return seen

    observed = differential.run_with_settings(sasl_settings(), scenario, jvm_props(jaas))
    assert observed == {
        "acl": [("sasl", "bob", 31)],
        "bob": b"bob-data",
        "alice": "NoAuth",
        "super": b"bob-data",
        "anonymous": "NoAuth",
        "whoami": [("ip", "127.0.0.1"), ("sasl", "bob")],
    }


def test_wrong_password_unknown_user_and_garbage_are_refused(
    differential: Differential, jaas: Path
) -> None:
    """Each failure is answered with AuthFailed and the connection closed; the server and a
    session that was already there carry on."""

    def scenario(target: ZkTarget) -> object:
        bystander = sasl_kazoo(target, "alice")
        bystander.create("/kept", b"still here")
        seen: dict[str, object] = {}
        try:
            sasl_kazoo(target, "bob", "not-bobs-password")
            seen["kazoo wrong password"] = "connected"
        except AuthFailedError:
            seen["kazoo wrong password"] = "AuthFailed"
        outcome, after = failed_login(target, "bob", "not-bobs-password")
        seen["wrong password"] = (outcome.result, outcome.err, after)
        outcome, after = failed_login(target, "nobody", "whatever")
        seen["unknown user"] = (outcome.result, outcome.err, after)
        for label, tokens in (
            ("garbage first token", [b"\x00garbage\xff"]),
            ("garbage response", [b"", b'username="bob",nonce="x",garbage']),
            ("binary response", [b"", bytes(range(256)) * 4]),
        ):
            raw = raw_session(target)
            errors = []
            for token in tokens:
                errors.append(raw.call(OP_SASL, buffer(token)).err)
            seen[label] = (errors[-1], connection_after(raw))
            raw.close()
        seen["bystander"] = bystander.get("/kept")[0]
        return seen

    observed = differential.run_with_settings(sasl_settings(), scenario, jvm_props(jaas))
    refused = ("failed", AUTH_FAILED, "closed")
    assert observed == {
        "kazoo wrong password": "AuthFailed",
        "wrong password": refused,
        "unknown user": refused,
        # DIGEST-MD5 has no initial response: the first token is ignored, a challenge sent.
        "garbage first token": (0, "open"),
        "garbage response": (AUTH_FAILED, "closed"),
        "binary response": (AUTH_FAILED, "closed"),
        "bystander": b"still here",
    }


def test_a_hundred_failed_logins_in_a_row_harm_no_one(
    differential: Differential, jaas: Path
) -> None:
    def scenario(target: ZkTarget) -> object:
        bystander = raw_login(target, "alice")
        outcomes = set()
        for attempt in range(FAILED_ATTEMPTS):
            outcome, after = failed_login(target, "bob", f"guess-{attempt}")
            outcomes.add((outcome.result, outcome.err, after))
        good = raw_login(target, "bob")
        seen = {
            "failures": sorted(outcomes),
            "bystander": who_am_i(bystander),
            "after them": who_am_i(good),
        }
        close_quietly(good)
        close_quietly(bystander)
        return seen

    observed = differential.run_with_settings(sasl_settings(), scenario, jvm_props(jaas))
    assert observed == {
        "failures": [("failed", AUTH_FAILED, "closed")],
        "bystander": [("ip", "127.0.0.1"), ("sasl", "alice")],
        "after them": [("ip", "127.0.0.1"), ("sasl", "bob")],
    }


def test_allow_sasl_failed_clients_keeps_the_session(
    differential: Differential, jaas: Path
) -> None:
    """allowSaslFailedClients: a failed login is answered OK without a token; the session
    stays, without a sasl identity."""

    def scenario(target: ZkTarget) -> object:
        raw = raw_session(target)
        outcome = digest_md5_login(raw, "bob", "wrong")
        seen = {"outcome": (outcome.result, outcome.err), "whoami": who_am_i(raw)}
        close_quietly(raw)
        return seen

    settings = sasl_settings(allowSaslFailedClients="true")
    observed = differential.run_with_settings(settings, scenario, jvm_props(jaas))
    assert observed == {"outcome": ("unanswered", 0), "whoami": [("ip", "127.0.0.1")]}


def test_session_require_client_sasl_auth(differential: Differential, jaas: Path) -> None:
    """sessionRequireClientSASLAuth: a session without SASL gets -124 and is closed; a SASL
    session works, and a failed login is answered with -124 too."""

    def scenario(target: ZkTarget) -> object:
        ensure_root_as(target, "bob")
        anonymous = raw_session(target)
        seen: dict[str, object] = {
            "anonymous": (get_error(anonymous, target.root), connection_after(anonymous))
        }
        anonymous.close()
        bob = raw_login(target, "bob")
        seen["bob"] = get_error(bob, target.root)
        close_quietly(bob)
        outcome, after = failed_login(target, "bob", "wrong")
        seen["wrong password"] = (outcome.result, outcome.err, after)
        return seen

    settings = sasl_settings(sessionRequireClientSASLAuth="true")
    observed = differential.run_with_settings(settings, scenario, jvm_props(jaas))
    assert observed == {
        "anonymous": (SESSION_CLOSED_REQUIRE_SASL_AUTH, "closed"),
        "bob": 0,
        "wrong password": ("failed", SESSION_CLOSED_REQUIRE_SASL_AUTH, "closed"),
    }


def test_enforce_auth_accepts_any_listed_scheme(differential: Differential, jaas: Path) -> None:
    """enforce.auth.enabled with schemes sasl and digest: either login opens the session."""

    def scenario(target: ZkTarget) -> object:
        ensure_root_as(target, "bob")
        seen: dict[str, object] = {}
        anonymous = raw_session(target)
        seen["anonymous"] = (get_error(anonymous, target.root), connection_after(anonymous))
        anonymous.close()
        digest = raw_session(target)
        seen["digest auth"] = digest.call(OP_AUTH, auth_body("digest", b"carol:pw"), AUTH_XID).err
        seen["digest"] = get_error(digest, target.root)
        close_quietly(digest)
        sasl = raw_login(target, "alice")
        seen["sasl"] = get_error(sasl, target.root)
        close_quietly(sasl)
        return seen

    settings = sasl_settings(
        **{"enforce.auth.enabled": "true", "enforce.auth.schemes": "sasl,digest"}
    )
    observed = differential.run_with_settings(settings, scenario, jvm_props(jaas))
    assert observed == {
        "anonymous": (SESSION_CLOSED_REQUIRE_SASL_AUTH, "closed"),
        "digest auth": 0,
        "digest": 0,
        "sasl": 0,
    }


def test_sasl_and_digest_acls_side_by_side(differential: Differential, jaas: Path) -> None:
    """A node readable by a sasl user and by a digest user; a session with both ids reads."""

    def scenario(target: ZkTarget) -> object:
        credential = make_digest_acl_credential("carol", "pw")
        acl = [make_acl("sasl", "bob", read=True), make_acl("digest", credential, all=True)]
        target.ensure_root()
        owner = target.client(auth_data=[("digest", "carol:pw")])
        owner.create("/shared", b"both", acl=acl)
        seen: dict[str, object] = {"bob read": sasl_kazoo(target, "bob").get("/shared")[0]}
        try:
            sasl_kazoo(target, "bob").set("/shared", b"bob writes")
            seen["bob write"] = "ok"
        except NoAuthError:
            seen["bob write"] = "NoAuth"
        raw = raw_login(target, "alice")
        seen["alice read"] = get_error(raw, target.path("shared"))
        close_quietly(raw)
        return seen

    observed = differential.run_with_settings(sasl_settings(), scenario, jvm_props(jaas))
    assert observed == {"bob read": b"both", "bob write": "NoAuth", "alice read": NO_AUTH}


def test_java_cli_logs_in_with_its_client_jaas(
    differential: Differential, jaas: Path, tmp_path: Path
) -> None:
    """Apache's zkCli.sh with a JAAS "Client" section: DIGEST-MD5 as the Java client runs it."""
    client_conf = client_jaas(tmp_path, "bob")

    def scenario(target: ZkTarget) -> object:
        target.ensure_root()
        node = f"{target.root}/cli"
        result = run_zkcli(
            target.hosts,
            script=f"create {node} sasl-data sasl:bob:cdrwa\nget {node}\ngetAcl {node}\n"
            "whoami\nquit\n",
            root=target.root,
            jvm_props={"java.security.auth.login.config": str(client_conf)},
        )
        return [line for line in result.stdout if line.strip()]

    observed = differential.run_with_settings(sasl_settings(), scenario, jvm_props(jaas))
    assert "sasl-data" in observed
    assert "'sasl,'bob" in observed
    assert "sasl: bob" in observed


def _run_ours(tmp_path: Path, jaas_text: str) -> subprocess.CompletedProcess[str]:
    jaas = write_server_jaas(tmp_path, jaas_text)
    cfg = tmp_path / "zoo.cfg"
    write_zoo_cfg(cfg, server_settings(tmp_path / "data", 1, sasl_settings()))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "zkserver",
            "--config",
            str(cfg),
            "--set",
            f"java.security.auth.login.config={jaas}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("jaas_text", "message"),
    [
        (
            "Server {\n  com.sun.security.auth.module.Krb5LoginModule required\n"
            '  useKeyTab=true keyTab="/etc/zk.keytab" principal="zookeeper/host";\n};\n',
            "Kerberos",
        ),
        (
            "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
            '  user_bob="x"\n};\n',
            "line 4",
        ),
    ],
)
def test_unusable_jaas_stops_our_server(tmp_path: Path, jaas_text: str, message: str) -> None:
    """Ours only: Kerberos is not supported and says so at start-up, and a syntax error names
    its line. (Apache fails later, at its first Kerberos login or when it reads the file.)"""
    done = _run_ours(tmp_path, jaas_text)
    assert done.returncode == 2, done.stderr
    assert "configuration error" in done.stderr and message in done.stderr
    assert "jaas.conf" in done.stderr


def test_readme_tls_and_sasl_example(
    differential: Differential, jaas: Path, tmp_path: Path
) -> None:
    """The README's zoo.cfg (TLS with client certificates, SASL required) and jaas.conf, with
    only paths, ports, user names and subjects changed: kazoo over TLS with DIGEST-MD5 gets
    in; a session without SASL, plaintext or TLS, is refused with -124."""
    pki = make_pki(tmp_path)

    def settings(_name: str) -> dict[str, str | int]:
        return {
            "secureClientPort": free_port(),
            "secureClientPortAddress": LOOPBACK,
            "serverCnxnFactory": "org.apache.zookeeper.server.NettyServerCnxnFactory",
            "ssl.keyStore.location": str(pki.server_keystore()),
            "ssl.keyStore.type": "PEM",
            "ssl.trustStore.location": str(pki.truststore()),
            "ssl.trustStore.type": "PEM",
            "ssl.clientAuth": "need",
            "authProvider.1": SASL_PROVIDER,
            "authProvider.2": "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
            "sessionRequireClientSASLAuth": "true",
            "superUser": "super",
            "X509AuthenticationProvider.superUser": ALICE,
        }

    def scenario(target: ZkTarget) -> object:
        cert, key = pki.client_files("bob")
        client = KazooClient(
            hosts=f"{LOOPBACK}:{secure_port(target)}",
            use_ssl=True,
            ca=str(pki.truststore()),
            certfile=str(cert),
            keyfile=str(key),
            verify_certs=True,
            sasl_options=sasl_options("bob"),
            timeout=4.0,
        )
        client.start(timeout=15)
        try:
            client.ensure_path(target.root)
            node = f"{target.root}/secured"
            client.create(node, b"tls+sasl", acl=[make_acl("sasl", "bob", all=True)])
            seen: dict[str, object] = {"data": client.get(node)[0]}
        finally:
            client.stop()
            client.close()
        plain = raw_session(target)
        seen["plaintext, no SASL"] = (get_error(plain, node), connection_after(plain))
        plain.close()
        tls_only = RawSession(LOOPBACK, secure_port(target), tls=client_context(pki, "bob"))
        tls_only.connect()
        seen["TLS, no SASL"] = (get_error(tls_only, node), connection_after(tls_only))
        tls_only.close()
        return seen

    observed = differential.run_with_settings(settings, scenario, jvm_props(jaas))
    refused = (SESSION_CLOSED_REQUIRE_SASL_AUTH, "closed")
    assert observed == {
        "data": b"tls+sasl",
        "plaintext, no SASL": refused,
        "TLS, no SASL": refused,
    }
