"""The vendor's own sender (sample): builds a WMO401 start and hands it to the GGk over mutual TLS.

In a real product this is the vendor's code; it uses ieb here only to stay short.
"""

from __future__ import annotations

import datetime as dt

from ieb import Wmo401, to_xml
from ieb.ggk import build, new_di01
from ieb.transport.client import GgkClient
from ieb.transport.tls import TlsFiles


def start_message(
    gemeente: str, identificatie: str, bsn: str, nummer: int, startdatum: dt.date, dagtekening: dt.date
) -> bytes:
    """A WMO401 (start eigen bijdrage, status 1) as bytes."""
    message = Wmo401.build(
        afzender=gemeente,
        identificatie=identificatie,
        dagtekening=dagtekening,
        bsn=bsn,
        eb_start_nummer=nummer,
        eb_startdatum=startdatum,
    )
    return to_xml(message)


def send_message(endpoint: str, tls: TlsFiles, gemeente: str, message: bytes) -> str:
    """Send ``message`` as a Di01 to the GGk; returns the referentienummer."""
    di01 = new_di01(message, "WMO401", gemeente)
    with GgkClient(endpoint, tls=tls) as client:
        client.send(build(di01))
    return str(di01.referentienummer)
