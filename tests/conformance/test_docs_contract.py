"""What docs/conformance.md promises and the code must keep: the install command's extra exists,
the TLS names of the simulator fixture, the endpoint path and the fields of retouren.json."""

from __future__ import annotations

import re
import tomllib

from ieb.conformance.harness import ClientTls
from tests.conformance.conftest import ROOT

DOC = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")


def test_the_documented_install_command_names_an_existing_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    commands = re.findall(r"`pip install '([^']+)'`", DOC)
    assert commands and all(c.startswith(".[") or "/" in c for c in commands)  # from a checkout
    for command in commands:
        extra = command.split("[", 1)[1].rstrip("]")
        assert extra in extras, command
        assert any(d.startswith("starlette") for d in extras[extra])
        assert any(d.startswith("uvicorn") for d in extras[extra])


def test_simulator_tls_answers_to_both_names(tmp_path: object) -> None:
    tls = ClientTls("chain.pem", "key.pem", "roots.pem")  # type: ignore[arg-type]
    assert (tls.cert, tls.key, tls.ca) == (tls.chain, tls.key, tls.roots)
    assert "`.cert` the certificate chain, `.key`, `.ca` the trusted roots" in DOC


def test_the_contract_names_the_endpoint_path_and_every_retouren_field() -> None:
    assert "/ggk0210/OntvangAsynchroon" in DOC
    for name in ("referentienummer", "soort", "bestand", "functie", "retourcodes", "fo01_code", "oorzaak"):
        assert f"| `{name}`" in DOC or f"`{name}`," in DOC, name
    assert "at most 3 in a row" in DOC and "--allow-skip" in DOC and "--bewaar" in DOC
