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
    At most ``max_concurrency`` validations run at once and at most ``max_concurrency`` x
    ``max_bytes`` bytes of bodies are buffered; a request beyond that gets ``503`` at once
    (with ``Retry-After``). A body not received within ``body_timeout`` seconds gets ``408``.

The DVS API (the Decentrale Validatieservice container of iStandaarden, docs/dvs.md) on the same
path: a request with ``Content-Type: application/x-www-form-urlencoded`` (or ``X-Version-Override``)
must carry a ``Content-Length`` (``411`` otherwise); a Content-Length that does not match the body is
``400``. ``X-Version-Override: <patch>`` picks the patch level (a revision name of
:func:`patch_levels`: ``1.0.2``, ``1.0.3``, ``4.0``; default, as the DVS, the one valid on the
validation date, where ieb's own API uses the one of the file's Dagtekening); an unsupported level
is ``400`` naming the supported ones. Every answer names the level applied in ``X-Ieb-Patch``. The answer is the rapport. Envelopes
(StUF-GGk) get the same verdict as ``ieb validate`` (:func:`ieb.conformance.verdict.check_bytes`).

Connections: open connections are not counted (idle sockets cannot lock anyone out); instead a
connection whose request head is not complete within ``head_timeout`` seconds (default 10) of
connecting, or of its previous answer, is closed (:class:`HeadDeadlineProtocol`). The number of
open connections is bounded by the process's file-descriptor limit only.
``GET /status``
    ``{"version", "releases": [{"name", "messages"}], "rules", "max_bytes", "revisions",
    "patch_levels"}`` (``patch_levels``: what ``X-Version-Override`` accepts).

Revisions: when :func:`ieb.validation.validate_bytes` accepts a ``revision`` argument (release
revisions with their own rule parameters), the ``revisie`` value is passed on; until then a request
that forces a revision is refused with ``422`` naming the problem, so a build never silently gets
the wrong rule set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import logging
from typing import Any

from ieb.types import mask_bsns
from ieb.xmlsafe import MAX_BYTES

__all__ = ["HEAD_TIMEOUT", "create_app", "patch_levels", "serve", "status_data", "uvicorn_config"]

HEAD_TIMEOUT = 10.0
"""Seconds a connection may take to send a complete request head (and to stay idle between
requests) before it is closed."""
BODY_TIMEOUT = 60.0
"""Seconds a request may take to send its body."""


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


def patch_levels() -> list[str]:
    """The patch levels ``X-Version-Override`` accepts: the revisions of the registered releases
    (``1.0.2``, ``1.0.3``, ``4.0``)."""
    from ieb.releases import default_registry

    return [str(r.name) for pack in default_registry for r in pack.revisions]


def applied_level(verdict: Any, day: dt.date | None = None) -> str | None:
    """The patch level (revision name) that applies to the checked file: the one in force on ``day``
    or, without it, on the file's Dagtekening (the newest when unreadable), as
    :func:`ieb.validation.validate_bytes` chooses it; None when the file's release is unknown or
    has no revisions."""
    from ieb.errors import ConfigurationError
    from ieb.releases import default_registry

    release = verdict.report.release
    if not release:
        return None
    try:
        pack = default_registry.get(release)
    except ConfigurationError:
        return None
    if not pack.revisions:
        return None
    if day is None:
        header = next(
            (c for c in (verdict.root if verdict.root is not None else ()) if _local(c) == "Header"), None
        )
        bid = next(
            (c for c in (header if header is not None else ()) if _local(c) == "BerichtIdentificatie"), None
        )
        text = next(
            (
                "".join(c.itertext()).strip()
                for c in (bid if bid is not None else ())
                if _local(c) == "Dagtekening"
            ),
            "",
        )
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = None
    return str(pack.revision_on(day).name)


def _local(el: Any) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1]


