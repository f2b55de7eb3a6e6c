"""The typed messages, under their 0.x address.

The release-neutral model base is :mod:`ieb.releases.models` (re-exported here); the models of
iEb 1.0 live in its pack (:mod:`ieb.releases.ieb_1_0.models`) and are star-imported here, so
``from ieb.messages import <model>`` keeps working. New code imports from :mod:`ieb` (the face) or
asks a pack: ``ieb.releases.get_pack(name).message(bericht).model``.
"""

from __future__ import annotations

from ieb.releases.ieb_1_0.models import *  # noqa: F403  (the built-in pack's models, by name)
from ieb.releases.models import (
    BerichtIdentificatie,
    HeaderBase,
    IebModel,
    InvalidModelError,
    Message,
    RetourMessage,
    model_error,
)

__all__ = [
    "BerichtIdentificatie",
    "HeaderBase",
    "IebModel",
    "InvalidModelError",
    "Message",
    "RetourMessage",
    "model_error",
]
