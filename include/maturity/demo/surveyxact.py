"""SurveyXact exports in the four variants seen in the wild (SPEC §2.2).

* ``xlsx``: one workbook, sheets ``Dataset`` (header row; numbers as numeric cells, empty answers as
  empty cells), ``Structure`` (with header row) and ``Labels`` (no header row);
* ``csv_comma``: ``dataset.csv`` + ``structure.csv`` + ``labels.csv``, comma-separated Windows-1252;
* ``csv_semicolon``: the same, semicolon-separated Windows-1252 (like the sample);
* ``csv_tab_utf16``: the same, TAB-separated UTF-16 LE with BOM.

CSV files use CRLF and minimal RFC 4180 quoting for the delimiter in use (question texts with
embedded line breaks and comments with quotes, commas and semicolons are quoted); ``structure.csv``
has the trailing empty column of the real export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maturity.demo import textio
from maturity.demo.survey import ORG_VAR_DEFAULT, ORG_VAR_T3, WaveData

STRUCTURE_HEADER = ("questionName", "variableName", "questionType", "subType", "questionText", "choiceValue",
                    "choiceText")

VARIANTS: dict[str, tuple[str, str]] = {  # variant -> (delimiter, encoding)
    "csv_comma": (",", textio.CP1252),
    "csv_semicolon": (";", textio.CP1252),
    "csv_tab_utf16": ("\t", textio.UTF16),
}

_INT_TABLE = np.array([""] + [str(i) for i in range(0, 200)], dtype=object)  # index = value + 1


def _structure_rows(data: WaveData) -> list[tuple[str, str, str, str, str, str, str]]:
    rows = []
    for v in data.variables:
        cv, ct = (str(v.choice[0]), v.choice[1]) if v.choice else ("", "")
        rows.append((v.question, v.name, v.qtype, v.subtype, v.text, cv, ct))
    return rows


def _label_rows(data: WaveData) -> list[tuple[str, int, str]]:
    return [(v.name, code, label) for v in data.variables for code, label in v.labels]


def _text_columns(data: WaveData) -> list[np.ndarray]:
    """Dataset columns as text: ints from a lookup table (-1 = empty), ids, codes and comments."""
    cols: list[np.ndarray] = []
    for j, v in enumerate(data.variables):
        if v.name == "resp":
            cols.append(textio.int_str(data.resp_id))
        elif v.name in (ORG_VAR_DEFAULT, ORG_VAR_T3):
            cols.append(data.org_code)
        elif v.name == "kommentar":
            cols.append(data.comments)
        else:
            cols.append(_INT_TABLE[data.values[:, j] + 1])
    return cols


def write_wave(folder: Path, data: WaveData) -> list[Path]:
    """Write one wave's export in its variant; returns the files written."""
    variant = data.wave.variant
    if variant == "xlsx":
        path = folder / f"{data.wave.wave_id}_export.xlsx"
        _write_xlsx(path, data)
        return [path]
    delimiter, encoding = VARIANTS[variant]
    header = [v.name for v in data.variables]
    textio.write_delimited(folder / "dataset.csv", _text_columns(data), header=header, delimiter=delimiter,
                           encoding=encoding)
    srows = _structure_rows(data)
    scols = [np.array([r[i] for r in srows], dtype=object) for i in range(len(STRUCTURE_HEADER))]
    textio.write_delimited(folder / "structure.csv", scols, header=STRUCTURE_HEADER, delimiter=delimiter,
                           encoding=encoding, trailing_delimiter=True)
    lrows = _label_rows(data)
    lcols = [np.array([str(r[i]) for r in lrows], dtype=object) for i in range(3)]
    textio.write_delimited(folder / "labels.csv", lcols, header=None, delimiter=delimiter, encoding=encoding)
    return [folder / "dataset.csv", folder / "structure.csv", folder / "labels.csv"]


def _write_xlsx(path: Path, data: WaveData) -> None:
    """The Excel variant. Rows are streamed (constant_memory), one ``write_row`` call per respondent."""
    wb = textio.new_workbook(path)
    ws = wb.add_worksheet("Dataset")
    ws.write_row(0, 0, [v.name for v in data.variables])
    grid = data.values.astype(object)
    grid[data.values < 0] = None
    for j, v in enumerate(data.variables):
        if v.name == "resp":
            grid[:, j] = data.resp_id.astype(object)
        elif v.name in (ORG_VAR_DEFAULT, ORG_VAR_T3):
            grid[:, j] = data.org_code
        elif v.name == "kommentar":
            grid[:, j] = np.where(data.comments == "", None, data.comments)
    for i, row in enumerate(grid.tolist(), start=1):
        ws.write_row(i, 0, row)
    ws = wb.add_worksheet("Structure")
    ws.write_row(0, 0, STRUCTURE_HEADER)
    for i, (qn, vn, qt, st, text, cv, ct) in enumerate(_structure_rows(data), start=1):
        ws.write_row(i, 0, [qn, vn, qt, st, text, int(cv) if cv else None, ct or None])
    ws = wb.add_worksheet("Labels")
    for i, (vn, code, label) in enumerate(_label_rows(data)):
        ws.write_row(i, 0, [vn, code, label])
    wb.close()
