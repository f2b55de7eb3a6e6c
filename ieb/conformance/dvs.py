"""A client of the Decentrale Validatieservice (DVS) of Zorginstituut Nederland / iStandaarden, and
the merge of its rapport with ``ieb``'s own findings (``ieb validate --dvs URL``, ``dvs_url`` in
``ieb.toml``).

The DVS is a container (``registry.istandaarden.nl/modules/dvs``, port 8080) with an HTTP API:
``POST /validatie`` with the message as the body, ``Content-Type: application/x-www-form-urlencoded``
and a correct ``Content-Length``; the answer is the validation rapport (namespace
``http://www.istandaarden.nl/validatie/1_1/rapport/schema``, see :mod:`ieb.conformance.rapport`).
``X-Version-Override: <patch>`` chooses the patch level of the standard (default: the one valid on
the validation date). ``GET /status`` is its health check. ``ieb serve-validation`` answers the same
API (docs/dvs.md).

Bounds: an answer over ``max_answer`` bytes (default 10 MB), a connection not made within
``connect_timeout`` seconds or an answer not complete within ``timeout`` seconds is a
:class:`DvsError` (the whole answer, headers included: a DVS that drips one byte at a time is cut
off at ``timeout``, its connection shut down by a guard thread); so is any answer other than HTTP 200 with a rapport. A DVS that is down or
answers garbage is never a silent pass.

Merge (:func:`merge`): every finding keeps its source, ``ieb`` or ``dvs``; a finding both report
(same Code and same Locaties, in the official XPath form) is one finding with source ``ieb+dvs``.
A DVS finding becomes an :class:`~ieb.validation.report.Issue` of level 2 (the XSLT checks rules
within the message) with its Code, Retourcode, Locaties (joined by `` | ``) and Details (BSNs
masked, as every Issue).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ieb.conformance.rapport import RAPPORT_NS, official_xpath
from ieb.errors import IebError
from ieb.types import mask_bsns
from ieb.validation.report import Issue
from ieb.xmlsafe import XmlProblem, parse_untrusted

__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_ANSWER",
    "TIMEOUT",
    "DvsClient",
    "DvsError",
    "DvsFout",
    "DvsRapport",
    "merge",
    "parse_rapport",
]

CONNECT_TIMEOUT = 5.0
"""Seconds to connect to the DVS."""
TIMEOUT = 120.0
"""Seconds for one whole answer (the DVS validates a 25 MB file in far less)."""
MAX_ANSWER = 10 * 1_048_576
"""Largest rapport read from a DVS, in bytes."""
_R = f"{{{RAPPORT_NS}}}"


class DvsError(IebError):
    """The DVS could not give a verdict: not reachable, too slow, an HTTP error, or an answer that is
    no rapport. ``code`` is ``DVS``; the text (Dutch) names the URL and what happened."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="DVS")


@dataclass(frozen=True, slots=True)
class DvsFout:
    """One ``Fout`` of a DVS rapport: ``code`` (rule code), ``retourcode`` (or None), ``locaties``
    (XPaths as the DVS wrote them, at least one), ``details`` (or None)."""

    code: str
    retourcode: str | None
    locaties: tuple[str, ...]
    details: str | None


@dataclass(frozen=True, slots=True)
class DvsRapport:
    """A parsed DVS rapport: its findings and the ``XSLTVersie`` of the XSLT set that checked."""

    fouten: tuple[DvsFout, ...]
    xslt_versie: str | None


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    value = " ".join("".join(t for t in el.itertext() if isinstance(t, str)).split())
    return value or None


