"""Publish the marts for BI: a read-only DuckDB file (schema `marts`) and one Parquet file per table.

Both are written beside the published copy under a temporary name and renamed into place, so a
reader never opens a half-written file.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from maturity import duck
from maturity.settings import Settings

MARTS = (
    "dim_org_units", "dim_dimensions", "dim_waves", "fct_maturity_scores", "fct_maturity_overall",
    "fct_gap_priorities", "fct_leadership_alignment", "fct_maturity_trend", "fct_response_rates",
    "fct_portfolio_coverage", "fct_transformation_capacity", "rpt_direktion_scorecard",
)


def published_dir(settings: Settings) -> Path:
    return settings.warehouse_dir / "published"


def publish(settings: Settings) -> Path:
    """Copy the twelve marts from the warehouse into a new published file and Parquet set."""
    out = published_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    tmp_db = out / f".maturity.{token}.duckdb"
    tmp_parquet = out / f".parquet.{token}"
    tmp_parquet.mkdir()
    con = duck.connect(settings.warehouse_db)
    try:
        con.execute(f"ATTACH '{tmp_db}' AS pub")
        con.execute("CREATE SCHEMA pub.marts")
        for table in MARTS:
            con.execute(f"CREATE TABLE pub.marts.{table} AS SELECT * FROM marts.{table}")
            con.execute(f"COPY marts.{table} TO '{tmp_parquet / (table + '.parquet')}' (FORMAT parquet)")
        con.execute("DETACH pub")
    finally:
        con.close()
    tmp_db.replace(out / "maturity.duckdb")
    final_parquet = out / "parquet"
    old = out / f".parquet.old.{token}"
    if final_parquet.exists():
        final_parquet.replace(old)
    tmp_parquet.replace(final_parquet)
    shutil.rmtree(old, ignore_errors=True)
    return out
