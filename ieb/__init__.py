"""ieb: the iEb message exchange between a gemeente and the CAK (Wmo eigen bijdrage).

The public API is small and explicit (``__all__``); names are loaded on first use so that
``import ieb`` stays cheap. The typed models of the built-in release (iEb 1.0) are exported under
their class names; each is also its table row's ``model``::

    import datetime as dt
    import ieb

    start = ieb.get_release("ieb-1.0").heen()[0]     # the table row of the start eigen bijdrage
    message = start.model.build(
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
    "Message": "ieb.releases.models",
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

#: The built-in release whose typed message models the face exports too, under their own names
#: (the class of each message of its table: ``ieb.<Model>.build(...)``).
_BUILTIN_RELEASE = "ieb-1.0"

if TYPE_CHECKING:  # pragma: no cover
    from ieb.codec import from_xml, to_xml  # noqa: F401
    from ieb.errors import IebError, MessageInvalidError  # noqa: F401
    from ieb.exchange import Exchange  # noqa: F401
    from ieb.releases import get_release, register_folder  # noqa: F401
    from ieb.releases.ieb_1_0.models import *  # noqa: F403  (the built-in release's message models)
    from ieb.releases.models import Message  # noqa: F401
    from ieb.types import Bsn, Gemeentecode, RetourCode, StatusAanlevering, mask_bsn  # noqa: F401
    from ieb.validation import Issue, Report, validate_bytes, validate_file  # noqa: F401


def _builtin_models() -> dict[str, Any]:
    """The built-in release's message models by class name (loads its pack)."""
    rows = importlib.import_module("ieb.releases").get_pack(_BUILTIN_RELEASE).messages.values()
    return {row.model.__name__: row.model for row in rows if row.model is not None}


def __getattr__(name: str) -> Any:
    if name == "__all__":
        names = ["__version__", *sorted([*_EXPORTS, *_builtin_models()])]
        globals()["__all__"] = names
        return names
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif name[:1].isupper() and name in (models := _builtin_models()):
        value = models[name]
    else:
        raise AttributeError(f"module 'ieb' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    names: list[str] = __getattr__("__all__")
    return sorted(names)
