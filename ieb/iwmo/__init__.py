"""iWmo in: the eigen bijdrage and beleidsinformatie from the WMO301/305/307 messages a gemeente
already receives (docs/iwmo.md, docs/beleidsinformatie.md).

Stages, each usable alone::

    reader   bytes -> ParsedFile (products + Dutch findings); hardened, XSD-validated (schemas/iwmo/3.2)
    store    IwmoStore(engine).read(paths): idempotent, batches of files per transaction
    state    replay(products) -> Voorzieningen (toewijzingen, leveringen; StatusAanlevering 1/2/3)
    desired  derive(state, Instellingen) -> Desired: the CSV that ``ieb plan`` reads
    beleid   Beleidsinformatie.compute(...).write(folder): CSVs, GMSD-style export, HTML

The facade (``ieb.exchange``) imports none of this; ``ieb plan --iwmo`` composes them in the CLI.
"""

from __future__ import annotations

from ieb.iwmo.beleid import Beleidsinformatie
from ieb.iwmo.desired import (
    CSV_HEADER,
    Desired,
    DesiredPeriod,
    GemeenteInstellingen,
    Instellingen,
    Trigger,
    derive,
    load_instellingen,
)
from ieb.iwmo.reader import Finding, ParsedFile, Product, read_bytes, read_file
from ieb.iwmo.state import Voorzieningen, replay
from ieb.iwmo.store import IwmoStore, ReadReport

__all__ = [
    "CSV_HEADER",
    "Beleidsinformatie",
    "Desired",
    "DesiredPeriod",
    "Finding",
    "GemeenteInstellingen",
    "Instellingen",
    "IwmoStore",
    "ParsedFile",
    "Product",
    "ReadReport",
    "Trigger",
    "Voorzieningen",
    "derive",
    "load_instellingen",
    "read_bytes",
    "read_file",
    "replay",
]
