"""TLS material for the gRPC port: the bank's own files, or a development CA made on first start.

The development CA signs one server certificate for the loopback names; it exists so that the
embedded default speaks TLS like a deployment does, never so that a deployment can skip its
own PKI (a non-loopback bind refuses it, see service/app.py)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from foureyes.errors import FoureyesError
from foureyes.security.files import write_private

DEV_NAMES = ("localhost", "127.0.0.1", "::1")
_VALID_DAYS = 365


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # the server's certificate chain (PEM)
    key: Path  # its private key (PEM)
    ca: Path  # what clients trust to verify the server

    def server_pair(self) -> tuple[bytes, bytes]:
        """(private key, certificate chain), as grpc.ssl_server_credentials takes them."""
        try:
            return self.key.read_bytes(), self.cert.read_bytes()
        except OSError as e:
            raise FoureyesError(f"cannot read the TLS key pair: {e}") from None

    def ca_bytes(self) -> bytes:
        return self.ca.read_bytes()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "foureyes development"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ensure_dev_tls(directory: Path) -> TlsFiles:
    """The development CA and a server certificate for loopback, made once (mode 0600)."""
    files = TlsFiles(directory / "server.pem", directory / "server.key", directory / "ca.pem")
    if files.cert.exists() and files.key.exists() and files.ca.exists():
        return files
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("foureyes development CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                     x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    write_private(directory / "ca.key", _pem_key(ca_key))  # kept to sign more, never served
    write_private(files.ca, ca.public_bytes(pem))
    write_private(files.key, _pem_key(key))
    write_private(files.cert, cert.public_bytes(pem))
    return files
