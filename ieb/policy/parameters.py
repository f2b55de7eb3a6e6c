"""Municipal parameters: lowered tariff, minima limits, designated categories, exemptions, triggers.

These are reported in the CAK portal, not in iEb messages. They are frozen pydantic models; money is
integer eurocent. Use :func:`parameters_from_json` / :func:`parameters_to_json` and
:func:`parameters_to_csv` / :func:`parameters_from_csv` to exchange them (the CSV is meant for a clerk
to check before entering the values in the portal).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, ValidationInfo, model_validator

from ieb.policy._validation import from_validation_error
from ieb.policy.errors import PolicyInputError, TariffError
from ieb.policy.months import PauseRule
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.types import Bsn, Datum, Gemeentecode

__all__ = [
    "DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN",
    "Cent",
    "Exemption",
    "ExemptionGround",
    "GemeenteParameters",
    "HouseholdType",
    "IncomeComparison",
    "MinimaLimits",
    "ReducedTariff",
    "StartTrigger",
    "VoorzieningKind",
    "check_new_verlaagd_tarief",
    "parameters_from_csv",
    "parameters_from_json",
    "parameters_to_csv",
    "parameters_to_json",
]

#: A non-negative amount in eurocent (bool and float are refused).
Cent = Annotated[int, Strict(), Field(ge=0, le=99_999_999_999)]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class VoorzieningKind(StrEnum):
    """Category of a voorziening, as far as the abonnementstarief is concerned."""

    HUISHOUDELIJKE_HULP = "huishoudelijke_hulp"
    BEGELEIDING = "begeleiding"
    DAGBESTEDING = "dagbesteding"
    HULPMIDDEL = "hulpmiddel"
    WONINGAANPASSING = "woningaanpassing"
    ROLSTOEL = "rolstoel"
    VERVOER = "vervoer"
    ALGEMENE_VOORZIENING = "algemene_voorziening"

    @property
    def heeft_kostprijs(self) -> bool:
        """Hulpmiddelen and woningaanpassingen may carry a kostprijs (kostprijsbewaking)."""
        return self in {
            VoorzieningKind.HULPMIDDEL,
            VoorzieningKind.WONINGAANPASSING,
            VoorzieningKind.ROLSTOEL,
        }


#: Default designation: everything except rolstoelen (never) and algemene voorzieningen (only when
#: the gemeente designates them, e.g. those with a duurzame hulpverleningsrelatie).
DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN = frozenset(VoorzieningKind) - {
    VoorzieningKind.ROLSTOEL,
    VoorzieningKind.ALGEMENE_VOORZIENING,
}


class StartTrigger(StrEnum):
    """What starts and stops the contribution for a category (chosen by the gemeente)."""

    BESCHIKKING = "beschikking"  # start/einde of the beschikking (toekenning)
    TOEWIJZING = "toewijzing"  # iWmo 301: ingangs-/einddatum of the toewijzing
    LEVERING = "levering"  # iWmo 305 start zorg / 307 stop zorg reported by the provider
    DECLARATIE = "declaratie"  # first / last iWmo 303 declaration period


class HouseholdType(StrEnum):
    """The four cells of a minima policy."""

    EENPERSOONS = "eenpersoons"
    MEERPERSOONS = "meerpersoons"
    EENPERSOONS_AOW = "eenpersoons_aow"
    MEERPERSOONS_AOW = "meerpersoons_aow"


class ExemptionGround(StrEnum):
    """Legal grounds for an individual exemption (vrijstelling) granted by the gemeente."""

    ONVOLDOENDE_DRAAGKRACHT = "onvoldoende_draagkracht"
    INTEGRALE_AANPAK_JUSTITIE = "integrale_aanpak_justitie"
    ZORGMIJDING_PSYCHISCH = "zorgmijding_psychisch"
    RISICO_MINDERJARIGE = "risico_minderjarige"

    @property
    def omschrijving(self) -> str:
        """The ground in Dutch words, for a clerk reading an estimate or a CSV export."""
        return {
            "onvoldoende_draagkracht": "onvoldoende draagkracht om de eigen bijdrage te betalen",
            "integrale_aanpak_justitie": "integrale aanpak bij contact met politie of justitie",
            "zorgmijding_psychisch": "voorkomen van zorgmijding door een psychische aandoening",
            "risico_minderjarige": "risico op mishandeling of verwaarlozing van een minderjarige (op advies)",
        }[self.value]


class ReducedTariff(BaseModel):
    """A lowered monthly abonnementstarief for all clients of the gemeente, from ``vanaf``.

    ``bedrag_cent``: eurocent per calendar month; ``vanaf``: the 1st of a month; ``vastgesteld_op``:
    the date the gemeente decided it (optional). Raises :class:`~ieb.policy.TariffError` when
    ``vanaf`` is not the 1st or lies before ``vastgesteld_op`` (no retroactive tariff, VNG).
    The comparison with the national maximum is :func:`check_verlaagd_tarief`.
    """

    model_config = _FROZEN

    vanaf: Datum
    bedrag_cent: Cent
    vastgesteld_op: Datum | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.vanaf.day != 1:
            raise TariffError(
                "verlaagd_tarief.vanaf",
                f"{self.vanaf.isoformat()} is niet de eerste dag van een maand; het tarief geldt per "
                "kalendermaand, kies de 1e van de maand",
            )
        if self.vastgesteld_op is not None and self.vastgesteld_op > self.vanaf:
            raise TariffError(
                "verlaagd_tarief.vanaf",
                f"het tarief is vastgesteld op {self.vastgesteld_op.isoformat()} maar zou gelden vanaf "
                f"{self.vanaf.isoformat()}; een verlaagd tarief mag niet met terugwerkende kracht ingaan",
            )
        return self


class Grenzen(BaseModel):
    """One amount per household type (eurocent per year)."""

    model_config = _FROZEN

    eenpersoons: Cent
    meerpersoons: Cent
    eenpersoons_aow: Cent
    meerpersoons_aow: Cent

    def voor(self, soort: HouseholdType) -> int:
        """The amount for household type ``soort``, in eurocent per year."""
        value: int = getattr(self, soort.value)
        return value


class IncomeComparison(StrEnum):
    """How the income is compared with a minima limit (the ``vergelijking`` of a minima entry).

    Default ``onder`` (strictly below): the seed implementation checklist (1.1.5) speaks of a
    household "onder de inkomensgrens", and municipal pages say "minder dan" (e.g. Westland:
    "minder dan 130 procent van de bijstandsnorm"), so income equal to the limit pays. A gemeente
    whose verordening says "tot en met" or "niet meer dan" chooses ``op_of_onder``.
    """

    BELOW = "onder"
    AT_OR_BELOW = "op_of_onder"


class MinimaLimits(BaseModel):
    """Minima limits from ``vanaf``: either absolute yearly amounts, or a percentage of a norm.

    A household whose bijdrageplichtig inkomen is below its limit pays nothing (``vergelijking``:
    strictly below by default, see :class:`IncomeComparison`).
    """

    model_config = _FROZEN

    vanaf: Datum
    grens_cent_per_jaar: Grenzen | None = None
    percentage: Annotated[int, Strict(), Field(ge=1, le=1000)] | None = None
    norm_cent_per_jaar: Grenzen | None = None
    vergelijking: IncomeComparison = IncomeComparison.BELOW

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        absolute = self.grens_cent_per_jaar is not None
        relative = self.percentage is not None or self.norm_cent_per_jaar is not None
        if absolute == relative:
            raise PolicyInputError(
                "minima",
                "geef óf grens_cent_per_jaar óf percentage met norm_cent_per_jaar, "
                "niet allebei en niet geen van beide",
            )
        if relative and (self.percentage is None or self.norm_cent_per_jaar is None):
            raise PolicyInputError("minima", "bij een percentage hoort ook norm_cent_per_jaar (en omgekeerd)")
        return self

    def grens(self, soort: HouseholdType) -> int:
        """The yearly limit in eurocent for ``soort`` (percentage of the norm, rounded down)."""
        if self.grens_cent_per_jaar is not None:
            return self.grens_cent_per_jaar.voor(soort)
        assert self.norm_cent_per_jaar is not None and self.percentage is not None
        return self.norm_cent_per_jaar.voor(soort) * self.percentage // 100

    def exempts(self, inkomen_cent_per_jaar: int, soort: HouseholdType) -> bool:
        """True when a household of ``soort`` with this yearly income (eurocent) pays nothing."""
        grens = self.grens(soort)
        if self.vergelijking is IncomeComparison.AT_OR_BELOW:
            return inkomen_cent_per_jaar <= grens
        return inkomen_cent_per_jaar < grens


class Exemption(BaseModel):
    """An individual exemption for one person, with its legal ground and period (``tot`` inclusive).

    ``bsn``: the person's Bsn (11-proef checked); ``grond``: an :class:`ExemptionGround`;
    ``vanaf``/``tot``: dates, ``tot`` ``None`` for open-ended. Raises
    :class:`~ieb.policy.PolicyInputError` (``vrijstellingen.tot``) when ``tot`` lies before ``vanaf``.
    Applied per person, on any day of a month (``Reason.VRIJSTELLING``; [I], ``docs/policy.md``).
    """

    model_config = _FROZEN

    bsn: Bsn
    grond: ExemptionGround
    vanaf: Datum
    tot: Datum | None = None
    toelichting: str = ""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.tot is not None and self.tot < self.vanaf:
            raise PolicyInputError(
                "vrijstellingen.tot",
                f"einddatum {self.tot.isoformat()} ligt voor de begindatum {self.vanaf.isoformat()} "
                f"(persoon {self.bsn.masked})",
            )
        return self

    def geldt_op(self, day: dt.date) -> bool:
        """True when the exemption is in force on the date ``day`` (``vanaf`` and ``tot`` inclusive)."""
        return self.vanaf <= day and (self.tot is None or day <= self.tot)


class GemeenteParameters(BaseModel):
    """All choices of one gemeente. Validated against the national tariff table on construction.

    Pass another table with ``GemeenteParameters.model_validate(data, context={"tarieven": table})``.
    Money is in eurocent, dates are ``datetime.date``; the fields are described in
    ``docs/policy.md`` section 2. Construction raises :class:`~ieb.policy.TariffError` for a
    lowered tariff above the national maximum (:func:`check_verlaagd_tarief`) and
    :class:`~ieb.policy.PolicyInputError` when ``rolstoel`` is listed as bijdrageplichtig (Wmo 2015:
    never charged) or two minima entries share a ``vanaf``; pydantic's own checks surface as
    ``ValidationError`` here and as :class:`~ieb.policy.PolicyInputError` through
    :func:`parameters_from_dict`.
    """

    model_config = _FROZEN

    gemeentecode: Gemeentecode
    verlaagd_tarief: tuple[ReducedTariff, ...] = ()
    minima: tuple[MinimaLimits, ...] = ()
    bijdrageplichtige_soorten: frozenset[VoorzieningKind] = DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN
    woningaanpassing_minderjarigen: bool = False
    vrijstellingen: tuple[Exemption, ...] = ()
    start_triggers: dict[VoorzieningKind, StartTrigger] = Field(default_factory=dict)
    pauzeregel: PauseRule = PauseRule.LONGER_THAN_CALENDAR_MONTH

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        table = NATIONAL_TARIFFS
        if info.context and isinstance(info.context.get("tarieven"), TariffTable):
            table = info.context["tarieven"]
        check_verlaagd_tarief(self.verlaagd_tarief, table)
        if VoorzieningKind.ROLSTOEL in self.bijdrageplichtige_soorten:
            raise PolicyInputError(
                "bijdrageplichtige_soorten",
                "rolstoelen vallen nooit onder het abonnementstarief; haal 'rolstoel' uit de lijst",
            )
        dates = [m.vanaf for m in self.minima]
        if len(set(dates)) != len(dates):
            raise PolicyInputError(
                "minima.vanaf", "twee minimagrenzen met dezelfde ingangsdatum; houd er één over"
            )
        return self

    def verlaagd_tarief_op(self, day: dt.date) -> ReducedTariff | None:
        """The lowered tariff in force on ``day`` (None when there is none)."""
        current = None
        for entry in sorted(self.verlaagd_tarief, key=lambda e: e.vanaf):
            if entry.vanaf <= day:
                current = entry
        return current

    def minima_op(self, day: dt.date) -> MinimaLimits | None:
        """The minima limits in force on the date ``day``: the latest entry from on or before it (or None)."""
        current = None
        for entry in sorted(self.minima, key=lambda e: e.vanaf):
            if entry.vanaf <= day:
                current = entry
        return current

    def vrijstelling_op(self, bsn: str, day: dt.date) -> Exemption | None:
        """The exemption of the person ``bsn`` (9 digits) in force on the date ``day``, or None."""
        for entry in self.vrijstellingen:
            if entry.bsn == bsn and entry.geldt_op(day):
                return entry
        return None

    def trigger(self, soort: VoorzieningKind) -> StartTrigger:
        """What starts and stops the contribution for ``soort`` (default: the beschikking dates)."""
        return self.start_triggers.get(soort, StartTrigger.BESCHIKKING)

    def waarschuwingen(self) -> list[str]:
        """Advice that is not an error: more than one tariff change in a calendar year."""
        per_year: dict[int, int] = {}
        for entry in self.verlaagd_tarief:
            per_year[entry.vanaf.year] = per_year.get(entry.vanaf.year, 0) + 1
        return [
            f"verlaagd_tarief: {count} wijzigingen in {year}; elke wijziging laat het CAK nieuwe "
            "beschikkingen sturen, advies is hooguit één wijziging per jaar"
            for year, count in sorted(per_year.items())
            if count > 1
        ]


def check_verlaagd_tarief(entries: tuple[ReducedTariff, ...], table: TariffTable = NATIONAL_TARIFFS) -> None:
    """Raise :class:`TariffError` when a lowered tariff is above the national one on any date it applies."""
    ordered = sorted(entries, key=lambda e: e.vanaf)
    for index, entry in enumerate(ordered):
        if index and ordered[index - 1].vanaf == entry.vanaf:
            raise TariffError(
                f"verlaagd_tarief[{index}].vanaf",
                f"twee verlaagde tarieven vanaf {entry.vanaf.isoformat()}; houd er één over",
            )
        until = ordered[index + 1].vanaf if index + 1 < len(ordered) else None
        checkpoints = [entry.vanaf] + [
            t.vanaf for t in table.entries if t.vanaf > entry.vanaf and (until is None or t.vanaf < until)
        ]
        for day in checkpoints:
            national = table.on(day)
            if entry.bedrag_cent > national.bedrag_cent:
                raise TariffError(
                    f"verlaagd_tarief[{index}].bedrag_cent",
                    f"{entry.bedrag_cent} cent (vanaf {entry.vanaf.isoformat()}) is hoger dan het landelijk "
                    f"maximum van {national.bedrag_cent} cent op {day.isoformat()}; een verlaagd tarief mag "
                    "nooit hoger zijn, verlaag het bedrag of laat het vervallen",
                )


def check_new_verlaagd_tarief(
    parameters: GemeenteParameters, nieuw: ReducedTariff, vandaag: dt.date
) -> list[str]:
    """Check a planned change of the lowered tariff on ``vandaag``; return warnings, raise on errors.

    Errors: the new tariff starts on or before today (retroactive) or is above the national one.
    Warnings: delivered after 30 November for a tariff from 1 January; a second change in one year.
    """
    if nieuw.vanaf <= vandaag:
        raise TariffError(
            "verlaagd_tarief.vanaf",
            f"{nieuw.vanaf.isoformat()} ligt niet na vandaag ({vandaag.isoformat()}); een verlaagd tarief "
            "mag niet met terugwerkende kracht ingaan, kies een latere maand",
        )
    updated = parameters.model_copy(
        update={
            "verlaagd_tarief": (*(e for e in parameters.verlaagd_tarief if e.vanaf != nieuw.vanaf), nieuw)
        }
    )
    check_verlaagd_tarief(updated.verlaagd_tarief)
    warnings = list(updated.waarschuwingen())
    deadline = dt.date(nieuw.vanaf.year - 1, 11, 30)
    if nieuw.vanaf.month == 1 and vandaag > deadline:
        warnings.append(
            f"verlaagd_tarief: de VNG adviseert een nieuw tarief vóór {deadline.isoformat()} aan het CAK "
            "door te geven; het CAK kan het mogelijk niet op tijd verwerken"
        )
    return warnings


def parameters_from_dict(data: Any, table: TariffTable | None = None) -> GemeenteParameters:
    """Validate ``data`` into :class:`GemeenteParameters`; errors become :class:`PolicyInputError`."""
    try:
        return GemeenteParameters.model_validate(data, context={"tarieven": table or NATIONAL_TARIFFS})
    except ValidationError as exc:
        raise from_validation_error(exc, "gemeente") from None


def parameters_to_json(parameters: GemeenteParameters) -> str:
    """Serialize to JSON (stable key order, sorted categories)."""
    data = parameters.model_dump(mode="json")
    data["bijdrageplichtige_soorten"] = sorted(data["bijdrageplichtige_soorten"])
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)


def parameters_from_json(text: str, table: TariffTable | None = None) -> GemeenteParameters:
    """Read :class:`GemeenteParameters` from JSON text as written by :func:`parameters_to_json`.

    ``table`` is the national tariff table the lowered tariff is checked against (default
    :data:`~ieb.policy.NATIONAL_TARIFFS`). Raises :class:`~ieb.policy.PolicyInputError` for text
    that is not JSON (naming line and column) or an invalid field (naming it, e.g.
    ``gemeente.minima[0].percentage``), and :class:`~ieb.policy.TariffError` for a lowered tariff
    above the national one.
    """
    from ieb.tabular import JsonTextError, loads_json

    try:
        data = loads_json(text)
    except JsonTextError as exc:
        raise PolicyInputError("gemeente", str(exc)) from None
    return parameters_from_dict(data, table)


_CSV_FIELDS = ["onderdeel", "sleutel", "vanaf", "tot", "waarde", "euro", "toelichting"]


def _euro(cent: int) -> str:
    return f"{cent // 100},{cent % 100:02d}"


def parameters_to_csv(parameters: GemeenteParameters) -> str:
    """A ``;``-separated CSV, one row per value, with euro amounts for a clerk to check.

    ``waarde`` holds the exact value (eurocent, percentage, soort or BSN) and is what
    :func:`parameters_from_csv` reads back; ``euro`` is only for the human eye.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    writer.writerow(["gemeente", "gemeentecode", "", "", parameters.gemeentecode, "", ""])
    for v in parameters.verlaagd_tarief:
        writer.writerow(
            [
                "verlaagd_tarief",
                "bedrag_cent",
                v.vanaf.isoformat(),
                v.vastgesteld_op.isoformat() if v.vastgesteld_op else "",
                v.bedrag_cent,
                _euro(v.bedrag_cent),
                "per maand" + (", vastgesteld_op in kolom tot" if v.vastgesteld_op else ""),
            ]
        )
    for m in parameters.minima:
        if m.grens_cent_per_jaar is not None:
            for soort in HouseholdType:
                cent = m.grens_cent_per_jaar.voor(soort)
                writer.writerow(
                    ["minima_grens", soort.value, m.vanaf.isoformat(), "", cent, _euro(cent), "per jaar"]
                )
        else:
            assert m.norm_cent_per_jaar is not None
            writer.writerow(
                ["minima_percentage", "percentage", m.vanaf.isoformat(), "", m.percentage, "", "%"]
            )
            for soort in HouseholdType:
                cent = m.norm_cent_per_jaar.voor(soort)
                grens = _euro(m.grens(soort))
                writer.writerow(
                    ["minima_norm", soort.value, m.vanaf.isoformat(), "", cent, _euro(cent), f"grens {grens}"]
                )
        writer.writerow(
            [
                "minima_vergelijking",
                "vergelijking",
                m.vanaf.isoformat(),
                "",
                m.vergelijking.value,
                "",
                "onder: inkomen gelijk aan de grens betaalt; op_of_onder: betaalt niet",
            ]
        )
    for categorie in sorted(parameters.bijdrageplichtige_soorten):
        writer.writerow(["bijdrageplichtig", "soort", "", "", categorie.value, "", ""])
    writer.writerow(
        [
            "woningaanpassing_minderjarigen",
            "",
            "",
            "",
            "ja" if parameters.woningaanpassing_minderjarigen else "nee",
            "",
            "",
        ]
    )
    for categorie, trigger in sorted(parameters.start_triggers.items()):
        writer.writerow(["start_trigger", categorie.value, "", "", trigger.value, "", ""])
    writer.writerow(["pauzeregel", "", "", "", parameters.pauzeregel.value, "", ""])
    for x in parameters.vrijstellingen:
        writer.writerow(
            [
                "vrijstelling",
                x.grond.value,
                x.vanaf.isoformat(),
                x.tot.isoformat() if x.tot else "",
                str(x.bsn),
                "",
                x.toelichting,
            ]
        )
    return out.getvalue()


