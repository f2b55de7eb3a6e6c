"""The release pack: everything one iStandaard release brings, as data the engines ask.

A :class:`ReleasePack` holds ONE message table (a :class:`MessageDef` per message: name, BerichtCode,
namespace, direction, which message answers which, the berichtklasse with its key and date
elements, the XSD version values, schema and model), its rules (:class:`RuleSet`), its revisions,
the retourcode <-> rule table (:class:`RetourcodeTable`), the delivery mapping (ledger periods <->
messages, :class:`DeliveryMapping`) and the retour writer the simulator uses (:class:`RetourWriter`).

The engines (codec, validation, ledger, planner, simulator, conformance, GGk routing) never name a
message: they look it up here (``pack.message("...")``, ``pack.by_code``, ``pack.by_namespace``,
``pack.retour_of``, ``pack.heen_of``). Packs are found through :mod:`ieb.releases` (the built-in
packs and the entry point group ``ieb.releases``).

This module is a ground-floor module: it imports no engine, so an engine, a pack and a test can all
import it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from lxml import etree

from ieb.errors import ConfigurationError, UnknownMessageError
from ieb.releases._xsd import type_index
from ieb.xmlsafe import thread_schema

__all__ = [
    "DefinedRule",
    "DeliveryMapping",
    "Direction",
    "MessageDef",
    "Period",
    "PeriodChange",
    "PlannedRecord",
    "ReleasePack",
    "RetourRequest",
    "RetourWriter",
    "RetourcodeTable",
    "RuleKind",
    "RuleSet",
    "XsdVersions",
    "column_name",
    "klasse_columns",
]


class Direction(StrEnum):
    """Which way a message goes: ``heen`` (gemeente -> CAK) or ``retour`` (CAK -> gemeente)."""

    HEEN = "heen"
    RETOUR = "retour"


@dataclass(frozen=True, slots=True)
class XsdVersions:
    """The version values a message of this release carries in its Header: ``BerichtVersie`` and
    ``BerichtSubversie`` (integers; CS025 / CS015) and the XsdVersie this library writes
    (``BasisschemaXsdVersie``, ``BerichtXsdVersie``, e.g. ``"1.2.0"``)."""

    bericht_versie: int
    bericht_subversie: int
    basisschema_xsd: str
    bericht_xsd: str


@dataclass(frozen=True, eq=False)
class MessageDef:
    """One row of a release's message table.

    ``name``: the message name (``"WMO301"`` style, upper case); ``bericht_code``: its BerichtCode
    (three digits; None when a scanned folder does not fix it); ``namespace``: the message's target
    namespace; ``schema_path``: its XSD; ``root_name``: the root element (``Bericht``).
    ``direction``/``answers``: heen (gemeente -> CAK, ``answers`` names its retour) or retour (CAK ->
    gemeente, ``answers`` names the heenbericht it answers). ``klasse``: the berichtklasse under
    ``Client`` (``"StartEigenBijdrage"``), ``key_element`` its key (``"EbStartNummer"``),
    ``date_element`` its date (``"EbStartdatum"``), ``klasse_fields``: the klasse's elements in
    schema order as paths of local names (``("EbKostprijs", "KostprijsBedrag")``).
    ``basis_namespace``: the release's basisschema namespace (children of the CDT_* types);
    ``versions``: the Header version values; ``model``: the typed model class, if the pack has one
    (a heenbericht's model offers ``build(afzender=, identificatie=, dagtekening=, bsn=,
    eb_start_nummer=, status=, **klasse values in snake case)``, which ``ieb build`` calls);
    ``omschrijving``: the standard's short Dutch title (``"Start eigen bijdrage"``).
    Fields a scanned folder cannot know are None.
    """

    release: str
    name: str
    bericht_code: str | None
    namespace: str
    schema_path: Path
    root_name: str = "Bericht"
    direction: Direction | None = None
    answers: str | None = None
    klasse: str | None = None
    key_element: str | None = None
    date_element: str | None = None
    klasse_fields: tuple[tuple[str, ...], ...] = ()
    basis_namespace: str | None = None
    versions: XsdVersions | None = None
    #: the typed model class, or a zero-argument callable that imports and returns it (so a pack's
    #: models, and pydantic, load only when a model is used: ``ieb validate`` needs none); read ``model``
    model_source: Any = field(default=None, repr=False)
    omschrijving: str | None = None

    @property
    def model(self) -> type[Any] | None:
        """The typed model class of this message, or None (loaded on first use)."""
        source = self.model_source
        if source is None or isinstance(source, type):
            return source
        cls: type[Any] = source()
        object.__setattr__(self, "model_source", cls)
        return cls

    def with_model(self, model: type[Any] | Callable[[], type[Any]]) -> MessageDef:
        """This row with its typed model class attached: the class, or a callable returning it."""
        return dataclasses.replace(self, model_source=model)

    @property
    def is_heen(self) -> bool:
        """True for a heenbericht (gemeente -> CAK)."""
        return self.direction is Direction.HEEN

    @property
    def is_retour(self) -> bool:
        """True for a retour (CAK -> gemeente)."""
        return self.direction is Direction.RETOUR

    @property
    def prefix(self) -> str:
        """The prefix the standard uses for this message's namespace (``wmo401``)."""
        return self.name.lower()

    @property
    def schema(self) -> etree.XMLSchema:
        """The compiled XSD: compiled once per thread (libxml2 must not compile concurrently, and a
        schema's error log is per object). Raises ConfigurationError when the XSD is unusable."""
        try:
            return thread_schema(self.schema_path)
        except (etree.XMLSchemaParseError, OSError, etree.XMLSyntaxError) as exc:
            raise ConfigurationError(
                f"schema {self.schema_path} van {self.release}/{self.name} is onbruikbaar: {exc}"
            ) from exc

    @property
    def types(self) -> dict[tuple[str, ...], str]:
        """Element path (local names from the root) -> the basisschema type it is based on."""
        return _indexes(self.schema_path, self.root_name)[0]

    @property
    def builtins(self) -> dict[tuple[str, ...], str]:
        """Element path (local names from the root) -> the built-in XSD type its simple type derives
        from (``"date"``, ``"integer"``, ``"string"``), which fixes how its value is read."""
        return _indexes(self.schema_path, self.root_name)[1]


