"""Wlz-signalen: the samenloop of Wmo and Wlz turned into stop proposals a clerk acts on (issue 24).

The Inlichtingenbureau (BIDN) compares the Wmo voorzieningen a gemeente uploads with the Wlz
register and returns signals of samenloop. This package writes the upload CSV from what ``ieb``
knows, stores the signals idempotently with a proposal each (stop the eigen bijdrage on a date
per the gemeente's policy, or let it continue for categories that may continue next to the Wlz),
records the clerk's decisions, applies accepted stops to the desired state the planner uses, and
purges stored signals after a retention period. Nothing is applied without a decision; names and
BSNs are never printed unmasked. See docs/wlz.md.

    wlz = WlzSignalen.for_exchange(exchange)
    wlz.upload("upload.csv", peildatum=day)                # what the IB gets
    result = wlz.signalen("signalen.csv", ontvangen=day)   # proposals, duplicates, refused rows
    wlz.besluit("999900006", akkoord=True)                 # or stop=date / doorlopen=True
    records = wlz.overlay(read_desired_records("gewenst.csv"))  # accepted stops in the desired state
"""

from __future__ import annotations

from ieb.wlz.html import render_section, wlz_status_line
from ieb.wlz.policy import Proposal, propose
from ieb.wlz.service import (
    BesluitResult,
    PurgeResult,
    SignalenResult,
    UploadResult,
    WlzError,
    WlzSignalen,
    apply_accepted_stops,
    summary,
)
from ieb.wlz.settings import WlzSettings, parse_wlz_settings
from ieb.wlz.sources import Voorziening, voorzieningen

__all__ = [
    "BesluitResult",
    "Proposal",
    "PurgeResult",
    "SignalenResult",
    "UploadResult",
    "Voorziening",
    "WlzError",
    "WlzSettings",
    "WlzSignalen",
    "apply_accepted_stops",
    "parse_wlz_settings",
    "propose",
    "render_section",
    "summary",
    "voorzieningen",
    "wlz_status_line",
]
