"""The release registry: iStandaard releases as packs (:class:`~ieb.releases.pack.ReleasePack`).

Packs come from three places, first one wins per name:

* the built-in packs (``ieb-1.0``, :mod:`ieb.releases.ieb_1_0`);
* the entry point group ``ieb.releases`` (``name = "package.module:PACK"``), so a pack can ship as
  its own wheel;
* :func:`register_folder`: a folder of official XSDs of another release. Such a release can be
  detected, parsed to a generic tree, XSD-validated and checked with the generic checks, without
  code changes::

    from ieb.releases import register_folder
    release = register_folder("/path/to/iEb-4.0/xsd")

Packs are loaded on first use of a registry (not at import), so importing this module loads no pack.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from lxml import etree

from ieb.errors import ConfigurationError, UnknownMessageError
from ieb.releases._xsd import XS, appinfo, secure_parse
from ieb.releases.pack import MessageDef, ReleasePack, RuleSet
from ieb.releases.rules import GENERIC_RULES

__all__ = [
    "DEFAULT_RELEASE",
    "ENTRY_POINT_GROUP",
    "GENERIC_RULESET",
    "MessageDef",
    "Registry",
    "ReleasePack",
    "default_registry",
    "detect",
    "get_pack",
    "get_release",
    "register_folder",
    "scan_folder",
    "use_official_folder",
]

#: the release a file without another indication is read in (``ieb build``, ``ieb show``): the first
#: one that had a pack; ``ieb.toml``'s ``release`` names the release an organisation sends
DEFAULT_RELEASE = "ieb-1.0"

_XS = {"xs": XS}

#: The rules of a release registered from a folder of XSDs: the generic checks (CS002, CS125,
#: XSD-DATUM), found through the basisschema types the XSDs use.
GENERIC_RULESET = RuleSet(message=GENERIC_RULES)

#: The entry point group a pack wheel declares its pack in (``ieb-4.0 = "ieb_pack_40:PACK"``).
ENTRY_POINT_GROUP = "ieb.releases"
#: The packs shipped with ieb, as ``module:attribute`` (the same form as an entry point).
BUILTIN_PACKS: tuple[str, ...] = ("ieb.releases.ieb_1_0:PACK", "ieb.releases.ieb_4_0:PACK")


def scan_folder(folder: str | Path, *, name: str | None = None) -> ReleasePack:
    """Read a folder of official XSDs: each schema whose appinfo names a ``bericht`` other than
    ``basisschema`` and declares a root element becomes a message of the release."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigurationError(f"release-map {folder} bestaat niet")
    rows: dict[str, tuple[str, str | None, str, Path, str]] = {}
    release_name = name
    for path in sorted(folder.glob("*.xsd")):
        try:
            doc = secure_parse(path).getroot()
        except etree.XMLSyntaxError as exc:
            raise ConfigurationError(f"{path.name} is geen geldige XSD: {exc.msg}") from exc
        bericht = appinfo(doc, "bericht")
        target = doc.get("targetNamespace")
        if not bericht or bericht.lower() == "basisschema" or not target:
            continue
        if release_name is None:
            standaard = appinfo(doc, "standaard") or "onbekend"
            release_name = f"{standaard}-{appinfo(doc, 'release') or '0'}"
        roots = [e.get("name") for e in doc.findall("xs:element", _XS)]
        if not roots:
            continue
        patterns: Any = doc.xpath(".//xs:element[@name='BerichtCode']//xs:pattern/@value", namespaces=_XS)
        code = str(patterns[0]) if patterns else None
        root_name = "Bericht" if "Bericht" in roots else str(roots[0])
        rows[bericht.upper()] = (bericht.upper(), code, target, path, root_name)
    if not rows or release_name is None:
        raise ConfigurationError(
            f"in {folder} staan geen bericht-XSD's met appinfo (standaard, bericht, release); "
            "geef de map met de officiële XSD's van een release"
        )
    messages = {
        name: MessageDef(
            release=release_name,
            name=name,
            bericht_code=code,
            namespace=target,
            schema_path=path,
            root_name=root_name,
        )
        for name, code, target, path, root_name in rows.values()
    }
    return ReleasePack(name=release_name, folder=folder, messages=messages, rules=GENERIC_RULESET)


