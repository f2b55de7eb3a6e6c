"""A PKIoverheid-like TEST PKI for mutual TLS and WS-Security between a gemeente and GGk/CAK.

Four levels, as PKIoverheid private services: a root CA -> a domain CA -> a TSP CA -> one service
certificate per organisation. Nothing here chains to a production root: every name says TEST.

Service certificates carry what Digikoppeling reads from a PKIoverheid certificate:

* ``serialNumber`` (OID 2.5.4.5): the organisation's OIN, 20 digits, built by :func:`oin_for`:
  the test prefix ``00000099``, a 9-digit number, and ``000``. The number is the CBS code for a
  gemeente (``0363`` -> ``000000363``, OIN ``00000099000000363000``), a fixed number for the
  fixed organisation codes (``CAK`` -> ``900000001``, see :data:`FIXED_NUMBERS`), and for any
  other code ``8`` followed by 8 digits of the SHA-256 of the code.
* ``organizationIdentifier`` (OID 2.5.4.97): ``NTRNL-`` and a KvK-shaped 8-digit test number,
  ``99`` + the last six digits of the OIN's number (``0363`` -> ``NTRNL-99000363``).
* ``C=NL``, ``O`` (the organisation's name, marked TEST) and ``CN`` (``<code>.ieb.test``).
* subjectAltName DNS ``localhost`` and IP ``127.0.0.1`` (configurable), extended key usage
  serverAuth + clientAuth (one certificate serves the receiver and the sender), key usage
  digitalSignature + keyEncipherment (RSA). Service keys are RSA 2048 by default, because
  WS-Security RSA-SHA256 needs an RSA key; the CAs use ECDSA P-256 (fast to generate).

Files written by :func:`create_test_pki` (PEM; keys unencrypted PKCS#8 with mode 0600)::

    <dir>/ca-bundle.pem         root + domain CA + TSP CA (a TLS trust store that accepts any of them)
    <dir>/roots.pem             the root alone (for :func:`verify_chain`)
    <dir>/ca/{root,domain,tsp}.pem and .key.pem
    <dir>/<code>/cert.pem       the service certificate
    <dir>/<code>/key.pem        its private key
    <dir>/<code>/chain.pem      certificate + TSP CA + domain CA (for ssl.load_cert_chain)
    <dir>/pki.json              manifest read by :func:`load_test_pki`

Revocation: :meth:`TestPki.write_crls` revokes service certificates (or a CA) and writes a CRL per
CA (``<dir>/crl/{root,domain,tsp}.crl.pem``; ``ieb certs --crl <dir> --revoke CODE`` on the command line); :meth:`TestPki.issue_crl` makes single CRLs (also
expired or badly signed ones, for tests).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ieb.errors import ConfigurationError
from ieb.transport.pki import (
    CertificateChainError,
    load_certificates,
    oin_from_certificate,
    organization_identifier_from_certificate,
    verify_chain,
)

__all__ = [
    "FIXED_NUMBERS",
    "TEST_OIN_PREFIX",
    "CaLevel",
    "CertificateChainError",
    "Organisation",
    "Party",
    "TestPki",
    "create_test_pki",
    "load_certificates",
    "load_test_pki",
    "oin_for",
    "oin_from_certificate",
    "organization_identifier_from_certificate",
    "verify_chain",
]

#: OIN prefix reserved for test OINs that anyone may use.
TEST_OIN_PREFIX = "00000099"

#: The 9-digit OIN number of the fixed organisation codes in the test PKI.
FIXED_NUMBERS: Mapping[str, str] = {
    "CAK": "900000001",
    "GGK": "900000002",
    "IB": "900000003",
    "RINIS": "900000004",
    "SVB": "900000005",
    "VECOZO": "900000006",
}

_NAMES: Mapping[str, str] = {
    "CAK": "CAK (TEST)",
    "GGK": "Inlichtingenbureau GGk (TEST)",
    "IB": "Inlichtingenbureau (TEST)",
    "RINIS": "RINIS (TEST)",
    "SVB": "SVB (TEST)",
    "VECOZO": "VECOZO (TEST)",
}

_OIN = re.compile(r"[0-9]{20}")
KeyType = Literal["rsa", "ec"]
#: a CA of the test PKI
CaLevel = Literal["root", "domain", "tsp"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def oin_for(code: str) -> str:
    """The test OIN of an organisation code: ``00000099`` + 9-digit number + ``000`` (see module doc)."""
    code = code.strip()
    if re.fullmatch(r"[0-9]{4}", code):
        number = code.rjust(9, "0")
    elif code.upper() in FIXED_NUMBERS:
        number = FIXED_NUMBERS[code.upper()]
    else:
        digest = int.from_bytes(hashlib.sha256(code.encode()).digest()[:8], "big")
        number = "8" + f"{digest % 10**8:08d}"
    return f"{TEST_OIN_PREFIX}{number}000"


def _organization_identifier(oin: str) -> str:
    return f"NTRNL-99{oin[11:17]}"


@dataclass(frozen=True)
class Organisation:
    """An organisation to issue a service certificate for. Only ``code`` is required."""

    code: str
    name: str | None = None
    oin: str | None = None
    hostnames: tuple[str, ...] = ()

    def resolved_name(self) -> str:
        """The organisation's name, or a TEST name derived from its code."""
        if self.name:
            return self.name
        if re.fullmatch(r"[0-9]{4}", self.code):
            return f"Gemeente {self.code} (TEST)"
        return _NAMES.get(self.code.upper(), f"{self.code} (TEST)")