def _dvs_style(request: Any) -> bool:
    """A request in the DVS's form: form content type or the DVS's version header."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/x-www-form-urlencoded" or "x-version-override" in request.headers


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
        "patch_levels": patch_levels(),
    }


def create_app(
    *,
    max_bytes: int = MAX_BYTES,
    today: dt.date | None = None,
    max_concurrency: int = 8,
    body_timeout: float = BODY_TIMEOUT,
) -> Any:
    """The Starlette app. ``today`` pins the receiver's system date (tests); default: the day of
    each request. ``max_concurrency``: validations at once (more: ``503``); bodies buffered are
    bounded by ``max_concurrency * max_bytes`` bytes. ``body_timeout``: seconds to receive a body
    (slower: ``408``). Raises :class:`ieb.errors.ConfigurationError` when Starlette is not installed."""
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
    from ieb.conformance.verdict import check_bytes
    from ieb.errors import ConfigurationError, IebError

    def problem(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    busy_message = "de validatieservice is bezet; probeer het over enkele seconden opnieuw"
    working = asyncio.Semaphore(max_concurrency)
    budget = max_concurrency * max_bytes
    buffered = [0]

    class _TooLarge(Exception):
        pass

    class _Busy(Exception):
        pass

    async def read_limited(request: Request, held: list[int]) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > max_bytes:
                    raise _TooLarge
            except ValueError:
                pass
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise _TooLarge
            if buffered[0] + len(chunk) > budget:
                raise _Busy
            buffered[0] += len(chunk)
            held[0] += len(chunk)
            chunks.append(chunk)
        return b"".join(chunks)

    async def validatie(request: Request) -> Response:
        held = [0]
        declared = request.headers.get("content-length")
        if declared is None and _dvs_style(request):
            return problem(
                411,
                "Content-Length ontbreekt: de DVS-API vraagt de lengte van het bericht vooraf "
                "(stuur het bestand in één keer, niet 'chunked')",
            )
        try:
            async with asyncio.timeout(body_timeout):
                data = await read_limited(request, held)
            if declared is not None and declared.strip().isdigit() and int(declared) != len(data):
                return problem(
                    400, f"Content-Length {declared.strip()} klopt niet: het bericht telt {len(data)} bytes"
                )
            return await validate_request(request, data)
        except _TooLarge:
            return problem(
                413,
                f"OP179: het bestand is groter dan {max_bytes} bytes ({max_bytes // 1_048_576} MB); niet gevalideerd",
            )
        except _Busy:
            return problem(503, busy_message, {"Retry-After": "2"})
        except TimeoutError:
            return problem(
                408, f"de body kwam niet binnen {body_timeout:g} seconden binnen; niet gevalideerd"
            )
        finally:
            buffered[0] -= held[0]

    async def validate_request(request: Request, data: bytes) -> Response:
        day = today
        if "today" in request.query_params:
            try:
                day = dt.date.fromisoformat(request.query_params["today"])
            except ValueError:
                return problem(400, f"today={request.query_params['today']!r} is geen datum JJJJ-MM-DD")
        kwargs: dict[str, Any] = {"today": day or dt.date.today(), "max_bytes": max_bytes}
        override = request.headers.get("x-version-override")
        if override is not None:  # the DVS header: the patch level of the standard
            levels = patch_levels()
            if override.strip() not in levels:
                return problem(
                    400,
                    f"X-Version-Override {mask_bsns(override.strip())[:40]!r} is geen ondersteund patchniveau; "
                    f"ondersteund: {', '.join(levels)} (zonder de header: het niveau dat op de "
                    "Dagtekening gold)",
                )
            kwargs["revision"] = override.strip()
        revisie = request.headers.get("x-ieb-revisie") or request.query_params.get("revisie")
        if revisie and override is None:
            name = _revision_parameter()
            if name is None:
                return problem(
                    422,
                    f"revisie {revisie!r} gevraagd, maar deze versie van ieb kent geen revisies; "
                    "laat de parameter weg om de standaardregels te gebruiken",
                )
            kwargs[name] = revisie
        if working.locked():
            return problem(503, busy_message, {"Retry-After": "2"})
        name = request.query_params.get("naam", "bericht.xml")
        forced = kwargs.get("revision") or kwargs.get("revisie")
        async with working:
            try:
                verdict = await run_in_threadpool(lambda: check_bytes(data, name=name, **kwargs))
                level = str(forced) if forced else applied_level(verdict)
                if forced is None and _dvs_style(request):
                    # as the DVS: by default the patch level valid on the validation date
                    on_day = applied_level(verdict, kwargs["today"])
                    if on_day is not None and on_day != level:
                        kwargs["revision"] = level = on_day
                        verdict = await run_in_threadpool(lambda: check_bytes(data, name=name, **kwargs))
            except ConfigurationError as exc:
                return problem(400 if override is not None else 422, mask_bsns(str(exc)))
            except (IebError, ValueError, KeyError) as exc:
                return problem(422, mask_bsns(str(exc)))
        if override is not None:
            # a patch level of another release than the file's (validate_bytes: the REVISIE finding)
            # is unsupported for this file: the DVS answers 400, not a rapport
            other = next((i for i in verdict.row["issues"] if i["code"] == "REVISIE"), None)
            if other is not None:
                return problem(400, mask_bsns(other["message"]))
        headers = {"X-Ieb-Valid": "true" if verdict.valid else "false"}
        if level:
            headers["X-Ieb-Patch"] = level
        if "application/json" in request.headers.get("accept", ""):
            summary = {"files": 1, "valid": int(verdict.valid), "invalid": int(not verdict.valid)}
            body = (
                json.dumps({"files": [verdict.row], "summary": summary}, ensure_ascii=False, indent=2) + "\n"
            )
            return Response(body, media_type="application/json; charset=utf-8", headers=headers)
        return Response(
            rapport_bytes(verdict.report, root=verdict.root, today=kwargs["today"]),
            media_type="application/xml; charset=utf-8",
            headers=headers,
        )

    async def status(request: Request) -> Response:
        return JSONResponse(status_data(max_bytes))

    return Starlette(
        routes=[
            Route("/validatie", validatie, methods=["POST"]),
            Route("/status", status, methods=["GET"]),
        ]
    )


def _head_deadline_protocol(head_timeout: float) -> type[Any]:
    """uvicorn's h11 protocol with a deadline for the request head: uvicorn itself only times out
    idle keep-alive connections after an answer, and any byte received resets that timer, so a
    socket that never sends a byte (or sends one every second) would otherwise stay open forever."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadDeadlineProtocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def _arm_head_deadline(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(head_timeout, self._head_deadline)

        def _head_deadline(self) -> None:
            self._head_timer = None
            # their_state leaves IDLE once h11 has parsed a complete request head
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_head_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().connection_lost(exc)

    return HeadDeadlineProtocol