def parse_rapport(data: bytes, *, max_bytes: int = MAX_ANSWER) -> DvsRapport:
    """Read a rapport (the hardened parser: no DTD, no entities, bounded size and depth).

    Raises :class:`DvsError` when ``data`` is not XML, not a ``Rapport`` of the rapport namespace,
    holds an element the schema does not place in ``Rapport`` or ``Fouten`` (a finding that cannot be
    read is never a pass), or a ``Fout`` lacks its ``Code`` or every ``Locatie``. BSN-like digit runs
    in ``Code`` and ``Retourcode`` are masked."""
    try:
        root = parse_untrusted(data, max_bytes=max_bytes)
    except XmlProblem as exc:
        raise DvsError(
            f"het antwoord van de DVS is geen leesbare XML: {mask_bsns(exc.issues[0].message)}"
        ) from None
    if root.tag != _R + "Rapport":
        raise DvsError(
            f"het antwoord van de DVS is geen rapport (root-element {mask_bsns(str(etree.QName(root).localname))!r}, "
            f"verwacht Rapport in namespace {RAPPORT_NS})"
        )
    # what cannot be read as a finding is an error, never "no findings" (the schema: Rapport holds
    # Header and Fouten, Fouten only Fout, all in the rapport namespace)
    children = [c for c in root if isinstance(c.tag, str)]
    bad = next((c for c in children if c.tag not in (_R + "Header", _R + "Fouten")), None)
    if bad is None:
        bad = next(
            (
                f
                for c in children
                if c.tag == _R + "Fouten"
                for f in c
                if isinstance(f.tag, str) and f.tag != _R + "Fout"
            ),
            None,
        )
    if bad is not None:
        raise DvsError(
            "het rapport van de DVS klopt niet: element "
            f"{mask_bsns(str(bad.tag))[:120]!r} hoort niet in Rapport of Fouten (verwacht Header, Fouten, Fout "
            f"in namespace {RAPPORT_NS})"
        )
    fouten = []
    for n, fout in enumerate(root.iterfind(f"{_R}Fouten/{_R}Fout"), start=1):
        code = _text(fout.find(_R + "Code"))
        locaties = tuple(t for t in (_text(loc) for loc in fout.iterfind(_R + "Locatie")) if t)
        if not code or not locaties:
            raise DvsError(f"het rapport van de DVS klopt niet: Fout {n} heeft geen Code of geen Locatie")
        retourcode = _text(fout.find(_R + "Retourcode"))
        fouten.append(
            DvsFout(  # the codes of a hostile DVS may carry a BSN too
                mask_bsns(code),
                None if retourcode is None else mask_bsns(retourcode),
                locaties,
                _text(fout.find(_R + "Details")),
            )
        )
    return DvsRapport(tuple(fouten), _text(root.find(f"{_R}Header/{_R}XSLTVersie")))


_current = threading.local()


