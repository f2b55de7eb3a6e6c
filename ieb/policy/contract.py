"""The JSON contract of ``ieb bijdrage`` (callable from any language), as pure functions.

Request (keys as in issue 5; ``id`` per voorziening, ``rol`` per lid, ``minima.vergelijking`` and
the extra gemeente keys ``bijdrageplichtige_soorten``, ``woningaanpassing_minderjarigen``,
``vrijstellingen`` and ``pauzeregel`` are optional extensions)::

    {"gemeente": {"code": "0363", "verlaagd_tarief": [{"vanaf": "YYYY-MM-DD", "bedrag_cent": int}],
                  "minima": {"vanaf": "YYYY-MM-DD", "grens_cent_per_jaar": {"eenpersoons": int,
                             "meerpersoons": int, "eenpersoons_aow": int, "meerpersoons_aow": int},
                             "vergelijking": "onder" | "op_of_onder"} | null,
                  "pauzeregel": "langer_dan_kalendermaand" | "hele_kalendermaand_vrij" | "elke_onderbreking"},
     "huishouden": {"leden": [{"bsn": str, "geboortedatum": "YYYY-MM-DD", "wlz_eigen_bijdrage": bool,
                               "beschermd_wonen": bool,
                               "rol": "client" | "partner" | "kind" | "overig"}],
                    "inkomen_cent_per_jaar": int | null},
     "voorzieningen": [{"bsn": str, "soort": str, "start": "YYYY-MM-DD", "stop": "YYYY-MM-DD" | null,
                        "kostprijs_cent": int | null}],
     "van": "YYYY-MM", "tot": "YYYY-MM"}

Response::

    {"maanden": [{"maand": "YYYY-MM", "bedrag_cent": int, "reden": str}], "totaal_cent": int,
     "kostprijs": [{"bsn": str, "resterend_cent": int, "virtuele_einddatum": "YYYY-MM-DD" | null,
                    "stop_maand": "YYYY-MM" | null}]}

``reden`` is a :class:`~ieb.policy.household.Reason` value. Defaults of the optional keys: no
``rol`` (one member is the client, two adults are client and partner, a member under 18 is a kind;
more than two members need a ``rol`` each), ``vergelijking`` ``onder`` (income equal to the limit
pays), ``pauzeregel`` ``langer_dan_kalendermaand`` (VNG). See ``docs/policy.md``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ieb.policy._validation import from_validation_error
from ieb.policy.errors import PolicyInputError
from ieb.policy.household import MAX_LEDEN, Estimate, Household, Member, Role, estimate_household
from ieb.policy.months import Month, PauseRule
from ieb.policy.parameters import (
    DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN,
    Cent,
    Exemption,
    GemeenteParameters,
    Grenzen,
    IncomeComparison,
    MinimaLimits,
    ReducedTariff,
    VoorzieningKind,
)
from ieb.policy.periods import Voorziening
from ieb.policy.tariffs import NATIONAL_TARIFFS, TariffTable
from ieb.types import Bsn, Datum

__all__ = [
    "MAX_LIJST",
    "MAX_REQUEST_BYTES",
    "estimate_from_json",
    "estimate_request",
    "parse_request",
    "render_response",
]

#: Bounds on hostile input: the most entries in any list of a request, and the largest request text.
MAX_LIJST = 500
MAX_REQUEST_BYTES = 2_000_000

_STRICT = ConfigDict(frozen=True, extra="forbid")


class _TariefIn(BaseModel):
    model_config = _STRICT
    vanaf: Datum
    bedrag_cent: Cent


class _MinimaIn(BaseModel):
    model_config = _STRICT
    vanaf: Datum
    grens_cent_per_jaar: Grenzen
    vergelijking: IncomeComparison = IncomeComparison.BELOW


class _GemeenteIn(BaseModel):
    model_config = _STRICT
    code: str
    verlaagd_tarief: list[_TariefIn] = Field(default_factory=list, max_length=MAX_LIJST)
    minima: _MinimaIn | None = None
    bijdrageplichtige_soorten: Annotated[list[VoorzieningKind], Field(max_length=MAX_LIJST)] | None = None
    woningaanpassing_minderjarigen: bool = False
    vrijstellingen: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_LIJST)
    pauzeregel: PauseRule = PauseRule.LONGER_THAN_CALENDAR_MONTH


class _LidIn(BaseModel):
    model_config = _STRICT
    bsn: Bsn
    geboortedatum: Datum
    wlz_eigen_bijdrage: bool
    beschermd_wonen: bool
    rol: Role | None = None


class _HuishoudenIn(BaseModel):
    model_config = _STRICT
    leden: Annotated[list[_LidIn], Field(min_length=1, max_length=MAX_LEDEN)]
    inkomen_cent_per_jaar: Cent | None


class _VoorzieningIn(BaseModel):
    model_config = _STRICT
    id: str | None = None
    bsn: Bsn
    soort: VoorzieningKind
    start: Datum
    stop: Datum | None = None
    kostprijs_cent: Cent | None = None


class _RequestIn(BaseModel):
    model_config = _STRICT
    gemeente: _GemeenteIn
    huishouden: _HuishoudenIn
    voorzieningen: Annotated[list[_VoorzieningIn], Field(max_length=MAX_LIJST)]
    van: str
    tot: str


def _at(prefix: str, exc: PolicyInputError) -> PolicyInputError:
    message = exc.message.split(": ", 1)[-1]
    field = exc.field if exc.field.startswith(prefix) else f"{prefix}.{exc.field}"
    return type(exc)(field, message, code=exc.code)


def parse_request(
    data: Any, table: TariffTable | None = None
) -> tuple[GemeenteParameters, Household, list[Voorziening], Month, Month]:
    """Validate a request (a decoded JSON object) into the policy's own types.

    Returns ``(parameters, household, voorzieningen, van, tot)``; ``van``/``tot`` are the first and
    last month to estimate. Raises :class:`~ieb.policy.PolicyInputError` whose ``field`` is the
    request path of the first problem (``gemeente.code``, ``voorzieningen[1].soort``) and whose text
    counts the others, and :class:`~ieb.policy.TariffError` for a lowered tariff above the national
    one.
    """
    if not isinstance(data, dict):
        raise PolicyInputError(
            "invoer", "verwacht een JSON-object met gemeente, huishouden, voorzieningen, van en tot"
        )
    try:
        request = _RequestIn.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    except PolicyInputError as exc:  # pragma: no cover - raised by nested validators
        raise exc from None
    g = request.gemeente
    verlaagd = []
    for index, t in enumerate(g.verlaagd_tarief):
        try:
            verlaagd.append(ReducedTariff(vanaf=t.vanaf, bedrag_cent=t.bedrag_cent))
        except PolicyInputError as exc:
            raise _at(f"gemeente.verlaagd_tarief[{index}]", exc) from None
    minima: tuple[MinimaLimits, ...] = ()
    if g.minima is not None:
        minima = (
            MinimaLimits(
                vanaf=g.minima.vanaf,
                grens_cent_per_jaar=g.minima.grens_cent_per_jaar,
                vergelijking=g.minima.vergelijking,
            ),
        )
    soorten = frozenset(g.bijdrageplichtige_soorten) if g.bijdrageplichtige_soorten is not None else None
    try:
        parameters = GemeenteParameters.model_validate(
            {
                "gemeentecode": g.code,
                "verlaagd_tarief": verlaagd,
                "minima": minima,
                "bijdrageplichtige_soorten": soorten
                if soorten is not None
                else DEFAULT_BIJDRAGEPLICHTIGE_SOORTEN,
                "woningaanpassing_minderjarigen": g.woningaanpassing_minderjarigen,
                "vrijstellingen": [Exemption.model_validate(x) for x in g.vrijstellingen],
                "pauzeregel": g.pauzeregel,
            },
            context={"tarieven": table or NATIONAL_TARIFFS},
        )
    except ValidationError as exc:
        error = from_validation_error(exc, "gemeente")
        if error.field == "gemeente.gemeentecode":
            error = PolicyInputError("gemeente.code", error.message.split(": ", 1)[-1])
        raise error from None
    except PolicyInputError as exc:
        raise type(exc)(f"gemeente.{exc.field}", exc.message.split(": ", 1)[-1], code=exc.code) from None
    huishouden = Household(
        leden=tuple(Member(**lid.model_dump()) for lid in request.huishouden.leden),
        inkomen_cent_per_jaar=request.huishouden.inkomen_cent_per_jaar,
    )
    voorzieningen = []
    for index, v in enumerate(request.voorzieningen):
        try:
            voorzieningen.append(
                Voorziening(
                    id=v.id or f"v{index}",
                    bsn=v.bsn,
                    soort=v.soort,
                    start=v.start,
                    stop=v.stop,
                    kostprijs_cent=v.kostprijs_cent,
                )
            )
        except PolicyInputError as exc:
            raise _at(f"voorzieningen[{index}]", exc) from None
    van = Month.parse(request.van, "van")
    tot = Month.parse(request.tot, "tot")
    return parameters, huishouden, voorzieningen, van, tot


def render_response(schatting: Estimate) -> dict[str, Any]:
    """The response object (see the module docstring)."""
    return {
        "maanden": [
            {"maand": str(m.maand), "bedrag_cent": m.bedrag_cent, "reden": m.reden.value}
            for m in schatting.maanden
        ],
        "totaal_cent": schatting.totaal_cent,
        "kostprijs": [
            {
                "bsn": str(k.bsn),
                "resterend_cent": k.resterend_cent,
                "virtuele_einddatum": k.virtuele_einddatum.isoformat() if k.virtuele_einddatum else None,
                "stop_maand": str(k.stop_maand) if k.stop_maand else None,
            }
            for k in schatting.kostprijs
        ],
    }


def estimate_request(data: Any, table: TariffTable | None = None) -> Estimate:
    """The :class:`~ieb.policy.household.Estimate` for a decoded request object (see the module docstring).

    ``data`` is the request as decoded JSON (a dict); ``table`` the national tariffs (default
    :data:`~ieb.policy.NATIONAL_TARIFFS`). Raises :class:`~ieb.policy.PolicyInputError` whose
    ``field`` names the request path (``voorzieningen[1].soort``, ``huishouden.leden[0].rol``) and
    :class:`~ieb.errors.ConfigurationError` when no monthly national tariff exists for a month asked
    (before 2020).
    """
    parameters, huishouden, voorzieningen, van, tot = parse_request(data, table)
    try:
        return estimate_household(huishouden, voorzieningen, parameters, van, tot, table=table)
    except PolicyInputError as exc:
        if exc.field.startswith(("voorzieningen", "tot", "van", "huishouden", "gemeente")):
            raise
        raise _at("voorzieningen", exc) from None


def estimate_from_json(text: str, table: TariffTable | None = None) -> dict[str, Any]:
    """Request JSON text in, response object out (the whole ``ieb bijdrage --format json``)."""
    if len(text) > MAX_REQUEST_BYTES:
        raise PolicyInputError(
            "invoer", f"de invoer is groter dan {MAX_REQUEST_BYTES} tekens; dit is geen huishouden"
        )
    from ieb.tabular import JsonTextError, loads_json

    try:
        data = loads_json(text)
    except JsonTextError as exc:
        raise PolicyInputError("invoer", str(exc)) from None
    return render_response(estimate_request(data, table))
