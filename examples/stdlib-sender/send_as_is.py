"""A vendor's sender for `ieb conformance run`, written WITHOUT ieb: Python's standard library
only (ssl, http.client, re, base64, uuid). It supports the scenarios that give a file to
send as is (IEB_VERSTUUR) and answers exit 3 ("not supported") to the desired-state scenarios, so

    ieb conformance run --target "python examples/stdlib-sender/send_as_is.py" --allow-skip

passes every send-as-is scenario and skips the others. It follows the target contract of
docs/conformance.md: a ggk_Di01 (StUF-GGk 0210) in a SOAP 1.1 envelope, POSTed with mutual TLS to
IEB_ENDPOINT; a transient failure (HTTP 503, a dropped connection) is retried with the SAME
envelope, at most 5 attempts.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import os
import re
import ssl
import sys
import time
import uuid
from urllib.parse import urlsplit

GGK = "http://www.stufstandaarden.nl/koppelvlak/ggk0210"
STUF = "http://www.egem.nl/StUF/StUF0301"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def functie(payload: bytes) -> str:
    """WMO401, WMO403, ... from the message namespace (``.../wmo401/schema``) in the file's head."""
    found = re.search(rb"/(wmo[0-9]{3})/schema", payload[:4096])
    return found.group(1).decode().upper() if found else "WMO401"


def di01(payload: bytes, afzender: str) -> bytes:
    ref = str(uuid.uuid4())
    when = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    data = base64.b64encode(payload).decode()
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP}"><soap:Body>'
        f'<GGK:envelopHeenbericht-ggk_Di01 xmlns:GGK="{GGK}" xmlns:StUF="{STUF}"><GGK:stuurgegevens>'
        f"<StUF:berichtcode>Di01</StUF:berichtcode>"
        f"<StUF:zender><StUF:organisatie>{afzender}</StUF:organisatie><StUF:applicatie>leverancier</StUF:applicatie></StUF:zender>"
        f"<StUF:ontvanger><StUF:organisatie>CAK</StUF:organisatie><StUF:applicatie>GGk</StUF:applicatie></StUF:ontvanger>"
        f"<StUF:referentienummer>{ref}</StUF:referentienummer><StUF:tijdstipBericht>{when}</StUF:tijdstipBericht>"
        f"<StUF:functie>{functie(payload)}</StUF:functie></GGK:stuurgegevens><GGK:parameters>"
        f"<GGK:applicatieVersie>0001</GGK:applicatieVersie><GGK:applicatieSubversie>0000</GGK:applicatieSubversie>"
        f"<GGK:functieVersie>0001</GGK:functieVersie><GGK:functieSubversie>0000</GGK:functieSubversie>"
        f"<GGK:bericht><GGK:xmlBestand>{data}</GGK:xmlBestand></GGK:bericht></GGK:parameters>"
        f"</GGK:envelopHeenbericht-ggk_Di01></soap:Body></soap:Envelope>"
    ).encode()


def send(body: bytes) -> None:
    url = urlsplit(os.environ["IEB_ENDPOINT"])
    context = ssl.create_default_context(cafile=os.environ["IEB_CA"])
    context.load_cert_chain(os.environ["IEB_CERT"], os.environ["IEB_KEY"])
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": f'"{GGK}/ggk_Di01"',
    }
    for attempt in range(1, 6):
        connection = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=30)
        try:
            connection.request("POST", url.path or "/", body, headers)
            answer = connection.getresponse()
            text = answer.read()
            if answer.status == 200:
                return
            if answer.status != 503:
                raise SystemExit(f"HTTP {answer.status}: {text[:300]!r}")
        except (ConnectionError, TimeoutError, http.client.HTTPException) as exc:
            print(f"poging {attempt}: {exc}", file=sys.stderr)
        finally:
            connection.close()
        time.sleep(0.2 * attempt)
    raise SystemExit("niet afgeleverd na 5 pogingen")


def main() -> int:
    path = os.environ.get("IEB_VERSTUUR")
    if not path:
        return 3  # desired states need a planner: not supported by this sender
    with open(path, "rb") as f:
        send(di01(f.read(), os.environ["IEB_AFZENDER"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