@cache
def _indexes(
    schema_path: Path, root_name: str
) -> tuple[dict[tuple[str, ...], str], dict[tuple[str, ...], str]]:
    return type_index(schema_path, root_name)


class RuleKind(StrEnum):
    """Where a rule runs: in one message (``message``: levels 1-3 of validation), against the
    history of deliveries (``history``: the ledger and the CAK simulator), or on a retour against
    its heenbericht (``retour``: conformance)."""

    MESSAGE = "message"
    HISTORY = "history"
    RETOUR = "retour"


@runtime_checkable
class DefinedRule(Protocol):
    """What every rule definition has, whatever its kind: its code (``"CS002"``, ``"TR071"``,
    ``"RC006"``). A rule is defined once (a module-level object of its engine or pack) and belongs
    to the pack whose :class:`RuleSet` lists it."""

    @property
    def code(self) -> str:
        """The rule code (``"CS002"``), unique within its kind."""
        ...


_R = TypeVar("_R", bound=DefinedRule)


@dataclass(frozen=True)
class RuleSet:
    """The rules a pack lists, by kind.

    ``message``: the in-message rule objects in the order they run (defined in the pack or, for
    the generic checks, in the rule engine); ``final``: in-message rules run only when the others
    found nothing at level 1 or 2. ``history`` and ``retour``: the codes of the history rules
    (defined with the ledger's history engine) and of the retour-consistency checks (defined with
    conformance) this release uses, in order. Those engines sit above the packs, so the pack names
    their rules by code and the engine picks its definitions with :meth:`select`."""

    message: tuple[Any, ...] = ()
    final: tuple[Any, ...] = ()
    history: tuple[str, ...] = ()
    retour: tuple[str, ...] = ()

    def codes(self, kind: RuleKind | None = None) -> tuple[str, ...]:
        """The codes the pack lists, of one kind or (None) of every kind."""
        if kind is None:
            return tuple(dict.fromkeys(c for k in RuleKind for c in self.codes(k)))
        if kind is RuleKind.MESSAGE:
            return tuple(str(r.code) for r in self.message + self.final)
        return self.history if kind is RuleKind.HISTORY else self.retour

    def lists(self, kind: RuleKind, code: str) -> bool:
        """True when the pack lists rule ``code`` of ``kind``."""
        return code in self.codes(kind)

    def select(self, kind: RuleKind, defined: Iterable[_R]) -> tuple[_R, ...]:
        """The rules of ``defined`` (an engine's definitions) that this pack lists, in the pack's
        order. Raises ConfigurationError when the pack lists a code ``defined`` lacks."""
        by_code = {r.code: r for r in defined}
        missing = [c for c in self.codes(kind) if c not in by_code]
        if missing:
            raise ConfigurationError(
                f"regel(s) {', '.join(missing)} ({kind.value}) zijn nergens gedefinieerd"
            )
        return tuple(by_code[c] for c in self.codes(kind))

    def __iter__(self) -> Iterator[Any]:
        return iter(self.message)

    def __len__(self) -> int:
        return len(self.message)

    def __bool__(self) -> bool:
        return bool(self.message)