def load_pack(reference: str) -> ReleasePack:
    """Import a pack from ``module:attribute``; raises ConfigurationError naming the reference when it
    cannot be imported or is not a :class:`ReleasePack`."""
    module_name, _, attribute = reference.partition(":")
    try:
        pack: Any = getattr(importlib.import_module(module_name), attribute or "PACK")
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"release-pack {reference} kan niet geladen worden: {exc}") from exc
    if not isinstance(pack, ReleasePack):
        raise ConfigurationError(f"{reference} is geen ReleasePack maar {type(pack).__name__}")
    return pack


def entry_point_packs(*, skip: Iterable[str] = ()) -> list[ReleasePack]:
    """The packs declared in the entry point group ``ieb.releases`` of the installed distributions
    (the ieb wheel declares its own built-in packs there too), except those whose ``module:attribute``
    is in ``skip``."""
    skipped = set(skip)
    packs = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.value in skipped:
            continue
        try:
            pack: Any = ep.load()
        except Exception as exc:  # a broken plugin must not hide which one it is
            raise ConfigurationError(
                f"release-pack {ep.name} ({ep.value}) kan niet geladen worden: {exc}"
            ) from exc
        if not isinstance(pack, ReleasePack):
            raise ConfigurationError(f"entry point {ep.name} ({ep.value}) is geen ReleasePack")
        packs.append(pack)
    return packs


def _builtin_source(reference: str) -> Callable[[], list[ReleasePack]]:
    return lambda: [load_pack(reference)]


#: The default sources, loaded one at a time and only as far as needed (issue 22: ``ieb validate``
#: of an iEb 1.0 file never imports iEb 4.0): each built-in pack, then the other entry point packs
#: (an entry point naming a built-in pack is the same object and is not loaded twice).
_DEFAULT_SOURCES: tuple[Callable[[], list[ReleasePack]], ...] = (
    *(_builtin_source(ref) for ref in BUILTIN_PACKS),
    lambda: entry_point_packs(skip=BUILTIN_PACKS),
)

Sources = Callable[[], Iterable[ReleasePack]] | Sequence[Callable[[], Iterable[ReleasePack]]]


