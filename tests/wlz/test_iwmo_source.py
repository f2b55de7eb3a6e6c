"""With the iWmo store (issue 23) installed, its toewijzingen are the richest source: the upload
carries their productcategorie and the proposal names it. Skipped (with a reason) without it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ieb.exchange import Exchange
from ieb.testing.pki import TestPki
from ieb.wlz import WlzSignalen, voorzieningen
from tests.wlz.conftest import make_config

EXAMPLE = Path("/work/shared/reference/iwmo-3.2/examples/WMO301.xml")


def test_the_iwmo_toewijzingen_feed_upload_and_proposal(pki: TestPki, tmp_path: Path) -> None:
    store_module = pytest.importorskip(
        "ieb.iwmo.store", reason="LET OP: ieb.iwmo (issue 23) is niet geïnstalleerd"
    )
    if not EXAMPLE.is_file():
        pytest.skip("LET OP: het gepubliceerde WMO301-voorbeeld ontbreekt")
    ex = Exchange(make_config(pki, tmp_path / "ieb.sqlite", gemeenten=("0363", "0384")))
    store_module.IwmoStore(ex.engine).read([EXAMPLE])
    (row,) = [v for v in voorzieningen(ex.engine) if v.bron == "iwmo"]
    assert (row.gemeente, row.productcategorie, row.begindatum) == ("0384", "01", dt.date(2023, 1, 1))

    day = dt.date(2023, 6, 15)
    ex.queue(ex.plan([{"gemeente": "0384", "bsn": row.bsn, "start": "2023-01-01"}], today=day))
    wlz = WlzSignalen.for_exchange(ex)
    result = wlz.upload(tmp_path / "upload.csv", gemeente="0384", peildatum=day)
    assert (result.lopend, result.personen) == (1, 1)
    assert ";01;01-01-2023;31-12-2023" in (tmp_path / "upload.csv").read_text()
    (tmp_path / "s.csv").write_text(f"bsn;ingangsdatum;gemeentecode\n{row.bsn};01-06-2023;0384\n")
    (new,) = wlz.signalen(tmp_path / "s.csv", ontvangen=day).nieuw
    assert new[3].voorstel == "stop" and new[3].datum == dt.date(2023, 5, 31)
    assert "01 (Hulp bij het huishouden) loopt niet door" in new[3].reden
    ex.close()
