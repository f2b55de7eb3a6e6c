"""Turn pydantic validation errors into one Dutch :class:`PolicyInputError` naming the field."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ieb.policy.errors import PolicyInputError
from ieb.types import mask_bsns

__all__ = ["field_path", "from_validation_error"]


def field_path(loc: Sequence[int | str], prefix: str = "") -> str:
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith("function-") or part in {"tagged-union", "union"}:
            continue
        else:
            text += f".{part}" if text else part
    return text or "invoer"


def _dutch(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error.get("input")
    # any value may be a BSN in the wrong place (a JSON number, a key): mask every digit run
    shown = mask_bsns(repr(value))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if kind == "missing":
        return "ontbreekt; vul dit veld in"
    if kind == "extra_forbidden":
        return "is een onbekend veld; verwijder het of controleer de spelling"
    if kind in {"greater_than_equal", "greater_than"}:
        limit = ctx.get("ge", ctx.get("gt"))
        return f"waarde {shown} is te laag; het minimum is {limit} (geen negatieve bedragen)"
    if kind in {"less_than_equal", "less_than"}:
        return f"waarde {shown} is te hoog; het maximum is {ctx.get('le', ctx.get('lt'))}"
    if kind == "enum":
        expected = str(ctx.get("expected", "")).replace(" or ", " of ")
        return f"onbekende waarde {shown}; kies uit {expected}"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"waarde {shown} moet een geheel getal zijn (bedragen in eurocent, zonder komma)"
    if kind in {"bool_type", "bool_parsing"}:
        return f"waarde {shown} moet true of false zijn"
    if kind in {"string_type"}:
        return f"waarde {shown} moet tekst zijn"
    if kind in {"list_type", "tuple_type"}:
        return f"waarde {shown} moet een lijst zijn"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"waarde {shown} moet een object zijn"
    if kind in {"too_short", "too_long"}:
        return f"heeft een verkeerd aantal elementen: {error['msg']}"
    message = error["msg"]
    for lead in ("Value error, ", "Assertion failed, "):
        if message.startswith(lead):
            message = message[len(lead) :]
    return message


def from_validation_error(exc: ValidationError, prefix: str = "") -> PolicyInputError:
    """The first error of ``exc`` as a :class:`PolicyInputError` (the count of others is mentioned)."""
    errors = exc.errors()
    first = errors[0]
    field = field_path(first["loc"], prefix)
    message = _dutch(first)
    if len(errors) > 1:
        message += f" (en nog {len(errors) - 1} andere fout(en))"
    return PolicyInputError(field, message)
