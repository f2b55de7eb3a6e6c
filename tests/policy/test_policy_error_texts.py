"""One translator of pydantic's errors for the whole project (:func:`ieb.config.dutch_error`): the
policy's JSON input and ieb.toml get the same Dutch text for the same mistake; the policy's text
leads with the value given (BSN-like runs masked). Before, ``ieb/policy/_validation.py`` had its own
copy with other words, and fell back to pydantic's English for a date, a list length or an Enum."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ieb.config import dutch_error
from ieb.policy._validation import from_validation_error


class _Soort(enum.Enum):
    HULPMIDDEL = "hulpmiddel"
    WONING = "woonvoorziening"


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    soort: _Soort
    bedrag_cent: Annotated[int, Field(ge=0)] = 0
    poort: Annotated[int, Field(ge=1, le=64)] = 1
    aan: bool = True
    van: dt.date | None = None
    codes: Annotated[list[str], Field(max_length=2)] = []
    niveau: Literal["retour", "none"] = "retour"
    naam: str = ""


def _first(data: dict[str, object]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        _Item.model_validate(data)
    return caught.value


@pytest.mark.parametrize(
    ("data", "settings_text", "policy_text"),
    [
        (
            {"soort": "hulpmidel"},
            "kies 'hulpmiddel' of 'woonvoorziening'",
            "waarde 'hulpmidel': kies 'hulpmiddel' of 'woonvoorziening'",
        ),
        (
            {"soort": "hulpmiddel", "bedrag_cent": -5},
            "geef een geheel getal van minstens 0 (een bedrag in eurocent, zonder punt of komma)",
            "waarde -5: geef een geheel getal van minstens 0 (een bedrag in eurocent, zonder punt of komma)",
        ),
        (
            {"soort": "hulpmiddel", "poort": 99},
            "geef een geheel getal van 1 tot en met 64",
            "waarde 99: geef een geheel getal van hoogstens 64",
        ),
        (
            {"soort": "hulpmiddel", "aan": "misschien"},
            "geef true of false",
            "waarde 'misschien': geef true of false",
        ),
        (
            {"soort": "hulpmiddel", "van": "31-12-2026"},
            "geef een datum JJJJ-MM-DD",
            "waarde '31-12-2026': geef een datum JJJJ-MM-DD",
        ),
        (
            {"soort": "hulpmiddel", "codes": ["a", "b", "c"]},
            "geef er hoogstens 2 (nu 3)",
            "waarde ['a', 'b', 'c']: geef er hoogstens 2 (nu 3)",
        ),
        (
            {"soort": "hulpmiddel", "niveau": "alles"},
            "kies 'retour' of 'none'",
            "waarde 'alles': kies 'retour' of 'none'",
        ),
        (
            {"soort": "hulpmiddel", "naam": 999900006},
            "geef tekst tussen aanhalingstekens",
            "waarde ******006: geef tekst tussen aanhalingstekens",
        ),
        ({}, "ontbreekt", "ontbreekt"),
        (
            {"soort": "hulpmiddel", "sort": 1},
            "onbekende sleutel, bedoelt u 'soort'? (toegestaan: soort, bedrag_cent, poort, aan, van, codes, niveau, naam)",
            "onbekende sleutel; verwijder hem of controleer de spelling",
        ),
    ],
    ids=[
        "enum",
        "cent",
        "range",
        "bool",
        "date",
        "length",
        "literal",
        "bsn-as-number",
        "missing",
        "unknown-key",
    ],
)
def test_one_translator_gives_settings_and_policy_the_same_words(
    data: dict[str, object], settings_text: str, policy_text: str
) -> None:
    exc = _first(data)
    error = exc.errors()[0]
    assert dutch_error(_Item, error) == settings_text  # ieb.toml: the model is known
    problem = from_validation_error(exc)  # the policy's JSON: the field's path, then the value
    assert problem.message == f"{problem.field}: {policy_text}"
    assert "Input should" not in policy_text and "999900006" not in policy_text
