import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError

from ieb.types import (
    Bedrag,
    Bsn,
    Datum,
    Gemeentecode,
    IdentificatieBericht,
    Nummer,
    RetourCode,
    StatusAanlevering,
    Versie,
    bsn_is_valid,
    mask_bsn,
    parse_datum,
)


@pytest.mark.parametrize("value", ["999900006", "999900018", "999900031"])
def test_bsn_accepts_11_proef(value: str) -> None:
    assert Bsn(value) == value
    assert bsn_is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        "999900007",
        "12345678",
        "1234567890",
        "",
        "abcdefghi",
        "99990000 ",
        "９９９９００００６",
        "-99990000",
        "999 00006",
    ],
)
def test_bsn_rejects_junk(value: str) -> None:
    with pytest.raises(ValueError):
        Bsn(value)
    assert not bsn_is_valid(value)


def test_bsn_never_printed_in_full() -> None:
    b = Bsn("999900006")
    assert "999900006" not in repr(b)
    assert b.masked == "******006"
    with pytest.raises(ValueError) as info:
        Bsn("999900007")
    assert "999900007" not in str(info.value)
    assert mask_bsn("12") == "**"
    assert mask_bsn(None) == "****"


def test_bsn_type_in_model_is_strict() -> None:
    class M(BaseModel):
        bsn: Bsn

    with pytest.raises(ValidationError):
        M(bsn=999900006)  # type: ignore[arg-type]
    assert M(bsn="999900006").bsn == "999900006"


def test_gemeentecode_versie_identificatie() -> None:
    assert Gemeentecode("0363") == "0363"
    for bad in ("363", "03630", "ABCD", ""):
        with pytest.raises(ValueError):
            Gemeentecode(bad)
    assert Versie("1.2.0").parts == (1, 2, 0)
    for bad in ("1.02.0", "1.2", "v1.2.0", "1.2.0.0"):
        with pytest.raises(ValueError):
            Versie(bad)
    assert IdentificatieBericht("A" * 12)
    for bad in ("", "   ", "A" * 13):
        with pytest.raises(ValueError):
            IdentificatieBericht(bad)


def test_datum_never_has_a_timezone() -> None:
    class M(BaseModel):
        d: Datum

    assert M(d="2026-01-31").d == dt.date(2026, 1, 31)
    for bad in ("2026-01-31Z", "2026-01-31+01:00", "2026-02-30", "31-01-2026", "2026-1-1"):
        with pytest.raises(ValidationError):
            M(d=bad)
    with pytest.raises(ValidationError):
        M(d=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ValueError):
        parse_datum(dt.datetime(2026, 1, 1))


def test_bedrag_and_nummer_are_integer_and_bounded() -> None:
    class M(BaseModel):
        b: Bedrag
        n: Nummer

    assert M(b=0, n=999_999_999).b == 0
    for b in (-1, 100_000_000, 19.5, "1900"):
        with pytest.raises(ValidationError):
            M(b=b, n=1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        M(b=1, n=1_000_000_000)


def test_retourcodes_have_meaning_and_rule() -> None:
    assert RetourCode("9102").rule == "TR102"
    assert RetourCode("S300").rule == "CS300"
    assert RetourCode("0001").rule is None
    assert RetourCode.for_rule("TR328") is RetourCode.TR328
    assert RetourCode.for_rule("CS002") is None
    assert "niet beoordeeld" in RetourCode("0233").omschrijving
    assert StatusAanlevering("3").omschrijving == "verwijderen aanlevering"


def test_importing_the_types_does_not_import_pydantic() -> None:
    """``ieb.types`` (imported by every validation) makes its pydantic types on first use only (the
    same objects on every later use) and imports python-stdnum on the first 11-proef."""
    import subprocess
    import sys

    code = (
        "import sys, ieb.types as t; assert 'pydantic' not in sys.modules, 'pydantic'; "
        "assert 'stdnum' not in sys.modules, 'stdnum'; d = t.Datum; "
        "assert 'pydantic' in sys.modules and t.Datum is d; from ieb.types import IebStatus, Nummer; "
        "assert t.bsn_is_valid('000000000') and t.bsn_is_valid('999900006'); "
        "assert not t.bsn_is_valid('999900007') and not t.bsn_is_valid('٩٩٩٩٠٠٠٠٦')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
