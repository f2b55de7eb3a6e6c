"""A small JUnit XML writer (the format CI systems read): one testcase per check, a failure with
the reason when it did not pass. Built with lxml, so names and texts are always escaped.

Classnames: CI tools (Jenkins, GitLab, Azure DevOps) read the dots of a ``classname`` as package
separators, so ``ieb-1.0.<bericht>`` showed up as class ``<bericht>`` in package ``ieb-1`` > ``0``.
:func:`classname` makes one without dots (``ieb-1_0/<bericht>``); every JUnit output of ieb builds
its classnames with it, and :func:`junit_xml` passes any other through it too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

__all__ = ["Case", "classname", "junit_xml"]


def classname(*parts: str) -> str:
    """A JUnit ``classname`` CI tools show as one name: the ``parts`` joined by ``/``, every ``.``
    replaced by ``_`` (``classname("ieb-1.0", bericht) == f"ieb-1_0/{bericht}"``). The same parts
    always give the same name (stable across runs, for CI history)."""
    return "/".join(parts).replace(".", "_")


@dataclass(frozen=True)
class Case:
    """One JUnit testcase: ``failure`` None means passed; ``skipped`` a reason to skip."""

    name: str
    classname: str
    failure: str | None = None
    details: str = ""
    seconds: float = 0.0
    skipped: str | None = None


def junit_xml(suite: str, cases: Sequence[Case]) -> bytes:
    """``<testsuites><testsuite>`` with one ``<testcase>`` per case (UTF-8, XML declaration)."""
    failures = sum(1 for c in cases if c.failure is not None)
    skipped = sum(1 for c in cases if c.skipped is not None and c.failure is None)
    total = f"{sum(c.seconds for c in cases):.3f}"
    root = etree.Element(
        "testsuites", name=suite, tests=str(len(cases)), failures=str(failures), errors="0", time=total
    )
    ts = etree.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=total,
    )
    for c in cases:
        tc = etree.SubElement(
            ts, "testcase", name=c.name, classname=classname(c.classname), time=f"{c.seconds:.3f}"
        )
        if c.failure is not None:
            f = etree.SubElement(tc, "failure", message=c.failure, type="ieb")
            f.text = c.details or c.failure
        elif c.skipped is not None:
            etree.SubElement(tc, "skipped", message=c.skipped)
        if c.details and c.failure is None:
            out = etree.SubElement(tc, "system-out")
            out.text = c.details
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
