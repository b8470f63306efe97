"""Bulk readers: every landed table becomes a DuckDB temp table of text columns c0..cN plus `_line`.

Rows the parser cannot split into the header's number of columns (a mixed delimiter, a stray quote,
a truncated last line) are not lost: they come back as `rejects` with their line and the parser's
reason, and the caller quarantines them. `rows_read = loaded + rejected` holds by construction and is
checked again after loading.
"""

from __future__ import annotations

import itertools
import os
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

import duckdb
import numpy as np
import pyarrow as pa

from maturity.duck import ensure_encodings
from maturity.errors import LandingError
from maturity.ingest.dialect import Dialect, LandedFile

_counter = itertools.count(1)


@dataclass
class Reject:
    line: int
    problem: str
    text: str | None = None


@dataclass
class Batch:
    """A file (or sheet) loaded into the temp table `table` with columns c0..c{ncols-1} and `_line`."""

    table: str
    ncols: int
    rows_loaded: int
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.rows_loaded + len(self.rejects)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def record_lines(f: LandedFile, dialect: Dialect) -> tuple[np.ndarray, np.ndarray]:
    """Physical line (1-based) of every record below the header, and the line number DuckDB reports for it.

    A record starts on a line that is not blank and lies outside quotes (an even number of `"` before
    it); a line inside quotes continues the record above it (a text with an embedded line break). DuckDB
    numbers lines without those embedded breaks, so its numbering drifts from the file after such a
    text or a blank line. Vectorised over the bytes (`"` and LF are single units in UTF-8, Windows-1252
    and UTF-16), no Python loop over lines.
    """
    data = f.data
    if dialect.encoding == "utf-16":
        units = np.frombuffer(data, dtype=">u2" if data[:2] == b"\xfe\xff" else "<u2", count=len(data) // 2)
    else:
        units = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(units == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(units)]))
    length = ends - starts
    blank = (length == 0) | ((length == 1) & (units[np.maximum(ends - 1, 0)] == 13))
    inside = np.searchsorted(np.flatnonzero(units == 34), starts) % 2 == 1
    lineno = np.arange(1, len(starts) + 1)
    reported = lineno - np.cumsum(inside)
    record = ~inside & ~blank & (lineno > dialect.header_line)
    return lineno[record], reported[record]


def line_numbers(n: int, f: LandedFile, dialect: Dialect, rejects: list[Reject], parser: str = "duckdb") -> np.ndarray:
    """The physical line each of the `n` loaded rows starts on in the file; the rejects' lines are fixed in place.

    The parsers number rows, not lines: after a text with an embedded line break (or a blank line) their
    numbers drift from what a data engineer sees in an editor. When the file has more lines than
    records, the records are located in the bytes (`record_lines`) and the rejects matched to them by the
    parser's numbering (`parser`: DuckDB counts lines outside quotes, Arrow counts non-blank records).
    If that cannot be matched (e.g. stray quotes inside unquoted cells) the parser's numbering is kept.
    """
    total = n + len(rejects)
    first = dialect.header_line + 1
    lines = None
    if dialect.encoding == "utf-16" or f.data.count(b"\n") + (not f.data.endswith(b"\n")) != first - 1 + total:
        found, reported = record_lines(f, dialect)
        if len(found) == total:
            keys = np.array([r.line for r in rejects], dtype=np.int64)
            idx = np.searchsorted(reported, keys) if parser == "duckdb" else keys - first
            if np.all((idx >= 0) & (idx < total)) and len(np.unique(idx)) == len(idx):
                for reject, i in zip(rejects, idx, strict=True):
                    reject.line = int(found[i])
                lines = np.delete(found, idx)
    if lines is None:  # one line per record: the rows fill the lines the rejects leave free
        lines = np.arange(first, first + total)
        taken = np.array([r.line for r in rejects], dtype=np.int64) - first
        free = np.ones(total, dtype=bool)
        free[taken[(taken >= 0) & (taken < total)]] = False
        lines = lines[free][:n]  # = setdiff1d(range, reject lines)[:n], without sorting the range
    return lines.astype(np.int64)


def _number_lines(
    con: duckdb.DuckDBPyConnection, table: str, f: LandedFile, dialect: Dialect, rejects: list[Reject],
    parser: str = "duckdb",
) -> None:
    """Give the rows of `table` (numbered 1.. in column `_ord`), and the rejects, their physical line
    (:func:`line_numbers`) in a new column `_line`, replacing `_ord`."""
    n = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    lines = line_numbers(n, f, dialect, rejects, parser)
    numbered = pa.table({"_ord": np.arange(1, n + 1, dtype=np.int64), "_phys": lines})
    con.register(f"{table}_lines", numbered)
    try:
        con.execute(f"ALTER TABLE {table} ADD COLUMN _line BIGINT")
        con.execute(f"UPDATE {table} SET _line = l._phys FROM {table}_lines AS l WHERE {table}._ord = l._ord")
    finally:
        con.unregister(f"{table}_lines")
    con.execute(f"ALTER TABLE {table} DROP COLUMN _ord")


def _collect_rejects(con: duckdb.DuckDBPyConnection, rejects_table: str) -> list[Reject]:
    rows = con.execute(
        f"""
        SELECT line, string_agg(DISTINCT error_type, ', ' ORDER BY error_type), any_value(csv_line)
        FROM {rejects_table} GROUP BY line ORDER BY line
        """
    ).fetchall()
    # DuckDB's text of a rejected row may carry the line break before it (CRLF files, blank lines).
    return [Reject(int(line), f"unparseable row ({kind.lower()})", text and text.strip("\r\n"))
            for line, kind, text in rows]


