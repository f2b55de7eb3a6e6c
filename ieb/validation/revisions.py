"""The revisions of iEb 1.0, kept under their old address: they live in the pack
(:mod:`ieb.releases.ieb_1_0.revisions`; ask a pack with ``pack.revision_on(day)`` / ``pack.revision(name)``).
"""

from __future__ import annotations

from ieb.releases.ieb_1_0.revisions import REVISIONS, Revision, revision, revision_on

__all__ = ["REVISIONS", "Revision", "revision", "revision_on"]
