"""The security keys of zoo.cfg: both spellings Apache accepts, and clear errors."""

from pathlib import Path

import pytest

from zkserver.config import ConfigError, ServerConfig, parse_zoo_cfg


def parse(text: str) -> ServerConfig:
    return parse_zoo_cfg("dataDir=/tmp/zk\n" + text)


def test_tls_keys_in_both_spellings() -> None:
    cfg = parse(
        "secureClientPort=2281\n"
        "ssl.keyStore.location=/k.p12\n"
        "zookeeper.ssl.trustStore.location=/t.jks\n"
        "ssl.trustStore.type=jks\n"
        "ssl.clientAuth=want\n"
        "ssl.enabledProtocols=TLSv1.2, TLSv1.3\n"
        "zookeeper.authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"
        "enforceQuota=true\n"
    )
    sec = cfg.security
    assert sec.secure_client_port == 2281
    assert sec.tls.key_store_location == Path("/k.p12")
    assert sec.tls.trust_store_location == Path("/t.jks")
    assert sec.tls.trust_store_type == "JKS"
    assert sec.tls.client_auth == "want"
    assert sec.tls.enabled_protocols == ("TLSv1.2", "TLSv1.3")
    # A secure port registers the x509 provider by itself, as Apache's configureSSLAuth does.
    assert sec.auth_providers == {"sasl", "x509"}
    assert sec.enforce_quota is True
    # clientPort is not given: only the secure port is served.
    assert cfg.client_port is None


def test_secure_port_alone_serves_no_plaintext_port() -> None:
    cfg = parse("secureClientPort=2281\nssl.keyStore.location=/k.pem\n")
    assert cfg.client_port is None
    both = parse("clientPort=2181\nsecureClientPort=2281\nssl.keyStore.location=/k.pem\n")
    assert both.client_port == 2181


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ssl.clientAuth=sometimes", "line 2: ssl.clientAuth: expected one of none, want, need"),
        ("ssl.keyStore.type=BCFKS", "line 2: ssl.keyStore.type: expected one of JKS, PKCS12, PEM"),
        ("authProvider.1=com.example.Custom", "line 2: authProvider.1: unsupported"),
        ("ssl.crl=true", "line 2: ssl.crl: certificate revocation lists"),
        ("secureClientPort=2281", "ssl.keyStore.location: is required when secureClientPort"),
        ("enforce.auth.enabled=true", "enforce.auth.enabled: is true but enforce.auth.schemes"),
        (
            "enforce.auth.enabled=true\nenforce.auth.schemes=sasl",
            "enforce.auth.schemes: authentication scheme sasl is not available",
        ),
        (
            "secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.authProvider=custom",
            "ssl.authProvider: no auth provider configured",
        ),
    ],
)
def test_bad_security_settings_name_the_key(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(line + "\n")
    assert message in str(info.value)
