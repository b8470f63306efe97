"""`dbt build --target ducklake`: the same marts, built into a DuckLake instead of the warehouse file.

The small landing samples are ingested into the plain warehouse file and built there once (the normal
`dev` target) for reference. For the lake, the raw schema is copied into the lake first: dbt resolves
the sources (`raw.*`) in the target database, and in a DuckLake deployment the ingest writes raw into
the lake as well (docs/scaling.md). Then `dbt build --target ducklake` must produce the twelve marts in
the lake with the same row counts, and leave a DuckLake snapshot behind.

The catalog is Postgres on 127.0.0.1:5432 (a database of its own, created and dropped here) when the
`duckdb-extension-postgres-scanner` wheel is installed — DuckDB cannot download its postgres extension
here — and the server answers; otherwise a DuckDB catalog file, with a warning saying why.
"""

from __future__ import annotations

import importlib.util
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from maturity import duck
from maturity.publish import MARTS
from maturity.settings import Settings
from maturity.transform import build, run_dbt

from tests.conftest import SAMPLES, TEST_KEY

pytestmark = pytest.mark.slow
PG_DSN = "host=127.0.0.1 port=5432 user=postgres"
NO_AUTOLOAD = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def _counts(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {database}.marts.{t}").fetchone()[0] for t in MARTS}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, ingest_all_shared: Callable) -> tuple[Settings, dict]:
    """The samples ingested and built the normal way; the mart row counts of that build."""
    base = tmp_path_factory.mktemp("ducklake")
    shutil.copytree(SAMPLES, base / "landing")
    settings = Settings((base / "landing").resolve(), (base / "warehouse").resolve(), TEST_KEY)
    reports = ingest_all_shared(settings)
    assert all(not isinstance(r, Exception) for r in reports.values()), reports
    build(settings, progress=lambda _line: None)
    con = duckdb.connect(str(settings.warehouse_db), read_only=True)
    try:
        counts = _counts(con, "warehouse")
    finally:
        con.close()
    assert any(counts.values()), counts
    return settings, counts


def _postgres_catalog(admin: duckdb.DuckDBPyConnection) -> str | None:
    """Why the Postgres catalog cannot be used here, or None when it can (the extension is then loaded)."""
    if importlib.util.find_spec("duckdb_extension_postgres_scanner") is None:
        return ("duckdb-extension-postgres-scanner is not installed, and DuckDB cannot download its postgres "
                "extension here")
    admin.execute(f"LOAD '{duck.extension_path('postgres_scanner')}'")
    try:
        admin.execute(f"ATTACH '{PG_DSN} dbname=postgres' AS pg (TYPE postgres)")
    except duckdb.Error as exc:
        return f"no Postgres on 127.0.0.1:5432 ({exc})"
    return None


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[tuple[str, list[Path]]]:
    """(the DuckLake catalog string after `ducklake:`, the extension binaries it needs).

    Postgres in a database of its own, created and dropped here, when it can be reached offline;
    otherwise a DuckDB catalog file (the same DuckLake, one writing process at a time), with a warning.
    """
    lake_ext = duck.extension_path("ducklake")
    admin = duckdb.connect(config=NO_AUTOLOAD)
    try:
        if reason := _postgres_catalog(admin):
            warnings.warn(f"DuckLake tested with a DuckDB-file catalog, not Postgres: {reason}.", stacklevel=1)
            yield str(tmp_path / "catalog.ducklake"), [lake_ext]
            return
        name = f"maturity_lake_test_{uuid.uuid4().hex[:12]}"
        admin.execute(f"CALL postgres_execute('pg', 'CREATE DATABASE {name}', use_transaction=false)")
        try:
            yield f"postgres:{PG_DSN} dbname={name}", [lake_ext, duck.extension_path("postgres_scanner")]
        finally:
            admin.execute(f"CALL postgres_execute('pg', 'DROP DATABASE {name} WITH (FORCE)', use_transaction=false)")
    finally:
        admin.close()


def _attach_lake(con: duckdb.DuckDBPyConnection, catalog: str, extensions: list[Path], data_path: Path) -> None:
    for ext in extensions:
        con.execute(f"LOAD '{ext}'")
    con.execute(f"ATTACH 'ducklake:{catalog}' AS lake (DATA_PATH '{data_path}/')")


def test_dbt_build_on_ducklake(reference: tuple[Settings, dict], catalog: tuple[str, list[Path]], tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    settings, expected = reference
    catalog_string, extensions = catalog
    data_path = tmp_path / "lake_data"

    # Raw into the lake: one CREATE TABLE AS per raw table, read from the warehouse file opened read-only.
    con = duckdb.connect(config=NO_AUTOLOAD)
    try:
        _attach_lake(con, catalog_string, extensions, data_path)
        con.execute(f"ATTACH '{settings.warehouse_db}' AS wh (READ_ONLY)")
        con.execute("CREATE SCHEMA lake.raw")
        raw = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh' "
                                         "AND schema_name = 'raw' ORDER BY 1").fetchall()]
        assert raw
        for table in raw:
            con.execute(f"CREATE TABLE lake.raw.{table} AS FROM wh.raw.{table}")
    finally:
        con.close()

    monkeypatch.setenv("MATURITY_DUCKLAKE_CATALOG", catalog_string)
    monkeypatch.setenv("MATURITY_DUCKLAKE_DATA_PATH", f"{data_path}/")
    monkeypatch.setenv("MATURITY_DUCKLAKE_EXTENSIONS", ",".join(str(e) for e in extensions))
    run_dbt(settings, ["build", "--target", "ducklake", "--exclude-resource-type", "unit_test"],
            progress=lambda _line: None)

    con = duckdb.connect(config=NO_AUTOLOAD)
    try:
        _attach_lake(con, catalog_string, extensions, data_path)
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake' "
                                            "AND schema_name = 'marts'").fetchall()}
        assert tables >= set(MARTS)
        assert _counts(con, "lake") == expected
        changes = [r[0] for r in con.execute("SELECT changes FROM lake.snapshots()").fetchall()]
        assert any("marts.fct_maturity_scores" in str(c) for c in changes), changes
    finally:
        con.close()
    assert list(data_path.rglob("*.parquet")), "the lake wrote no Parquet data files"
