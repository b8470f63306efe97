"""Landing-file dialects: encoding, delimiter and header position, sniffed from the bytes.

Only the header line is inspected in Python (a few kilobytes); the bulk of every file is read by
DuckDB (`read_csv` / `read_xlsx`) with the dialect passed explicitly, so that a file in the wrong
dialect fails loudly instead of being silently mis-parsed.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from maturity.errors import LandingError

DELIMITERS = (";", "\t", ",")
_EXCEL_QUOTED = re.compile(r'^="(.*)"$', re.S)
_QUOTED = re.compile(r'"[^"]*"')


def norm_header(name: str) -> str:
    """Header names match case- and whitespace-insensitively (SPEC §2)."""
    return " ".join(name.replace("\u00a0", " ").split()).casefold()


def unquote_cell(value: str) -> str:
    """`="00017"` (Excel-quoted) → `00017`; used for header cells only, data cells are unquoted in SQL."""
    value = value.strip()
    match = _EXCEL_QUOTED.match(value)
    return (match.group(1) if match else value).strip()


@dataclass(frozen=True)
class LandedFile:
    """A file of the landing area, read once: its bytes feed both the sha256 and the sniffer."""

    path: Path
    rel: str
    data: bytes = field(repr=False)

    @classmethod
    def read(cls, path: Path, landing_dir: Path) -> LandedFile:
        return cls(path, path.relative_to(landing_dir).as_posix(), path.read_bytes())

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Dialect:
    encoding: str  # "utf-8", "utf-16" or "cp1252"
    delimiter: str
    header_line: int  # 1-based physical line of the header row; 0 = the file has no header row
    columns: tuple[str, ...]  # header cells as written (Excel-unquoted, stripped); positional names if none

    @property
    def danish_numbers(self) -> bool:
        """In `;`- and TAB-delimited files `.` groups thousands and `,` is the decimal mark (SPEC §2.8)."""
        return self.delimiter in (";", "\t")

    @property
    def duckdb_encoding(self) -> str:
        return {"utf-8": "utf-8", "utf-16": "utf-16", "cp1252": "CP1252"}[self.encoding]


def detect_encoding(f: LandedFile) -> str:
    data = f.data
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _text_head(f: LandedFile, encoding: str, limit: int = 256 * 1024) -> str:
    head = f.data[:limit]
    if encoding == "utf-16":
        head = head[: len(head) - len(head) % 2]
    return head.decode(encoding, errors="replace").lstrip("\ufeff")


def sniff(f: LandedFile, *, header_contains: str | None = None, has_header: bool = True) -> Dialect:
    """Find encoding, delimiter and header row of a CSV file, or fail with one clear sentence."""
    if not f.data.strip(b" \t\r\n\x00\xff\xfe\xef\xbb\xbf"):
        raise LandingError(f.rel, "the file is empty")
    encoding = detect_encoding(f)
    lines = _text_head(f, encoding).splitlines()[:200]
    if header_contains:
        wanted = header_contains.casefold()
        index = next((i for i, line in enumerate(lines) if wanted in line.casefold()), None)
        if index is None:
            raise LandingError(f.rel, f"no header row containing '{header_contains}' was found")
    else:
        index = next((i for i, line in enumerate(lines) if line.strip()), 0)
    line = lines[index]
    unquoted = _QUOTED.sub("", line)  # a label like "Anden rolle, fx konsulent" must not vote for ','
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: counts[d])  # ties keep the order ; TAB ,
    if counts[delimiter] == 0:
        raise LandingError(f.rel, "the delimiter cannot be determined (expected ',', ';' or TAB in the first row)")
    cells = next(csv.reader([line], delimiter=delimiter))
    if has_header:
        columns = tuple(unquote_cell(c) for c in cells)
        if not any(columns):
            raise LandingError(f.rel, "the header row is empty")
        return Dialect(encoding, delimiter, index + 1, columns)
    return Dialect(encoding, delimiter, index, tuple(f"column{i + 1}" for i in range(len(cells))))


def locate_columns(
    f: LandedFile,
    columns: tuple[str, ...],
    required: dict[str, str],
    optional: dict[str, str] | None = None,
    repeated: frozenset[str] = frozenset(),
) -> dict[str, list[int]]:
    """Map canonical names to column positions by header name.

    `required`/`optional` map canonical name → header name as in the contract. A contract column named
    twice is an error unless listed in `repeated` (SD's two `Ansættelsesstatus` columns); columns outside
    the contract are dropped anyway, so their duplicates do not matter.
    """
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(columns):
        if name.strip():
            positions.setdefault(norm_header(name), []).append(i)
    wanted = {**required, **(optional or {})}
    contract = {norm_header(h) for h in wanted.values()}
    for name, pos in positions.items():
        if len(pos) > 1 and name in contract and name not in repeated:
            raise LandingError(f.rel, f"the header has the column '{columns[pos[0]]}' {len(pos)} times")
    found = {canon: positions[norm_header(h)] for canon, h in wanted.items() if norm_header(h) in positions}
    missing = [h for canon, h in required.items() if canon not in found]
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        raise LandingError(f.rel, f"the header lacks the column{'s' if len(missing) > 1 else ''} {names}")
    return found
