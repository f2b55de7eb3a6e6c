"""The result of validating one file (defined in :mod:`ieb.issues`, a low layer the codec and the
models can use without importing the validator)."""

from __future__ import annotations

from ieb.issues import Issue, Report

__all__ = ["Issue", "Report"]
