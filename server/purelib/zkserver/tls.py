"""The client port's TLS context, built from Apache's ``ssl.*`` keys.

Key and trust stores come in the three formats Apache 3.8 reads: JKS (through `pyjks`), PKCS12
and PEM (through `cryptography`). Defaults follow Apache's ClientX509Util: TLSv1.2 only, the
twelve ECDHE suites Apache enables on Java 9+, client certificates required (``need``). Hostname
verification of clients is off on Apache's client port too, so ``ssl.hostnameVerification``
only matters to clients.
"""

from __future__ import annotations

import secrets
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from zkserver.config import ConfigError
from zkserver.security_settings import TlsSettings

# Java (IANA) suite names -> OpenSSL names; the first twelve are Apache's defaults.
JAVA_TO_OPENSSL_SUITES = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384": "ECDHE-ECDSA-AES256-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": "ECDHE-RSA-AES256-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": "DHE-RSA-AES128-GCM-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": "DHE-RSA-AES256-GCM-SHA384",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
}
APACHE_DEFAULT_SUITES = tuple(list(JAVA_TO_OPENSSL_SUITES)[:12])
# TLSv1.3 suites cannot be narrowed through Python's ssl module; they are accepted by name.
TLS13_SUITES = frozenset(
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
)
PROTOCOLS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
DEFAULT_PROTOCOL = "TLSv1.2"
# Apache's KeyStoreFileType.fromFileName.
EXTENSION_TYPES = {".jks": "JKS", ".pem": "PEM", ".p12": "PKCS12"}
CLIENT_AUTH_MODES = {
    "none": ssl.CERT_NONE,
    "want": ssl.CERT_OPTIONAL,
    "need": ssl.CERT_REQUIRED,
}


