"""Everything the direktion report shows, read from the published marts only (read-only connection).

One `WaveData` per wave: plain dicts of mart rows (column name → value, NULL → None) keyed the way
the report uses them. No figure is computed here; the report formats what the marts hold.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from maturity.errors import MaturityError

Row = dict[str, Any]


@dataclass(frozen=True)
class Dimension:
    dimension_id: str
    name: str
    weight: float
    sort_order: int


@dataclass(frozen=True)
class Wave:
    wave_id: str
    label: str | None
    closes_on: dt.date
    hr_extract_date: dt.date | None
    previous_wave_id: str | None


@dataclass(frozen=True)
class Unit:
    org_unit_id: str
    name: str


@dataclass(frozen=True)
class Publication:
    """Where the figures come from: the published file, its run and version (version.json)."""

    path: Path
    run_id: str | None
    version: str | None
    published_at: str | None


@dataclass
class WaveData:
    wave: Wave
    previous: Wave | None
    waves_to_date: list[Wave]  # every wave up to and including this one, by closes_on
    publication: Publication
    dimensions: list[Dimension]  # the dimensions this wave measures, by sort_order
    all_dimensions: dict[str, Dimension]
    root: Unit | None
    units: list[Unit]  # depth 1 of the wave's tree (forvaltninger), by name
    wave_roots: dict[str, str]  # wave_id → root org_unit_id of that wave's tree
    scorecard: Row
    response: Row  # root response rate
    root_scores: dict[str, Row]  # dimension_id → fct_maturity_scores row at the root
    priorities: dict[str, Row]
    alignment: dict[str, Row]
    trend: dict[tuple[str, str], Row]  # (wave_id, dimension_id) → fct_maturity_trend row at the root
    root_scores_by_wave: dict[tuple[str, str], Row]  # (wave_id, dimension_id) → scores row at that root
    overall_by_wave: dict[str, Row]  # wave_id → scorecard row
    heat: dict[tuple[str, str], Row]  # (org_unit_id, dimension_id) → fct_maturity_scores row
    unit_overall: dict[str, Row]
    unit_response: dict[str, Row]
    coverage: list[Row] = field(default_factory=list)  # fct_portfolio_coverage for projects_extract_date
    capacity_root: Row | None = None
    capacity_units: dict[str, Row] = field(default_factory=dict)

    @property
    def dimension_ids(self) -> list[str]:
        return [d.dimension_id for d in self.dimensions]

    def name(self, dimension_id: str) -> str:
        dim = self.all_dimensions.get(dimension_id)
        return dim.name if dim else dimension_id


def _literal(value: Any) -> str:
    """A SQL literal for a value of ours (text, date, list of text, number, None).

    The queries carry their values as literals rather than `?` parameters: DuckDB's Python client
    imports pandas (~1 s) the first time a query has a parameter, and the report needs no pandas.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]::VARCHAR[]"
    return "'" + str(value).replace("'", "''") + "'"


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _publication(db: Path, con: duckdb.DuckDBPyConnection) -> Publication:
    run = con.execute("SELECT min(run_id) FROM marts.rpt_direktion_scorecard").fetchone()
    info_file = db.parent / "version.json"
    version = published_at = None
    if info_file.is_file():
        try:
            info = json.loads(info_file.read_text())
            version, published_at = db.parent.name, info.get("published_at")
        except (OSError, ValueError):
            pass
    return Publication(db, run[0] if run else None, version, published_at)


def open_published(published_db: Path) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """Open the published file read-only, resolved once so a concurrent publish cannot mix versions."""
    path = Path(published_db)
    if not path.exists():
        raise MaturityError(f"The published warehouse {path} does not exist; run the pipeline first.")
    resolved = path.resolve()
    try:
        con = duckdb.connect(str(resolved), read_only=True)  # default config: shares an open read-only instance
    except duckdb.Error as exc:
        raise MaturityError(f"Cannot open the published warehouse {path} read-only: {exc}") from exc
    return con, resolved


def wave_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT wave_id FROM marts.dim_waves ORDER BY closes_on").fetchall()]


def _wave(row: Row) -> Wave:
    return Wave(row["wave_id"], row["label"], row["closes_on"], row["hr_extract_date"], row["previous_wave_id"])


