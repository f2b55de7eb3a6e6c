"""The ``ieb-4.0`` release pack: iEb 4.0, the production release since 2025-04-07.

WMO405 (Start en stop eigen bijdrage) and its retour WMO406, WMO407 (Start en stop beschermd wonen)
and its retour WMO408. The official 4.0 XSDs are not public here, so the pack ships a STAND-IN
schema (``schemas/``) written from the public facts, and binds its models to element paths through
data (``binding.toml``). ``ieb release check DIR`` compares the binding with the official folder and
registers it. Every assumption is listed in docs/ieb-4.0.md.
"""

from __future__ import annotations

from ieb.releases.ieb_4_0.codec import STAND_IN_DIR, from_xml, to_xml, validate_xsd
from ieb.releases.ieb_4_0.models import RELEASE, Wmo405, Wmo406, Wmo407, Wmo408, build

__all__ = [
    "RELEASE",
    "STAND_IN_DIR",
    "Wmo405",
    "Wmo406",
    "Wmo407",
    "Wmo408",
    "build",
    "from_xml",
    "to_xml",
    "validate_xsd",
]
