"""Plain tables for the evaluation sections: a title line and a grid, in text, Markdown or CSV.

Text grids pad every column to its widest cell, the first column left-aligned and the others right-aligned,
with a dashed rule under the header (as the success table does). Markdown adds the title as a paragraph
above the table. CSV has no title: the header row, then one line per row.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

GRID_FORMATS = ("text", "markdown", "csv")


def text_grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    grid = [list(header), *(list(row) for row in rows)]
    widths = [max(len(line[i]) for line in grid) for i in range(len(header))]
    out = []
    for k, line in enumerate(grid):
        cells = (cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown_grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def csv_grid(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().rstrip("\n")


def section(
    fmt: str,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    csv_header: Sequence[str],
    csv_rows: Sequence[Sequence[Any]],
    notes: Sequence[str] = (),
) -> str:
    """One section in ``fmt`` (text, markdown or csv); ``notes`` follow the table in text and Markdown."""
    if fmt == "csv":
        return csv_grid(csv_header, csv_rows)
    if fmt == "text":
        body = text_grid(header, rows)
    elif fmt == "markdown":
        body = markdown_grid(header, rows)
    else:
        raise ValueError(f"unknown format {fmt!r} (use one of {', '.join(GRID_FORMATS)}, or json)")
    return "\n".join([title, "", body, *([""] + list(notes) if notes else [])])


def dumps(data: Any) -> str:
    """JSON as every table module writes it."""
    return json.dumps(data, indent=2)


def number(value: float | None, digits: int) -> str:
    """``value`` with ``digits`` decimals, ``n/a`` for ``None``."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def raw(value: float | None) -> str:
    """A CSV number cell: six decimals, empty for ``None``."""
    return "" if value is None else f"{value:.6f}"
