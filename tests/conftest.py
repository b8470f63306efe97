"""Shared fixtures: a pseudonym key, settings on temporary folders, and the landing-format samples."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from maturity.ingest.run import SOURCES, ingest_source
from maturity.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = FIXTURES / "samples"
TEST_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


@pytest.fixture
def sample_landing(tmp_path: Path) -> Path:
    """A copy of the small landing-format samples (SPEC §2), safe to modify."""
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLES, landing)
    return landing


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[[Path], Settings]:
    def make(landing: Path, warehouse: Path | None = None) -> Settings:
        return Settings(landing.resolve(), (warehouse or tmp_path / "warehouse").resolve(), TEST_KEY)

    return make


def ingest_all(settings: Settings, sources: tuple[str, ...] = SOURCES) -> dict[str, object]:
    """Run every source's ingest in DAG order; return the reports (or the exception) per source."""
    out: dict[str, object] = {}
    for source in sources:
        try:
            out[source] = ingest_source(settings, source, progress=lambda _m: None)
        except Exception as exc:  # noqa: BLE001 - the tests assert on the exact exception
            out[source] = exc
    return out


def table_rows(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def ingest_all_shared() -> Callable[..., dict[str, object]]:
    """`ingest_all` with the warehouse's DuckDB instance kept open between the sources.

    Each `ingest_source` opens and closes its own connection; while one more connection stays open in
    this process they share one database instance, so the encodings extension (Windows-1252, ~1 s per
    instance) is loaded once per warehouse instead of once per source. For module-scoped fixtures.
    """
    from maturity import duck

    def run(settings: Settings, sources: tuple[str, ...] = SOURCES) -> dict[str, object]:
        keep = duck.connect(settings.warehouse_db)
        try:
            return ingest_all(settings, sources)
        finally:
            keep.close()

    return run


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo municipality through the real pipeline (`maturity demo` + `maturity run`), built once.

    Shared by the end-to-end and report tests; tests that change data work on copies.
    """
    import os
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("demo")
    landing, warehouse = base / "landing", base / "warehouse"
    env = {**os.environ, "MATURITY_PSEUDONYM_KEY": TEST_KEY, "AIRFLOW_HOME": str(base / "airflow")}
    subprocess.run([sys.executable, "-m", "maturity.cli", "demo", "--out", str(landing)], check=True, env=env,
                   capture_output=True)
    first = subprocess.run([sys.executable, "-m", "maturity.cli", "run", "--landing", str(landing),
                            "--warehouse", str(warehouse)], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-3000:]
    return {"landing": landing, "warehouse": warehouse, "env": env, "first": first}
