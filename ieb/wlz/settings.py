"""The ``[wlz]`` section of ``ieb.toml``: file layouts and the gemeente's samenloop policy.

The column layout of the upload CSV, the signal report and the processing report of the
Inlichtingenbureau (BIDN) is not published in anything this project can reach, so every layout
is configuration: a mapping from our field name to the column name in the file, and the date
formats (``strftime`` patterns). The defaults below are ASSUMED (marked so in docs/wlz.md);
a gemeente that receives other column names changes only ``ieb.toml``::

    [wlz.signalen.kolommen]
    bsn = "BSN"
    ingangsdatum = "Ingangsdatum Wlz-indicatie"

    [wlz.beleid]
    stopdatum = "dag_voor_ingang"         # "dag_voor_ingang" | "ingangsdatum" | "afgiftedatum"
    terugwerkend_max_dagen = 90           # older samenloop: stop on the day of receipt instead
    doorlopen = ["08", "11", "12", "13", "14"]   # WMO020 productcategorieen that may continue

Errors: :class:`ieb.errors.ConfigurationError` naming ``wlz.<setting>`` (Dutch).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ieb.config import check_bewaardagen, dutch_error
from ieb.errors import ConfigurationError

__all__ = [
    "BeleidSettings",
    "SignaalLayout",
    "UploadLayout",
    "VerslagLayout",
    "WlzSettings",
    "parse_wlz_settings",
]

_CATEGORIE = re.compile(r"^[0-9]{2}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_formats(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("noem ten minste één datumformaat, bv. '%d-%m-%Y'")
    for fmt in value:
        if "%" not in fmt:
            raise ValueError(f"datumformaat {fmt[:20]!r} bevat geen %-code (bv. '%Y-%m-%d')")
        try:
            dt.date(2026, 1, 31).strftime(fmt)
        except ValueError as exc:  # pragma: no cover - strftime accepts nearly anything
            raise ValueError(f"datumformaat {fmt[:20]!r}: {exc}") from None
    return value


def _check_columns(
    value: dict[str, str], required: tuple[str, ...], known: tuple[str, ...]
) -> dict[str, str]:
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(f"onbekend veld {', '.join(unknown)}; toegestaan: {', '.join(known)}")
    for name in required:
        if not value.get(name, "").strip():
            raise ValueError(f"kolomnaam voor '{name}' ontbreekt of is leeg")
    names = [v.strip().lower() for v in value.values() if v.strip()]
    if len(set(names)) != len(names):
        raise ValueError("twee velden hebben dezelfde kolomnaam")
    return value


class UploadLayout(_Section):
    """The upload CSV ``ieb wlz upload`` writes (ASSUMED layout). ``kolommen`` maps the fields
    ``gemeente, bsn, productcategorie, begindatum, einddatum`` to column names (a field mapped
    to ``""`` is left out, except ``bsn`` and ``begindatum``)."""

    scheidingsteken: Literal[";", ","] = ";"
    datumformaat: str = "%d-%m-%Y"
    kolommen: dict[str, str] = Field(
        default_factory=lambda: {
            "gemeente": "gemeentecode",
            "bsn": "bsn",
            "productcategorie": "productcategorie",
            "begindatum": "begindatum",
            "einddatum": "einddatum",
        }
    )

    @field_validator("datumformaat")
    @classmethod
    def _fmt(cls, value: str) -> str:
        return _check_formats([value])[0]

    @field_validator("kolommen")
    @classmethod
    def _cols(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_columns(
            value, ("bsn", "begindatum"), ("gemeente", "bsn", "productcategorie", "begindatum", "einddatum")
        )


class SignaalLayout(_Section):
    """The signal report of the IB (ASSUMED layout): ``kolommen`` maps ``bsn, naam,
    aanvraagdatum, afgiftedatum, ingangsdatum, gemeente`` to column names (``bsn`` and
    ``ingangsdatum`` required; ``naam`` and ``gemeente`` optional: map to ``""`` when absent)."""

    datumformaten: list[str] = Field(default_factory=lambda: ["%d-%m-%Y", "%Y-%m-%d", "%Y%m%d"])
    kolommen: dict[str, str] = Field(
        default_factory=lambda: {
            "bsn": "bsn",
            "naam": "naam",
            "aanvraagdatum": "aanvraagdatum",
            "afgiftedatum": "afgiftedatum",
            "ingangsdatum": "ingangsdatum",
            "gemeente": "gemeentecode",
        }
    )

    @field_validator("datumformaten")
    @classmethod
    def _fmts(cls, value: list[str]) -> list[str]:
        return _check_formats(value)

    @field_validator("kolommen")
    @classmethod
    def _cols(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_columns(
            value,
            ("bsn", "ingangsdatum"),
            ("bsn", "naam", "aanvraagdatum", "afgiftedatum", "ingangsdatum", "gemeente"),
        )


class VerslagLayout(_Section):
    """The processing report of an upload (ASSUMED layout): one row per refused upload row with
    ``regel`` (line in the upload), ``bsn`` (optional) and ``melding`` (the IB's reason)."""

    kolommen: dict[str, str] = Field(
        default_factory=lambda: {"regel": "regel", "bsn": "bsn", "melding": "melding"}
    )

    @field_validator("kolommen")
    @classmethod
    def _cols(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_columns(value, ("melding",), ("regel", "bsn", "melding"))


class BeleidSettings(_Section):
    """The gemeente's policy for samenloop (ASSUMED defaults, see docs/wlz.md).

    ``stopdatum``: the proposed EbStopdatum relative to the Wlz indicatie: the day before its
    ingangsdatum (default), the ingangsdatum itself, or the afgiftedatum (falls back to the
    ingangsdatum when the report has none). ``terugwerkend_max_dagen``: a proposed stop more than
    this many days before the signal was received becomes the day of receipt (the handreiking:
    do not undo long-running samenloop retroactively). ``doorlopen``: WMO020 productcategorieen
    that may continue next to the Wlz (default 08 vervoerdiensten/regiotaxi, 11-14 rolstoelen,
    vervoer-, woon- en overige hulpmiddelen/woningaanpassingen). ``bewaartermijn_dagen``: the
    default of ``ieb wlz opschonen``, at least :data:`ieb.config.MIN_BEWAARDAGEN` (365) like
    ``[bewaren] dagen``."""

    stopdatum: Literal["dag_voor_ingang", "ingangsdatum", "afgiftedatum"] = "dag_voor_ingang"
    terugwerkend_max_dagen: int = Field(default=90, ge=0, le=3660)
    doorlopen: list[str] = Field(default_factory=lambda: ["08", "11", "12", "13", "14"])
    bewaartermijn_dagen: int = Field(default=365, le=36600)

    @field_validator("bewaartermijn_dagen")
    @classmethod
    def _floor(cls, value: int) -> int:
        return check_bewaardagen(value)

    @field_validator("doorlopen")
    @classmethod
    def _cats(cls, value: list[str]) -> list[str]:
        for code in value:
            if not _CATEGORIE.fullmatch(code):
                raise ValueError(f"productcategorie {code[:10]!r} moet een WMO020-code van 2 cijfers zijn")
        return value


class WlzSettings(_Section):
    """The whole ``[wlz]`` section."""

    upload: UploadLayout = Field(default_factory=UploadLayout)
    signalen: SignaalLayout = Field(default_factory=SignaalLayout)
    verwerkingsverslag: VerslagLayout = Field(default_factory=VerslagLayout)
    beleid: BeleidSettings = Field(default_factory=BeleidSettings)


def parse_wlz_settings(raw: Any) -> WlzSettings:
    """``[wlz]`` as read from ``ieb.toml`` (a mapping, or None/empty for the defaults) as
    :class:`WlzSettings`. Raises :class:`ConfigurationError` naming every wrong setting."""
    if isinstance(raw, WlzSettings):
        return raw
    try:
        return WlzSettings.model_validate(dict(raw or {}))
    except (ValidationError, TypeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            problems = [
                f"wlz.{'.'.join(str(x) for x in e['loc'])}: {dutch_error(WlzSettings, e, section=('wlz',))}"
                for e in exc.errors(include_input=False, include_url=False)
            ]
        else:
            problems = [f"wlz: {exc}"]
        raise ConfigurationError(
            "configuratie [wlz] klopt niet: " + "; ".join(problems), code="CONFIG", location="wlz"
        ) from None
