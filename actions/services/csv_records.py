"""Reading an exported CSV file record by record, for the all-or-nothing imports (orders, products).

Both imports name every bad row by the line it starts on (a quoted field may span lines), skip blank
lines, and stop at the first record the csv module cannot read.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, List, Sequence, Tuple


def column_key(name: str) -> str:
    """A header's column as we look it up: exports edited in a spreadsheet, or from older versions, differ
    in case and may start with a byte-order mark."""
    return name.strip().lstrip("\ufeff").lower()


@dataclass(frozen=True)
class RowError:
    line: int       # 1-based line of the file; the header is line 1
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def read_header(reader: Any) -> "List[str] | RowError":
    """The header row, or why there is none (an empty file, or not CSV at all)."""
    try:
        return list(next(reader))
    except StopIteration:
        return RowError(1, "the file is empty (no header row)")
    except csv.Error as error:
        return RowError(1, f"not a CSV file: {error}")


def csv_records(reader: Any, width: int, errors: List[RowError]) -> Iterator[Tuple[int, List[str]]]:
    """(line, cells) of each non-blank record with the header's width; the others go into ``errors``."""
    last_line = reader.line_num
    while True:
        line = last_line + 1               # where this record starts (a quoted field may span lines)
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            errors.append(RowError(line, f"cannot be read as CSV: {error}; nothing after it was checked"))
            return
        last_line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue                       # blank lines, e.g. at the end of a hand-edited file
        if len(cells) != width:
            errors.append(RowError(line, f"has {len(cells)} cells but the header has {width} columns "
                                         "(an unquoted comma or a cut-off row?)"))
            continue
        yield line, cells


def export_text(path: Path, refused: Callable[[str, Sequence[RowError]], Exception]) -> str:
    """The export as text; raises OSError when unreadable, ``refused(file, errors)`` when it is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        problem = f"is not UTF-8 text (byte 0x{data[error.start]:02x}); export the CSV again as UTF-8"
        raise refused(path.name, [RowError(line, problem)]) from None
