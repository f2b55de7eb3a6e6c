"""Turn pydantic validation errors into one Dutch :class:`PolicyInputError` naming the field (the text
of :func:`ieb.config.dutch_error`, the project's one translator, with the value given)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from ieb.policy.errors import PolicyInputError

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


def from_validation_error(exc: ValidationError, prefix: str = "") -> PolicyInputError:
    """The first error of ``exc`` as a :class:`PolicyInputError` (the count of others is mentioned)."""
    errors = exc.errors()
    first = errors[0]
    field = field_path(first["loc"], prefix)
    from ieb.config import dutch_error  # the project's one translator (loaded on this error path only)

    message = dutch_error(None, first, show_value=True)
    if len(errors) > 1:
        message += f" (en nog {len(errors) - 1} andere fout(en))"
    return PolicyInputError(field, message)
