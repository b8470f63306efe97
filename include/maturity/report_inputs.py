"""Which direktion reports a new published version actually changes.

A report for wave W shows rows of W and of the waves before it (trends, changes), plus the tables
without a wave (org tree, dimensions). Its *input digest* covers exactly that: a digest per wave of
every mart's rows (without `run_id`, which differs every run), accumulated in wave order, plus the
wave-less rows and the report code. Two marts are attributed to the waves whose reports read them, as
the report reads them (report/data.py): capacity rows to the waves whose HR extract they are, portfolio
coverage rows to the waves whose scorecard names their projects extract. A capacity row is not tied to a
wave in the mart, so counting it as wave-less would re-render every report whenever any HR extract's
capacity changed (e.g. when a new wave first uses an extract). When a new wave lands, the earlier waves'
digests are unchanged and only the reports whose inputs changed are rendered; the others are kept (hard
links). The digests of a report set are stored beside it in `reports.json`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from maturity.publish import MARTS

STATE = "reports.json"

# Marts whose rows a report selects by something other than their own wave_id (see report/data.py): the
# join names the reading wave `r`.
_JOIN = {
    "fct_transformation_capacity": "JOIN marts.dim_waves AS r ON r.hr_extract_date = t.extract_date",
    "fct_portfolio_coverage": "JOIN marts.rpt_direktion_scorecard AS r ON r.projects_extract_date = t.extract_date",
}


def code_digest() -> str:
    """The report package's source: a template or chart change re-renders every report."""
    h = hashlib.sha256()
    package = Path(__file__).with_name("report")
    for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def wave_digests(published_db: Path) -> dict[str, str]:
    """{wave_id: digest of everything its report is made from}, computed in DuckDB."""
    con = duckdb.connect(str(published_db), read_only=True)
    try:
        waves = [r[0] for r in con.execute(
            "SELECT wave_id FROM marts.dim_waves ORDER BY closes_on, wave_id").fetchall()]
        per_wave: dict[str | None, hashlib._Hash] = {}
        for table in MARTS:
            columns = {r[0]: r[1] for r in con.execute(f"DESCRIBE marts.{table}").fetchall() if r[0] != "run_id"}
            # Doubles rounded to 9 decimals: parallel aggregation may change the last bits between two
            # builds of the same data, which must not count as a change.
            select = ", ".join(f'round(t."{c}", 9) AS "{c}"' if ty in ("DOUBLE", "FLOAT") else f't."{c}"'
                               for c, ty in columns.items())
            reader = "r.wave_id" if table in _JOIN else "t.wave_id" if "wave_id" in columns else "NULL"
            rows = con.execute(
                "SELECT w, md5(string_agg(CAST(x AS VARCHAR), '|' ORDER BY CAST(x AS VARCHAR))) "
                f"FROM (SELECT {reader} AS w, {select} FROM marts.{table} AS t {_JOIN.get(table, '')}) AS x "
                "GROUP BY ALL"
            ).fetchall()
            for wave, digest in rows:
                per_wave.setdefault(wave, hashlib.sha256()).update(f"{table}:{digest}\n".encode())
    finally:
        con.close()
    running = hashlib.sha256(per_wave[None].digest() if None in per_wave else b"")
    out = {}
    for wave in waves:
        running.update(wave.encode() + (per_wave[wave].digest() if wave in per_wave else b""))
        out[wave] = running.copy().hexdigest()
    return out


def load_state(reports_dir: Path | None) -> dict:
    try:
        return json.loads((reports_dir / STATE).read_text()) if reports_dir else {}
    except (FileNotFoundError, ValueError):
        return {}


def stale_waves(published_db: Path, reports_dir: Path | None, pdf: bool) -> tuple[list[str], dict]:
    """(waves whose report must be rendered, the state to store with the new set)."""
    digests = wave_digests(published_db)
    state = {"code": code_digest(), "pdf": pdf, "waves": digests}
    old = load_state(reports_dir)
    if old.get("code") != state["code"] or old.get("pdf") != pdf:
        return list(digests), state
    have = {p.name for p in reports_dir.iterdir()} if reports_dir and reports_dir.is_dir() else set()
    stale = [w for w, d in digests.items() if old.get("waves", {}).get(w) != d
             or f"direktion_{w}.html" not in have or (pdf and f"direktion_{w}.pdf" not in have)]
    return stale, state
