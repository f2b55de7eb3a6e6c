"""``ieb status --detail``: the line per message speaks the clerk's words, as the summary lines do
(trial, session 7: it printed ``accepted`` and ``wachtrij acknowledged``, the JSON values)."""

from __future__ import annotations

from ieb.cli.ledger import status_lines

_ROW = {
    "gemeente": "0363",
    "bericht": "WMO405",
    "identificatie": "GM-0001",
    "dagtekening": "2026-12-07",
    "bsn": "******006",
    "eb_start_nummer": 1,
    "status": 1,
    "datum": "2026-12-01",
}


def _detail_lines(rows: list[dict[str, object]]) -> list[str]:
    data = {
        "release": "ieb-4.0",
        "gemeenten": ["0363"],
        "deliveries": {"accepted": 1, "rejected": 1, "pending": 1},
        "outbox": {"pending": 1, "acknowledged": 2},
        "retourcodes": {},
        "detail": rows,
    }
    lines = status_lines(data, detail=True)
    start = lines.index(f"Per bericht ({len(rows)}):")
    return lines[start + 1 :]


def test_the_line_per_message_is_dutch() -> None:
    rows: list[dict[str, object]] = [
        {**_ROW, "outcome": "accepted", "retour_codes": [], "outbox": "acknowledged", "resolved": None},
        {
            **_ROW,
            "outcome": "rejected",
            "retour_codes": ["9102", "0233"],
            "outbox": "acknowledged",
            "resolved": False,
        },
        {**_ROW, "outcome": "pending", "retour_codes": [], "outbox": "pending", "resolved": None},
        {**_ROW, "outcome": "pending", "retour_codes": [], "outbox": None, "resolved": None},
    ]
    lines = _detail_lines(rows)
    assert [line.split(": ", 1)[1] for line in lines] == [
        "geaccepteerd; wachtrij: afgeleverd bij de GGk",
        "afgewezen (open) 9102 0233; wachtrij: afgeleverd bij de GGk",
        "wacht op retour; wachtrij: klaar om te versturen",
        "wacht op retour; wachtrij: -",
    ]
    text = "\n".join(lines)
    for word in ("accepted", "rejected", "pending", "acknowledged"):
        assert word not in text, text
