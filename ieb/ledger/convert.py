"""Continuing a ledger in another release: the deliveries of one release seen as another's.

iEb 4.0 replaced iEb 1.0 on 2025-04-07; the CAK carried every 1.0 start record with its stop record
over as one 4.0 period with the same EbStartNummer. A municipality's ledger that holds 1.0
deliveries continues the same way, without rewriting what was sent (nothing accepted is lost): when
it plans in the new release, :func:`converted` shows each EbStartNummer whose deliveries are of an
older release as ONE first delivery (status 1) of the new release's start record, carrying the
period as it stands after those deliveries (start, stop, kostprijs), followed by the deliveries of the
new release for that number. A period whose start was deleted is not carried over (its number stays
used, OP290).

So a ledger converted from 1.0 re-plans the same desired state to 0 messages, and a later change is
one status-2 record of the same EbStartNummer. The converted delivery keeps the BerichtIdentificatie
of the old start (identificaties are unique per berichtsoort, TR056, and the ledger's counter only
grows, so later ones cannot collide).
"""

from __future__ import annotations

from collections.abc import Iterable

from ieb.ledger.history import Delivery, MemoryHistory, pack_of, roles
from ieb.releases.pack import Period, PeriodChange, ReleasePack

__all__ = ["convert_deliveries", "converted"]


def convert_deliveries(deliveries: Iterable[Delivery], pack: ReleasePack) -> list[Delivery]:
    """``deliveries`` (in the order they were accepted) as the release ``pack`` sees them (see the
    module text). Deliveries already of ``pack`` pass unchanged. Raises ConfigurationError when
    ``pack`` has no delivery mapping."""
    mapping = pack.require_delivery()
    groups: dict[tuple[str, int], list[Delivery]] = {}
    for d in deliveries:
        groups.setdefault((d.afzender, d.eb_start_nummer), []).append(d)
    out: list[Delivery] = []
    for (afzender, nummer), group in groups.items():
        old = [d for d in group if pack_of(d.bericht).name != pack.name]
        if not old:
            out.extend(group)
            continue
        history = MemoryHistory(old)
        role = roles(old[0].bericht)
        start = history.record(afzender, nummer, role.start).current
        stop = history.record(afzender, nummer, role.stop).current if role.stop else None
        if start is not None:
            periods = [p for p in history.periods_of(afzender, start.bsn) if p.eb_start_nummer == nummer]
            end = periods[0].end if periods else (stop.datum if stop else None)
            period = Period(
                nummer, start.bsn, start.datum, end, start.kostprijs_bedrag, start.kostprijs_startdatum
            )
            for record in mapping.records(PeriodChange(None, period)):
                out.append(
                    Delivery.from_record(
                        record, afzender, start.identificatie, max(d.dagtekening for d in old)
                    )
                )
        out.extend(d for d in group if pack_of(d.bericht).name == pack.name)
    return out


def converted(history: MemoryHistory, pack: ReleasePack) -> MemoryHistory:
    """``history`` as release ``pack`` sees it (:func:`convert_deliveries`); the same object when
    every delivery is already of ``pack``."""
    items = list(history.deliveries())
    if all(pack_of(d.bericht).name == pack.name for d in items):
        return history
    return MemoryHistory(convert_deliveries(items, pack))
