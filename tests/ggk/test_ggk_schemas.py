"""Our StUF-GGk 0210 schemas and WSDL against the published ones: same verdict on every document."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ggk_samples import WMO401, envelope_element
from lxml import etree

import ieb.ggk as ggk

STUF = "http://www.egem.nl/StUF/StUF0301"
GGK = "http://www.stufstandaarden.nl/koppelvlak/ggk0210"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NOW = dt.datetime(2025, 1, 15, 10, 30, 0)
REF = "9c0f7b90-5c69-41e5-a837-0800200c9a66"


def test_every_published_example_is_valid_under_ours_and_theirs(
    published_examples: dict[str, bytes], verdicts: Callable[[bytes], tuple[bool, bool]]
) -> None:
    for name, data in published_examples.items():
        assert verdicts(data) == (True, True), name


def test_every_published_example_is_valid_under_xmlschema_too(published_examples: dict[str, bytes]) -> None:
    import xmlschema

    schema = xmlschema.XMLSchema(str(ggk.schema_path()))
    for name, data in published_examples.items():
        assert schema.is_valid(etree.tostring(envelope_element(data))), name


def _generated() -> dict[str, bytes]:
    di01 = ggk.new_di01(WMO401, "WMO401", "0363", referentienummer=REF, tijdstip=NOW)
    tekst = ggk.new_di01(b"a;b\n1;2\n", "WMO401", "0363", bestandsnaam="lijst_2025-01.csv", tijdstip=NOW)
    du01 = ggk.du01_for(di01, WMO401.replace(b"470", b"471"), tijdstip=NOW)
    fo01 = ggk.fo01_for(di01, ggk.FoutCode.IB240, tijdstip=NOW)
    fo03 = ggk.fo03_for(None, "RIN001", "kapot", tijdstip=NOW)
    bv03 = ggk.bv03_for(du01, tijdstip=NOW)
    fo01_xml = fo01.model_copy(
        update={
            "body": fo01.body.model_copy(
                update={"details_xml": '<fout xmlns="urn:x"><regel>1</regel></fout>'}
            )
        }
    )
    envs = {
        "di01": di01,
        "tekst": tekst,
        "du01": du01,
        "fo01": fo01,
        "fo01_xml": fo01_xml,
        "fo03": fo03,
        "bv03": bv03,
    }
    out = {name: ggk.build(env) for name, env in envs.items()}
    out["soap_di01"] = ggk.wrap_soap(di01)
    out["soap_fo01"] = ggk.wrap_soap(fo01)
    return out


@pytest.mark.parametrize("name", sorted(_generated()))
def test_our_envelopes_are_valid_under_the_published_schema(
    name: str, verdicts: Callable[[bytes], tuple[bool, bool]]
) -> None:
    assert verdicts(_generated()[name]) == (True, True)


# ------------------------------------------------------------------ a corpus of mutated documents

TEXTS = (
    "",
    " ",
    "x",
    "abc",
    "X" * 7,
    "X" * 8,
    "X" * 31,
    "X" * 41,
    "X" * 51,
    "X" * 201,
    "0001",
    " 0001",
    "00001",
    "1234567",
    "12345678",
    "1" * 17,
    "1" * 18,
    "2016042113251",
    REF,
    REF.upper(),
    "9c0f7b90-5c69-11e5-a837-0800200c9a66",
    "9c0f7b90-5c69-41e5-c837-0800200c9a66",
    "Di01",
    "Du01",
    "Fo01",
    "Fo03",
    "Bv03",
    "Lk01",
    "client",
    "server",
    "SGVsbG8=",
    "SGVsbG8",
    "SGVs bG8=",
    "!!!!",
    "WMO401",
)
XSI_TYPES = (
    "StUF:BerichtcodeF001",
    "StUF:BerichtcodeFo03",
    "StUF:BerichtcodeBv03",
    "StUF:BerichtcodeDi01",
    "StUF:Tijdstip-e",
    "StUF:TijdstipMetIndicator",
    "StUF:Tijdstip-r",
    "StUF:MutatiesoortT",
    "StUF:Mutatiesoort",
    "StUF:Refnummer",
    "StUF:Systeem",
    "StUF:Systeem_ggkberichten",
    "StUF:Stuurgegevens",
    "StUF:Organisatie",
    "StUF:BestaatNiet",
)


def _elements(root: etree._Element) -> list[etree._Element]:
    return [e for e in root.iter() if isinstance(e.tag, str)]


def _mutants(root: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    n = len(_elements(root))
    for i in range(n):

        def at(doc: etree._Element, i: int = i) -> etree._Element:
            return _elements(doc)[i]

        probe = _elements(root)[i]
        label = etree.QName(probe).localname
        if i > 0:
            doc = copy.deepcopy(root)
            el = at(doc)
            el.getparent().remove(el)  # type: ignore[union-attr]
            yield f"remove {label}", doc
            doc = copy.deepcopy(root)
            el = at(doc)
            el.addnext(copy.deepcopy(el))
            yield f"duplicate {label}", doc
            doc = copy.deepcopy(root)
            el = at(doc)
            nxt = el.getnext()
            if nxt is not None and isinstance(nxt.tag, str):
                nxt.addnext(el)
                yield f"swap {label}", doc
        doc = copy.deepcopy(root)
        etree.SubElement(at(doc), f"{{{STUF}}}extra").text = "1"
        yield f"extra child in {label}", doc
        doc = copy.deepcopy(root)
        at(doc).set("onbekend", "1")
        yield f"attribute on {label}", doc
        doc = copy.deepcopy(root)
        at(doc).set(f"{{{STUF}}}noValue", "geenWaarde")
        yield f"StUF:noValue on {label}", doc
        doc = copy.deepcopy(root)
        at(doc).set(f"{{{XSI}}}nil", "true")
        yield f"xsi:nil on {label}", doc
        for xsi_type in XSI_TYPES:
            doc = copy.deepcopy(root)
            at(doc).set(f"{{{XSI}}}type", xsi_type)
            yield f"xsi:type {xsi_type} on {label}", doc
        if len(probe) == 0:
            for text in TEXTS:
                doc = copy.deepcopy(root)
                at(doc).text = text
                yield f"{label} = {text!r}", doc
        if probe.get("bestandsnaam") is not None:
            for name in ("abc", "abcd", "a b.txt", "x" * 255, "x" * 256, "ok_file-1.csv", "é.csv", ""):
                doc = copy.deepcopy(root)
                at(doc).set("bestandsnaam", name)
                yield f"bestandsnaam {name!r}", doc
            doc = copy.deepcopy(root)
            del at(doc).attrib["bestandsnaam"]
            yield "no bestandsnaam", doc
    for ns in (STUF, GGK, "urn:other"):
        doc = copy.deepcopy(root)
        doc.tag = f"{{{ns}}}{etree.QName(doc).localname}"
        yield f"root in {ns}", doc


_CORPUS: list[tuple[str, etree._Element]] = []


def _corpus(published_examples: dict[str, bytes]) -> list[tuple[str, etree._Element]]:
    if not _CORPUS:
        _CORPUS.extend(_make_corpus(published_examples))
    return _CORPUS


def _make_corpus(published_examples: dict[str, bytes]) -> list[tuple[str, etree._Element]]:
    seeds = {name: envelope_element(data) for name, data in published_examples.items() if "soap" not in name}
    seeds.update({name: envelope_element(data) for name, data in _generated().items() if "soap" not in name})
    out: list[tuple[str, etree._Element]] = []
    for seed_name, seed in seeds.items():
        out.append((seed_name, seed))
        # serialised and parsed again: what travels is bytes (an in-memory empty text node is not)
        out += [
            (f"{seed_name}: {label}", etree.fromstring(etree.tostring(doc))) for label, doc in _mutants(seed)
        ]
    return out


def test_mutated_corpus_gets_the_same_verdict_under_both_schemas(
    published_examples: dict[str, bytes], published_schema: etree.XMLSchema, our_schema: etree.XMLSchema
) -> None:
    corpus = _corpus(published_examples)
    differ = []
    valid = 0
    for label, doc in corpus:
        ours, theirs = bool(our_schema.validate(doc)), bool(published_schema.validate(doc))
        valid += ours
        if ours != theirs:
            differ.append(f"{label}: ours={ours} published={theirs}")
    assert not differ, "\n".join(differ[:20])
    # the corpus exercises both verdicts, richly
    assert len(corpus) > 3000
    assert valid > 300
    assert len(corpus) - valid > 2000


def test_mutated_corpus_gets_the_same_verdict_under_both_schemas_with_xmlschema(
    published_examples: dict[str, bytes], ggk_reference: Path
) -> None:
    """The same comparison with a second, independent validator (a sample of the corpus)."""
    import xmlschema

    ours = xmlschema.XMLSchema(str(ggk.schema_path()))
    theirs = xmlschema.XMLSchema(
        str(ggk_reference / "ggk0210" / "ggkberichten" / "ggk0210_msg_ggkberichten.xsd")
    )

    def verdict(schema: xmlschema.XMLSchema, doc: etree._Element) -> bool | str:
        try:
            return bool(schema.is_valid(doc))
        except xmlschema.XMLSchemaException as exc:  # xmlschema raises on an unknown xsi:type
            return type(exc).__name__

    corpus = _corpus(published_examples)[::9]
    differ = [label for label, doc in corpus if verdict(ours, doc) != verdict(theirs, doc)]
    assert not differ, differ[:20]


def test_parse_agrees_with_the_published_schema_on_the_corpus(
    published_examples: dict[str, bytes], published_schema: etree.XMLSchema
) -> None:
    """Our codec accepts a document exactly when the published schema does (a sample of the corpus).

    One deliberate exception: libxml2 lets some text that is not base64 (``'!!!!'``, a UUID) pass as
    xs:base64Binary; the codec refuses it, naming the field, as the XSD specification requires.
    """
    import base64
    import binascii

    corpus = _corpus(published_examples)[::5]
    for label, doc in corpus:
        data = etree.tostring(doc)
        try:
            ggk.parse(data)
            accepted = True
        except ggk.EnvelopeFieldError as exc:
            assert exc.field is not None and "Bestand" in exc.field, label
            bestand = doc.find(f"{{{GGK}}}parameters/{{{GGK}}}bericht/*")
            assert bestand is not None
            with pytest.raises(binascii.Error):
                base64.b64decode("".join((bestand.text or "").split()), validate=True)
            accepted = False
            assert published_schema.validate(doc), label
            continue
        except ggk.EnvelopeError:
            accepted = False
        assert accepted == bool(published_schema.validate(doc)), label


def test_no_documentation_of_the_published_files_is_copied() -> None:
    for path in ggk.ggk_schema_dir().iterdir():
        text = path.read_text(encoding="utf-8")
        assert "documentation" not in text and "appinfo" not in text, path.name
        assert "Wijzigingen" not in text and "XMLSpy" not in text, path.name


# ------------------------------------------------------------------------------------------- WSDL

ACTIONS = {
    "ggk_Di01": "http://www.stufstandaarden.nl/koppelvlak/ggk0210/ggk_Di01",
    "ggk_Du01": "http://www.stufstandaarden.nl/koppelvlak/ggk0210/ggk_Du01",
    "Fo01": "http://www.egem.nl/StUF/StUF0301/Fo01",
}


def _operations(wsdl: Path) -> dict[str, tuple[str, str, str]]:
    import zeep

    client = zeep.Client(str(wsdl))
    (service,) = client.wsdl.services.values()
    (port,) = service.ports.values()
    out = {}
    for name, op in port.binding._operations.items():
        out[name] = (op.soapaction, op.input.body.qname.text, op.output.body.qname.text)
    return out


def test_our_wsdl_loads_offline_in_zeep_with_the_three_operations() -> None:
    ops = _operations(ggk.wsdl_path())
    assert sorted(ops) == ["Fo01", "ggk_Di01", "ggk_Du01"]
    assert {name: op[0] for name, op in ops.items()} == ACTIONS
    assert ops["ggk_Di01"][1] == f"{{{GGK}}}envelopHeenbericht-ggk_Di01"
    assert ops["ggk_Du01"][1] == f"{{{GGK}}}envelopRetourbericht-ggk_Du01"
    assert ops["Fo01"][1] == f"{{{STUF}}}Fo01Bericht"
    assert {op[2] for op in ops.values()} == {f"{{{STUF}}}Bv03Bericht"}
    assert dict(ggk.SOAP_ACTIONS) == ACTIONS


def test_our_wsdl_matches_the_published_one(ggk_reference: Path) -> None:
    published = ggk_reference / "ggk0210" / "ggkberichten" / "ggk0210_OntvangAsynchroon_ggkberichten.wsdl"
    assert _operations(ggk.wsdl_path()) == _operations(published)


def test_zeep_serialises_a_di01_with_our_wsdl_that_our_codec_reads(
    verdicts: Callable[[bytes], tuple[bool, bool]],
) -> None:
    import zeep

    client = zeep.Client(str(ggk.wsdl_path()))
    di01 = ggk.new_di01(WMO401, "WMO401", "0363", referentienummer=REF, tijdstip=NOW)
    body = ggk.codec.envelope_to_element(di01)
    envelope = client.create_message(client.service, "ggk_Di01", **_zeep_kwargs(client, body))
    data = etree.tostring(envelope)
    assert verdicts(data) == (True, True)
    assert ggk.unwrap_soap(data) == di01


def _zeep_kwargs(client: object, body: etree._Element) -> dict[str, object]:
    import zeep

    assert isinstance(client, zeep.Client)
    element = client.get_element(f"{{{GGK}}}envelopHeenbericht-ggk_Di01")
    value = element.parse(body, client.wsdl.types)
    return {"stuurgegevens": value.stuurgegevens, "parameters": value.parameters}
