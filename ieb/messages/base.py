"""The model base under its 0.x address: :mod:`ieb.releases.models` (neutral) and the built-in
pack's header and klasse models (:mod:`ieb.releases.ieb_1_0.models`), by star import."""

from __future__ import annotations

from ieb.releases.ieb_1_0.models import *  # noqa: F403  (the built-in pack's models, by name)
from ieb.releases.models import (
    BerichtIdentificatie,
    HeaderBase,
    IebModel,
    InvalidModelError,
    Message,
    RetourMessage,
    dump_fields,
    model_error,
)

__all__ = [
    "BerichtIdentificatie",
    "HeaderBase",
    "IebModel",
    "InvalidModelError",
    "Message",
    "RetourMessage",
    "dump_fields",
    "model_error",
]
