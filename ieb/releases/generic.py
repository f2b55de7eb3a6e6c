"""A registered release's message as a generic tree (for releases without typed models); the parse
with validation is :func:`ieb.codec.parse_generic`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from ieb.releases.pack import MessageDef
from ieb.values import read_value

__all__ = ["GenericMessage", "element_to_tree"]

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
