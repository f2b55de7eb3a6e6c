"""libxml2's schema messages in plain Dutch, with every possible BSN masked."""

from __future__ import annotations

import re

from ieb.types import mask_bsns

__all__ = ["dutch_xsd_message"]

_NS = re.compile(r"\{([^}]*[:/][^}]*)\}")

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"Element '(?P<el>[^']+)': \[facet 'pattern'\] The value '(?P<v>[^']*)' is not accepted by the pattern '(?P<p>[^']*)'\."
        ),
        "Veld {el}: de waarde '{v}' heeft niet de vereiste vorm ({p}).",
    ),
    (
        re.compile(
            r"Element '(?P<el>[^']+)': \[facet 'enumeration'\] The value '(?P<v>[^']*)' is not an element of the set \{(?P<s>[^}]*)\}\."
        ),
        "Veld {el}: de waarde '{v}' is niet toegestaan; kies uit {s}.",
    ),
    (
        re.compile(
            r"Element '(?P<el>[^']+)': \[facet 'maxLength'\] The value (?:'[^']*' )?has a length of '(?P<n>\d+)'; this exceeds the allowed maximum length of '(?P<m>\d+)'\."
        ),
        "Veld {el} is te lang ({n} tekens; hoogstens {m}).",
    ),
    (
        re.compile(
            r"Element '(?P<el>[^']+)': \[facet 'minLength'\] The value '(?P<v>[^']*)' has a length of '(?P<n>\d+)'; this underruns the allowed minimum length of '(?P<m>\d+)'\."
        ),
        "Veld {el}: '{v}' is te kort ({n} tekens; minstens {m}).",
    ),
    (
        re.compile(
            r"Element '(?P<el>[^']+)': \[facet 'minInclusive'\] The value '(?P<v>[^']*)' is less than the minimum value allowed \('(?P<m>[^']*)'\)\."
        ),
        "Veld {el}: {v} is kleiner dan toegestaan (minstens {m}).",
    ),
    (
        re.compile(
            r"Element '(?P<el>[^']+)': \[facet 'maxInclusive'\] The value '(?P<v>[^']*)' is greater than the maximum value allowed \('(?P<m>[^']*)'\)\."
        ),
        "Veld {el}: {v} is groter dan toegestaan (hoogstens {m}).",
    ),
    (
        re.compile(
            r"Element '(?P<el>[^']+)': '(?P<v>[^']*)' is not a valid value of the (?:atomic|local atomic) type '(?P<t>[^']*)'\."
        ),
        "Veld {el}: '{v}' is geen geldige waarde voor dit veld (type {t}).",
    ),
    (
        re.compile(
            r"Element '(?P<el>[^']+)': Missing child element\(s\)\. Expected is (?:one of )?\( (?P<x>[^)]*) \)\."
        ),
        "In {el} ontbreekt een verplicht veld: {x}.",
    ),
    (
        re.compile(
            r"Element '(?P<el>[^']+)': This element is not expected\. Expected is (?:one of )?\( (?P<x>[^)]*) \)\."
        ),
        "Veld {el} staat op een verkeerde plaats of hoort hier niet; verwacht: {x}.",
    ),
    (
        re.compile(r"Element '(?P<el>[^']+)': This element is not expected\."),
        "Veld {el} hoort hier niet (te veel of onbekend); verwijder het.",
    ),
    (
        re.compile(
            r"Element '(?P<el>[^']+)': Element content is not allowed, because the content type is a simple type definition\."
        ),
        "Veld {el} moet een enkele waarde bevatten, geen onderliggende velden.",
    ),
    (
        re.compile(
            r"Element '(?P<el>[^']+)': No matching global declaration available for the validation root\."
        ),
        "{el} is geen iEb-bericht van deze release.",
    ),
]


def dutch_xsd_message(message: str, prefixes: dict[str, str], line: int | None) -> str:
    """Translate one libxml2 schema message; unknown messages keep libxml2's text after a Dutch lead."""
    text = _NS.sub(lambda m: f"{prefixes[m.group(1)]}:" if m.group(1) in prefixes else "", message.strip())
    where = f" (regel {line})" if line else ""
    for pattern, template in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return mask_bsns(
                template.format(**match.groupdict())
                + f" Schemafout{where}; pas het veld aan volgens het XSD."
            )
    return mask_bsns(f"Voldoet niet aan het XSD{where}: {text}")