class TlsConfigError(ConfigError):
    """A key or trust store that cannot be used, with the ``ssl.*`` key it comes from."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message, key)


@dataclass
class KeyMaterial:
    key: PrivateKeyTypes
    chain: list[x509.Certificate]


def store_type(explicit: str | None, location: Path, key: str) -> str:
    """The explicit ``*.type``, else the type Apache infers from the file name."""
    if explicit:
        return explicit
    found = EXTENSION_TYPES.get(location.suffix.lower())
    if found is None:
        raise TlsConfigError(
            key, f"cannot tell the store type of {location} from its name; set the .type key"
        )
    return found


def read_password(password: str, password_path: Path | None, key: str) -> str:
    """``*.passwordPath`` (a file holding the password) wins over ``*.password``."""
    if password_path is None:
        return password
    try:
        return password_path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise TlsConfigError(key, f"cannot read {password_path}: {e.strerror}") from None


def _read(location: Path, key: str) -> bytes:
    try:
        return location.read_bytes()
    except OSError as e:
        raise TlsConfigError(key, f"cannot read {location}: {e.strerror}") from None


def _pem_key(data: bytes, password: str, key: str) -> PrivateKeyTypes:
    blocks = [b for b in _pem_blocks(data) if b"PRIVATE KEY" in b.split(b"\n", 1)[0]]
    if len(blocks) != 1:
        raise TlsConfigError(key, f"expected one private key in the PEM file, found {len(blocks)}")
    encrypted = b"ENCRYPTED" in blocks[0].split(b"\n", 1)[0]
    try:
        return serialization.load_pem_private_key(
            blocks[0], password.encode() if encrypted or password else None
        )
    except (ValueError, TypeError) as e:
        raise TlsConfigError(key, f"cannot load the private key: {e}") from None


def _pem_blocks(data: bytes) -> list[bytes]:
    blocks, current = [], list[bytes]()
    for line in data.splitlines():
        if line.startswith(b"-----BEGIN "):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith(b"-----END "):
                blocks.append(b"\n".join(current) + b"\n")
                current = []
    return blocks


def _pem_certs(data: bytes, key: str) -> list[x509.Certificate]:
    try:
        return [
            x509.load_pem_x509_certificate(b)
            for b in _pem_blocks(data)
            if b.startswith(b"-----BEGIN CERTIFICATE-----")
        ]
    except ValueError as e:
        raise TlsConfigError(key, f"cannot load a certificate: {e}") from None


def _jks(data: bytes, password: str, key: str) -> tuple[list[KeyMaterial], list[x509.Certificate]]:
    import jks

    try:
        store = jks.KeyStore.loads(data, password)
    except Exception as e:  # pyjks raises many kinds: bad magic, bad password, truncation
        raise TlsConfigError(key, f"cannot load the JKS store: {e}") from None
    materials = []
    for entry in store.private_keys.values():
        if not entry.is_decrypted():
            entry.decrypt(password)
        materials.append(
            KeyMaterial(
                serialization.load_der_private_key(entry.pkey_pkcs8, None),
                [x509.load_der_x509_certificate(der) for _kind, der in entry.cert_chain],
            )
        )
    trusted = [x509.load_der_x509_certificate(e.cert) for e in store.certs.values()]
    return materials, trusted


def _pkcs12(
    data: bytes, password: str, key: str
) -> tuple[list[KeyMaterial], list[x509.Certificate]]:
    try:
        store = pkcs12.load_pkcs12(data, password.encode() if password else None)
    except ValueError as e:
        raise TlsConfigError(key, f"cannot load the PKCS12 store: {e}") from None
    extra = [c.certificate for c in store.additional_certs]
    if store.key is None or store.cert is None:
        return [], extra
    return [KeyMaterial(store.key, [store.cert.certificate, *extra])], extra


def load_key_store(location: Path, password: str, kind: str, key: str) -> KeyMaterial:
    data = _read(location, key)
    if kind == "PEM":
        chain = _pem_certs(data, key)
        if not chain:
            raise TlsConfigError(key, f"no certificate in {location}")
        return KeyMaterial(_pem_key(data, password, key), chain)
    materials, _ = _jks(data, password, key) if kind == "JKS" else _pkcs12(data, password, key)
    if len(materials) != 1:
        raise TlsConfigError(
            key, f"expected one private key entry in {location}, found {len(materials)}"
        )
    return materials[0]


def load_trust_store(location: Path, password: str, kind: str, key: str) -> list[x509.Certificate]:
    data = _read(location, key)
    if kind == "PEM":
        certs = _pem_certs(data, key)
    else:
        materials, certs = (
            _jks(data, password, key) if kind == "JKS" else _pkcs12(data, password, key)
        )
        certs = certs + [m.chain[0] for m in materials]
    if not certs:
        raise TlsConfigError(key, f"no trusted certificate in {location}")
    return certs


def _load_chain(ctx: ssl.SSLContext, material: KeyMaterial) -> None:
    """The ssl module loads keys only from files: write them encrypted with a one-off
    password to a private temporary file that is gone before this returns."""
    one_off = secrets.token_hex(16)
    pem = material.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(one_off.encode()),
    ) + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in material.chain)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chain.pem"
        path.write_bytes(pem)
        ctx.load_cert_chain(path, password=one_off)


def _protocol_bounds(tls: TlsSettings) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    names = tls.enabled_protocols or (tls.protocol or DEFAULT_PROTOCOL,)
    versions = []
    for name in names:
        if name == "TLS":  # Java's generic context: whatever the runtime supports
            versions += [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]
        elif name in PROTOCOLS:
            versions.append(PROTOCOLS[name])
        else:
            key = "ssl.enabledProtocols" if tls.enabled_protocols else "ssl.protocol"
            raise TlsConfigError(key, f"unsupported protocol {name!r}; known: {sorted(PROTOCOLS)}")
    return min(versions), max(versions)


def _openssl_ciphers(suites: tuple[str, ...]) -> str:
    names = []
    for suite in suites:
        if suite in TLS13_SUITES:
            continue
        name = JAVA_TO_OPENSSL_SUITES.get(suite)
        if name is None:
            raise TlsConfigError("ssl.ciphersuites", f"unknown cipher suite {suite!r}")
        names.append(name)
    return ":".join(names)


def server_context(tls: TlsSettings) -> ssl.SSLContext:
    """The SSLContext of the secure client port, or TlsConfigError naming the bad key."""
    if tls.key_store_location is None:
        raise TlsConfigError("ssl.keyStore.location", "is required for a secure client port")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version, ctx.maximum_version = _protocol_bounds(tls)
    ciphers = _openssl_ciphers(tls.ciphersuites or APACHE_DEFAULT_SUITES)
    if ciphers:
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError:
            raise TlsConfigError("ssl.ciphersuites", "no usable cipher suite") from None
    password = read_password(
        tls.key_store_password, tls.key_store_password_path, "ssl.keyStore.passwordPath"
    )
    kind = store_type(tls.key_store_type, tls.key_store_location, "ssl.keyStore.type")
    material = load_key_store(tls.key_store_location, password, kind, "ssl.keyStore.location")
    try:
        _load_chain(ctx, material)
    except ssl.SSLError as e:
        raise TlsConfigError("ssl.keyStore.location", f"unusable key or chain: {e}") from None
    ctx.verify_mode = CLIENT_AUTH_MODES[tls.client_auth]
    if tls.trust_store_location is None:
        # Apache falls back to the JVM's default trust store; ours is the system's.
        ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    else:
        trust_password = read_password(
            tls.trust_store_password, tls.trust_store_password_path, "ssl.trustStore.passwordPath"
        )
        trust_kind = store_type(
            tls.trust_store_type, tls.trust_store_location, "ssl.trustStore.type"
        )
        certs = load_trust_store(
            tls.trust_store_location, trust_password, trust_kind, "ssl.trustStore.location"
        )
        ctx.load_verify_locations(
            cadata="".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)
        )
    return ctx


# Attribute keywords Java's X500Principal.getName() (RFC 2253) prints by name; any other
# attribute is printed as OID=#<hex of its DER encoding>.
_RFC2253_KEYWORDS = {
    x509.NameOID.COMMON_NAME: "CN",
    x509.NameOID.COUNTRY_NAME: "C",
    x509.NameOID.LOCALITY_NAME: "L",
    x509.NameOID.STATE_OR_PROVINCE_NAME: "ST",
    x509.NameOID.ORGANIZATION_NAME: "O",
    x509.NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    x509.NameOID.STREET_ADDRESS: "STREET",
    x509.NameOID.DOMAIN_COMPONENT: "DC",
    x509.NameOID.USER_ID: "UID",
}
_ESCAPED = set(',+"\\<>;')


def _escape(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in _ESCAPED or (i == 0 and ch in "# ") or (i == len(value) - 1 and ch == " "):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _der_string(attribute: x509.NameAttribute[str | bytes]) -> str:
    raw = attribute.value.encode() if isinstance(attribute.value, str) else attribute.value
    tag = getattr(getattr(attribute, "_type", None), "value", 12)  # UTF8String by default
    n = len(raw)
    length = (
        bytes([n])
        if n < 0x80
        else bytes([0x80 | ((n.bit_length() + 7) // 8)])
        + n.to_bytes((n.bit_length() + 7) // 8, "big")
    )
    return "#" + (bytes([tag]) + length + raw).hex()


def subject_id(der: bytes) -> str:
    """The x509 ACL id of a client certificate: its subject as Java's
    ``X500Principal.getName()`` prints it (RFC 2253, most specific RDN first)."""
    name = x509.load_der_x509_certificate(der).subject
    rdns = []
    for rdn in reversed(list(name.rdns)):
        parts = []
        for attribute in rdn:
            keyword = _RFC2253_KEYWORDS.get(attribute.oid)
            if keyword is None:
                parts.append(f"{attribute.oid.dotted_string}={_der_string(attribute)}")
            else:
                parts.append(f"{keyword}={_escape(str(attribute.value))}")
        rdns.append("+".join(parts))
    return ",".join(rdns)
