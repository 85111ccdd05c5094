"""The security keys of zoo.cfg (TLS, SASL, x509, enforced authentication, quotas).

Apache reads most of these as Java system properties: a zoo.cfg key it does not know becomes
``zookeeper.<key>``, so ``ssl.keyStore.location`` in zoo.cfg and
``-Dzookeeper.ssl.keyStore.location`` on the command line mean the same. Both spellings are
accepted here (see `canonical_key`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Apache's provider classes, by the ACL scheme each one serves.
PROVIDER_CLASSES = {
    "org.apache.zookeeper.server.auth.SASLAuthenticationProvider": "sasl",
    "org.apache.zookeeper.server.auth.X509AuthenticationProvider": "x509",
    "org.apache.zookeeper.server.auth.DigestAuthenticationProvider": "digest",
    "org.apache.zookeeper.server.auth.IPAuthenticationProvider": "ip",
}
CLIENT_AUTH_MODES = ("none", "want", "need")
STORE_TYPES = ("JKS", "PKCS12", "PEM")


@dataclass
class TlsSettings:
    """``ssl.*``: the client-port TLS context, as Apache's ClientX509Util reads it."""

    key_store_location: Path | None = None
    key_store_password: str = ""
    key_store_password_path: Path | None = None
    key_store_type: str | None = None
    trust_store_location: Path | None = None
    trust_store_password: str = ""
    trust_store_password_path: Path | None = None
    trust_store_type: str | None = None
    # Apache's default when ssl.clientAuth is unset is "need".
    client_auth: str = "need"
    protocol: str | None = None
    enabled_protocols: tuple[str, ...] = ()
    ciphersuites: tuple[str, ...] = ()
    hostname_verification: bool = True
    handshake_timeout_ms: int = 5000
    auth_provider: str = "x509"
    crl: bool = False
    ocsp: bool = False


@dataclass
class SecuritySettings:
    secure_client_port: int | None = None
    secure_client_port_address: str | None = None
    port_unification: bool = False
    tls: TlsSettings = field(default_factory=TlsSettings)
    # Schemes registered by authProvider.N (ip and digest are always there).
    auth_providers: set[str] = field(default_factory=set)
    # The JAAS file and the section of it the server reads (java.security.auth.login.config,
    # zookeeper.sasl.serverconfig).
    jaas_config: Path | None = None
    jaas_section: str = "Server"
    sasl_super_user: str | None = None
    # zookeeper.superUser.N: more SASL super users (Apache accepts any such suffix).
    sasl_extra_super_users: set[str] = field(default_factory=set)
    # zookeeper.SASLAuthenticationProvider.superPassword: the password of the JAAS user "super".
    sasl_super_password: str | None = None
    # zookeeper.letAnySaslUserDoX: a sasl ACL with this id matches every SASL user.
    sasl_any_user_acl: str | None = None
    x509_super_user: str | None = None
    allow_sasl_failed_clients: bool = False
    session_require_client_sasl_auth: bool = False
    enforce_auth_enabled: bool = False
    enforce_auth_schemes: tuple[str, ...] = ()
    enforce_quota: bool = False

    def sasl_super_users(self) -> list[str]:
        """Every SASL id that is a super user (ZooKeeperServer.isSaslSuperUser)."""
        users = set(self.sasl_extra_super_users)
        if self.sasl_super_user is not None:
            users.add(self.sasl_super_user)
        return sorted(users)

    def effective_enforce_auth_schemes(self) -> tuple[str, ...]:
        """Apache's AuthenticationHelper: sessionRequireClientSASLAuth means "sasl" only."""
        if self.session_require_client_sasl_auth:
            return ("sasl",)
        return self.enforce_auth_schemes if self.enforce_auth_enabled else ()

    def validate(self) -> None:
        """Raises SecurityConfigError naming the key of an inconsistent setting.

        Like Apache's QuorumPeerConfig.configureSSLAuth, a secure client port registers the
        x509 provider by itself when ssl.authProvider is left at "x509".
        """
        if self.secure_client_port is not None and self.tls.auth_provider not in (
            self.auth_providers
        ):
            if self.tls.auth_provider != "x509":
                raise SecurityConfigError(
                    "ssl.authProvider",
                    "no auth provider configured for the SSL authentication scheme "
                    f"{self.tls.auth_provider!r}",
                )
            self.auth_providers.add("x509")
        schemes = self.effective_enforce_auth_schemes()
        if self.enforce_auth_enabled and not schemes:
            raise SecurityConfigError(
                "enforce.auth.enabled", "is true but enforce.auth.schemes is not configured"
            )
        for scheme in schemes:
            if scheme not in ({"ip", "digest"} | self.auth_providers):
                raise SecurityConfigError(
                    "enforce.auth.schemes",
                    f"authentication scheme {scheme} is not available "
                    "(register its provider with authProvider.N)",
                )
        if self.secure_client_port is not None and self.tls.key_store_location is None:
            raise SecurityConfigError(
                "ssl.keyStore.location", "is required when secureClientPort is set"
            )


class SecurityConfigError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _flag(v: str) -> bool:
    # Java's Boolean.parseBoolean: "true" in any case is true, anything else false.
    return v.strip().lower() == "true"


def _strict_flag(v: str) -> bool:
    low = v.strip().lower()
    if low not in ("true", "false"):
        raise ValueError(f"expected true or false, got {v!r}")
    return low == "true"


