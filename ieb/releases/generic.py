"""Parse any registered release's message to a generic tree (for releases without typed models)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ieb.errors import MessageInvalidError
from ieb.releases import Registry, default_registry
from ieb.releases.pack import MessageDef
from ieb.values import read_value

__all__ = ["GenericMessage", "element_to_tree", "parse_generic"]

Tree = dict[str, Any]


def element_to_tree(element: etree._Element, spec: MessageDef | None = None) -> Tree | str:
    """Local names as keys; repeated elements become lists; leaves are their value as the XSD reads
    it (:func:`ieb.values.read_value`: comments and PIs left out, whitespace per the element's
    built-in type, integers and dates normalised). Without ``spec`` a leaf's text is only collapsed."""
    builtins = spec.builtins if spec is not None else None
    return _tree(element, (etree.QName(element).localname,), builtins)


def _tree(
    element: etree._Element, path: tuple[str, ...], builtins: dict[tuple[str, ...], str] | None
) -> Tree | str:
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return read_value(element, builtins.get(path) if builtins is not None else "token")
    tree: Tree = {}
    for child in children:
        name = etree.QName(child).localname
        value = _tree(child, (*path, name), builtins)
        if name in tree:
            existing = tree[name]
            if isinstance(existing, list):
                existing.append(value)
            else:
                tree[name] = [existing, value]
        else:
            tree[name] = value
    return tree


@dataclass(frozen=True)
class GenericMessage:
    release: str
    bericht: str
    bericht_code: str | None
    namespace: str
    tree: Tree

    def get(self, path: str) -> Any:
        """Value at a slash-separated path of local names (``"Header/BerichtCode"``), or None."""
        node: Any = self.tree
        for part in path.split("/"):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node


def parse_generic(
    data: bytes, *, registry: Registry | None = None, today: dt.date | None = None
) -> GenericMessage:
    """Validate (XSD + generic checks, and the release's own rules if it has them) and return the tree.

    Raises :class:`MessageInvalidError` with every level-1/2 issue when the file is not valid.
    """
    from ieb.codec import get_validator

    registry = registry or default_registry
    report = get_validator()(data, registry=registry, today=today)
    blocking = [i for i in report.issues if i.level < 3]
    if blocking or report.root is None or report.release is None or report.bericht is None:
        raise MessageInvalidError("bericht is ongeldig", blocking or report.issues)
    spec = registry.get(report.release).message(report.bericht)
    tree = element_to_tree(report.root, spec)
    return GenericMessage(
        release=report.release,
        bericht=report.bericht,
        bericht_code=spec.bericht_code,
        namespace=spec.namespace,
        tree=tree if isinstance(tree, dict) else {},
    )
