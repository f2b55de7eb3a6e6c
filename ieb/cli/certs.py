"""``ieb certs``: create a PKIoverheid-like TEST PKI (root -> domain -> TSP -> service certificates).

Every service certificate carries a test OIN (prefix 00000099) in its subject serialNumber and
serves both as TLS server and client certificate (SAN localhost and 127.0.0.1). See
:mod:`ieb.testing.pki` for the OIN rule and the files written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ieb.cli._common import COMMAND, fail, usage_error

if TYPE_CHECKING:
    import datetime as dt

    from cryptography import x509

    from ieb.testing.pki import TestPki
    from ieb.transport.revocation import CrlSet

__all__ = ["register"]


def certs(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="MAP",
            help="Nieuwe map waarin de test-PKI wordt geschreven (verplicht zonder --status).",
            show_default=False,
        ),
    ] = None,
    gemeente: Annotated[
        list[str] | None,
        typer.Option(
            "--gemeente",
            "-g",
            metavar="CODE",
            help="CBS-gemeentecode (4 cijfers); mag vaker. Standaard 0363.",
        ),
    ] = None,
    party: Annotated[
        list[str] | None,
        typer.Option(
            "--party",
            "-p",
            metavar="CODE",
            help="Vaste organisatiecode (CAK, GGK, ...); mag vaker. Standaard CAK en GGK.",
        ),
    ] = None,
    dns: Annotated[
        list[str] | None,
        typer.Option(
            "--dns", metavar="NAAM", help="Extra DNS-naam in elk servicecertificaat (naast localhost)."
        ),
    ] = None,
    key: Annotated[
        str, typer.Option("--key", metavar="rsa|ec", help="Sleuteltype van de servicecertificaten.")
    ] = "rsa",
    json_out: Annotated[bool, typer.Option("--json", help="Schrijf een JSON-overzicht op stdout.")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Een bestaande, niet-lege map overschrijven (ook de root-sleutel!)."),
    ] = False,
    status: Annotated[
        bool,
        typer.Option(
            "--status",
            help="Maak niets: toon de certificaten en CRL's van ieb.toml ([tls] crl): nextUpdate, "
            "ingetrokken of niet, welke CA geen CRL heeft.",
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            metavar="BESTAND",
            help="ieb.toml voor --status (en voor --crl: staat de map daar al in?).",
            show_default=False,
        ),
    ] = None,
    crl: Annotated[
        Path | None,
        typer.Option(
            "--crl",
            metavar="MAP",
            help="Maak of ververs de CRL's van de test-PKI in MAP (geschreven in MAP/crl); wat al "
            "ingetrokken was blijft ingetrokken. Alleen voor de test-PKI: echte CRL's komen van de CA.",
            show_default=False,
        ),
    ] = None,
    revoke: Annotated[
        list[str] | None,
        typer.Option(
            "--revoke",
            metavar="CODE",
            help="Met --crl: trek het certificaat van CODE in (of tsp / domain: die CA); mag vaker.",
            show_default=False,
        ),
    ] = None,
    geldig: Annotated[
        int | None,
        typer.Option(
            "--geldig", metavar="DAGEN", min=1, max=366, help="Met --crl: dagen tot nextUpdate (standaard 7)."
        ),
    ] = None,
) -> None:
    """Maak een TEST-PKI voor mutual TLS en WS-Security (nooit voor productie); --status: certificaten en CRL's van ieb.toml.

    Een bestaande map met bestanden wordt geweigerd: overschrijven vervangt de root-CA en maakt alle eerder uitgegeven certificaten onbruikbaar. Geef daarvoor --force.

    Exitcode 0: geschreven (of: niets ingetrokken); 1: fout (map bestaat al, eigen certificaat ingetrokken, CRL onbruikbaar, ...); 2: verkeerd gebruik.

    Voorbeeld: ieb certs --out pki/ --gemeente 0363 --gemeente 0599

    Voorbeeld: ieb certs --status --config ieb.toml

    Voorbeeld: ieb certs --crl pki/ --revoke GGK
    """
    import json

    from ieb.errors import IebError
    from ieb.testing.pki import create_test_pki

    if crl is not None:
        if out is not None or status:
            raise usage_error(
                "--crl maakt alleen CRL's van een bestaande test-PKI; laat --out en --status weg", "--crl"
            )
        _write_crls(crl, revoke or [], geldig or 7, json_out, config)
        return
    if revoke or geldig is not None:
        raise usage_error("hoort bij --crl MAP", "--revoke" if revoke else "--geldig")
    if status:
        if out is not None:
            raise usage_error("--status maakt niets; laat --out weg", "--out")
        _show_status(config, json_out)
        return
    if out is None:
        raise usage_error("ontbreekt (of geef --status)", "--out")
    gemeenten = _check_arguments(out, gemeente, key, force)
    parties = party if party is not None else ["CAK", "GGK"]
    codes = list(dict.fromkeys([*parties, *gemeenten]))
    try:
        pki = create_test_pki(
            out,
            codes,
            dns_names=["localhost", *(dns or [])],
            service_key="rsa" if key == "rsa" else "ec",
        )
    except (IebError, OSError, ValueError) as exc:
        typer.echo(f"fout: {exc}", err=True)
        raise typer.Exit(1) from None

    if json_out:
        typer.echo(json.dumps(_summary(pki), sort_keys=True))
        return
    typer.echo(f"TEST-PKI geschreven in {pki.directory} (niet voor productie)")
    typer.echo(f"  CA-bundel (root + domein + TSP): {pki.ca_bundle}")
    typer.echo(f"  root alleen:                     {pki.roots}")
    for p in pki.parties.values():
        typer.echo(f"  {p.code:<6} OIN {p.oin}  {p.organization_identifier:<15} {p.name}")
        typer.echo(f"         certificaat {p.cert}")
        typer.echo(f"         sleutel     {p.key}")
        typer.echo(f"         keten       {p.chain}")


def _write_crls(
    folder: Path, revoke: list[str], days: int, as_json: bool, config: Path | None = None
) -> None:
    """``ieb certs --crl MAP``: write (or refresh) the three CRLs of the test PKI in ``folder`` to
    ``folder/crl``, keeping what they already revoke and adding ``revoke`` (party codes, ``tsp``,
    ``domain``), valid for ``days`` days from an hour ago (:meth:`ieb.testing.pki.TestPki.write_crls`).
    The text output advises ``[tls] crl`` / ``crl`` only for the files that do not name that folder
    yet (:func:`_missing_crl_settings`). Exit 1 when ``folder`` holds no test PKI or a file there is
    not its CRL; 2 for an unknown code."""
    import datetime as dt
    import json

    from cryptography import x509

    from ieb.errors import IebError
    from ieb.testing.pki import load_test_pki

    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    end = start + dt.timedelta(days=days)
    if not (folder / "pki.json").is_file():
        raise fail(
            f"{folder} is geen test-PKI (er staat geen pki.json in); maak er een met `ieb certs --out MAP`"
        )
    try:
        pki = load_test_pki(folder)
        unknown = [c for c in revoke if c not in ("tsp", "domain") and c not in pki.parties]
        if unknown:
            known = ", ".join([*pki.parties, "tsp", "domain"])
            raise fail(f"--revoke: onbekende code {', '.join(unknown)}; deze test-PKI kent {known}", code=2)
        where = pki.write_crls(revoke, this_update=start, next_update=end, keep=True)
    except IebError as exc:
        raise fail(str(exc)) from None
    names = {p.certificate().serial_number: code for code, p in pki.parties.items()}
    names |= {pki.ca_certificate(ca).serial_number: ca for ca in ("tsp", "domain")}
    crls = []
    for ca in ("root", "domain", "tsp"):
        path = where / f"{ca}.crl.pem"
        listed = x509.load_pem_x509_crl(path.read_bytes())
        crls.append(
            {
                "ca": ca,
                "file": str(path),
                "revoked": [names.get(r.serial_number, f"{r.serial_number:x}") for r in listed],
            }
        )
    if as_json:
        typer.echo(
            json.dumps(
                {"directory": str(where), "next_update": end.isoformat(), "crls": crls}, sort_keys=True
            )
        )
        return
    until = end.strftime("%Y-%m-%d %H:%M UTC")
    typer.echo(f"CRL's van de TEST-PKI geschreven in {where} (niet voor productie), geldig tot {until}:")
    for c in crls:
        revoked = c["revoked"]
        typer.echo(
            f"  {c['ca']:<7} {len(revoked)} ingetrokken" + (f": {', '.join(revoked)}" if revoked else "")
        )
    missing, home = _missing_crl_settings(where, config)
    setting = _as_setting(where, home)  # relative paths in ieb.toml are read from ieb.toml's folder
    advice = ""  # (nothing to add when every file already names the folder)
    if missing == ["ieb.toml", "simulator.toml"]:
        advice = f'staat dit nog niet in ieb.toml: zet daar [tls] crl = ["{setting}"] (en in simulator.toml: crl = ["{setting}"]); '
    elif missing == ["ieb.toml"]:
        advice = f'ieb.toml noemt deze map nog niet: zet daar [tls] crl = ["{setting}"]; '
    elif missing == ["simulator.toml"]:
        advice = f'simulator.toml noemt deze map nog niet: zet daar crl = ["{setting}"]; '
    typer.echo(
        f"{advice}ververs vóór {until} met `ieb certs --crl {folder}` (wat ingetrokken is blijft "
        f"ingetrokken; opnieuw beginnen: verwijder {where})"
    )


def _as_setting(where: Path, home: Path) -> Path:
    """``where`` (the CRL folder, as the command line named it) as a ``crl`` entry of the ieb.toml /
    simulator.toml in ``home``: unchanged when ``home`` is the current folder, else relative to
    ``home`` (ieb reads relative paths in those files from their own folder, docs/security.md), so
    the advice also holds for ``--config elders/ieb.toml``."""
    import os

    if home.resolve() == Path.cwd().resolve():
        return where
    return Path(os.path.relpath(where.resolve(), home.resolve()))


def _missing_crl_settings(where: Path, config: Path | None) -> tuple[list[str], Path]:
    """Which of ``ieb.toml`` and ``simulator.toml`` do not name the CRL folder ``where`` yet (in a
    ``crl`` entry that is that folder or a file in it, compared as resolved paths): ieb.toml as ieb
    finds it (``config``, ``IEB_CONFIG``, ``./ieb.toml``, with ``IEB_TLS__CRL``), simulator.toml next
    to it (or in the current folder), when there is one. An ieb.toml that is absent or cannot be
    read counts as not naming it (the advice is printed, as before), as does a simulator.toml that
    exists but cannot be read. Also returns the folder of that ieb.toml (else the current one)."""
    from ieb.config import find_config, load_config, load_simulator_config
    from ieb.errors import IebError

    target = where.resolve()

    def names(paths: list[Path], resolve: Any) -> bool:
        for p in paths:
            try:
                full = Path(resolve(p) or p).resolve()
            except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13): no folder
                continue
            if full == target or full.parent == target:
                return True
        return False

    missing = []
    home = Path.cwd()
    try:
        found = find_config(config)
        if found is not None:
            home = found.parent
        cfg = load_config(config)
        if not names(cfg.tls.crl, cfg.resolve):
            missing.append("ieb.toml")
    except (IebError, OSError, ValueError):  # an unreadable ieb.toml: advise as before
        missing.append("ieb.toml")
    sim = home / "simulator.toml"
    if sim.is_file():
        try:
            scfg = load_simulator_config(sim)
            if not names(scfg.crl, scfg.resolve):
                missing.append("simulator.toml")
        except (IebError, OSError, ValueError):
            missing.append("simulator.toml")
    return missing, home


def _check_arguments(out: Path, gemeente: list[str] | None, key: str, force: bool) -> list[str]:
    """The gemeentecodes to issue for (default ``0363``), after checking the arguments.

    Exits 1 when ``out`` is a file or a non-empty folder without ``force`` (overwriting replaces the
    root CA) or a code is not 4 digits; exits 2 for a ``key`` other than ``rsa``/``ec``.
    """
    import re

    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        what = "een bestand" if not out.is_dir() else "een map met bestanden"
        raise fail(f"{out} is al {what}; kies een nieuwe map of geef --force om de PKI te vervangen")
    gemeenten = gemeente or ["0363"]
    for code in gemeenten:
        if not re.fullmatch(r"[0-9]{4}", code):
            typer.echo(f"fout: gemeentecode {code!r} moet uit precies 4 cijfers bestaan", err=True)
            raise typer.Exit(1)
    if key not in ("rsa", "ec"):
        typer.echo(f"fout: --key moet rsa of ec zijn, niet {key!r}", err=True)
        raise typer.Exit(2)
    return gemeenten


def _summary(pki: TestPki) -> dict[str, Any]:
    """The ``--json`` overview: the folder, the CA bundle, the roots and per party its OIN and files."""
    return {
        "directory": str(pki.directory),
        "ca_bundle": str(pki.ca_bundle),
        "roots": str(pki.roots),
        "parties": [
            {
                "code": p.code,
                "name": p.name,
                "oin": p.oin,
                "organization_identifier": p.organization_identifier,
                "cert": str(p.cert),
                "key": str(p.key),
                "chain": str(p.chain),
            }
            for p in pki.parties.values()
        ],
    }


# ------------------------------------------------------------------------------------- --status


def _show_status(config: Path | None, as_json: bool) -> None:
    """``ieb certs --status``: the organisation's certificate chain, the CA bundle and, with
    ``[tls] crl``, every CRL (issuer, thisUpdate/nextUpdate, revoked count) and per certificate
    whether its issuer's CRL revokes it or is missing (a CA without CRL: its certificates are refused
    in the handshake, fail closed). Exit 1 when our own chain is revoked or a CRL is unusable."""
    import datetime as dt
    import json

    from ieb.config import load_config
    from ieb.errors import IebError
    from ieb.transport.pki import load_certificates

    try:
        cfg = load_config(config)
    except IebError as exc:
        raise fail(str(exc), code=2) from None
    o = cfg.organisatie
    cert_path, ca_path = cfg.resolve(o.cert), cfg.resolve(o.ca)
    if cert_path is None or ca_path is None:
        if cfg.source is None:
            raise fail(
                f"geen ieb.toml gevonden (niet in {Path.cwd()}, geen --config of IEB_CONFIG); maak er een "
                "met `ieb init` of geef --config (nodig: organisatie.cert en organisatie.ca)",
                code=2,
            )
        missing = [
            name
            for name, path in (("organisatie.cert", cert_path), ("organisatie.ca", ca_path))
            if path is None
        ]
        raise fail(f"ontbreekt in ieb.toml: {' en '.join(missing)}", code=2)
    now = dt.datetime.now(dt.UTC)
    loaded = []
    for setting, path in (("organisatie.cert", cert_path), ("organisatie.ca", ca_path)):
        try:
            loaded.append(load_certificates(path))
        except OSError as exc:
            raise fail(f"{setting}: {path} is niet te lezen ({exc.strerror or exc})", code=1) from None
        except ValueError:
            raise fail(f"{setting}: {path} bevat geen leesbaar certificaat (PEM of DER)", code=1) from None
    chain, bundle = loaded
    sources = [cfg.resolve(p) or p for p in cfg.tls.crl]
    crls, unusable = _crls_each(sources, [*bundle, *chain], now) if sources else (None, [])
    for problem in unusable:  # every unusable CRL is named, not only the first; the rest is shown
        fail(problem)
    report = _status(cfg.source, cert_path, ca_path, chain, bundle, crls, now, configured=bool(sources))
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        typer.echo(_status_text(report, unusable=len(unusable)))
    if unusable or any(c["ingetrokken"] for c in report["eigen_keten"]):
        raise typer.Exit(1)


def _crls_each(sources: list[Any], trusted: list[Any], now: Any) -> tuple[Any, list[str]]:
    """The usable CRLs of ``sources`` (a :class:`~ieb.transport.revocation.CrlSet`, or None when no
    file is usable) and the error text of every unusable file or source, each checked on its own
    (``ieb send``/``ieb receive`` refuse to start on the first: they name it and stop)."""
    from ieb.errors import IebError
    from ieb.transport.revocation import crl_files, load_crls

    usable: list[Path] = []
    problems: list[str] = []
    for source in sources:
        try:
            files = crl_files([source])
        except IebError as exc:
            problems.append(str(exc))
            continue
        for path in files:
            try:
                load_crls([path], trusted, at=now)
            except IebError as exc:
                problems.append(str(exc))
            else:
                usable.append(path)
    return (load_crls(usable, trusted, at=now) if usable else None), problems


def _status(
    source: Path | None,
    cert_path: Path,
    ca_path: Path,
    chain: list[x509.Certificate],
    bundle: list[x509.Certificate],
    crls: CrlSet | None,
    now: dt.datetime,
    *,
    configured: bool | None = None,
) -> dict[str, Any]:
    """The ``--status`` report as a dict (the ``--json`` shape, docs/security.md). ``configured``:
    ``[tls] crl`` names something (default: ``crls`` is not None); it may name only unusable files,
    then ``crl_ingesteld`` is true and ``crls`` empty."""
    from cryptography.exceptions import InvalidSignature

    # every CA we know: the bundle (the peers' roots), our own intermediates, the CRLs' issuers
    cas = dict.fromkeys([*bundle, *chain[1:], *(crl.issuer for crl in (crls.crls if crls else ()))])

    def issuer_of(cert: x509.Certificate) -> x509.Certificate | None:
        found = [ca for ca in cas if ca.subject == cert.issuer]
        for ca in found:
            try:
                cert.verify_directly_issued_by(ca)
                return ca
            except (ValueError, TypeError, InvalidSignature):
                continue
        return None

    def row(cert: x509.Certificate) -> dict[str, Any]:
        self_signed = cert.issuer == cert.subject
        issuer = None if self_signed else issuer_of(cert)
        crl = crls.for_issuer(issuer) if crls is not None and issuer is not None else None
        return {
            "onderwerp": _name(cert),
            "serienummer": f"{cert.serial_number:x}",
            "geldig_tot": cert.not_valid_after_utc.isoformat(),
            "root": self_signed,
            "crl": str(crl.path) if crl is not None else None,
            # None: not judged (a root, no CRLs configured, or the issuer's CRL is missing)
            "ingetrokken": (cert.serial_number in crl.serials) if crl is not None else None,
        }

    def ca_row(ca: x509.Certificate) -> dict[str, Any]:
        own = crls.for_issuer(ca) if crls is not None else None
        return {
            **row(ca),
            "eigen_crl": str(own.path) if own is not None else None,
            "eigen_crl_next_update": own.next_update.isoformat() if own is not None else None,
        }

    return {
        "config": str(source) if source is not None else None,
        "certificaat": str(cert_path),
        "ca_bundel": str(ca_path),
        "crl_ingesteld": crls is not None if configured is None else configured,
        "crls": [
            {
                "bestand": str(c.path),
                "uitgever": _name(c.issuer),  # the CA certificate that signed it
                "this_update": c.this_update.isoformat(),
                "next_update": c.next_update.isoformat(),
                "ingetrokken_aantal": len(c.serials),
            }
            for c in (crls.crls if crls is not None else ())
        ],
        "eigen_keten": [row(c) for c in chain],
        "cas": [ca_row(c) for c in cas],
        "peildatum": now.isoformat(timespec="seconds"),
    }


def _name(cert: x509.Certificate) -> str:
    """The certificate's common name (the whole subject when it has none), BSNs masked."""
    from cryptography.x509.oid import NameOID

    from ieb.types import mask_bsns

    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return mask_bsns(str(cn[0].value) if cn else cert.subject.rfc4514_string())


