"""Throw-away certificate authorities, server and client certificates for TLS tests.

Everything is generated at test time (nothing private is ever committed): a CA, certificates it
signs, and the key and trust stores Apache ZooKeeper and our server read, in PEM, PKCS12 and JKS.
PKCS12 and JKS stores are written by Java's own keytool, so that they are exactly what an
operator of Apache ZooKeeper would have.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ONE_DAY = datetime.timedelta(days=1)


def _name(common_name: str, unit: str = "zk", org: str = "zkrecipes test") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass
class Issued:
    """A key and its certificate chain (leaf first)."""

    key: ec.EllipticCurvePrivateKey
    chain: list[x509.Certificate]

    def write_pem(self, directory: Path, stem: str, password: str | None = None) -> Path:
        """One PEM file with the PKCS#8 key then the chain: Apache's PEM key store layout.

        With a password the key is encrypted with PBE-SHA1-3DES (by openssl), a scheme Java's
        EncryptedPrivateKeyInfo reads; it cannot read the PBES2 keys `cryptography` writes.
        """
        key = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if password:
            key = subprocess.run(
                ["openssl", "pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-passout", "stdin"],
                input=password.encode() + b"\n" + key,
                capture_output=True,
                timeout=60,
                check=True,
            ).stdout
        path = directory / f"{stem}.pem"
        chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)
        path.write_bytes(key + chain)
        return path

    def write_split_pem(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """(certificate file, key file): the form Python clients such as kazoo take."""
        cert = directory / f"{stem}.crt"
        key = directory / f"{stem}.key"
        cert.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain))
        key.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert, key

    def write_keystore(self, directory: Path, stem: str, kind: str, password: str) -> Path:
        """A PKCS12 or JKS key store made by keytool from a PKCS12 export."""
        from cryptography.hazmat.primitives.serialization import pkcs12

        p12 = directory / f"{stem}.src.p12"
        p12.write_bytes(
            pkcs12.serialize_key_and_certificates(
                stem.encode(),
                self.key,
                self.chain[0],
                self.chain[1:] or None,
                serialization.BestAvailableEncryption(password.encode()),
            )
        )
        out = directory / f"{stem}.{'jks' if kind == 'JKS' else 'p12'}"
        _keytool(
            "-importkeystore",
            "-srckeystore", str(p12), "-srcstoretype", "PKCS12", "-srcstorepass", password,
            "-destkeystore", str(out), "-deststoretype", kind, "-deststorepass", password,
            "-destkeypass", password,
        )  # fmt: skip
        p12.unlink()
        return out


class Authority:
    """A self-signed CA that issues server and client certificates."""

    def __init__(self, name: str = "zkrecipes test CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        subject = _name(name, unit="ca")
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - ONE_DAY)
            .not_valid_after(now + 30 * ONE_DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    def issue(
        self, common_name: str, server: bool = False, expired: bool = False, unit: str = "zk"
    ) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        if expired:
            start, end = now - 10 * ONE_DAY, now - ONE_DAY
        else:
            start, end = now - ONE_DAY, now + 30 * ONE_DAY
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, unit=unit))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return Issued(key, [builder.sign(self.key, hashes.SHA256()), self.cert])

    def write_pem(self, directory: Path, stem: str = "ca") -> Path:
        path = directory / f"{stem}.pem"
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return path

    def write_truststore(self, directory: Path, stem: str, kind: str, password: str) -> Path:
        """A PKCS12 or JKS trust store holding this CA, made by keytool."""
        pem = self.write_pem(directory, f"{stem}.src")
        out = directory / f"{stem}.{'jks' if kind == 'JKS' else 'p12'}"
        _keytool(
            "-importcert", "-noprompt", "-alias", "ca", "-file", str(pem),
            "-keystore", str(out), "-storetype", kind, "-storepass", password,
        )  # fmt: skip
        pem.unlink()
        return out


def keytool_available() -> bool:
    return shutil.which("keytool") is not None


def _keytool(*args: str) -> None:
    done = subprocess.run(
        ["keytool", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"keytool {args[0]} failed: {done.stdout}{done.stderr}")
