"""The per-source summary printed at the end of a run: files, rows loaded, rows quarantined."""

from __future__ import annotations

from maturity import duck
from maturity.settings import Settings

SOURCE_ORDER = ("reference", "hr", "surveys", "projects")


def source_totals(settings: Settings) -> list[tuple[str, int, int, int, int, int]]:
    """(source, files, rows read, loaded, quarantined, flagged cells) over the snapshots now loaded."""
    if not settings.warehouse_db.exists():
        return []
    con = duck.connect(settings.warehouse_db, read_only=True)
    try:
        rows = con.execute(
            """SELECT source, count(DISTINCT file_path), sum(rows_read), sum(rows_loaded),
                      sum(rows_quarantined), sum(cells_quarantined)
               FROM raw.manifest GROUP BY source"""
        ).fetchall()
    finally:
        con.close()
    by_source = {r[0]: r for r in rows}
    return [by_source.get(s, (s, 0, 0, 0, 0, 0)) for s in SOURCE_ORDER]


def format_summary(settings: Settings, reports: dict[str, dict]) -> str:
    lines = [f"{'source':<10} {'files':>6} {'rows read':>10} {'loaded':>10} {'quarantined':>12} "
             f"{'cells flagged':>14}  this run"]
    for source, files, read, loaded, quarantined, cells in source_totals(settings):
        rep = reports.get(source, {})
        parts = [f"{len(rep.get(k, []))} {k}" for k in ("loaded", "unchanged", "removed") if rep.get(k)]
        lines.append(f"{source:<10} {files:>6} {read:>10,} {loaded:>10,} {quarantined:>12,} {cells:>14,}  "
                     f"{', '.join(parts) or 'not run'}")
    lines.append("Rows read = loaded + quarantined. Flagged cells (e.g. invalid answers) load as null; "
                 "reasons in raw.quarantine.")
    return "\n".join(lines)
