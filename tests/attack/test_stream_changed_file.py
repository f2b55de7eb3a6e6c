"""Attack: ``iter_table`` checks that a file is streamable UTF-8 in a first pass, then streams it in
a second. A file that changes in between (Excel saving it again as Windows-1252) made the second
pass raise a bare UnicodeDecodeError (a traceback); it is a TableError naming the line now."""

from __future__ import annotations

from pathlib import Path

import pytest

import ieb.tabular as tabular
from ieb.tabular import TableError, iter_table


def test_a_file_that_turns_out_not_utf8_while_streaming_is_a_table_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "gewenst.csv"
    f.write_bytes(b"bsn,start\n999990020,2026-05-01\n999990032,2026-05-01 caf\xe9\n")
    monkeypatch.setattr(tabular, "_streamable", lambda path: True)  # as checked before the change
    with pytest.raises(TableError) as raised:
        list(iter_table(f, required=("bsn", "start")))
    assert "UTF-8" in str(raised.value) or "gewijzigd" in str(raised.value)
