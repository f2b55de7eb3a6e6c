"""Releases as data: a registry of iStandaard releases (namespaces, messages, schemas, rules).

``ieb-1.0`` is built in. A user who has the official XSD set of another release registers its
folder with :func:`register_folder` and can then detect, parse to a generic tree, XSD-validate and
run the generic checks on those files, without code changes::

    from ieb.releases import register_folder
    release = register_folder("/path/to/iEb-4.0/xsd")
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from ieb.errors import ConfigurationError, UnknownMessageError
from ieb.resources import schemas_dir
from ieb.xmlsafe import schema_parser, thread_schema

if TYPE_CHECKING:  # pragma: no cover
    from ieb.messages import Message
    from ieb.validation.rules import Rule

__all__ = [
    "MessageSpec",
    "Registry",
    "Release",
    "attach_builtin_rules",
    "default_registry",
    "get_release",
    "register_folder",
]

XS = "http://www.w3.org/2001/XMLSchema"
_XS = {"xs": XS}
#: Simple types of the basisschema that the generic checks look for.
GENERIC_TYPES = frozenset({"LDT_BurgerServicenummer", "LDT_Datum", "LDT_StatusAanlevering"})


def _secure_parse(path: Path) -> etree._ElementTree:
    return etree.parse(str(path), schema_parser())


@dataclass(eq=False)
class MessageSpec:
    """One message of a release: its name, BerichtCode, namespace and schema file."""

    release: str
    name: str
    bericht_code: str | None
    namespace: str
    schema_path: Path
    root_name: str = "Bericht"
    model: type[Message] | None = None
    _types: dict[tuple[str, ...], str] | None = field(default=None, repr=False)
    _builtins: dict[tuple[str, ...], str] | None = field(default=None, repr=False)

    @property
    def schema(self) -> etree.XMLSchema:
        """The compiled XSD: compiled once per thread (libxml2 must not compile concurrently, and a
        schema's error log is per object)."""
        try:
            return thread_schema(self.schema_path)
        except (etree.XMLSchemaParseError, OSError, etree.XMLSyntaxError) as exc:
            raise ConfigurationError(
                f"schema {self.schema_path} van {self.release}/{self.name} is onbruikbaar: {exc}"
            ) from exc

    @property
    def types(self) -> dict[tuple[str, ...], str]:
        """Element path (local names from the root) -> the basisschema type it is based on."""
        if self._types is None:
            self._types, self._builtins = _type_index(self.schema_path, self.root_name)
        return self._types

    @property
    def builtins(self) -> dict[tuple[str, ...], str]:
        """Element path (local names from the root) -> the built-in XSD type its simple type derives
        from (``"date"``, ``"integer"``, ``"string"``), which fixes how its value is read
        (:func:`ieb.values.read_value`)."""
        if self._builtins is None:
            self._types, self._builtins = _type_index(self.schema_path, self.root_name)
        return self._builtins


def _type_index(
    schema_path: Path, root_name: str
) -> tuple[dict[tuple[str, ...], str], dict[tuple[str, ...], str]]:
    """Walk the XSD (message schema plus the schemas it imports) from the root element and record,
    for every element path, the LDT_* type it is declared with or restricts, and the built-in XSD
    type at the root of its derivation."""
    complex_types: dict[str, etree._Element] = {}
    simple_types: dict[str, etree._Element] = {}
    roots: dict[str, etree._Element] = {}
    seen: set[Path] = set()

    def load(path: Path) -> None:
        path = path.resolve()
        if path in seen:
            return
        seen.add(path)
        doc = _secure_parse(path).getroot()
        for node in doc.findall("xs:complexType", _XS):
            complex_types[node.get("name", "")] = node
        for node in doc.findall("xs:simpleType", _XS):
            simple_types[node.get("name", "")] = node
        if path == schema_path.resolve():
            for node in doc.findall("xs:element", _XS):
                roots[node.get("name", "")] = node
        for imp in doc.findall("xs:import", _XS) + doc.findall("xs:include", _XS):
            loc = imp.get("schemaLocation")
            if loc:
                load(path.parent / loc)

    def local(qname: str | None) -> str:
        return (qname or "").split(":")[-1]

    def simple_base(name: str, depth: int = 0) -> str | None:
        if name in GENERIC_TYPES:
            return name
        node = simple_types.get(name)
        if node is None or depth > 20:
            return None
        restriction = node.find("xs:restriction", _XS)
        return simple_base(local(restriction.get("base")), depth + 1) if restriction is not None else None

    def builtin_base(name: str, depth: int = 0) -> str | None:
        node = simple_types.get(name)
        if node is None:
            return name or None  # not declared in these schemas: a built-in type (xs:date, ...)
        restriction = node.find("xs:restriction", _XS)
        if restriction is None or depth > 20:
            return None
        return builtin_base(local(restriction.get("base")), depth + 1)

    index: dict[tuple[str, ...], str] = {}
    builtins: dict[tuple[str, ...], str] = {}

    def walk(element: etree._Element, path: tuple[str, ...], depth: int) -> None:
        if depth > 30:
            return
        type_name = local(element.get("type"))
        base = simple_base(type_name) if type_name else None
        if not type_name:
            anonymous = element.find("xs:simpleType/xs:restriction", _XS)
            if anonymous is not None:
                base = simple_base(local(anonymous.get("base")))
        if base:
            index[path] = base
        if type_name and type_name not in complex_types:
            builtin = builtin_base(type_name)
        else:
            anonymous = element.find("xs:simpleType/xs:restriction", _XS)
            builtin = builtin_base(local(anonymous.get("base"))) if anonymous is not None else None
        if builtin:
            builtins[path] = builtin
        ctype = complex_types.get(type_name) if type_name else element.find("xs:complexType", _XS)
        if ctype is None:
            return
        for child in ctype.iter(f"{{{XS}}}element"):
            if child.get("name"):
                walk(child, (*path, child.get("name", "")), depth + 1)

    load(schema_path)
    if root_name in roots:
        walk(roots[root_name], (root_name,), 0)
    return index, builtins


@dataclass(eq=False)
class Release:
    """A release: its name (``ieb-1.0``), messages by name and extra rules."""

    name: str
    folder: Path
    messages: dict[str, MessageSpec]
    rules: tuple[Rule, ...] = ()
    builtin: bool = False

    def message(self, name: str) -> MessageSpec:
        """The message by name (``WMO401``); raises UnknownMessageError when the release lacks it."""
        try:
            return self.messages[name.upper()]
        except KeyError:
            raise UnknownMessageError(
                f"release {self.name} kent bericht {name!r} niet; wel: {', '.join(self.messages)}"
            ) from None

    def by_namespace(self, namespace: str) -> MessageSpec | None:
        """The message with this target namespace, or None."""
        for spec in self.messages.values():
            if spec.namespace == namespace:
                return spec
        return None


def _appinfo(doc: etree._Element, name: str) -> str | None:
    for node in doc.iterfind("xs:annotation/xs:appinfo/*", _XS):
        if etree.QName(node).localname == name and node.text:
            return node.text.strip()
    return None


def scan_folder(folder: str | Path, *, name: str | None = None) -> Release:
    """Read a folder of official XSDs: each schema whose appinfo names a ``bericht`` other than
    ``basisschema`` and declares a root element becomes a message of the release."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigurationError(f"release-map {folder} bestaat niet")
    messages: dict[str, MessageSpec] = {}
    release_name = name
    for path in sorted(folder.glob("*.xsd")):
        try:
            doc = _secure_parse(path).getroot()
        except etree.XMLSyntaxError as exc:
            raise ConfigurationError(f"{path.name} is geen geldige XSD: {exc.msg}") from exc
        bericht = _appinfo(doc, "bericht")
        target = doc.get("targetNamespace")
        if not bericht or bericht.lower() == "basisschema" or not target:
            continue
        if release_name is None:
            standaard = _appinfo(doc, "standaard") or "onbekend"
            release_name = f"{standaard}-{_appinfo(doc, 'release') or '0'}"
        roots = [e.get("name") for e in doc.findall("xs:element", _XS)]
        if not roots:
            continue
        patterns: Any = doc.xpath(".//xs:element[@name='BerichtCode']//xs:pattern/@value", namespaces=_XS)
        code = str(patterns[0]) if patterns else None
        messages[bericht.upper()] = MessageSpec(
            release=release_name,
            name=bericht.upper(),
            bericht_code=code,
            namespace=target,
            schema_path=path,
            root_name="Bericht" if "Bericht" in roots else str(roots[0]),
        )
    if not messages or release_name is None:
        raise ConfigurationError(
            f"in {folder} staan geen bericht-XSD's met appinfo (standaard, bericht, release); "
            "geef de map met de officiële XSD's van een release"
        )
    for spec in messages.values():
        spec.release = release_name
    return Release(name=release_name, folder=folder, messages=messages)


class Registry:
    """Releases by name. Thread-safe; the built-in ``ieb-1.0`` is registered lazily."""

    def __init__(self, *, builtin: Callable[[], Release] | None = None) -> None:
        self._releases: dict[str, Release] = {}
        self._builtin = builtin
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if self._builtin is not None:
            with self._lock:
                if self._builtin is not None:
                    release = self._builtin()
                    self._releases.setdefault(release.name, release)
                    self._builtin = None

    @classmethod
    def with_builtin(cls) -> Registry:
        """A new, independent registry holding the built-in ``ieb-1.0`` (no global state touched)."""
        return cls(builtin=_builtin_ieb_1_0)

    def register(self, release: Release, *, replace: bool = False) -> Release:
        """Add ``release``; raises ConfigurationError when its name is taken and ``replace`` is False."""
        self._ensure()
        with self._lock:
            if release.name in self._releases and not replace:
                raise ConfigurationError(f"release {release.name} is al geregistreerd")
            self._releases[release.name] = release
        return release

    def register_folder(
        self, folder: str | Path, *, name: str | None = None, replace: bool = False
    ) -> Release:
        """Register the release in a folder of official XSDs (see :func:`scan_folder`)."""
        return self.register(scan_folder(folder, name=name), replace=replace)

    def get(self, name: str) -> Release:
        """The release registered under ``name``; raises ConfigurationError when unknown."""
        self._ensure()
        try:
            return self._releases[name]
        except KeyError:
            raise ConfigurationError(
                f"onbekende release {name!r}; geregistreerd: {', '.join(self._releases)}"
            ) from None

    def __iter__(self) -> Iterator[Release]:
        self._ensure()
        return iter(list(self._releases.values()))

    def detect(self, root: etree._Element) -> tuple[Release, MessageSpec]:
        """Which release and message a parsed document is, from its root namespace."""
        namespace = etree.QName(root).namespace or ""
        for release in self:
            spec = release.by_namespace(namespace)
            if spec is not None and etree.QName(root).localname == spec.root_name:
                return release, spec
        raise UnknownMessageError(
            f"onbekend bericht: root-element {etree.QName(root).localname!r} in namespace "
            f"{namespace or '(geen)'} hoort bij geen geregistreerde release"
        )


_BUILTIN_RULES: list[tuple[Rule, ...]] = []
_BUILTIN_RELEASES: list[Release] = []


def attach_builtin_rules(rules: tuple[Rule, ...]) -> None:
    """Give the built-in ``ieb-1.0`` its rules. Called by :mod:`ieb.validation.rules` when it is
    imported, so this package does not import the validator (no import cycle)."""
    _BUILTIN_RULES[:] = [rules]
    for release in _BUILTIN_RELEASES:
        release.rules = rules


def _builtin_ieb_1_0() -> Release:
    from ieb.messages import message_class

    release = scan_folder(schemas_dir() / "ieb" / "1.0", name="ieb-1.0")
    for spec in release.messages.values():
        spec.model = message_class(spec.name)
    release.rules = _BUILTIN_RULES[0] if _BUILTIN_RULES else ()
    release.builtin = True
    _BUILTIN_RELEASES.append(release)
    return release


default_registry = Registry(builtin=_builtin_ieb_1_0)


def get_release(name: str = "ieb-1.0") -> Release:
    """A release of the default registry by name (the built-in ``ieb-1.0`` by default)."""
    return default_registry.get(name)


def register_folder(folder: str | Path, *, name: str | None = None, replace: bool = False) -> Release:
    """Register a folder of official XSDs in the default registry (see :func:`scan_folder`)."""
    return default_registry.register_folder(folder, name=name, replace=replace)
