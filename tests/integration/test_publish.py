"""Write–audit–publish: immutable versions, one atomic switch, rollback, and what readers see.

The marts come from a real dbt build of the sample landing area; "new builds" are simulated by
re-stamping the marts' run_id in the working warehouse, which is what stage() checks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from maturity.errors import MaturityError
from maturity.publish import (
    MARTS,
    clean_staging,
    current_version,
    list_versions,
    promote,
    published_dir,
    rollback,
    stage,
)
from maturity.settings import Settings
from maturity.transform import build

from tests.conftest import ingest_all


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from tests.conftest import SAMPLES, TEST_KEY

    base = tmp_path_factory.mktemp("publish")
    shutil.copytree(SAMPLES, base / "landing")
    settings = Settings(base / "landing", base / "warehouse", TEST_KEY)
    ingest_all(settings)
    build(settings, run_id="run-0", progress=lambda _l: None)
    return settings


def restamp(settings: Settings, run_id: str) -> None:
    con = duckdb.connect(str(settings.warehouse_db))
    try:
        for table in MARTS:
            con.execute(f"UPDATE marts.{table} SET run_id = ?", [run_id])
    finally:
        con.close()


def published_run_ids(settings: Settings) -> tuple[set[str], set[str]]:
    """run_ids seen through the fixed paths: the DuckDB file's tables and the Parquet files."""
    pub = published_dir(settings)
    con = duckdb.connect(str(pub / "maturity.duckdb"), read_only=True)
    try:
        in_db = {con.execute(f"SELECT DISTINCT run_id FROM marts.{t}").fetchone()[0] for t in MARTS}
    finally:
        con.close()
    in_parquet = {duckdb.sql(f"SELECT DISTINCT run_id FROM '{pub / 'parquet' / (t + '.parquet')}'").fetchone()[0]
                  for t in MARTS if duckdb.sql(f"SELECT count(*) FROM '{pub / 'parquet' / (t + '.parquet')}'")
                  .fetchone()[0]}
    return in_db, in_parquet


def test_stage_promote_switches_both_duckdb_and_parquet(built: Settings) -> None:
    restamp(built, "run-1")
    v1 = promote(built, stage(built, "run-1"))
    assert current_version(built) == v1
    assert published_run_ids(built) == ({"run-1"}, {"run-1"})
    con = duckdb.connect(str(published_dir(built) / "maturity.duckdb"), read_only=True)
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
    described = con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'marts' AND comment <> ''")
    assert tables == set(MARTS)
    assert described.fetchone()[0] > 100  # the column descriptions travel with the published file
    con.close()
    restamp(built, "run-2")
    promote(built, stage(built, "run-2"))
    assert published_run_ids(built) == ({"run-2"}, {"run-2"})
    assert json.loads((published_dir(built) / "current" / "version.json").read_text())["run_id"] == "run-2"


def test_stage_refuses_marts_of_mixed_runs(built: Settings) -> None:
    restamp(built, "run-3")
    con = duckdb.connect(str(built.warehouse_db))
    con.execute("UPDATE marts.dim_waves SET run_id = 'other'")
    con.close()
    with pytest.raises(MaturityError, match="marts.dim_waves holds run_id"):
        stage(built, "run-3")
    assert clean_staging(built) == []  # stage() removed its own folder when it refused
    restamp(built, "run-3")


def test_rollback_restores_the_previous_version_and_prunes_keep_n(built: Settings) -> None:
    for i in range(4, 11):
        restamp(built, f"run-{i}")
        promote(built, stage(built, f"run-{i}"), keep=5)
    assert len(list_versions(built)) == 5
    assert published_run_ids(built)[0] == {"run-10"}
    restored = rollback(built)
    assert restored.info["run_id"] == "run-9"
    assert published_run_ids(built) == ({"run-9"}, {"run-9"})
    rollback(built)
    assert published_run_ids(built)[0] == {"run-8"}


def test_rollback_with_nothing_older_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(tmp_path, tmp_path / "wh", None)
    with pytest.raises(MaturityError, match="Nothing is published"):
        rollback(settings)


READER = textwrap.dedent('''
    import os, sys, duckdb
    path, stop_file, engine, tables = sys.argv[1], sys.argv[2], sys.argv[3] == "engine", sys.argv[4].split(",")
    reads = errors = mixed = 0
    seen = set()
    if engine:
        import sqlalchemy as sa
        eng = sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": True}, poolclass=sa.pool.NullPool)
    while not os.path.exists(stop_file):
        try:
            if engine:
                with eng.connect() as c:
                    ids = {c.execute(sa.text(f"SELECT DISTINCT run_id FROM marts.{t}")).scalar() for t in tables}
            else:
                con = duckdb.connect(path, read_only=True)
                ids = {con.execute(f"SELECT DISTINCT run_id FROM marts.{t}").fetchone()[0] for t in tables}
                con.close()
            reads += 1
            mixed += len(ids) != 1
            seen |= ids
        except Exception as exc:
            errors += 1
            print("ERROR", type(exc).__name__, exc, file=sys.stderr)
    print(reads, errors, mixed, len(seen))
''')


def test_concurrent_readers_never_see_errors_or_mixed_runs(built: Settings, tmp_path: Path) -> None:
    """4 processes (one through duckdb-engine/SQLAlchemy, as Superset reads) open the published file
    read-only in a loop while 21 versions are published: no error, and one run_id per read."""
    restamp(built, "reader-0")
    promote(built, stage(built, "reader-0"))
    script = tmp_path / "reader.py"
    script.write_text(READER)
    path = str(published_dir(built) / "maturity.duckdb")
    stop_file = tmp_path / "stop"
    procs = [subprocess.Popen([sys.executable, str(script), path, str(stop_file), kind, ",".join(MARTS)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for kind in ("duckdb", "duckdb", "duckdb", "engine")]
    try:
        time.sleep(2)  # let every reader start reading
        for i in range(1, 22):
            restamp(built, f"reader-{i}")
            promote(built, stage(built, f"reader-{i}"), keep=3)
        time.sleep(1)
    finally:
        stop_file.touch()
    for p in procs:
        out, err = p.communicate(timeout=120)
        reads, errors, mixed, distinct = (int(x) for x in out.split())
        assert (errors, mixed) == (0, 0), err[-2000:]
        assert reads > 20 and distinct > 1  # the reader really read across publishes


def test_bi_recipes_cli_python_sqlalchemy_and_parquet(built: Settings) -> None:
    """The recipes in docs/bi_access.md, run as written."""
    import sqlalchemy as sa

    restamp(built, "recipes")
    promote(built, stage(built, "recipes"))
    db = published_dir(built) / "maturity.duckdb"
    cli = Path(sys.executable).with_name("duckdb")
    out = subprocess.run([str(cli), "-readonly", "-csv", str(db),
                          "SELECT wave_id, overall_index, top_gaps FROM marts.rpt_direktion_scorecard"],
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "wave_id,overall_index,top_gaps"
    con = duckdb.connect(str(db), read_only=True)
    assert con.sql("SELECT count(*) FROM marts.fct_maturity_scores").fetchone()[0] > 0
    con.close()
    engine = sa.create_engine(f"duckdb:///{db}", connect_args={"read_only": True})
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT DISTINCT run_id FROM marts.dim_waves")).scalar() == "recipes"
    engine.dispose()
    resolved = (published_dir(built) / "current").resolve() / "parquet"
    files = f"read_parquet('{resolved}/*.parquet', union_by_name = true)"
    assert duckdb.sql(f"SELECT DISTINCT run_id FROM {files}").fetchall() == [("recipes",)]
