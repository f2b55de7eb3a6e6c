"""Write big_trailing_whitespace.xml (into the folder given as argument, default: the current folder):
a valid WMO401 followed by 11 MiB of newlines, 12 MB in all, below the 25 MB OP179 limit."""

import pathlib
import sys

here = pathlib.Path(__file__).parent
out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
base = (here / "comment_before_status.xml").read_bytes().replace(b"<!--x-->1", b"1")
(out / "big_trailing_whitespace.xml").write_bytes(base + b"\n" * (11 * 1024 * 1024))
