"""render_reports: one HTML (+ PDF) direktion report per wave, from the published marts only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from maturity.report import data as report_data
from maturity.report import html
from maturity.report import pdf as report_pdf


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def render_reports(published_db: Path, out_dir: Path, wave_id: str | None = None,
                   quality: dict[str, Any] | None = None, pdf: bool = True) -> list[Path]:
    """Write `out_dir/direktion_<wave_id>.html` (and `.pdf`) for `wave_id`, or for every wave in dim_waves.

    `published_db` is the published read-only DuckDB file (`<warehouse>/published/maturity.duckdb`).
    `quality` describes the run's data-quality status for the front page (e.g. {"status": "ok",
    "warnings": 2, "run_id": "…"}); None is shown as "ikke oplyst". Returns the written paths
    (HTML, then PDF, per wave). Raises MaturityError for an unknown wave, a missing file or a
    missing Chromium when `pdf` is true (checked before anything is written).
    """
    out_dir = Path(out_dir)
    if pdf:
        report_pdf.find_chromium()
    con, resolved = report_data.open_published(Path(published_db))
    try:
        waves = [wave_id] if wave_id is not None else report_data.wave_ids(con)
        loaded = [report_data.load_wave(con, resolved, w) for w in waves]
    finally:
        con.close()
    written: list[Path] = []
    for wave_data in loaded:
        target = out_dir / f"direktion_{wave_data.wave.wave_id}.html"
        _write_atomic(target, html.document(wave_data, quality))
        written.append(target)
        if pdf:
            written.append(report_pdf.print_pdf(target, target.with_suffix(".pdf")))
    return written