def load_wave(con: duckdb.DuckDBPyConnection, resolved: Path, wave_id: str) -> WaveData:
    waves = [_wave(r) for r in _rows(con, "SELECT * FROM marts.dim_waves ORDER BY closes_on")]
    by_id = {w.wave_id: w for w in waves}
    if wave_id not in by_id:
        known = ", ".join(by_id) or "none"
        raise MaturityError(f"Wave {wave_id} is not in marts.dim_waves of {resolved} (known waves: {known}).")
    wave = by_id[wave_id]
    to_date = [w for w in waves if w.closes_on <= wave.closes_on]
    all_dims = {r["dimension_id"]: Dimension(r["dimension_id"], r["name_da"] or r["dimension_id"],
                                             r["weight"], r["sort_order"])
                for r in _rows(con, "SELECT * FROM marts.dim_dimensions")}
    order = {d: (dim.sort_order, d) for d, dim in all_dims.items()}
    measured = [r[0] for r in con.execute(
        f"SELECT DISTINCT dimension_id FROM marts.fct_maturity_scores WHERE wave_id = {_literal(wave_id)}").fetchall()]
    dims = [all_dims.get(d, Dimension(d, d, 1.0, 10**6)) for d in sorted(measured, key=lambda d: order.get(d, (0, d)))]

    # The report shows the root and the units directly under it: only those rows leave DuckDB (at kl a
    # tree has 16 000 units, and the wave's scores 38 000 rows, of which the report reads a few hundred).
    tree = _rows(con, "SELECT org_unit_id, name, depth FROM marts.dim_org_units "
                      f"WHERE extract_date = {_literal(wave.hr_extract_date)} AND depth <= 1")
    roots = [Unit(r["org_unit_id"], r["name"] or r["org_unit_id"]) for r in tree if r["depth"] == 0]
    root = roots[0] if roots else None
    units = sorted((Unit(r["org_unit_id"], r["name"] or r["org_unit_id"]) for r in tree if r["depth"] == 1),
                   key=lambda u: (u.name.casefold(), u.org_unit_id))
    root_id = root.org_unit_id if root else None
    shown = f"list_contains({_literal([u.org_unit_id for u in roots + units])}, org_unit_id)"

    scorecards = {r["wave_id"]: r for r in _rows(con, "SELECT * FROM marts.rpt_direktion_scorecard")}
    scorecard = scorecards.get(wave_id, {})
    scores = _rows(con, f"SELECT * FROM marts.fct_maturity_scores WHERE wave_id = {_literal(wave_id)} AND {shown}")
    unit_ids = {u.org_unit_id for u in units}

    # The root of each earlier wave's own tree (the trend is read at the root of every wave).
    wave_roots = {r["wave_id"]: r["org_unit_id"] for r in _rows(con, """
        SELECT w.wave_id, o.org_unit_id FROM marts.dim_waves w
        JOIN marts.dim_org_units o ON o.extract_date = w.hr_extract_date AND o.depth = 0""")}
    ids = [w.wave_id for w in to_date]
    # Each wave to date at its own root (the pairs of wave_roots).
    pairs = [f"({_literal(w)}, {_literal(o)})" for w, o in wave_roots.items() if w in ids]
    at_roots = f"(wave_id, org_unit_id) IN ({', '.join(pairs)})" if pairs else "FALSE"
    trend = {(r["wave_id"], r["dimension_id"]): r
             for r in _rows(con, f"SELECT * FROM marts.fct_maturity_trend WHERE {at_roots}")}
    by_wave = {(r["wave_id"], r["dimension_id"]): r
               for r in _rows(con, f"SELECT * FROM marts.fct_maturity_scores WHERE {at_roots}")}

    overall = _rows(con, f"SELECT * FROM marts.fct_maturity_overall WHERE wave_id = {_literal(wave_id)} AND {shown}")
    response = _rows(con, f"SELECT * FROM marts.fct_response_rates WHERE wave_id = {_literal(wave_id)} AND {shown}")
    coverage: list[Row] = []
    if scorecard.get("projects_extract_date") is not None:
        coverage = _rows(con, "SELECT * FROM marts.fct_portfolio_coverage "
                              f"WHERE extract_date = {_literal(scorecard['projects_extract_date'])}")
        coverage.sort(key=lambda r: order.get(r["dimension_id"], (0, r["dimension_id"])))
    capacity = _rows(con, "SELECT * FROM marts.fct_transformation_capacity "
                          f"WHERE extract_date = {_literal(wave.hr_extract_date)} AND {shown}")

    return WaveData(
        wave=wave,
        previous=by_id.get(wave.previous_wave_id) if wave.previous_wave_id else None,
        waves_to_date=to_date,
        publication=_publication(resolved, con),
        dimensions=dims,
        all_dimensions=all_dims,
        root=root,
        units=units,
        wave_roots=wave_roots,
        scorecard=scorecard,
        response=next((r for r in response if r["org_unit_id"] == root_id), {}),
        root_scores={r["dimension_id"]: r for r in scores if r["org_unit_id"] == root_id},
        priorities={r["dimension_id"]: r for r in _rows(
            con, f"SELECT * FROM marts.fct_gap_priorities WHERE wave_id = {_literal(wave_id)}")},
        alignment={r["dimension_id"]: r for r in _rows(
            con, f"SELECT * FROM marts.fct_leadership_alignment WHERE wave_id = {_literal(wave_id)}")},
        trend=trend,
        root_scores_by_wave=by_wave,
        overall_by_wave={w: r for w, r in scorecards.items() if w in ids},
        heat={(r["org_unit_id"], r["dimension_id"]): r for r in scores if r["org_unit_id"] in unit_ids},
        unit_overall={r["org_unit_id"]: r for r in overall if r["org_unit_id"] in unit_ids | {root_id}},
        unit_response={r["org_unit_id"]: r for r in response if r["org_unit_id"] in unit_ids},
        coverage=coverage,
        capacity_root=next((r for r in capacity if r["org_unit_id"] == root_id), None),
        capacity_units={r["org_unit_id"]: r for r in capacity if r["org_unit_id"] in unit_ids},
    )