def _choice(options: tuple[str, ...], upper: bool = False) -> Callable[[str], str]:
    def parse(v: str) -> str:
        value = v.strip().upper() if upper else v.strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {v!r}")
        return value

    return parse


def _list(v: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in v.split(",") if item.strip())


def _port(v: str) -> int:
    n = int(v)
    if not 1 <= n <= 65535:
        raise ValueError(f"{n} is not a port number")
    return n


def _positive(v: str) -> int:
    n = int(v)
    if n <= 0:
        raise ValueError(f"{n} must be positive")
    return n


def _provider(v: str) -> str:
    scheme = PROVIDER_CLASSES.get(v.strip())
    if scheme is None:
        raise ValueError(
            f"unsupported authentication provider {v!r}; supported: "
            + ", ".join(sorted(PROVIDER_CLASSES))
        )
    return scheme


def _unsupported(what: str) -> Callable[[str], object]:
    """A switch this server cannot honour: accepted when off, an error when on."""

    def parse(v: str) -> object:
        if _flag(v):
            raise ValueError(f"{what} is not supported by this server")
        return False

    return parse


# zoo.cfg key -> (dotted attribute of SecuritySettings, parser).
SECURITY_KEYS: dict[str, tuple[str, Callable[[str], object]]] = {
    "secureClientPort": ("secure_client_port", _port),
    "secureClientPortAddress": ("secure_client_port_address", str.strip),
    "client.portUnification": ("port_unification", _flag),
    "ssl.keyStore.location": ("tls.key_store_location", Path),
    "ssl.keyStore.password": ("tls.key_store_password", str),
    "ssl.keyStore.passwordPath": ("tls.key_store_password_path", Path),
    "ssl.keyStore.type": ("tls.key_store_type", _choice(STORE_TYPES, upper=True)),
    "ssl.trustStore.location": ("tls.trust_store_location", Path),
    "ssl.trustStore.password": ("tls.trust_store_password", str),
    "ssl.trustStore.passwordPath": ("tls.trust_store_password_path", Path),
    "ssl.trustStore.type": ("tls.trust_store_type", _choice(STORE_TYPES, upper=True)),
    "ssl.clientAuth": ("tls.client_auth", _choice(CLIENT_AUTH_MODES)),
    "ssl.protocol": ("tls.protocol", str.strip),
    "ssl.enabledProtocols": ("tls.enabled_protocols", _list),
    "ssl.ciphersuites": ("tls.ciphersuites", _list),
    "ssl.hostnameVerification": ("tls.hostname_verification", _strict_flag),
    "ssl.handshakeDetectionTimeoutMillis": ("tls.handshake_timeout_ms", _positive),
    "ssl.authProvider": ("tls.auth_provider", str.strip),
    "ssl.crl": ("tls.crl", _unsupported("certificate revocation lists (ssl.crl)")),
    "ssl.ocsp": ("tls.ocsp", _unsupported("OCSP (ssl.ocsp)")),
    "java.security.auth.login.config": ("jaas_config", Path),
    "sasl.serverconfig": ("jaas_section", str.strip),
    "superUser": ("sasl_super_user", str.strip),
    "SASLAuthenticationProvider.superPassword": ("sasl_super_password", str),
    "letAnySaslUserDoX": ("sasl_any_user_acl", str.strip),
    "X509AuthenticationProvider.superUser": ("x509_super_user", str.strip),
    "allowSaslFailedClients": ("allow_sasl_failed_clients", _flag),
    "sessionRequireClientSASLAuth": ("session_require_client_sasl_auth", _flag),
    "enforce.auth.enabled": ("enforce_auth_enabled", _flag),
    "enforce.auth.schemes": ("enforce_auth_schemes", _list),
    "enforceQuota": ("enforce_quota", _flag),
}

# Keys with a free suffix, like authProvider.N.
SUFFIXED_PREFIXES = ("authProvider.", "superUser.")

# Accepted and ignored: they tune parts of Apache this server does not have.
IGNORED_PREFIXES = ("ssl.quorum.", "kerberos.", "ssl.sslProvider", "sslQuorum")


def canonical_key(key: str) -> str:
    """``zookeeper.X`` (a system property) names the same setting as zoo.cfg's ``X``."""
    if key.startswith("zookeeper."):
        rest = key[len("zookeeper.") :]
        if rest in SECURITY_KEYS or rest.startswith(SUFFIXED_PREFIXES):
            return rest
    return key


def is_security_key(key: str) -> bool:
    key = canonical_key(key)
    return key in SECURITY_KEYS or key.startswith(SUFFIXED_PREFIXES + IGNORED_PREFIXES)


def apply_security_setting(settings: SecuritySettings, key: str, value: str) -> None:
    """Sets one security key; raises ValueError with a plain message on a bad value."""
    key = canonical_key(key)
    if key.startswith("authProvider."):
        settings.auth_providers.add(_provider(value))
        return
    if key.startswith("superUser."):
        settings.sasl_extra_super_users.add(value.strip())
        return
    if key.startswith(IGNORED_PREFIXES):
        return
    attr, parse = SECURITY_KEYS[key]
    parsed = parse(value)
    target: object = settings
    *parents, last = attr.split(".")
    for name in parents:
        target = getattr(target, name)
    setattr(target, last, parsed)