class _Deadline:
    """The total deadline of one :meth:`DvsClient.validate`: when it passes, every connection the
    call took from the pool is shut down (again, until the call ends: one may still be connecting),
    which ends a read however slowly the DVS drips its bytes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._done = threading.Event()
        self._conns: list[Any] = []
        self._lock = threading.Lock()

    def __enter__(self) -> _Deadline:
        _current.deadline = self
        threading.Thread(target=self._guard, name="ieb-dvs-deadline", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        _current.deadline = None

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conns.append(conn)
        if self.fired:
            self._shut(conn)

    def _guard(self) -> None:
        if self._done.wait(self.seconds):
            return
        self.fired = True
        while True:
            with self._lock:
                conns = list(self._conns)
            for conn in conns:
                self._shut(conn)
            if self._done.wait(0.05):
                return

    @staticmethod
    def _shut(conn: Any) -> None:
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


def _watched_session() -> Any:
    """A ``requests.Session`` whose connection pools tell the current :class:`_Deadline` which
    connection a call uses (through a proxy from the environment the deadline is not enforced)."""
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter

    def _watched(base: Any, name: str) -> Any:
        def _get_conn(pool: Any, timeout: float | None = None) -> Any:
            conn = base._get_conn(pool, timeout)
            deadline = getattr(_current, "deadline", None)
            if deadline is not None:
                deadline.attach(conn)
            return conn

        return type(name, (base,), {"_get_conn": _get_conn})

    http_pool = _watched(urllib3.HTTPConnectionPool, "_WatchedHTTPPool")
    https_pool = _watched(urllib3.HTTPSConnectionPool, "_WatchedHTTPSPool")

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            classes = dict(self.poolmanager.pool_classes_by_scheme)
            classes.update({"http": http_pool, "https": https_pool})
            self.poolmanager.pool_classes_by_scheme = classes

    session = requests.Session()
    adapter = _Adapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class DvsClient:
    """Sends files to one DVS. ``url`` is the DVS's base (``http://localhost:8080``) or its
    ``/validatie`` address; ``version`` is sent as ``X-Version-Override`` (None: the DVS's default).
    ``session``: a ``requests.Session`` to reuse (tests, connection pooling); the total ``timeout``
    is enforced only on the client's own session (None), not on one given here."""

    def __init__(
        self,
        url: str,
        *,
        version: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        timeout: float = TIMEOUT,
        max_answer: int = MAX_ANSWER,
        session: Any = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise DvsError(f"DVS-adres {url!r} moet met http:// of https:// beginnen")
        base = url.rstrip("/")
        self.url = base if base.endswith("/validatie") else base + "/validatie"
        #: the address as errors name it: without a user name or password in it (``http://u:p@host``)
        self.shown_url = re.sub(r"^(https?://)[^/@]*@", r"\1", self.url)
        self.version = version
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.max_answer = max_answer
        self._session = session or _watched_session()

    def validate(self, data: bytes) -> DvsRapport:
        """POST ``data`` to ``/validatie`` and return the parsed rapport. Raises :class:`DvsError`."""
        import requests

        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/xml"}
        if self.version:
            headers["X-Version-Override"] = self.version
        deadline = time.monotonic() + self.timeout
        guard = _Deadline(self.timeout)
        try:
            # bytes: requests sends Content-Length, never chunked
            with (
                guard,
                self._session.post(
                    self.url,
                    data=bytes(data),
                    headers=headers,
                    timeout=(self.connect_timeout, self.timeout),
                    stream=True,
                    allow_redirects=False,
                ) as answer,
            ):
                body = self._read(answer, deadline)
                status = answer.status_code
        except requests.exceptions.Timeout:
            raise DvsError(
                f"de DVS op {self.shown_url} antwoordde niet binnen {self.timeout:g} seconden; niets gevalideerd"
            ) from None
        except requests.exceptions.RequestException as exc:
            if guard.fired:
                raise DvsError(
                    f"de DVS op {self.shown_url} antwoordde niet binnen {self.timeout:g} seconden; niets gevalideerd"
                ) from None
            reason = type(exc).__name__
            raise DvsError(
                f"de DVS op {self.shown_url} is niet bereikbaar ({reason}); niets gevalideerd"
            ) from None
        if guard.fired:  # a cut-off answer can look complete (headers ended by the shutdown)
            raise DvsError(
                f"de DVS op {self.shown_url} antwoordde niet binnen {self.timeout:g} seconden; niets gevalideerd"
            )
        if status != 200:
            head = body[:4096].decode("utf-8", "replace")  # far more than shown: no BSN cut below
            snippet = mask_bsns(head)[:300].strip()  # masked, then cut
            raise DvsError(f"de DVS op {self.shown_url} antwoordde HTTP {status}: {snippet or '(leeg)'}")
        return parse_rapport(body, max_bytes=self.max_answer)

    def _read(self, answer: Any, deadline: float) -> bytes:
        declared = answer.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_answer:
            raise DvsError(
                f"het antwoord van de DVS op {self.shown_url} is groter dan {self.max_answer} bytes"
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in answer.iter_content(65536):
            size += len(chunk)
            if size > self.max_answer:
                raise DvsError(
                    f"het antwoord van de DVS op {self.shown_url} is groter dan {self.max_answer} bytes"
                )
            if time.monotonic() > deadline:
                raise DvsError(
                    f"de DVS op {self.shown_url} antwoordde niet binnen {self.timeout:g} seconden; niets gevalideerd"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        """Close the connections."""
        self._session.close()


def _key(code: str, locations: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    return code, tuple(sorted(official_xpath(loc) for loc in locations))


def merge(issues: Sequence[Issue], rapport: DvsRapport) -> tuple[list[Issue], list[str]]:
    """``ieb``'s findings followed by the DVS's, and per finding its source (``ieb``, ``dvs`` or
    ``ieb+dvs`` when both report the same Code at the same Locaties)."""
    remaining = list(rapport.fouten)
    merged: list[Issue] = []
    sources: list[str] = []
    for issue in issues:
        locations = [loc for loc in (issue.location or "/").split(" | ") if loc.strip()] or ["/"]
        key = _key(issue.code, locations)
        twin = next((f for f in remaining if _key(f.code, f.locaties) == key), None)
        if twin is not None:
            remaining.remove(twin)
        merged.append(issue)
        sources.append("ieb+dvs" if twin is not None else "ieb")
    for fout in remaining:
        merged.append(
            Issue(
                fout.code,
                fout.retourcode,
                2,
                " | ".join(fout.locaties),
                fout.details or "de DVS gaf bij deze bevinding geen toelichting",
            )
        )
        sources.append("dvs")
    return merged, sources
