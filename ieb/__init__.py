"""ieb: the iEb message exchange between a gemeente and the CAK (Wmo eigen bijdrage).

The public API is small and explicit (``__all__``); names are loaded on first use so that
``import ieb`` stays cheap::

    import datetime as dt
    import ieb

    message = ieb.Wmo401.build(
        afzender="0363", identificatie="AMS-000001", dagtekening=dt.date(2026, 1, 5),
        bsn="999900006", eb_start_nummer=1, eb_startdatum=dt.date(2026, 1, 1),
    )
    data = ieb.to_xml(message)
    report = ieb.validate_bytes(data, today=dt.date(2026, 1, 5))
    assert report.valid
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Bsn": "ieb.types",
    "Gemeentecode": "ieb.types",
    "RetourCode": "ieb.types",
    "StatusAanlevering": "ieb.types",
    "mask_bsn": "ieb.types",
    "Message": "ieb.messages",
    "Wmo401": "ieb.messages",
    "Wmo402": "ieb.messages",
    "Wmo403": "ieb.messages",
    "Wmo404": "ieb.messages",
    "to_xml": "ieb.codec",
    "from_xml": "ieb.codec",
    "Issue": "ieb.validation",
    "Report": "ieb.validation",
    "validate_bytes": "ieb.validation",
    "validate_file": "ieb.validation",
    "register_folder": "ieb.releases",
    "get_release": "ieb.releases",
    "IebError": "ieb.errors",
    "Exchange": "ieb.exchange",
    "MessageInvalidError": "ieb.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:  # pragma: no cover
    from ieb.codec import from_xml, to_xml  # noqa: F401
    from ieb.errors import IebError, MessageInvalidError  # noqa: F401
    from ieb.exchange import Exchange  # noqa: F401
    from ieb.messages import Message, Wmo401, Wmo402, Wmo403, Wmo404  # noqa: F401
    from ieb.releases import get_release, register_folder  # noqa: F401
    from ieb.types import Bsn, Gemeentecode, RetourCode, StatusAanlevering, mask_bsn  # noqa: F401
    from ieb.validation import Issue, Report, validate_bytes, validate_file  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ieb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
