"""Test helpers for users of ``ieb``: hypothesis strategies that generate valid messages."""
