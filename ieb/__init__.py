"""ieb: the iEb message exchange between a gemeente and the CAK (Wmo eigen bijdrage)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