@dataclass(frozen=True)
class RetourcodeTable:
    """Retourcode <-> rule code for one release (``{"9102": ("TR102", "OP291"), "S300": ("CS300",)}``).

    Per release because the first letter no longer tells the rule (iEb 4.0 rejects S300 on TR378).
    A rule reporting the generic ``0001`` is not listed."""

    rules_of: Mapping[str, tuple[str, ...]]
    #: retourcodes that go in the retour's Header (not in the Client), e.g. 8848 and S300 in iEb 1.0
    header_codes: frozenset[str] = frozenset()
    #: what a clerk does next, per retourcode (Dutch; ``ieb show`` prints it under a retour)
    hints: Mapping[str, str] = field(default_factory=dict)

    def rule(self, retourcode: str) -> str | None:
        """The (first) rule code a retourcode reports, or None for a generic code (0001, 0200)."""
        codes = self.rules_of.get(retourcode)
        return codes[0] if codes else None

    def rules(self, retourcode: str) -> tuple[str, ...]:
        """Every rule code that reports this retourcode."""
        return tuple(self.rules_of.get(retourcode, ()))

    def retourcode(self, rule: str) -> str | None:
        """The specific retourcode of a rule code, or None when the rule reports 0001."""
        for code, rules in self.rules_of.items():
            if rule in rules:
                return code
        return None

    def __contains__(self, retourcode: object) -> bool:
        return retourcode in self.rules_of


# ---------------------------------------------------------------- delivery mapping (ledger <-> messages)


@dataclass(frozen=True, slots=True)
class Period:
    """A period of eigen bijdrage of one person, as the ledger holds it, release-neutral.

    ``eb_start_nummer``: the key (0..999999999, with the afzender); ``bsn``: 9 digits;
    ``startdatum``/``stopdatum``: dates (stop optional, inclusive as the standard reads it);
    ``kostprijs_bedrag``: eurocent, with ``kostprijs_startdatum`` (both or neither)."""

    eb_start_nummer: int
    bsn: str
    startdatum: dt.date
    stopdatum: dt.date | None = None
    kostprijs_bedrag: int | None = None
    kostprijs_startdatum: dt.date | None = None

    def __repr__(self) -> str:
        stop = self.stopdatum.isoformat() if self.stopdatum else "open"
        return f"Period(nr={self.eb_start_nummer}, bsn=******{self.bsn[-3:]}, {self.startdatum}..{stop})"


@dataclass(frozen=True, slots=True)
class PeriodChange:
    """One period change to tell the receiver: ``before`` is what the receiver holds (None: nothing
    yet), ``after`` what it should hold (None: the period is withdrawn). Both None is no change."""

    before: Period | None
    after: Period | None

    @property
    def key(self) -> int:
        """The EbStartNummer of the changed period."""
        period = self.after or self.before
        if period is None:
            raise ValueError("PeriodChange zonder periode (before en after zijn beide leeg)")
        return period.eb_start_nummer


@dataclass(frozen=True, slots=True)
class PlannedRecord:
    """One record to send in a message of the pack: ``bericht`` the message name (a heen of the
    table), ``status`` StatusAanlevering ``"1"``/``"2"``/``"3"``, ``eb_start_nummer``/``bsn`` as
    in the period, ``datum`` the value of the message's date element (start or stop date),
    ``stopdatum`` for a message that carries start and stop in one record (None otherwise),
    ``kostprijs_bedrag`` (eurocent) / ``kostprijs_startdatum`` when the record carries a kostprijs.
    Records of one change are sent in list order."""

    bericht: str
    status: str
    eb_start_nummer: int
    bsn: str
    datum: dt.date
    stopdatum: dt.date | None = None
    kostprijs_bedrag: int | None = None
    kostprijs_startdatum: dt.date | None = None

    def __repr__(self) -> str:
        return f"PlannedRecord({self.bericht} status {self.status} nr {self.eb_start_nummer} {self.datum})"


