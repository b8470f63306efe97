"""The per-source summary printed at the end of a run: files, rows loaded, rows quarantined."""

from __future__ import annotations

from maturity import duck
from maturity.settings import Settings

SOURCE_ORDER = ("reference", "hr", "surveys", "projects")


def source_totals(settings: Settings) -> list[tuple[str, int, int, int, int]]:
    """(source, files, rows read, rows loaded, rows quarantined) over the snapshots now in the warehouse."""
    if not settings.warehouse_db.exists():
        return []
    con = duck.connect(settings.warehouse_db, read_only=True)
    try:
        rows = con.execute(
            """SELECT source, count(DISTINCT file_path), sum(rows_read), sum(rows_loaded),
                      sum(rows_quarantined) + sum(cells_quarantined)
               FROM raw.manifest GROUP BY source"""
        ).fetchall()
    finally:
        con.close()
    by_source = {r[0]: r for r in rows}
    return [by_source.get(s, (s, 0, 0, 0, 0)) for s in SOURCE_ORDER]


def format_summary(settings: Settings, reports: dict[str, dict]) -> str:
    lines = [f"{'source':<10} {'files':>6} {'rows read':>10} {'loaded':>10} {'quarantined':>12}  this run"]
    for source, files, read, loaded, quarantined in source_totals(settings):
        rep = reports.get(source, {})
        parts = [f"{len(rep.get(k, []))} {k}" for k in ("loaded", "unchanged", "removed") if rep.get(k)]
        lines.append(f"{source:<10} {files:>6} {read:>10,} {loaded:>10,} {quarantined:>12,}  "
                     f"{', '.join(parts) or 'not run'}")
    lines.append("(quarantined counts rows and cells; see raw.quarantine for reasons)")
    return "\n".join(lines)
