"""The floor of ``ieb retour FILES`` (bench/bench_retour.py): the bare stack as a process.

    python bench/floor_retour.py DB SCHEMA FILE...

Reads each retour file, parses it with bare lxml (no entities, no network), validates it with the
compiled XSD ``SCHEMA`` and applies every retour (outcome ``accepted``, IdentificatieRetour,
DagtekeningRetour, the file, its name, the time) to the ``deliveries`` row with the same Afzender +
Identificatie + Dagtekening: one ``UPDATE`` ``executemany`` in ONE transaction (raw sqlite3).
Imports nothing of ieb. An invalid file stops the run (exit 1).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys

from lxml import etree

NS = {"ieb": "http://www.istandaarden.nl/ieb/1_0/basisschema/schema"}


def main(argv: list[str]) -> int:
    db, schema_path, *files = argv
    schema = etree.XMLSchema(etree.parse(schema_path))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    now = dt.datetime.now(dt.UTC).isoformat(sep=" ")
    rows = []
    for name in files:
        with open(name, "rb") as fh:
            data = fh.read()
        root = etree.fromstring(data, parser)
        if not schema.validate(root):
            print(f"{name}: {schema.error_log}", file=sys.stderr)
            return 1
        header = root[0]
        ns = etree.QName(root).namespace
        rid = header.findtext(f"{{{ns}}}IdentificatieRetour")
        day = header.findtext(f"{{{ns}}}DagtekeningRetour")
        afzender = header.findtext(f"{{{ns}}}Afzender")
        ident = header.findtext(f"{{{ns}}}BerichtIdentificatie/ieb:Identificatie", namespaces=NS)
        dag = header.findtext(f"{{{ns}}}BerichtIdentificatie/ieb:Dagtekening", namespaces=NS)
        rows.append(("accepted", rid, day, data, name, now, afzender, ident, dag))
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    con.executemany(
        "UPDATE deliveries SET outcome=?, retour_identificatie=?, retour_dagtekening=?, retour_payload=?,"
        " retour_source=?, retour_at=? WHERE afzender=? AND identificatie=? AND dagtekening=?",
        rows,
    )
    con.execute("COMMIT")
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
