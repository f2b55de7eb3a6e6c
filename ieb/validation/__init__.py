"""Validation of iEb files: parse (hardened), XSD (level 1), rules (level 2) and receiver context (level 3).

>>> from ieb.validation import validate_bytes
>>> report = validate_bytes(data)          # doctest: +SKIP
>>> [(i.code, i.retourcode) for i in report.issues]   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from ieb.errors import ConfigurationError, UnknownMessageError
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.releases import Registry, default_registry
from ieb.releases.compiled import checker_of
from ieb.releases.pack import ReleasePack
from ieb.releases.rules import GENERIC_RULES, Rule, RuleContext
from ieb.validation.gemeenten import GemeenteLijst, bundled_gemeenten
from ieb.validation.report import Issue, Report
from ieb.validation.rules import rule_by_code
from ieb.validation.xsdtext import dutch_xsd_message
from ieb.xmlsafe import DEFAULT_LIMITS, MAX_BYTES, Limits, XmlProblem, parse_bytes

__all__ = ["Issue", "Report", "Rule", "rule_by_code", "validate_bytes", "validate_file"]

_BYTES = (bytes, bytearray, memoryview)


def validate_bytes(
    data: bytes,
    *,
    today: dt.date | None = None,
    registry: Registry | None = None,
    gemeenten: GemeenteLijst | Callable[[], GemeenteLijst] | None = None,
    tariffs: TariffTable = NATIONAL_TARIFFS,
    max_bytes: int = MAX_BYTES,
    limits: Limits = DEFAULT_LIMITS,
    revision: str | object | None = None,
) -> Report:
    """Validate one file and report every problem found (see :class:`Report`).

    Never raises for any input bytes: a file that cannot be parsed safely (OP179, OP192, XML: see
    :mod:`ieb.xmlsafe`, including the :class:`~ieb.xmlsafe.Limits` on elements, depth, namespaces
    and attributes) is a report with one level-1 issue.

    ``revision`` forces the rule parameters of one revision of the file's release (``"1.0.3"``: a
    name from the pack's ``revisions``, or such an object); by default the revision in force on the
    Dagtekening applies. A name of another registered release's revision (``"1.0.3"`` for an iEb 4.0
    file) is a level-1 finding ``REVISIE`` naming the file's release and the revision, after which
    only the XSD is checked; so is a revision object of another release (what ``ieb validate
    --revision`` passes). Raises ConfigurationError for a revision name no registered pack knows
    (a programming error, found before the file is read).
    """
    registry = registry or default_registry
    if isinstance(revision, str):
        _known_revision(registry, revision)
    report = Report()
    if not isinstance(data, _BYTES):
        report.issues.append(Issue("XML", "0001", 1, None, f"verwacht bytes, niet {type(data).__name__}"))
        return report
    try:
        root = parse_bytes(bytes(data), max_bytes=max_bytes, limits=limits)
    except XmlProblem as problem:  # the clerk's finding (a Dutch sentence; libxml2's text as detail)
        report.issues.extend(problem.issues)
        return report
    report.root = root
    try:
        release, spec = registry.detect(root)
    except UnknownMessageError as exc:
        report.issues.append(Issue("XSD", "0001", 1, None, exc.message))
        return report
    report.bericht, report.release = spec.name, release.name
    forced = revision
    if revision is not None:
        forced = _own_revision(release, revision, registry)
        if forced is None:  # a revision of another release: its rule parameters cannot apply here
            name = revision if isinstance(revision, str) else str(getattr(revision, "name", ""))
            report.issues.append(_other_release(spec.name, release, name, registry))
    schema = spec.schema
    try:
        schema_ok = schema.validate(root)
    except etree.XMLSchemaValidateError:
        # libxml2 gives up on a facet (a pattern on a value of 10 MB or more): the value is not valid.
        schema_ok = False
        report.issues.append(
            Issue(
                "XSD",
                "0001",
                1,
                None,
                "Een waarde is te groot om tegen het XSD te controleren; pas het veld aan.",
            )
        )
    if not schema_ok:
        prefixes = {spec.namespace: spec.prefix}
        if spec.basis_namespace:
            prefixes[spec.basis_namespace] = "ieb"
        for entry in list(schema.error_log):  # type: ignore[call-overload]
            message = dutch_xsd_message(entry.message, prefixes, entry.line)
            report.issues.append(Issue("XSD", "0001", 1, entry.path or None, message))
    loader: Callable[[], GemeenteLijst]
    if isinstance(gemeenten, GemeenteLijst):
        fixed = gemeenten
        loader = lambda: fixed  # noqa: E731
    else:
        loader = gemeenten or bundled_gemeenten
    if revision is not None and forced is None:
        return report  # the rules need the revision's parameters (REVISIE above)
    day = today or dt.date.today()
    rules: tuple[Rule, ...] = release.rules.message or GENERIC_RULES
    if schema_ok and not report.issues:
        # issue 22: the pack's compiled checker says "certainly no finding" for most valid files;
        # when it is not sure, the full engine below decides (and alone writes findings)
        checker = checker_of(release, spec)
        if checker is not None and checker.clean(
            root, today=day, tariffs=tariffs, gemeenten_loader=loader, revision=forced
        ):
            return report
    ctx = RuleContext(
        root=root,
        spec=spec,
        today=day,
        tariffs=tariffs,
        gemeenten_loader=loader,
        revision=forced,
    )
    for rule in rules:
        report.issues.extend(rule.run(ctx))
    if not any(i.level <= 2 for i in report.issues):
        for rule in release.rules.final:
            report.issues.extend(rule.run(ctx))
    return report


def _own_revision(release: ReleasePack, revision: str | object, registry: Registry) -> object | None:
    """The revision of ``release`` that ``revision`` names (a name: its object; an object: itself),
    or None when it is a revision of another registered release only (``ieb validate --revision
    1.0.3`` passes iEb 1.0's object for every file, an iEb 4.0 one too). An object whose name no
    registered release has (a caller's own parameters) is used as given."""
    if isinstance(revision, str):
        return next((r for r in release.revisions if r.name == revision.strip()), None)
    if revision in release.revisions:
        return revision
    name = getattr(revision, "name", None)
    if not isinstance(name, str) or any(r.name == name for r in release.revisions):
        return revision
    if any(r.name == name for pack in registry for r in pack.revisions):
        return None
    return revision


def _known_revision(registry: Registry, name: str) -> None:
    """Raise ConfigurationError when no pack of ``registry`` has a revision called ``name``."""
    names = [r.name for pack in registry for r in pack.revisions]
    if name.strip() not in names:
        raise ConfigurationError(f"onbekende revisie {name!r}; bekend: {', '.join(names)}")


def _other_release(bericht: str, release: ReleasePack, revision: str, registry: Registry) -> Issue:
    """The level-1 ``REVISIE`` finding for a file whose release has no revision ``revision`` (a
    revision another registered release has: :func:`_known_revision` let it through)."""
    owners = [pack.name for pack in registry if any(r.name == revision.strip() for r in pack.revisions)]
    own = ", ".join(r.name for r in release.revisions) or "geen"
    return Issue(
        "REVISIE",
        None,
        1,
        None,
        f"dit is een {bericht} van release {release.name}; revisie {revision.strip()} hoort bij release "
        f"{' en '.join(owners)} en is hier niet toe te passen (revisies van {release.name}: {own}). "
        "Kies een revisie van deze release of laat de revisie weg.",
    )


def validate_file(path: str | Path, **kwargs: object) -> Report:
    """Validate a file on disk; the 25 MB limit is checked before the file is read whole (and at
    most one byte more than the limit is ever read). Raises OSError when the file cannot be read."""
    max_bytes = int(kwargs.get("max_bytes", MAX_BYTES))  # type: ignore[call-overload]
    with open(path, "rb") as handle:  # one open and one fstat per file (ieb validate on 10,000 files)
        size = os.fstat(handle.fileno()).st_size
        data = handle.read(max_bytes + 1) if size <= max_bytes else b""
    if size > max_bytes:
        report = Report()
        report.issues.append(
            Issue(
                "OP179",
                "0001",
                1,
                None,
                f"Het bestand is {size / 1_048_576:.1f} MB; hoogstens {max_bytes // 1_048_576} MB toegestaan.",
            )
        )
        return report
    return validate_bytes(data, **kwargs)  # type: ignore[arg-type]