def _int(value: str, where: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise PolicyInputError(where, f"{value!r} is geen geheel getal (eurocent of percentage)") from None


def parameters_from_csv(text: str, table: TariffTable | None = None) -> GemeenteParameters:
    """Read back a CSV written by :func:`parameters_to_csv` (possibly corrected by a clerk).

    Only the ``waarde`` column is read (eurocent, percentage, soort or BSN); the ``euro`` column is
    ignored. Raises :class:`~ieb.policy.PolicyInputError` for a wrong header, an unknown row or a
    value that is not a whole number, and as :func:`parameters_from_dict` does for the result.
    """
    reader = csv.DictReader(io.StringIO(text), delimiter=";")
    if reader.fieldnames is None or list(reader.fieldnames)[: len(_CSV_FIELDS)] != _CSV_FIELDS:
        raise PolicyInputError("csv", f"de kopregel moet zijn: {';'.join(_CSV_FIELDS)}")
    data: dict[str, Any] = {
        "verlaagd_tarief": [],
        "minima": [],
        "bijdrageplichtige_soorten": [],
        "vrijstellingen": [],
        "start_triggers": {},
    }
    minima: dict[str, dict[str, Any]] = {}
    for line, row in enumerate(reader, start=2):
        where = f"csv regel {line}"
        part, key, vanaf, tot, value = (row.get(k) or "" for k in _CSV_FIELDS[:5])
        if part == "gemeente":
            data["gemeentecode"] = value
        elif part == "verlaagd_tarief":
            entry: dict[str, Any] = {"vanaf": vanaf, "bedrag_cent": _int(value, where)}
            if tot:
                entry["vastgesteld_op"] = tot
            data["verlaagd_tarief"].append(entry)
        elif part in {"minima_grens", "minima_norm"}:
            slot = "grens_cent_per_jaar" if part == "minima_grens" else "norm_cent_per_jaar"
            minima.setdefault(vanaf, {"vanaf": vanaf}).setdefault(slot, {})[key] = _int(value, where)
        elif part == "minima_percentage":
            minima.setdefault(vanaf, {"vanaf": vanaf})["percentage"] = _int(value, where)
        elif part == "minima_vergelijking":
            minima.setdefault(vanaf, {"vanaf": vanaf})["vergelijking"] = value
        elif part == "pauzeregel":
            data["pauzeregel"] = value
        elif part == "bijdrageplichtig":
            data["bijdrageplichtige_soorten"].append(value)
        elif part == "woningaanpassing_minderjarigen":
            if value not in {"ja", "nee"}:
                raise PolicyInputError(
                    where, f"woningaanpassing_minderjarigen moet 'ja' of 'nee' zijn, niet {value!r}"
                )
            data["woningaanpassing_minderjarigen"] = value == "ja"
        elif part == "start_trigger":
            data["start_triggers"][key] = value
        elif part == "vrijstelling":
            data["vrijstellingen"].append(
                {
                    "bsn": value,
                    "grond": key,
                    "vanaf": vanaf,
                    "tot": tot or None,
                    "toelichting": row.get("toelichting") or "",
                }
            )
        elif part:
            raise PolicyInputError(where, f"onbekend onderdeel {part!r}")
    data["minima"] = list(minima.values())
    return parameters_from_dict(data, table)