class Registry:
    """Release packs by name. Thread-safe.

    ``sources`` gives the packs to start with: one callable returning packs, or a sequence of them
    (:meth:`with_builtin`: each built-in pack, then the entry point packs). They are called in order
    and only as far as needed: :meth:`detect` and :meth:`get` stop at the first source that has the
    document's message or the name; iterating, :meth:`register` and every other lookup load all of
    them. Each runs once (one that raises ConfigurationError is tried again on next use). A name
    given twice keeps the first pack, so the answers are those of loading every source first."""

    def __init__(self, packs: Iterable[ReleasePack] = (), *, sources: Sources | None = None) -> None:
        self._packs: dict[str, ReleasePack] = {}
        self._pending: list[Callable[[], Iterable[ReleasePack]]] = (
            [] if sources is None else [sources] if callable(sources) else list(sources)
        )
        self._lock = threading.RLock()
        self._loading = False
        # root tag ("{namespace}Bericht") -> what detect found; emptied when the packs change
        self._detected: dict[str, tuple[ReleasePack, MessageDef]] = {}
        for pack in packs:
            self._packs.setdefault(pack.name, pack)

    def _load_next(self) -> bool:
        """Load the next pending source; False when none is left (or this thread is loading one: a
        pack that asks this registry while it is being imported sees the packs loaded so far).
        Other threads wait until it is loaded."""
        if not self._pending:
            return False
        with self._lock:
            if not self._pending or self._loading:
                return False
            self._loading = True
            try:
                packs = list(self._pending[0]())  # raises (ConfigurationError): tried again on next use
            finally:
                self._loading = False
            for pack in packs:
                self._packs.setdefault(pack.name, pack)
            del self._pending[0]
            self._detected = {}
            return True

    def _ensure(self) -> None:
        """Load every pending source."""
        while self._load_next():
            pass

    @classmethod
    def with_builtin(cls) -> Registry:
        """A new, independent registry with the built-in and entry point packs (no global state)."""
        return cls(sources=_DEFAULT_SOURCES)

    def register(self, pack: ReleasePack, *, replace: bool = False) -> ReleasePack:
        """Add ``pack``; raises ConfigurationError when its name is taken and ``replace`` is False."""
        self._ensure()
        with self._lock:
            if pack.name in self._packs and not replace:
                raise ConfigurationError(f"release {pack.name} is al geregistreerd")
            self._packs[pack.name] = pack
            self._detected = {}
        return pack

    def register_folder(
        self, folder: str | Path, *, name: str | None = None, replace: bool = False
    ) -> ReleasePack:
        """Register the release in a folder of official XSDs (see :func:`scan_folder`)."""
        return self.register(scan_folder(folder, name=name), replace=replace)

    def get(self, name: str) -> ReleasePack:
        """The pack registered under ``name``; raises ConfigurationError when unknown. Loads the
        pending sources only until one has it."""
        while name not in self._packs and self._load_next():
            pass
        try:
            return self._packs[name]
        except KeyError:
            raise ConfigurationError(
                f"onbekende release {name!r}; geregistreerd: {', '.join(self._packs)}"
            ) from None

    def __iter__(self) -> Iterator[ReleasePack]:
        self._ensure()
        with self._lock:
            return iter(list(self._packs.values()))

    def functie_berichtcodes(self) -> dict[str, str]:
        """Message name (the StUF-GGk functie) -> BerichtCode over every registered pack, for the
        GGk's IB240 check (:class:`ieb.ggk.EnvelopeChecks`); the first pack wins a shared name."""
        table: dict[str, str] = {}
        for pack in self:
            for name, code in pack.functie_berichtcodes().items():
                table.setdefault(name, code)
        return table

    def by_namespace(self, namespace: str) -> tuple[ReleasePack, MessageDef] | None:
        """The pack and table row with this message namespace, or None."""
        for pack in self:
            row = pack.by_namespace(namespace)
            if row is not None:
                return pack, row
        return None

    def detect(self, root: etree._Element) -> tuple[ReleasePack, MessageDef]:
        """Which release and message a parsed document is, from its root namespace and name; raises
        UnknownMessageError when no registered pack has it. Loads the pending sources only until
        one has it; an answer is remembered per root tag until the packs change."""
        tag = root.tag
        found = self._detected.get(tag) if isinstance(tag, str) else None
        if found is not None:
            return found
        qname = etree.QName(root)
        namespace = qname.namespace or ""
        while True:
            with self._lock:
                packs = list(self._packs.values())
            for pack in packs:
                row = pack.by_namespace(namespace)
                if row is not None and qname.localname == row.root_name:
                    with self._lock:
                        if self._packs.get(pack.name) is pack:
                            self._detected[str(tag)] = (pack, row)
                    return pack, row
            if not self._load_next():
                break
        raise UnknownMessageError(
            f"onbekend bericht: root-element {qname.localname!r} in namespace "
            f"{namespace or '(geen)'} hoort bij geen geregistreerde release"
        )


#: The process-wide registry (built-in and entry point packs, loaded on first use).
default_registry = Registry(sources=_DEFAULT_SOURCES)


def get_pack(name: str = "ieb-1.0") -> ReleasePack:
    """A pack of the default registry by name (the built-in ``ieb-1.0`` by default); raises
    ConfigurationError when unknown."""
    return default_registry.get(name)


#: The same as :func:`get_pack` (the name of 0.x, kept: it is not deprecated).
get_release = get_pack


def detect(root: etree._Element) -> tuple[ReleasePack, MessageDef]:
    """Which release and message of the default registry a parsed document is (see :meth:`Registry.detect`)."""
    return default_registry.detect(root)


def use_official_folder(name: str, folder: str | Path, *, registry: Registry | None = None) -> ReleasePack:
    """Rebuild the pack ``name`` on a folder of official XSDs and register it in its place, for a pack
    whose module offers ``pack_for(folder)`` (``ieb-4.0``: the folder ``ieb release check`` registered
    as ``release_xsd``). Raises ConfigurationError when the pack cannot be rebuilt that way."""
    registry = registry or default_registry
    registry.get(name)  # an unknown release is a ConfigurationError naming the known ones
    for reference in BUILTIN_PACKS + tuple(ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)):
        module_name, _, attribute = reference.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        factory = getattr(module, "pack_for", None)
        shipped = getattr(module, attribute or "PACK", None)
        if isinstance(shipped, ReleasePack) and shipped.name == name and callable(factory):
            pack: ReleasePack = factory(Path(folder))
            return registry.register(pack, replace=True)
    raise ConfigurationError(f"release {name} kan niet op een eigen XSD-map draaien (release_xsd)")


def register_folder(folder: str | Path, *, name: str | None = None, replace: bool = False) -> ReleasePack:
    """Register a folder of official XSDs in the default registry (see :func:`scan_folder`)."""
    return default_registry.register_folder(folder, name=name, replace=replace)
