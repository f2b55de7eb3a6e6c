"""t2 #5: a BSN anywhere in a hostile file (value, element name, namespace URI, attribute, envelope
organisatie or referentienummer) never appears in full in any output format of ``ieb validate``
(text, json, junit, rapport) or in ``ieb show``: masking happens once, where an Issue is made."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ieb.ggk as ggk
from ieb.cli import app

SAMPLES = Path(__file__).resolve().parents[1] / "core" / "samples"
BSN = b"999900018"
NINE = re.compile(r"(?<![0-9])9999[0-9]{5}(?![0-9])")


def _corpus() -> dict[str, bytes]:
    base = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()
    # the real BSN of the sample is replaced, so any nine digits in the output come from the attack
    nobsn = base.replace(b"999900006", b"BSNBSNBSN")

    def sub(old: bytes, new: bytes, data: bytes = nobsn) -> bytes:
        assert old in data, old
        return data.replace(old, new, 1)

    ns = b"http://www.istandaarden.nl/ieb/1_0/wmo401/schema"
    cases = {
        "identificatie": sub(b"AMS-0001", BSN),
        "unknown_elem": sub(b"</wmo401:Client>", b"<wmo401:Foo>" + BSN + b"</wmo401:Foo></wmo401:Client>"),
        "attr": sub(b"<wmo401:Client>", b'<wmo401:Client x="' + BSN + b'">'),
        "elemname": sub(b"</wmo401:Client>", b"<wmo401:X" + BSN + b"/></wmo401:Client>"),
        "nsuri": sub(b"<wmo401:Client>", b'<wmo401:Client xmlns:q="urn:' + BSN + b'">'),
        "badxml": nobsn[:400] + b"<" + BSN + b">",
        "datum": sub(b"2026-05-01", BSN),
        "startnummer": sub(b"1001", BSN),
        "berichtcode": sub(b"<wmo401:BerichtCode>470", b"<wmo401:BerichtCode>" + BSN),
        "root_ns": nobsn.replace(ns, b"urn:" + BSN),
    }
    di01 = ggk.build(ggk.new_di01(nobsn, "WMO401", "0363", tijdstip=dt.datetime(2026, 5, 20)))
    cases["env_org"] = di01.replace(b"<StUF:organisatie>0363", b"<StUF:organisatie>" + BSN)
    cases["env_ref"] = di01.replace(b"<StUF:referentienummer>", b"<StUF:referentienummer>" + BSN + b"-")
    assert cases["env_org"] != di01 and cases["env_ref"] != di01
    return cases


CORPUS = _corpus()
QUOTED = {"identificatie", "berichtcode", "elemname", "env_org", "env_ref", "datum", "startnummer"}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_full_bsn_in_any_output_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.xml"
    path.write_bytes(CORPUS[name])
    runner = CliRunner()
    outputs = {}
    for fmt in ("text", "json", "junit", "rapport"):
        result = runner.invoke(app, ["validate", "--today", "2026-06-01", "--format", fmt, str(path)])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        outputs[fmt] = result.output
    result = runner.invoke(app, ["show", "--today", "2026-06-01", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    outputs["show"] = result.output
    for fmt, out in outputs.items():
        assert not NINE.search(out), f"{fmt}: {NINE.findall(out)}\n{out}"
    if name in QUOTED:  # the finding is still reported, with the value masked
        assert "******018" in outputs["text"] + outputs["show"], outputs["text"]
