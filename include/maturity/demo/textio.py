"""Byte-exact writers for the landing formats (SPEC §2), vectorised over whole columns.

The demo must reproduce the quirks of the real exports (Windows-1252, CRLF, UTF-16 with BOM, Excel's
``="…"`` cells, Danish dates and decimal commas) and must be byte-identical for the same seed. Every
writer here therefore takes whole columns (numpy object arrays of ``str``) and builds each line by
array concatenation, so that 500,000 HR rows need no per-row Python loop, and nothing here reads the
clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xlsxwriter

#: Fixed document timestamp for every workbook: xlsx files must not carry the generation time.
XLSX_CREATED = dt.datetime(2025, 1, 1, 8, 0, 0)

# Encodings as SPEC §2 names them: the exact byte prefix matters to the sniffers in ingest.
CP1252 = "cp1252"
UTF8 = "utf-8"
UTF16 = "utf-16-le+bom"

_EPOCH = np.datetime64("1970-01-01", "D")


def int_str(values: np.ndarray, width: int = 0) -> np.ndarray:
    """Format non-negative ints (zero-padded to ``width``) as an object column of str."""
    s = np.asarray(values).astype(np.int64).astype(str)
    if width:
        s = np.strings.zfill(s, width)
    return s.astype(object)


def date_str(days: np.ndarray, sep: str = ".", order: str = "dmy") -> np.ndarray:
    """Format ``datetime64[D]`` values as ``DD.MM.YYYY`` (or ISO with order="ymd"); NaT gives ''.

    Day, month and year are derived arithmetically and looked up in small string tables, which is
    ~50x faster than ``strftime`` on 500k cells.
    """
    days = np.asarray(days, dtype="datetime64[D]")
    nat = np.isnat(days)
    safe = np.where(nat, _EPOCH, days)
    years = safe.astype("datetime64[Y]")
    months = safe.astype("datetime64[M]")
    y = years.astype(np.int64) + 1970
    m = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    d = (safe - months.astype("datetime64[D]")).astype(np.int64) + 1
    two = np.array([f"{i:02d}" for i in range(32)], dtype=object)
    ys = y.astype(str).astype(object)
    out = ys + sep + two[m] + sep + two[d] if order == "ymd" else two[d] + sep + two[m] + sep + ys
    out[nat] = ""
    return out


def quote_cells(col: np.ndarray, delimiter: str) -> np.ndarray:
    """Apply minimal CSV quoting (RFC 4180, as Excel and SurveyXact write it) to a text column."""
    s = np.asarray(col, dtype=object)
    as_u = s.astype(str)
    need = (
        (np.strings.find(as_u, delimiter) >= 0)
        | (np.strings.find(as_u, '"') >= 0)
        | (np.strings.find(as_u, "\n") >= 0)
        | (np.strings.find(as_u, "\r") >= 0)
    )
    if not need.any():
        return s
    out = s.copy()
    quoted = np.strings.replace(as_u[need], '"', '""')
    out[need] = ('"' + quoted.astype(object)) + '"'
    return out


def join_lines(
    columns: Sequence[np.ndarray],
    delimiter: str,
    *,
    header: Sequence[str] | None = None,
    quote: Sequence[bool] | bool = True,
    trailing_delimiter: bool = False,
) -> list[str]:
    """Build the lines of a delimited file from whole columns (no per-row loop).

    ``quote`` says per column whether CSV quoting applies; SD's ``="…"`` cells must stay unquoted,
    exactly as the SD report writes them, although they contain quote characters.
    """
    flags = [quote] * len(columns) if isinstance(quote, bool) else list(quote)
    cols = [
        quote_cells(c, delimiter) if f else np.asarray(c, dtype=object)
        for c, f in zip(columns, flags, strict=True)
    ]
    acc = cols[0].copy() if cols else np.empty(0, dtype=object)
    for c in cols[1:]:
        acc = acc + delimiter + c
    if trailing_delimiter:
        acc = acc + delimiter
    lines = acc.tolist()
    if header is not None:
        hdr = [quote_cells(np.array([h], dtype=object), delimiter)[0] for h in header]
        lines.insert(0, delimiter.join(hdr) + (delimiter if trailing_delimiter else ""))
    return lines


def write_text(path: Path, lines: Sequence[str], *, encoding: str, newline: str) -> None:
    """Write ``lines`` with an explicit line terminator and encoding (BOM only for UTF-16)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = newline.join(lines) + newline if lines else ""
    data = b"\xff\xfe" + text.encode("utf-16-le") if encoding == UTF16 else text.encode(encoding)
    path.write_bytes(data)


def write_delimited(
    path: Path,
    columns: Sequence[np.ndarray],
    *,
    header: Sequence[str] | None,
    delimiter: str,
    encoding: str,
    newline: str = "\r\n",
    quote: Sequence[bool] | bool = True,
    trailing_delimiter: bool = False,
    preamble: Sequence[str] = (),
) -> None:
    """Write one delimited file; ``preamble`` lines (SD's report header) go before the header row."""
    lines = join_lines(columns, delimiter, header=header, quote=quote, trailing_delimiter=trailing_delimiter)
    write_text(path, [*preamble, *lines], encoding=encoding, newline=newline)


def new_workbook(path: Path, **options: object) -> xlsxwriter.Workbook:
    """Open an xlsxwriter workbook with a fixed creation date (byte-identical output per seed).

    ``constant_memory`` streams rows to disk, which keeps a 30,000-row wave cheap; the zip members
    get xlsxwriter's fixed 1980 timestamps.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, **options})
    wb.set_properties({"created": XLSX_CREATED, "author": "maturity demo", "title": path.stem})
    return wb
