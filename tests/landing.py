"""Writers for landing files in the formats of SPEC §2, used by the ingest tests to build fixtures.

Rows are lists of cells; `None` is an empty cell. CSV cells are quoted only when needed (as Excel and
SurveyXact do), and embedded line breaks are kept as they are in the value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import xlsxwriter

Cell = str | int | float | dt.date | None

#: The three CSV variants of a SurveyXact export seen in the wild (SPEC §2.2), plus the workbook.
CSV_VARIANTS: dict[str, dict[str, str]] = {
    "comma-cp1252": {"delimiter": ",", "encoding": "cp1252", "newline": "\r\n"},
    "semicolon-cp1252": {"delimiter": ";", "encoding": "cp1252", "newline": "\r\n"},
    "tab-utf16": {"delimiter": "\t", "encoding": "utf-16", "newline": "\r\n"},
}


def csv_text(rows: list[list[Cell]], delimiter: str = ";", newline: str = "\n") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerows([["" if c is None else c for c in row] for row in rows])
    return buf.getvalue()


def write_csv(
    path: Path, rows: list[list[Cell]], *, delimiter: str = ";", encoding: str = "utf-8", newline: str = "\n"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = csv_text(rows, delimiter, newline)
    # "utf-16" means what SurveyXact writes: little-endian with a BOM, whatever this machine's byte order.
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le") if encoding == "utf-16" else text.encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[Cell]]]) -> Path:
    """A workbook with one sheet per entry; dates become real Excel dates, text stays text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    date_format = wb.add_format({"num_format": "dd.mm.yyyy"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, dt.date):
                    ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
                elif isinstance(value, str):
                    ws.write_string(r, c, value)  # never a formula, even when it starts with '='
                else:
                    ws.write_number(r, c, value)
    wb.close()
    return path


def write_surveyxact(
    folder: Path, variant: str, dataset: list[list[Cell]], structure: list[list[Cell]], labels: list[list[Cell]],
    *, split_at: int | None = None,
) -> None:
    """Write one SurveyXact export: `xlsx` (sheets Dataset, Structure with header, Labels without) or one
    of CSV_VARIANTS (dataset.csv, structure.csv with an empty trailing column, labels.csv without header).

    `structure` and `dataset` include their header row. With `split_at` the workbook splits the dataset
    over two sheets after that many columns, repeating the first (respondent id) column, as wide exports do.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if variant == "xlsx":
        sheets: dict[str, list[list[Cell]]] = {}
        if split_at:
            sheets["Dataset"] = [row[:split_at] for row in dataset]
            sheets["Dataset2"] = [row[:1] + row[split_at:] for row in dataset]
        else:
            sheets["Dataset"] = dataset
        sheets["Structure"] = structure
        sheets["Labels"] = labels
        write_xlsx(folder / "export.xlsx", sheets)
        return
    opts = CSV_VARIANTS[variant]
    write_csv(folder / "dataset.csv", dataset, **opts)
    write_csv(folder / "structure.csv", [row + [None] for row in structure], **opts)
    write_csv(folder / "labels.csv", labels, **opts)
