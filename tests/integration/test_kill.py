"""Kill test: `maturity run` killed with SIGKILL at random moments never leaves a partial publish.

Each iteration changes one landing file (so there is something new to publish), starts the real
pipeline (Airflow DAG in-process, dbt child), kills its whole process group at a random moment, and
checks that the published set is one complete version: every table of the DuckDB file and every
Parquet file carries the run_id recorded in that version. Every fifth run is left to finish and must
succeed, and the last run after all kills must succeed and publish the latest landing data.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from maturity.publish import MARTS

from tests.conftest import SAMPLES, TEST_KEY

pytestmark = pytest.mark.slow
KILLS = 20


def published_state(warehouse: Path) -> str | None:
    """The run_id of the published version, after checking that everything published belongs to it."""
    pub = warehouse / "published"
    if not (pub / "current").exists():
        return None
    run_id = json.loads((pub / "current" / "version.json").read_text())["run_id"]
    con = duckdb.connect(str(pub / "maturity.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'")
                  .fetchall()}
        assert tables == set(MARTS)
        for table in MARTS:
            ids = {r[0] for r in con.execute(f"SELECT DISTINCT run_id FROM marts.{table}").fetchall()}
            assert ids <= {run_id}, (table, ids, run_id)
    finally:
        con.close()
    for table in MARTS:
        ids = {r[0] for r in duckdb.sql(f"SELECT DISTINCT run_id FROM '{pub / 'parquet' / table}.parquet'").fetchall()}
        assert ids <= {run_id}, (table, ids, run_id)
    return run_id


def test_sigkill_at_random_moments_leaves_old_or_new_complete_version(tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(SAMPLES, landing)
    env = {**os.environ, "MATURITY_PSEUDONYM_KEY": TEST_KEY, "AIRFLOW_HOME": str(tmp_path / "airflow")}
    cmd = [sys.executable, "-m", "maturity.cli", "run", "--landing", str(landing), "--warehouse", str(warehouse)]
    wave = landing / "surveys" / "T0" / "wave.csv"
    rng = random.Random(20261127)
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    # The kill window is a warm full run (the first one also migrates Airflow's DB and parses dbt cold,
    # and would make most later runs finish before their kill moment).
    started = time.perf_counter()
    warm = subprocess.run([*cmd, "--force"], env=env, capture_output=True, text=True, timeout=600)
    assert warm.returncode == 0, warm.stderr[-3000:]
    full_run = time.perf_counter() - started
    previous = published_state(warehouse)
    assert previous is not None
    outcomes = []
    for i in range(1, KILLS + 1):
        wave.write_text(f"wave_id,label,closes_on\nT0,Baseline 2022 (rev {i}),2022-04-30\n")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.2, full_run * 1.1))
        killed = proc.poll() is None
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        now = published_state(warehouse)
        assert now is not None  # never nothing: the old version stays until the new one is complete
        outcomes.append((killed, now != previous))
        previous = now
        if i % 5 == 0:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr[-3000:]
            previous = published_state(warehouse)
    con = duckdb.connect(str(warehouse / "published" / "maturity.duckdb"), read_only=True)
    label = con.execute("SELECT label FROM marts.dim_waves WHERE wave_id = 'T0'").fetchone()[0]
    con.close()
    assert label == f"Baseline 2022 (rev {KILLS})"
    assert sum(k for k, _ in outcomes) >= KILLS * 0.7  # most runs really were killed mid-way
