"""``ieb serve-validation``: validation over HTTP for builds that are not written in Python.

An ASGI app (Starlette, served by uvicorn; install with ``pip install 'ieb[service]'``):

``POST /validatie``
    Body: the iEb file, as is (``curl --data-binary @bericht.xml``). Answer ``200`` with the
    iStandaarden rapport (``application/xml``, see :mod:`ieb.conformance.rapport`), or with
    ``Accept: application/json`` the same JSON document as ``ieb validate --format json`` for one
    file (``{"files": [{"path": ..., "bericht", "release", "valid", "issues"}], "summary": ...}``).
    The header ``X-Ieb-Valid`` is ``true`` or ``false``. Query parameters: ``naam`` (the file name
    put in ``path``, default ``bericht.xml``), ``today`` (the receiver's system date for 8848,
    ``JJJJ-MM-DD``), ``revisie`` (or header ``X-Ieb-Revisie``: force the release revision).
    A body over the size limit (default 25 MB, OP179) is refused with ``413`` before it is read
    whole; the XML is parsed with the hardened parser (no DTD, no entities, bounded depth).
``GET /status``
    ``{"version", "releases": [{"name", "messages"}], "rules", "max_bytes", "revisions"}``.

Revisions: when :func:`ieb.validation.validate_bytes` accepts a ``revision`` argument (release
revisions with their own rule parameters), the ``revisie`` value is passed on; until then a request
that forces a revision is refused with ``422`` naming the problem, so a build never silently gets
the wrong rule set.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
from typing import Any

from ieb.types import mask_bsns
from ieb.xmlsafe import MAX_BYTES

__all__ = ["create_app", "status_data"]


def _revision_parameter() -> str | None:
    """The name of the revision argument of validate_bytes, when this version has one."""
    from ieb.validation import validate_bytes

    params = inspect.signature(validate_bytes).parameters
    return next((n for n in ("revision", "revisie") if n in params), None)


def _revisions() -> list[str]:
    """Names of the known revisions (``ieb.validation.revisions.REVISIONS``), when this version has them."""
    import importlib

    try:
        module = importlib.import_module("ieb.validation.revisions")
    except ImportError:
        return []
    return [str(getattr(r, "name", r)) for r in getattr(module, "REVISIONS", ())]


def status_data(max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """What ``GET /status`` answers: the ieb version, the registered releases with their messages,
    the number of rules (in-message rules of all releases plus the history rules), the size limit."""
    from ieb import __version__
    from ieb.ledger.history import HISTORY_RULES
    from ieb.releases import default_registry
    from ieb.validation.rules import GENERIC_RULES

    releases = []
    rules = 0
    for release in default_registry:
        releases.append({"name": release.name, "messages": sorted(release.messages)})
        rules += len(release.rules or GENERIC_RULES)
    return {
        "version": __version__,
        "releases": releases,
        "rules": rules + len(HISTORY_RULES),
        "max_bytes": max_bytes,
        "revisions": _revisions(),
        "revision_parameter": _revision_parameter() is not None,
    }


def create_app(*, max_bytes: int = MAX_BYTES, today: dt.date | None = None) -> Any:
    """The Starlette app. ``today`` pins the receiver's system date (tests); default: the day of
    each request. Raises :class:`ieb.errors.ConfigurationError` when Starlette is not installed."""
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route
    except ImportError as exc:  # pragma: no cover - depends on the install
        from ieb.errors import ConfigurationError

        raise ConfigurationError(
            "de validatieservice heeft Starlette en uvicorn nodig: pip install 'ieb[service]'"
        ) from exc

    from ieb.conformance.rapport import rapport_bytes
    from ieb.errors import IebError
    from ieb.validation import validate_bytes

    def problem(status: int, message: str) -> Response:
        return JSONResponse({"error": message}, status_code=status)

    async def read_limited(request: Request) -> bytes | None:
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > max_bytes:
                    return None
            except ValueError:
                pass
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def validatie(request: Request) -> Response:
        data = await read_limited(request)
        if data is None:
            return problem(
                413,
                f"OP179: het bestand is groter dan {max_bytes} bytes ({max_bytes // 1_048_576} MB); niet gevalideerd",
            )
        day = today
        if "today" in request.query_params:
            try:
                day = dt.date.fromisoformat(request.query_params["today"])
            except ValueError:
                return problem(400, f"today={request.query_params['today']!r} is geen datum JJJJ-MM-DD")
        kwargs: dict[str, Any] = {"today": day or dt.date.today(), "max_bytes": max_bytes}
        revisie = request.headers.get("x-ieb-revisie") or request.query_params.get("revisie")
        if revisie:
            name = _revision_parameter()
            if name is None:
                return problem(
                    422,
                    f"revisie {revisie!r} gevraagd, maar deze versie van ieb kent geen revisies; "
                    "laat de parameter weg om de standaardregels te gebruiken",
                )
            kwargs[name] = revisie
        try:
            report = await run_in_threadpool(validate_bytes, data, **kwargs)
        except (IebError, ValueError, KeyError) as exc:
            return problem(422, mask_bsns(str(exc)))
        valid = "true" if report.valid else "false"
        if "application/json" in request.headers.get("accept", ""):
            name = request.query_params.get("naam", "bericht.xml")
            row = {"path": name, **report.to_dict()}
            summary = {"files": 1, "valid": int(report.valid), "invalid": int(not report.valid)}
            body = json.dumps({"files": [row], "summary": summary}, ensure_ascii=False, indent=2) + "\n"
            return Response(
                body, media_type="application/json; charset=utf-8", headers={"X-Ieb-Valid": valid}
            )
        return Response(
            rapport_bytes(report, today=kwargs["today"]),
            media_type="application/xml; charset=utf-8",
            headers={"X-Ieb-Valid": valid},
        )

    async def status(request: Request) -> Response:
        return JSONResponse(status_data(max_bytes))

    return Starlette(
        routes=[
            Route("/validatie", validatie, methods=["POST"]),
            Route("/status", status, methods=["GET"]),
        ]
    )