def _status_text(report: dict[str, Any], *, unusable: int = 0) -> str:
    """The clerk's view of :func:`_status`; ``unusable``: how many CRL files or sources of ``[tls]
    crl`` could not be used (named on stderr before it)."""

    def verdict(c: dict[str, Any]) -> str:
        if c["root"]:
            return "root (staat niet op een CRL)"
        if c["ingetrokken"] is None:
            return (
                "niet te beoordelen: geen CRL van de uitgever"
                if report["crl_ingesteld"]
                else "niet gecontroleerd"
            )
        state = "INGETROKKEN" if c["ingetrokken"] else "niet ingetrokken"
        return f"{state} volgens {Path(c['crl']).name}"

    lines = [f"Certificaten en CRL's volgens {report['config'] or 'de omgeving (IEB_*)'}"]
    if not report["crl_ingesteld"]:
        lines.append(
            "  geen CRL's ingesteld ([tls] crl): intrekking wordt niet gecontroleerd (docs/security.md)"
        )
    else:
        lines.append(
            f"CRL's ([tls] crl): {len(report['crls'])}"
            + (f" bruikbaar, {unusable} onbruikbaar (zie de fout(en) hierboven)" if unusable else "")
        )
        for c in report["crls"]:
            lines.append(f"  {c['bestand']}")
            lines.append(
                f"    uitgever {c['uitgever']}; nextUpdate {c['next_update'][:16].replace('T', ' ')} UTC; "
                f"{c['ingetrokken_aantal']} ingetrokken"
            )
    lines.append(f"Eigen keten (organisatie.cert = {report['certificaat']}):")
    for c in report["eigen_keten"]:
        lines.append(f"  {c['onderwerp']} (serienummer {c['serienummer']}): {verdict(c)}")
    lines.append(
        f"CA's waaronder een certificaat van de andere kant kan vallen (organisatie.ca = {report['ca_bundel']}, "
        "eigen keten, CRL-uitgevers):"
    )
    for c in report["cas"]:
        own = (
            f"CRL {Path(c['eigen_crl']).name} (nextUpdate {c['eigen_crl_next_update'][:16].replace('T', ' ')} UTC)"
            if c["eigen_crl"]
            else (
                "GEEN CRL: certificaten van deze CA worden in de handshake geweigerd"
                if report["crl_ingesteld"]
                else "geen CRL"
            )
        )
        lines.append(f"  {c['onderwerp']}: {own}; zelf: {verdict(c)}")
    if unusable:
        lines.append(
            "Uitkomst: niet elke CRL van [tls] crl is bruikbaar (zie de fout(en) hierboven): ieb send, ieb "
            "serve en ieb receive starten zo niet; vervang of ververs die CRL's."
        )
    elif any(c["ingetrokken"] for c in report["eigen_keten"]):
        lines.append(
            "Uitkomst: het eigen certificaat (of een CA erboven) is INGETROKKEN: de andere kant weigert de "
            "verbinding; vraag een nieuw certificaat aan."
        )
    elif report["crl_ingesteld"] and any(
        c["ingetrokken"] is None and not c["root"] for c in [*report["eigen_keten"], *report["cas"]]
    ):
        lines.append(
            "Uitkomst: niets ingetrokken, maar niet elke CA heeft een CRL; voeg de ontbrekende CRL's toe "
            "aan [tls] crl (zonder CRL weigert de handshake die certificaten)."
        )
    elif not report["crl_ingesteld"]:
        lines.append(
            "Uitkomst: intrekking niet gecontroleerd; stel de CRL's in met [tls] crl (docs/security.md)."
        )
    else:
        lines.append("Uitkomst: niets ingetrokken.")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add ``ieb certs`` to the CLI."""
    app.command("certs", cls=COMMAND)(certs)
