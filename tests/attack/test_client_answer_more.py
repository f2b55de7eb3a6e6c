"""Attack on B3 round 7's signed answer parsed once (the signature check's parse, comments
dropped; XML that parse refuses read as before): more answers than the round's twelve, each with
the outcome (exception type, text and code, or reference, signed parts and status) of the frozen
previous ``_answer`` (tests/transport/test_client_signed_answer_once.py): a BOM, a declaration in
another spelling or encoding name, space or a comment or PI before the Envelope, a PI or comment
in the Body, a Header added or doubled, a signed Fo03, a signature cut off, an empty Body, an
HTML error page, a Bv03 with a DTD inside the Body's text."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "transport"))  # the oracle's folder

from test_client_signed_answer_once import (  # the module's fixtures, used by name below
    _SIG,
    _answers,
    _old_answer,
    _outcome,
    _response,
    client,
    pki,
    receiver,
)

from ieb.ggk import fo03_for, new_di01
from ieb.transport.client import GgkClient
from ieb.transport.server import Receiver

__all__ = ["client", "pki", "receiver"]


def test_more_answers_get_the_outcome_they_got_before(client: GgkClient, receiver: Receiver) -> None:
    signed, ref, _ = _answers(receiver)["good"]
    head, _, tail = signed.partition(b"?>")
    body_at = signed.index(b"<soapenv:Body")
    body_open_end = signed.index(b">", body_at) + 1
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    signed_fo03 = receiver._answer(fo03_for(di01, "StUF058", "tijdelijk"), (_SIG, f"urn:uuid:{ref}"))
    cases = {
        "BOM": b"\xef\xbb\xbf" + signed,
        "declaration in single quotes": b"<?xml version='1.0' encoding='utf-8'?>" + tail,
        "declared latin-1, ASCII inside": b'<?xml version="1.0" encoding="ISO-8859-1"?>' + tail,
        "no declaration": tail.lstrip(),
        "space before the declaration": b" " + signed,
        "comment before the Envelope": head + b"?><!--voor-->" + tail,
        "PI before the Envelope": head + b"?><?pi x?>" + tail,
        "comment in the Body": signed[:body_open_end] + b"<!--b-->" + signed[body_open_end:],
        "PI in the Body": signed[:body_open_end] + b"<?p q?>" + signed[body_open_end:],
        "text in the Body": signed[:body_open_end] + b"tekst" + signed[body_open_end:],
        "a second Header": signed.replace(b"<soapenv:Body", b"<soapenv:Header/><soapenv:Body", 1),
        "empty Body": signed[:body_open_end] + b"</soapenv:Body></soapenv:Envelope>",
        "signature changed": re.sub(rb"(<(?:\w+:)?SignatureValue>)", rb"\1AAAA", signed, count=1),
        "HTML error page": b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        "entity in the Body": signed[:body_open_end] + b"&amp;" + signed[body_open_end:],
        "signed Fo03": signed_fo03,
    }
    seen = {}
    for name, content in cases.items():
        for status in (200, 500):
            new = _outcome(client._answer, ref, _SIG, _response(content, status), 0.0)
            old = _outcome(_old_answer, client, ref, _SIG, _response(content, status))
            assert new == old, (name, status)
            seen[name, status] = new[0]
    assert seen["comment in the Body", 200] == "ok"  # exclusive C14N drops comments, not PIs
    assert seen["signature changed", 200] == "PermanentSendError"
    assert seen["HTML error page", 200] == "TransientSendError"