class DeliveryMapping(Protocol):
    """How a release tells period changes: the planner asks :meth:`records`, the ledger and the
    simulator ask :meth:`apply` to learn what an accepted record does to a period."""

    def records(self, change: PeriodChange) -> tuple[PlannedRecord, ...]:
        """The records (in sending order) that bring the receiver from ``change.before`` to
        ``change.after``; empty when nothing changes. Raises ValueError for a change the release
        cannot express (e.g. a different Bsn on the same EbStartNummer)."""
        ...

    def apply(self, before: Period | None, record: PlannedRecord) -> Period | None:
        """The period after the receiver accepted ``record`` (None: withdrawn). Raises ValueError
        when the record does not fit ``before`` (a change or stop of no period)."""
        ...


# ---------------------------------------------------------------- retour writer (simulator)


@dataclass(frozen=True, slots=True)
class RetourRequest:
    """What the retour writer needs. ``retour``: the retour's table row; ``heen_header``: the
    heenbericht's Header values as written (``Afzender``, ``Identificatie``, ``Dagtekening``,
    ``BasisschemaXsdVersie``, ``BerichtXsdVersie``); ``identificatie_retour``/``dagtekening_retour``:
    the retour's own identification; ``header_codes``: retourcodes in the Header (a level-1/2
    rejection); ``client``: the heenbericht's ``Client`` element with the client codes and the
    klasse codes, or None for a Header-only retour."""

    retour: MessageDef
    heen_header: Mapping[str, str]
    identificatie_retour: str
    dagtekening_retour: dt.date
    xslt_versie: str | None = None
    header_codes: tuple[str, ...] = ()
    client: etree._Element | None = None
    client_codes: tuple[str, ...] = ()
    klasse_codes: tuple[str, ...] = ()


class RetourWriter(Protocol):
    """Writes a retour (UTF-8 bytes, valid under the retour's XSD) for the simulator."""

    def __call__(self, request: RetourRequest) -> bytes: ...


# ---------------------------------------------------------------- the pack


