"""Value types of the iEb standard (basisschema ``LDT_*``), usable in pydantic models and alone.

``Bsn``, ``Gemeentecode``, ``Versie`` and ``IdentificatieBericht`` are ``str`` subclasses that
validate on construction; ``Datum``, ``Bedrag`` and ``Nummer`` are annotated types for pydantic
models, with plain helper functions for use outside a model.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema

__all__ = [
    "Bedrag",
    "Bsn",
    "Datum",
    "Gemeentecode",
    "IdentificatieBericht",
    "IebStatus",
    "Nummer",
    "RetourCode",
    "StatusAanlevering",
    "Versie",
    "bsn_is_valid",
    "mask_bsn",
    "mask_bsns",
    "parse_datum",
]


def mask_bsn(value: object) -> str:
    """Return a BSN with all but the last three digits masked: ``******782``.

    Anything that is not exactly nine digits is masked completely, so a typo never leaks.
    """
    text = str(value)
    if len(text) == 9 and text.isdecimal():
        return "******" + text[-3:]
    return "*" * min(len(text), 9)


_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# A stand-alone run of 8 to 10 digits may be a BSN (or one with a typo); UUIDs are left alone, and
# in a reference word only a run that can be a BSN is masked (:func:`_reference_span`). ``\d`` is any
# decimal digit of Unicode (category Nd: also Arabic-Indic ``٣``, fullwidth ``３``, Devanagari
# ``३``...): ``int()`` and many programs read those as a BSN too, so they are masked alike.
_BSN_LIKE = re.compile(rf"(?P<uuid>(?<![0-9a-fA-F]){_UUID}(?![0-9a-fA-F]))|(?<!\d)(?P<bsn>\d{{8,10}})(?!\d)")
_HEX = frozenset("0123456789abcdef")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _word_char(c: str) -> bool:
    return c.isalnum() or c in "_-"


def _reference_span(text: str, start: int, end: int) -> tuple[int, int, bool]:
    """The hex span around ``text[start:end]`` (a run of ASCII digits) as ``(first, past, is_ref)``:
    whether it is the hex part of a reference word as ieb writes them: ASCII letters, ``-`` and 16
    or more lower-case hex characters, with no letter, digit, ``_`` or ``-`` of any script on
    either side (``bestand-<28 hex>`` of a kept retour file, WS-Security ids ``<kind>-<32 hex>``).
    Every run inside one span gets the same answer: :func:`mask_bsns` asks once per span (a long
    hex text with many runs is not walked once per run: that was quadratic)."""
    i, j, n = start, end, len(text)
    while i > 0 and text[i - 1] in _HEX:
        i -= 1
    while j < n and text[j] in _HEX:
        j += 1
    if j - i < 16 or (j < n and _word_char(text[j])) or i == 0 or text[i - 1] != "-":
        return i, j, False
    k = i - 1
    while k > 0 and text[k - 1] in _LETTERS:
        k -= 1
    return i, j, k < i - 1 and not (k > 0 and _word_char(text[k - 1]))


def _may_be_bsn(run: str) -> bool:
    """Whether a run of 8-10 ASCII digits may hold a BSN: nine of them in a row pass the 11-proef
    (the run itself, or nine of ten: a digit glued on), or eight do with the leading zero that a
    number format drops (``012345672`` written ``12345672``)."""
    padded = run.zfill(9)
    return any(bsn_is_valid(padded[i : i + 9]) for i in range(len(padded) - 8))


#: a stand-alone run of 8-10 ASCII digits inside a UUID (only its 8- and 12-hex groups hold one)
_UUID_RUN = re.compile(r"(?<![0-9])[0-9]{8,10}(?![0-9])")


def _masked(m: re.Match[str], span: list[tuple[int, int, bool]] | None = None) -> str:
    """What :func:`mask_bsns` writes for a match of :data:`_BSN_LIKE`: a UUID as it is and a run in a
    reference word (:func:`_reference_span`) as it is, except a run in them that may be a BSN
    (:func:`_may_be_bsn`: privacy wins); any other run masked (a typo of a BSN too). ``span``:
    the last hex span looked at in this text (one entry, kept between the matches of one text)."""
    bsn = m.group("bsn")
    if bsn is None:
        uuid = m.group(0)
        if _UUID_RUN.search(uuid) is None:  # the usual case: no run of 8-10 digits in it
            return uuid
        return _UUID_RUN.sub(lambda r: mask_bsn(r.group(0)) if _may_be_bsn(r.group(0)) else r.group(0), uuid)
    if bsn.isascii():
        start = m.start()
        if span and span[0][0] <= start < span[0][1]:
            is_ref = span[0][2]
        else:
            found = _reference_span(m.string, start, m.end())
            if span is not None:
                span[:] = [found]
            is_ref = found[2]
        if is_ref and not _may_be_bsn(bsn):
            return bsn
    return mask_bsn(bsn)


#: a run :data:`_BSN_LIKE` would mask, ignoring its UUID exception: without one, nothing is masked
_CANDIDATE = re.compile(r"(?<!\d)\d{8,10}(?!\d)")
#: the same for ASCII text (``str.isascii`` is one flag test): the engine's quick scan of [0-9]
_CANDIDATE_ASCII = re.compile(r"(?<![0-9])[0-9]{8,10}(?![0-9])")


def mask_bsns(text: str) -> str:
    """``text`` with every stand-alone run of 8-10 decimal digits (any script: Unicode category Nd)
    masked by :func:`mask_bsn`. Two exceptions, for ASCII runs that cannot hold a BSN
    (:func:`_may_be_bsn`: no nine of them, nor the eight with a dropped leading zero, pass the
    11-proef): such a run is left in a UUID and in a reference word as ieb writes them
    (``bestand-<28 hex>``: :func:`_reference_span`), so those print whole unless their hex happens
    to hold a run that may be a BSN (privacy wins: a BSN is masked in ANY text).

    For log lines, error messages and anything else that may quote a BSN."""
    candidate = _CANDIDATE_ASCII if text.isascii() else _CANDIDATE
    if candidate.search(text) is None:  # no run to mask (the usual case): one quick scan
        return text
    span: list[tuple[int, int, bool]] = []
    return _BSN_LIKE.sub(lambda m: _masked(m, span), text)


def bsn_is_valid(value: str) -> bool:
    """True when ``value`` is nine digits that pass the 11-proef (rule CS002).

    The arithmetic 11-proef only, as the official iStandaarden XSLT engine applies it (template
    ``check11proef``): weights 9..2 on digits 1-8, -1 on digit 9, sum divisible by 11. So
    ``000000000`` passes (python-stdnum's ``is_valid`` refuses it as a number <= 0; we use its
    ``checksum`` only). See docs/validation.md. python-stdnum is imported on the first call, not
    with this module (issue 22: it costs 0.06 s CPU at start-up, and a valid file never needs it).
    """
    if not (isinstance(value, str) and len(value) == 9 and value.isascii() and value.isdigit()):
        return False
    return (_CHECKSUM or _stdnum_checksum())(value) == 0


_CHECKSUM: Callable[[str], int] | None = None


def _stdnum_checksum() -> Callable[[str], int]:
    global _CHECKSUM
    from stdnum.nl import bsn as stdnum_bsn

    _CHECKSUM = stdnum_bsn.checksum
    return stdnum_bsn.checksum


class _ValidatedStr(str):
    """A ``str`` subclass that validates itself on construction and in pydantic models."""

    _what: ClassVar[str] = "waarde"

    def __new__(cls, value: object) -> _ValidatedStr:
        if not isinstance(value, str):
            raise TypeError(f"{cls._what}: verwacht tekst, niet {type(value).__name__}")
        cls._check(value)
        return super().__new__(cls, value)

    @classmethod
    def _check(cls, value: str) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(strict=True), serialization=core_schema.to_string_ser_schema()
        )


class Bsn(_ValidatedStr):
    """Burgerservicenummer: nine digits passing the 11-proef. ``repr`` masks it."""

    _what = "Bsn"

    @classmethod
    def _check(cls, value: str) -> None:
        if not (len(value) == 9 and value.isascii() and value.isdigit()):
            raise ValueError(f"Bsn {mask_bsn(value)} moet uit precies 9 cijfers 0-9 bestaan")
        if not bsn_is_valid(value):
            raise ValueError(f"Bsn {mask_bsn(value)} voldoet niet aan de 11-proef (CS002)")

    def __repr__(self) -> str:
        return f"Bsn('{mask_bsn(self)}')"

    @property
    def masked(self) -> str:
        """The Bsn with all but the last three digits masked (``******782``)."""
        return mask_bsn(self)


class Gemeentecode(_ValidatedStr):
    """CBS gemeentecode: exactly four digits (``LDT_Gemeente``). Membership of the CBS list is CS300."""

    _what = "Gemeentecode"

    @classmethod
    def _check(cls, value: str) -> None:
        if not re.fullmatch(r"[0-9]{4}", value):
            raise ValueError(f"Gemeentecode {value!r} moet uit precies 4 cijfers bestaan")


class Versie(_ValidatedStr):
    """``n.n.n`` without leading zeros (``LDT_Versie``)."""

    _what = "Versie"

    @classmethod
    def _check(cls, value: str) -> None:
        if not re.fullmatch(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", value):
            raise ValueError(f"Versie {value!r} moet de vorm n.n.n hebben, zonder voorloopnullen")

    @property
    def parts(self) -> tuple[int, int, int]:
        """The three numbers of ``n.n.n``."""
        a, b, c = (int(p) for p in self.split("."))
        return (a, b, c)


class IdentificatieBericht(_ValidatedStr):
    """1..12 characters, not only whitespace (``LDT_IdentificatieBericht``: pattern ``.*[^\\s].*``,
    where whitespace is space, tab, CR and LF)."""

    _what = "Identificatie"

    @classmethod
    def _check(cls, value: str) -> None:
        if not 1 <= len(value) <= 12:
            raise ValueError(f"Identificatie {value!r} moet 1 tot 12 tekens lang zijn")
        if not value.strip(" \t\r\n"):  # the XSD's \s: a no-break space is not whitespace
            raise ValueError("Identificatie mag niet alleen uit spaties bestaan")


_DATE_RE = re.compile(r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}")


def parse_datum(value: object) -> _dt.date:
    """Parse an ``LDT_Datum``: ``YYYY-MM-DD`` without a timezone. A ``datetime`` is refused."""
    if isinstance(value, _dt.datetime):
        raise ValueError("Datum mag geen tijdstip of tijdzone bevatten; gebruik een date")
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        if not _DATE_RE.fullmatch(value):
            raise ValueError(f"Datum {value!r} moet de vorm JJJJ-MM-DD hebben, zonder tijdzone")
        try:
            return _dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"Datum {value!r} bestaat niet") from exc
    raise ValueError(f"Datum: verwacht JJJJ-MM-DD, niet {type(value).__name__}")


def _status_from(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class StatusAanlevering(str, Enum):
    """``LDT_StatusAanlevering``. ``NIET_VAN_TOEPASSING`` (9) is XSD-valid but forbidden by CS125."""

    EERSTE = "1"
    GEWIJZIGD = "2"
    VERWIJDEREN = "3"
    NIET_VAN_TOEPASSING = "9"

    @property
    def omschrijving(self) -> str:
        """The meaning of the status in Dutch."""
        return {
            "1": "eerste aanlevering",
            "2": "gewijzigde aanlevering",
            "3": "verwijderen aanlevering",
            "9": "niet van toepassing",
        }[self.value]


def _only_iEb_statuses(value: StatusAanlevering) -> StatusAanlevering:
    if value is StatusAanlevering.NIET_VAN_TOEPASSING:
        raise ValueError("StatusAanlevering 9 is in iEb niet toegestaan (CS125); gebruik 1, 2 of 3")
    return value


class RetourCode(str, Enum):
    """``LDT_RetourCode`` (codelist EB001) with its meaning."""

    TECHNISCH_AFGEKEURD = "0001"
    GEEN_OPMERKING = "0200"
    NIET_BEOORDEELD = "0233"
    DAGTEKENING_NA_SYSTEEMDATUM = "8848"
    TR071 = "9071"
    TR102 = "9102"
    TR103 = "9103"
    TR104 = "9104"
    TR114 = "9114"
    TR115 = "9115"
    TR328 = "9328"
    TR329 = "9329"
    TR330 = "9330"
    CS300 = "S300"
    CS333 = "S333"

    @property
    def omschrijving(self) -> str:
        """The retourcode's text from codelist EB001."""
        return _RETOURCODE_TEXT[self.value]

    @property
    def rule(self) -> str | None:
        """The rule code this retourcode reports in iEb 1.0's reading of its own codes (``9102`` ->
        ``TR102``, ``S300`` -> ``CS300``). A release's table is the authority:
        ``ieb.releases.get_pack(name).retourcodes.rule(code)`` (in iEb 4.0 the letter no longer
        tells the rule)."""
        if self.value.startswith("9"):
            return "TR" + self.value[1:]
        if self.value.startswith("S"):
            return "CS" + self.value[1:]
        if self.value == "8848":
            return "8848"
        return None

    @classmethod
    def for_rule(cls, rule: str) -> RetourCode | None:
        """The specific retourcode of a rule code, or None when the rule reports 0001."""
        for member in cls:
            if member.rule == rule:
                return member
        return None


