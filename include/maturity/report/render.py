"""render_reports: one HTML (+ PDF) direktion report per wave, from the published marts only."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from maturity import forked
from maturity.report import data as report_data
from maturity.report import html
from maturity.report import pdf as report_pdf


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _helpers(waves: int) -> int:
    """Processes that render reports beside this one: one per further core, at most one per two waves.

    They are forked (the charts are CPU-bound matplotlib; forking shares the imported modules and the
    loaded marts; `maturity.forked` guarantees a stuck helper never hangs the run).
    """
    if waves < 2:
        return 0
    return max(0, min(waves // 2, (os.cpu_count() or 1) - 1))


def _document(job: Future[str] | None, wave_data: report_data.WaveData, quality: dict[str, Any] | None) -> str:
    document = forked.result(job)
    # The helper died, failed or hung: render it here (a real problem then raises here).
    return html.document(wave_data, quality) if forked.missing(document) else document


def render_reports(published_db: Path, out_dir: Path, wave_id: str | Sequence[str] | None = None,
                   quality: dict[str, Any] | None = None, pdf: bool = True) -> list[Path]:
    """Write `out_dir/direktion_<wave_id>.html` (and `.pdf`) for `wave_id` (one wave or a list of waves, in
    that order), or for every wave in dim_waves.

    `published_db` is the published read-only DuckDB file (`<warehouse>/published/maturity.duckdb`).
    `quality` describes the run's data-quality status for the front page (e.g. {"status": "ok",
    "warnings": 2, "run_id": "…"}); None is shown as "ikke oplyst". Returns the written paths
    (HTML, then PDF, per wave). Raises MaturityError for an unknown wave, a missing file or a
    missing Chromium when `pdf` is true (checked before anything is written).

    The waves are rendered in parallel (every other wave by a forked helper process when there is a
    core for it); then one Chromium prints every PDF (report.pdf.Printer) in a background thread while the
    next report is written. Files are written in wave order, each exactly as a serial run writes it.
    Rendering several waves, pass them in one call: each call starts its own Chromium.
    """
    out_dir = Path(out_dir)
    if pdf:
        report_pdf.find_chromium()
    con, resolved = report_data.open_published(Path(published_db))
    try:
        if wave_id is None:
            waves = report_data.wave_ids(con)
        else:
            waves = [wave_id] if isinstance(wave_id, str) else list(wave_id)
        loaded = [report_data.load_wave(con, resolved, w) for w in waves]
    finally:
        con.close()
    helpers = _helpers(len(loaded))
    # Forked before Chromium and its printing thread start, so the helpers inherit neither.
    pool = forked.pool(helpers)
    printer: report_pdf.Printer | None = None
    written: list[Path] = []
    printing: list[Future[Path]] = []
    try:
        elsewhere = {i: pool.submit(html.document, loaded[i], quality)
                     for i in range(1, len(loaded), 2)} if pool is not None else {}
        documents = []
        for i, wave_data in enumerate(loaded):
            target = out_dir / f"direktion_{wave_data.wave.wave_id}.html"
            documents.append((target, _document(elsewhere.get(i), wave_data, quality)))
        # The helpers end before Chromium starts: a forked helper holds about what this process holds, and
        # Chromium's processes ~1.1 GB (RSS); together they made the report the kl run's memory peak.
        forked.close(pool)
        pool = None
        printer = report_pdf.Printer() if pdf else None
        for target, document in documents:
            if any(job.done() and job.exception() for job in printing):
                break  # a PDF failed: write no further reports (the error is raised below)
            _write_atomic(target, document)
            written.append(target)
            if printer is not None:
                printing.append(printer.submit(target, target.with_suffix(".pdf")))
                written.append(target.with_suffix(".pdf"))
        for job in printing:
            job.result()  # the first failure, in wave order, as MaturityError
    finally:
        forked.close(pool)
        if printer is not None:
            printer.close()
    return written