@dataclass(frozen=True, eq=False)
class ReleasePack:
    """One iStandaard release as data.

    ``name``: ``"ieb-1.0"``; ``valid_from``: the date the release applies from (None: unknown, e.g.
    a scanned folder); ``messages``: the message table by name; ``basis_namespace``: the release's
    basisschema namespace; ``folder``: where its XSDs are; ``rules``, ``revisions``,
    ``retourcodes``: its rule set, its revisions (oldest first) and its retourcode table;
    ``delivery``: the :class:`DeliveryMapping` (None: this release cannot be planned/sent);
    ``retour_writer``: the :class:`RetourWriter` (None: the simulator cannot answer it);
    ``builtin``: shipped with ieb (a typed, fully ruled release); ``compiled``: where the compiled
    checks of its rules come from (see :mod:`ieb.releases.compiled`)."""

    name: str
    messages: Mapping[str, MessageDef]
    valid_from: dt.date | None = None
    basis_namespace: str | None = None
    folder: Path | None = None
    rules: RuleSet = field(default_factory=RuleSet)
    revisions: tuple[Any, ...] = ()
    retourcodes: RetourcodeTable = field(default_factory=lambda: RetourcodeTable({}))
    delivery: DeliveryMapping | None = None
    retour_writer: RetourWriter | None = None
    builtin: bool = False
    #: the Fo01 code with which the receiver answers a payload that is not XSD-valid, instead of a
    #: technical retour (iEb 4.0: ``"IB001"``, 2025 Fo01 list); None: a retour with 0001 (IV028)
    level1_fo01: str | None = None
    #: a note when the pack's XSDs are NOT the published ones (iEb 4.0 on its stand-in schema): every
    #: validation result of this pack carries it, so a verdict is never presented as the official one
    stand_in: str | None = None
    #: the compiled checks of the pack's in-message rules (issue 22): a zero-argument callable returning
    #: ``{rule: check factory}`` (:mod:`ieb.releases.compiled`), called on first use so importing the
    #: pack stays cheap; None: the generic rules' checks only (a rule without one keeps the engine)
    compiled: Callable[[], Mapping[Any, Any]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name, row in self.messages.items():
            if name != row.name or row.release != self.name:
                raise ConfigurationError(f"pack {self.name}: tabelrij {name} hoort niet bij deze release")
            if row.answers is not None and row.answers not in self.messages:
                raise ConfigurationError(
                    f"pack {self.name}: {name} beantwoordt onbekend bericht {row.answers}"
                )

    def message(self, name: str) -> MessageDef:
        """The table row by message name (any case); raises UnknownMessageError when absent."""
        try:
            return self.messages[name.upper()]
        except KeyError:
            raise UnknownMessageError(
                f"release {self.name} kent bericht {name!r} niet; wel: {', '.join(self.messages)}"
            ) from None

    def by_code(self, bericht_code: str) -> MessageDef | None:
        """The row with this BerichtCode (three digits), or None."""
        return next((m for m in self.messages.values() if m.bericht_code == bericht_code), None)

    def by_namespace(self, namespace: str) -> MessageDef | None:
        """The row with this target namespace, or None."""
        return next((m for m in self.messages.values() if m.namespace == namespace), None)

    def by_model(self, model: type[Any]) -> MessageDef | None:
        """The row whose model class is ``model`` (or a base of it), or None."""
        return next(
            (m for m in self.messages.values() if m.model is not None and issubclass(model, m.model)), None
        )

    def heen(self) -> tuple[MessageDef, ...]:
        """The heenberichten (gemeente -> CAK) in table order."""
        return tuple(m for m in self.messages.values() if m.is_heen)

    def retours(self) -> tuple[MessageDef, ...]:
        """The retours (CAK -> gemeente) in table order."""
        return tuple(m for m in self.messages.values() if m.is_retour)

    def retour_of(self, heen: str) -> MessageDef:
        """The retour that answers heenbericht ``heen``; raises UnknownMessageError when ``heen`` is
        not a heenbericht of this release."""
        row = self.message(heen)
        if not row.is_heen or row.answers is None:
            raise UnknownMessageError(f"{row.name} is geen heenbericht van {self.name}")
        return self.messages[row.answers]

    def heen_of(self, retour: str) -> MessageDef:
        """The heenbericht that retour ``retour`` answers; raises UnknownMessageError when ``retour``
        is not a retour of this release."""
        row = self.message(retour)
        if not row.is_retour or row.answers is None:
            raise UnknownMessageError(f"{row.name} is geen retour van {self.name}")
        return self.messages[row.answers]

    def functie_berichtcodes(self) -> dict[str, str]:
        """Message name -> BerichtCode, for GGk routing (IB240: the functie and the payload's code)."""
        return {m.name: m.bericht_code for m in self.messages.values() if m.bericht_code}

    def revision_on(self, day: dt.date | None) -> Any:
        """The revision in force on ``day`` (the newest when None); raises ConfigurationError when
        the pack has no revisions."""
        if not self.revisions:
            raise ConfigurationError(f"release {self.name} heeft geen revisies")
        if day is None:
            return self.revisions[-1]
        current = self.revisions[0]
        for r in self.revisions:
            if r.in_force <= day:
                current = r
        return current

    def revision(self, name: str) -> Any:
        """The revision with this name (``"1.0.3"``); raises ConfigurationError for an unknown one."""
        for r in self.revisions:
            if r.name == name.strip():
                return r
        raise ConfigurationError(
            f"onbekende revisie {name!r} van {self.name}; bekend: {', '.join(r.name for r in self.revisions)}"
        )

    def require_delivery(self) -> DeliveryMapping:
        """The delivery mapping; raises ConfigurationError when this release cannot be planned."""
        if self.delivery is None:
            raise ConfigurationError(f"release {self.name} heeft geen leveringsafbeelding (alleen valideren)")
        return self.delivery

    def require_retour_writer(self) -> RetourWriter:
        """The retour writer; raises ConfigurationError when the simulator cannot answer this release."""
        if self.retour_writer is None:
            raise ConfigurationError(f"release {self.name} heeft geen retourschrijver")
        return self.retour_writer


def column_name(element: str) -> str:
    """The CSV column of an element name: ``EbStartdatum`` -> ``eb_startdatum``, ``KostprijsBedrag`` ->
    ``kostprijs_bedrag`` (the ``ieb build`` input and its help)."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(element))


def klasse_columns(row: MessageDef) -> tuple[str, ...]:
    """The columns of a heenbericht's klasse besides the key and the status, in schema order."""
    skip = {row.key_element, "StatusAanlevering"}
    return tuple(dict.fromkeys(column_name(path[-1]) for path in row.klasse_fields if path[0] not in skip))
