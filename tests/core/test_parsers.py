"""Issue 13 (parsers): no file or URL is ever opened, whatever the encoding, and the work per input
is bounded while parsing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from ieb.errors import IebError
from ieb.validation import validate_bytes
from ieb.xmlsafe import Limits, XmlProblem, parse_bytes, safe_fromstring, safe_parser

VALID = (Path(__file__).parent / "samples" / "valid" / "wmo401-start.xml").read_bytes()
ENCODINGS = ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]


def _doc(target: str, kind: str, encoding: str) -> bytes:
    declared = encoding.upper().removesuffix("-LE").removesuffix("-BE")
    prolog = {
        "system": f'<!DOCTYPE a SYSTEM "{target}">',
        "entity": f'<!DOCTYPE a [<!ENTITY e SYSTEM "{target}">]>',
        "parameter": f'<!DOCTYPE a [<!ENTITY % p SYSTEM "{target}"> %p;]>',
    }[kind]
    body = "<a>&e;</a>" if kind == "entity" else "<a>x</a>"
    return f'<?xml version="1.0" encoding="{declared}"?>{prolog}{body}'.encode(encoding)


def _within(seconds: float, fn: Callable[[], object]) -> object:
    """Run ``fn`` in a daemon thread; fail when it has not finished in ``seconds`` (a blocked open)."""
    result: list[object] = []

    def run() -> None:
        try:
            result.append(("ok", fn()))
        except (IebError, etree.LxmlError) as exc:  # the outcome is compared, not raised
            result.append(("error", type(exc).__name__))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the parser blocked: it opened the FIFO named in the DTD"
    return result[0]


def _outcome(data: bytes, how: str) -> object:
    if how == "safe_parser":
        root = etree.fromstring(data, safe_parser())
        return (root.tag, root.text, etree.tostring(root))
    if how == "safe_fromstring":
        return etree.tostring(safe_fromstring(data))
    return etree.tostring(parse_bytes(data))


@pytest.fixture(scope="module")
def fifo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fifo") / "pipe"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("how", ["safe_parser", "safe_fromstring", "parse_bytes"])
@pytest.mark.parametrize("kind", ["system", "entity", "parameter"])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_no_file_is_ever_opened(fifo: Path, tmp_path: Path, encoding: str, kind: str, how: str) -> None:
    existing = tmp_path / "exists.txt"
    existing.write_text("SECRET-CONTENT")
    missing = tmp_path / "missing.txt"
    outcomes = {
        name: _within(10, lambda t=str(target): _outcome(_doc(t, kind, encoding), how))
        for name, target in (("fifo", fifo), ("existing", existing), ("missing", missing))
    }
    assert "SECRET" not in repr(outcomes)
    # an existing and a missing file get the same answer (after removing the name itself)
    assert repr(outcomes["existing"]).replace("exists", "X") == repr(outcomes["missing"]).replace(
        "missing", "X"
    )


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_parse_bytes_refuses_dtds_in_every_encoding(fifo: Path, encoding: str) -> None:
    assert _within(10, lambda: parse_bytes(_doc(str(fifo), "system", encoding))) == ("error", "XmlProblem")
    with pytest.raises(XmlProblem) as info:
        parse_bytes(_doc(str(fifo), "system", encoding))
    assert info.value.code == ("XML" if encoding == "utf-8" else "OP192")


@pytest.mark.parametrize(
    ("data", "limits"),
    [
        (b"<a>" + b"<b/>" * 2000 + b"</a>", Limits(elements=1000)),
        (b"<a>" * 150 + b"</a>" * 150, Limits(depth=100)),
        (b"<a " + b" ".join(f'xmlns:p{i}="u{i}"'.encode() for i in range(50)) + b"/>", Limits(namespaces=20)),
        (b"<a " + b" ".join(f'x{i}="1"'.encode() for i in range(50)) + b"/>", Limits(attributes=20)),
        (("<a>" + "<b/>" * 2000 + "</a>").encode("utf-16"), Limits(elements=1000)),
    ],
    ids=["elements", "depth", "namespaces", "attributes", "elements-utf16"],
)
def test_limits_are_checked_while_parsing(data: bytes, limits: Limits) -> None:
    with pytest.raises(XmlProblem) as info:
        safe_fromstring(data, limits=limits)
    assert info.value.code == "XML" and "hoogstens" in info.value.message
    assert safe_fromstring(data, limits=Limits(10**6, 10**6, 10**6, 10**6)) is not None


def test_a_300k_namespace_envelope_is_refused() -> None:
    decl = b"".join(b' xmlns:p%d="urn:x%d"' % (i, i) for i in range(300_000))
    data = b'<e:Envelope xmlns:e="urn:e"' + decl + b"><e:Body/></e:Envelope>"
    with pytest.raises(XmlProblem, match="namespacedeclaraties"):
        safe_fromstring(data, huge_text=True)
    assert validate_bytes(data).codes == ["XML"]


def test_wide_payload_is_refused_and_judged_in_bounded_memory(tmp_path: Path) -> None:
    script = tmp_path / "wide.py"
    # The peak RSS of a fresh process (ru_maxrss survives fork+exec, so reset it: clear_refs 5).
    script.write_text(
        "import re\n"
        "from ieb.validation import validate_bytes\n"
        "from ieb.xmlsafe import Limits\n"
        f"valid = {VALID!r}\n"
        "data = valid.replace(b'</wmo401:Client>', b'<x/>' * 200_000 + b'</wmo401:Client>')\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "print(validate_bytes(data).codes)\n"
        "print(validate_bytes(data, limits=Limits(elements=10**7)).codes)\n"
        "status = open('/proc/self/status').read()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) // 1024)\n"
    )
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    refused, judged, rss_mb = run.stdout.split("\n")[:3]
    assert refused == "['XML']" and judged == "['XSD']", run.stderr
    assert int(rss_mb) < 100, f"{rss_mb} MB"


def test_the_per_thread_parser_is_reusable_after_errors_and_across_threads() -> None:
    """Issue 22: the fast path keeps one hardened parser per thread and settings. A refused file
    (syntax, DTD) leaves it usable, and threads parsing at the same time each get their own tree."""
    good = [f'<a xmlns="urn:t{n}"><b>{n}</b></a>'.encode() for n in range(8)]
    bad = [b"<a><b></a>", b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', b"<a>\xff</a>"]
    for data in bad:
        with pytest.raises(XmlProblem):
            parse_bytes(data)
        assert parse_bytes(good[0]).findtext("{urn:t0}b") == "0"
    errors: list[str] = []

    def work(n: int) -> None:
        for _ in range(200):
            root = parse_bytes(good[n])
            if root.tag != f"{{urn:t{n}}}a" or root.findtext(f"{{urn:t{n}}}b") != str(n):
                errors.append(f"thread {n}: {etree.tostring(root)!r}")
                return

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(good))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