def _utf8_copy(f: LandedFile) -> int | None:
    """A Windows-1252 file re-encoded as UTF-8 in an anonymous in-memory file (memfd): its descriptor, or None.

    DuckDB reads Windows-1252 only through the ICU `encodings` extension, whose LOAD costs 1.5–2.5 s per
    connection (the signature check of a 350 MB binary) — more than reading the file. Re-encoding changes no
    line, delimiter or quote (all ASCII), so DuckDB parses the copy exactly as the original. The copy never
    touches a disk and is closed after the read. None (read with the extension) where memfd is unavailable
    or the file has a byte Windows-1252 does not define (0x81, 0x8D, 0x8F, 0x90, 0x9D).
    """
    if not hasattr(os, "memfd_create"):
        return None
    try:
        data = f.data.decode("cp1252").encode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        fd = os.memfd_create("maturity-landing-csv", os.MFD_CLOEXEC)
    except OSError:
        return None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        os.close(fd)
        return None
    return fd


def read_csv(con: duckdb.DuckDBPyConnection, f: LandedFile, dialect: Dialect) -> Batch:
    """Read a CSV file with DuckDB's reader, the dialect given explicitly (no auto-detection)."""
    n = next(_counter)
    table, rej, scan = f"src_{n}", f"rej_{n}", f"scan_{n}"
    ncols = len(dialect.columns)
    while ncols > 1 and not dialect.columns[ncols - 1]:
        ncols -= 1  # an empty trailing header cell (SurveyXact): DuckDB accepts rows with or without it
    path, encoding, copy = str(f.path), dialect.duckdb_encoding, None
    if dialect.encoding == "cp1252":
        copy = _utf8_copy(f)
        if copy is None:
            ensure_encodings(con)
        else:
            path, encoding = f"/proc/self/fd/{copy}", "utf-8"
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncols)) + "}"
    try:
        con.execute(
            f"""
            CREATE TEMP TABLE {table} AS
            SELECT *, ordinality AS _ord FROM read_csv(
                {_sql_str(path)}, encoding={_sql_str(encoding)},
                delim={_sql_str(dialect.delimiter)}, quote='"', escape='"', header=false,
                skip={dialect.header_line}, auto_detect=false, columns={columns},
                store_rejects=true, rejects_table='{rej}', rejects_scan='{scan}', strict_mode=true,
                max_line_size=10000000
            ) WITH ORDINALITY
            """
        )
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0].replace(path, str(f.path))
        raise LandingError(f.rel, f"it cannot be read as {dialect.encoding} CSV ({first})") from None
    finally:
        if copy is not None:
            os.close(copy)
    rejects = _collect_rejects(con, rej)
    con.execute(f"DROP TABLE IF EXISTS {rej}; DROP TABLE IF EXISTS {scan}")
    _number_lines(con, table, f, dialect, rejects)
    loaded = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return Batch(table, ncols, loaded, rejects)


def xlsx_sheets(f: LandedFile) -> list[str]:
    """Sheet names in workbook order, read from the workbook XML (DuckDB cannot list them)."""
    try:
        with zipfile.ZipFile(f.path) as zf:
            root = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        raise LandingError(f.rel, "it is not a readable .xlsx workbook (damaged or not Excel)") from None
    return [s.get("name", "") for s in root.iter() if s.tag.endswith("}sheet")]


def read_xlsx(
    con: duckdb.DuckDBPyConnection, f: LandedFile, sheet: str, has_header: bool = True
) -> tuple[Batch, tuple[str, ...]]:
    """Read one sheet as text. With `has_header` the first non-blank row is returned as the header
    and removed from the batch; blank rows are skipped like blank lines in a CSV file."""
    n = next(_counter)
    table = f"src_{n}"
    try:
        source = (f"read_xlsx({_sql_str(str(f.path))}, sheet={_sql_str(sheet)}, header=false, "
                  "all_varchar=true, ignore_errors=true, stop_at_empty=false)")
        names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        select = ", ".join(f'"{c}" AS c{i}' for i, c in enumerate(names))
        not_blank = " OR ".join(f"nullif(trim(\"{c}\"), '') IS NOT NULL" for c in names) or "false"
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT {select}, ordinality AS _line FROM {source} WITH ORDINALITY "
            f"WHERE {not_blank} ORDER BY ordinality"
        )
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise LandingError(f.rel, f"sheet '{sheet}' cannot be read ({first})") from None
    header: tuple[str, ...] = ()
    if has_header:
        row = con.execute(f"SELECT * EXCLUDE (_line) FROM {table} ORDER BY _line LIMIT 1").fetchone()
        if row is None:
            raise LandingError(f.rel, f"sheet '{sheet}' is empty")
        header = tuple((c or "").strip() for c in row)
        con.execute(f"DELETE FROM {table} WHERE _line = (SELECT min(_line) FROM {table})")
    loaded = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return Batch(table, len(names), loaded), header


_SAFE = re.compile(r"[^0-9A-Za-z_]")


def temp_name(prefix: str) -> str:
    return f"{_SAFE.sub('_', prefix)}_{next(_counter)}"