def uvicorn_config(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8089,
    head_timeout: float = HEAD_TIMEOUT,
    log_level: str = "warning",
) -> Any:
    """The ``uvicorn.Config`` of ``ieb serve-validation``: h11 with :data:`HEAD_TIMEOUT`, no
    connection-count limit (the app limits the validation work), keep-alive ``head_timeout``."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,
        http=_head_deadline_protocol(head_timeout),
        timeout_keep_alive=max(1, int(head_timeout)),
        lifespan="off",
    )
    # the access log quotes the request line (``?naam=...``): BSNs in it are masked, as in every log
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _MaskBsns) for f in logger.filters):
            logger.addFilter(_MaskBsns())
    return config


class _MaskBsns(logging.Filter):
    """Masks BSN-like digit runs (:func:`ieb.types.mask_bsns`) in a log record's message and its
    string arguments (uvicorn's access formatter reads the arguments one by one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_bsns(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(a) if isinstance(a, str) else a for a in record.args)
        return True


def _masked(text: str) -> str:
    """``text`` masked; a percent-encoded BSN (``%39%39...``) is masked in its decoded form."""
    from urllib.parse import unquote

    if "%" in text:
        decoded = unquote(text)
        masked = mask_bsns(decoded)
        if masked != decoded:
            return masked
    return mask_bsns(text)


def serve(
    app: Any, *, host: str, port: int, head_timeout: float = HEAD_TIMEOUT, log_level: str = "warning"
) -> None:
    """Serve ``app`` with :func:`uvicorn_config` until interrupted."""
    import uvicorn

    uvicorn.Server(
        uvicorn_config(app, host=host, port=port, head_timeout=head_timeout, log_level=log_level)
    ).run()