@dataclass(frozen=True)
class Party:
    """One organisation's service certificate in the test PKI."""

    code: str
    name: str
    oin: str
    organization_identifier: str
    cert: Path
    key: Path
    chain: Path

    def certificate(self) -> x509.Certificate:
        """The service certificate as a :class:`cryptography.x509.Certificate`."""
        return x509.load_pem_x509_certificate(self.cert.read_bytes())


@dataclass(frozen=True)
class TestPki:
    """Where :func:`create_test_pki` wrote everything; ``parties`` by organisation code."""

    __test__ = False  # not a pytest test class

    directory: Path
    root_cert: Path
    domain_cert: Path
    tsp_cert: Path
    ca_bundle: Path
    roots: Path
    parties: Mapping[str, Party] = field(default_factory=dict)

    def party(self, code: str) -> Party:
        """The party of organisation ``code``; :class:`ConfigurationError` when it is not in the PKI."""
        try:
            return self.parties[code]
        except KeyError:
            known = ", ".join(sorted(self.parties))
            raise ConfigurationError(
                f"organisatie {code!r} staat niet in de test-PKI (wel: {known})"
            ) from None

    def root_certificates(self) -> list[x509.Certificate]:
        """The root certificate(s)."""
        return load_certificates(self.roots)

    def intermediate_certificates(self) -> list[x509.Certificate]:
        """The TSP and domain CA certificates."""
        return load_certificates(self.tsp_cert) + load_certificates(self.domain_cert)

    def ca_key(self, ca: CaLevel) -> PrivateKey:
        """The private key of CA ``ca`` (``"root"``, ``"domain"`` or ``"tsp"``)."""
        key = serialization.load_pem_private_key((self.directory / "ca" / f"{ca}.key.pem").read_bytes(), None)
        assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
        return key

    def ca_certificate(self, ca: CaLevel) -> x509.Certificate:
        """The certificate of CA ``ca`` (``"root"``, ``"domain"`` or ``"tsp"``)."""
        path = {"root": self.root_cert, "domain": self.domain_cert, "tsp": self.tsp_cert}[ca]
        return load_certificates(path)[0]

    def issue_crl(
        self,
        ca: CaLevel,
        revoked: Iterable[x509.Certificate] = (),
        *,
        this_update: _dt.datetime | None = None,
        next_update: _dt.datetime | None = None,
        signing_key: PrivateKey | None = None,
        kept: Iterable[x509.RevokedCertificate] = (),
    ) -> x509.CertificateRevocationList:
        """A CRL of CA ``ca`` listing ``revoked`` (certificates it issued) and the ``kept`` entries
        of an earlier CRL (with their own revocation dates), valid from ``this_update`` (default an
        hour ago) to ``next_update`` (default a day after ``this_update``), signed with the CA's key
        (or ``signing_key``, to make a bad one)."""
        start = this_update or _dt.datetime.now(_dt.UTC) - _dt.timedelta(hours=1)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca_certificate(ca).subject)
            .last_update(start)
            .next_update(next_update or start + _dt.timedelta(days=1))
        )
        listed = set()
        for entry in kept:
            if entry.serial_number not in listed:
                listed.add(entry.serial_number)
                builder = builder.add_revoked_certificate(entry)
        for cert in revoked:
            if cert.serial_number in listed:
                continue
            listed.add(cert.serial_number)
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(cert.serial_number)
                .revocation_date(start)
                .build()
            )
        return builder.sign(signing_key or self.ca_key(ca), hashes.SHA256())

    def write_crls(
        self,
        revoke: Iterable[str] = (),
        *,
        directory: str | os.PathLike[str] | None = None,
        this_update: _dt.datetime | None = None,
        next_update: _dt.datetime | None = None,
        keep: bool = False,
    ) -> Path:
        """Revoke and publish: write the CRLs of the three CAs (``root.crl.pem``,
        ``domain.crl.pem``, ``tsp.crl.pem``; PEM) to ``directory`` (default ``<pki>/crl``) and
        return that folder, usable as ``[tls] crl = ["<folder>"]``. ``revoke``: party codes (their
        service certificates, revoked by the TSP CA) and ``"tsp"`` / ``"domain"`` (the CA
        certificates themselves, revoked by their issuer). ``keep``: the new CRLs also list what the
        CRLs already in ``directory`` revoke (a refresh: a revocation stays; a file there that is
        no CRL of this PKI's CA raises :class:`ConfigurationError`). Each file is written next to
        the old one under a name starting with ``.`` (which a reader of the folder skips) and
        renamed over it, so a reader never sees half a CRL; an interrupted write leaves nothing. Raises
        :class:`ConfigurationError` for an unknown code."""
        out = Path(directory) if directory is not None else self.directory / "crl"
        by_ca: dict[CaLevel, list[x509.Certificate]] = {"root": [], "domain": [], "tsp": []}
        for code in revoke:
            if code == "tsp":
                by_ca["domain"].append(self.ca_certificate("tsp"))
            elif code == "domain":
                by_ca["root"].append(self.ca_certificate("domain"))
            else:
                by_ca["tsp"].append(self.party(code).certificate())
        for ca, certs in by_ca.items():
            target = out / f"{ca}.crl.pem"
            kept = self._revoked_in(ca, target) if keep else []
            crl = self.issue_crl(ca, certs, this_update=this_update, next_update=next_update, kept=kept)
            # the partial file's name starts with "." so a reader of the folder (crl_files) skips it
            partial = target.with_name(f".{target.name}.nieuw")
            try:
                _write(partial, crl.public_bytes(serialization.Encoding.PEM))
                os.replace(partial, target)
            except BaseException:  # Ctrl-C, a full disk: leave no partial file behind
                partial.unlink(missing_ok=True)
                raise
        return out

    def _revoked_in(self, ca: CaLevel, path: Path) -> list[x509.RevokedCertificate]:
        """The entries of the CRL of CA ``ca`` at ``path`` (none when there is no file)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigurationError(f"{path} is niet te lezen: {exc.strerror or exc}") from None
        ca_cert = self.ca_certificate(ca)
        try:
            crl = x509.load_pem_x509_crl(data)
            ours = crl.issuer == ca_cert.subject and crl.is_signature_valid(ca_cert.public_key())  # type: ignore[arg-type]
        except ValueError:
            ours = False
        if not ours:
            raise ConfigurationError(
                f"{path} is geen CRL van de {ca}-CA van deze test-PKI; kies een andere map of verwijder het bestand"
            )
        return list(crl)

    def files(self) -> list[Path]:
        """Every file written, for listing."""
        out = [self.ca_bundle, self.roots, self.root_cert, self.domain_cert, self.tsp_cert]
        for p in self.parties.values():
            out += [p.cert, p.key, p.chain]
        return out


# ------------------------------------------------------------------------------------ generation


def _new_key(kind: KeyType, rsa_bits: int = 2048) -> PrivateKey:
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)


def _name(cn: str, o: str, extra: Sequence[x509.NameAttribute[str]] = ()) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, o),
            *extra,
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _ca(
    subject: x509.Name,
    key: PrivateKey,
    issuer: x509.Name,
    issuer_key: PrivateKey,
    path_length: int | None,
    not_before: _dt.datetime,
    days: int,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def _service(
    org: Organisation,
    oin: str,
    key: PrivateKey,
    issuer: x509.Certificate,
    issuer_key: PrivateKey,
    dns_names: Iterable[str],
    ip_addresses: Iterable[str],
    not_before: _dt.datetime,
    days: int,
) -> x509.Certificate:
    cn = f"{org.code.lower()}.ieb.test"
    subject = _name(
        cn,
        org.resolved_name(),
        [
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, _organization_identifier(oin)),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, oin),
        ],
    )
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys([*dns_names, *org.hostnames, cn])]
    san += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=is_rsa,
                data_encipherment=False,
                key_agreement=not is_rsa,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes, *, private: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(path, 0o600)
    else:
        path.write_bytes(data)
    return path


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def create_test_pki(
    directory: str | os.PathLike[str],
    organisations: Sequence[str | Organisation] = ("0363", "CAK", "GGK"),
    *,
    dns_names: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1",),
    service_key: KeyType = "rsa",
    rsa_bits: int = 2048,
    ca_key: KeyType = "ec",
    valid_days: int = 730,
    now: _dt.datetime | None = None,
    label: str = "ieb TEST",
) -> TestPki:
    """Create a 4-level test PKI in ``directory`` and a service certificate per organisation.

    ``organisations`` are codes (``"0363"``, ``"CAK"``) or :class:`Organisation` objects. ``label``
    prefixes the CA names; give a second PKI another label to tell them apart.
    """
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    start = (now or _dt.datetime.now(_dt.UTC)) - _dt.timedelta(hours=1)
    orgs = [o if isinstance(o, Organisation) else Organisation(code=o) for o in organisations]
    codes = [o.code for o in orgs]
    if len(set(codes)) != len(codes):
        raise ConfigurationError(f"organisatiecodes komen dubbel voor: {codes}")
    for o in orgs:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", o.code):
            raise ConfigurationError(f"organisatiecode {o.code!r}: alleen letters, cijfers, - en _")

    o_ca = f"{label} PKI (niet voor productie)"
    root_key, domain_key, tsp_key = _new_key(ca_key), _new_key(ca_key), _new_key(ca_key)
    root_name = _name(f"{label} Staat der Nederlanden Root CA", o_ca)
    domain_name = _name(f"{label} Domein Private Services CA", o_ca)
    tsp_name = _name(f"{label} TSP Private Services CA", o_ca)
    root = _ca(root_name, root_key, root_name, root_key, None, start, valid_days + 3650)
    domain = _ca(domain_name, domain_key, root_name, root_key, 1, start, valid_days + 1825)
    tsp = _ca(tsp_name, tsp_key, domain_name, domain_key, 0, start, valid_days + 365)

    ca_dir = base / "ca"
    root_path = _write(ca_dir / "root.pem", _pem(root))
    domain_path = _write(ca_dir / "domain.pem", _pem(domain))
    tsp_path = _write(ca_dir / "tsp.pem", _pem(tsp))
    for name, key in (("root", root_key), ("domain", domain_key), ("tsp", tsp_key)):
        _write(ca_dir / f"{name}.key.pem", _key_pem(key), private=True)
    bundle = _write(base / "ca-bundle.pem", _pem(root) + _pem(domain) + _pem(tsp))
    roots = _write(base / "roots.pem", _pem(root))

    parties: dict[str, Party] = {}
    for org in orgs:
        oin = org.oin or oin_for(org.code)
        if not _OIN.fullmatch(oin):
            raise ConfigurationError(f"OIN {oin!r} van {org.code} moet uit 20 cijfers bestaan")
        key = _new_key(service_key, rsa_bits)
        cert = _service(org, oin, key, tsp, tsp_key, dns_names, ip_addresses, start, valid_days)
        pdir = base / org.code
        parties[org.code] = Party(
            code=org.code,
            name=org.resolved_name(),
            oin=oin,
            organization_identifier=_organization_identifier(oin),
            cert=_write(pdir / "cert.pem", _pem(cert)),
            key=_write(pdir / "key.pem", _key_pem(key), private=True),
            chain=_write(pdir / "chain.pem", _pem(cert) + _pem(tsp) + _pem(domain)),
        )

    pki = TestPki(
        directory=base,
        root_cert=root_path,
        domain_cert=domain_path,
        tsp_cert=tsp_path,
        ca_bundle=bundle,
        roots=roots,
        parties=parties,
    )
    manifest = {
        "label": label,
        "parties": [
            {
                "code": p.code,
                "name": p.name,
                "oin": p.oin,
                "organization_identifier": p.organization_identifier,
            }
            for p in parties.values()
        ],
    }
    _write(base / "pki.json", json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
    return pki


def load_test_pki(directory: str | os.PathLike[str]) -> TestPki:
    """Read back a PKI written by :func:`create_test_pki` (from its ``pki.json``)."""
    base = Path(directory)
    try:
        manifest = json.loads((base / "pki.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"geen test-PKI in {base}: {exc}") from exc
    parties = {
        p["code"]: Party(
            code=p["code"],
            name=p["name"],
            oin=p["oin"],
            organization_identifier=p["organization_identifier"],
            cert=base / p["code"] / "cert.pem",
            key=base / p["code"] / "key.pem",
            chain=base / p["code"] / "chain.pem",
        )
        for p in manifest["parties"]
    }
    return TestPki(
        directory=base,
        root_cert=base / "ca" / "root.pem",
        domain_cert=base / "ca" / "domain.pem",
        tsp_cert=base / "ca" / "tsp.pem",
        ca_bundle=base / "ca-bundle.pem",
        roots=base / "roots.pem",
        parties=parties,
    )
