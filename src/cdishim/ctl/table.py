"""Plain aligned text tables, like ``docker ps`` prints."""

from __future__ import annotations

from collections.abc import Sequence

from cdishim.ctl.render import printable


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], empty: str = "") -> str:
    """*rows* under *header*, columns padded to their widest cell; *empty* alone if no rows.

    Cells are made `printable`, so a file name cannot break a row.
    """
    if not rows:
        return f"{empty}\n" if empty else ""
    header = [printable(cell) for cell in header]
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
    return "\n".join(lines) + "\n"
