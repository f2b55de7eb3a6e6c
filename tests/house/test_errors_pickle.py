"""Every error class of ``ieb`` survives pickling with its context (a process pool must not break)."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

import ieb
from ieb.errors import IebError


def _all_error_classes() -> list[type[IebError]]:
    for info in pkgutil.walk_packages(ieb.__path__, "ieb."):
        if ".cli" in info.name or info.name.endswith("__main__") or ".migrations" in info.name:
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue
    seen: list[type[IebError]] = []
    stack: list[type[IebError]] = [IebError]
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.append(cls)
            stack.extend(cls.__subclasses__())
    return seen


def _instance(cls: type[IebError]) -> IebError:
    error = cls.__new__(cls)
    IebError.__init__(error, "fout in veld X", code="CS002", location="/Bericht/Client/Bsn")
    error.issues = ("een", "twee")  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_error_round_trips(cls: type[IebError]) -> None:
    original = _instance(cls)
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is cls
    assert str(copy) == str(original)
    assert (copy.message, copy.code, copy.location) == ("fout in veld X", "CS002", "/Bericht/Client/Bsn")
    assert copy.issues == ("een", "twee")  # type: ignore[attr-defined]


def test_message_invalid_error_with_real_issues() -> None:
    data = ieb.to_xml(
        ieb.Wmo401.build(
            afzender="0363",
            identificatie="AMS-000001",
            dagtekening=__import__("datetime").date(2026, 5, 20),
            bsn="999900006",
            eb_start_nummer=1,
            eb_startdatum=__import__("datetime").date(2026, 5, 1),
        )
    ).replace(b"999900006", b"999900007")
    issues = ieb.validate_bytes(data).issues
    error = ieb.MessageInvalidError("ongeldig", issues)
    copy = pickle.loads(pickle.dumps(error))
    assert copy.issues == error.issues and copy.code == "CS002"
    assert inspect.signature(type(copy)).parameters  # still constructible the normal way