_RETOURCODE_TEXT = {
    "0001": "Bericht is afgekeurd om technische redenen.",
    "0200": "Geen opmerking over deze berichtklasse (geaccepteerd).",
    "0233": "Berichtklasse is niet beoordeeld.",
    "8848": "Dagtekening moet gelijk zijn aan of voor de systeemdatum liggen.",
    "9071": "Bericht voldoet niet aan technische regel TR071.",
    "9102": "Bericht voldoet niet aan technische regel TR102.",
    "9103": "Bericht voldoet niet aan technische regel TR103.",
    "9104": "Bericht voldoet niet aan technische regel TR104.",
    "9114": "Bericht voldoet niet aan technische regel TR114.",
    "9115": "Bericht voldoet niet aan technische regel TR115.",
    "9328": "Bericht voldoet niet aan technische regel TR328.",
    "9329": "Bericht voldoet niet aan technische regel TR329.",
    "9330": "Bericht voldoet niet aan technische regel TR330.",
    "S300": "Gemeentecode komt niet voor in de gemeentelijst van het CBS.",
    "S333": "Kostprijsbedrag niet groter dan nationaal tarief (op de KostprijsStartdatum).",
}


# The annotated types for pydantic models are made on first use (module ``__getattr__``), so that
# importing this module (every validation and log line needs mask_bsn and the 11-proef) does not
# import pydantic (issue 22: 0.08 s CPU at start-up). ``from ieb.types import Datum`` works as before.
if TYPE_CHECKING:  # pragma: no cover
    from pydantic import AfterValidator, BeforeValidator, Field, Strict

    #: ``LDT_Datum``: a calendar date that can never carry a timezone.
    Datum = Annotated[_dt.date, BeforeValidator(parse_datum)]
    #: ``LDT_Bedrag``: integer eurocent, 0..99 999 999.
    Bedrag = Annotated[int, Strict(), Field(ge=0, le=99_999_999)]
    #: ``LDT_Nummer``: integer 0..999 999 999.
    Nummer = Annotated[int, Strict(), Field(ge=0, le=999_999_999)]
    #: StatusAanlevering as allowed in an iEb 1.0 message (CS125: 1, 2 or 3).
    IebStatus = Annotated[
        StatusAanlevering, BeforeValidator(_status_from), AfterValidator(_only_iEb_statuses)
    ]


def _annotated() -> dict[str, Any]:
    from pydantic import AfterValidator, BeforeValidator, Field, Strict

    return {
        "Datum": Annotated[_dt.date, BeforeValidator(parse_datum)],
        "Bedrag": Annotated[int, Strict(), Field(ge=0, le=99_999_999)],
        "Nummer": Annotated[int, Strict(), Field(ge=0, le=999_999_999)],
        "IebStatus": Annotated[
            StatusAanlevering, BeforeValidator(_status_from), AfterValidator(_only_iEb_statuses)
        ],
    }


def __getattr__(name: str) -> Any:
    if name in ("Datum", "Bedrag", "Nummer", "IebStatus"):
        made = _annotated()
        globals().update(made)
        return made[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
