"""DAG integrity: every DAG in dags/ imports, has tags, retries, docs and a failure alert (Astronomer-style),
and the four DAGs are chained by Assets landing → raw → marts → published → reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
CHAIN = ["maturity_ingest", "maturity_transform", "maturity_publish", "maturity_report"]


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == sorted(CHAIN)


def test_every_dag_has_tags_docs_and_one_active_run(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert "maturity" in dag.tags and len(dag.tags) >= 2, f"{dag_id} tags {dag.tags}"
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag_id} has no real doc_md"
        assert dag.max_active_runs == 1, f"{dag_id} may run twice at once on one DuckDB file"
        assert not dag.catchup


def test_every_task_retries_with_backoff_and_alerts(dagbag) -> None:
    from maturity.orchestration.alerts import on_failure

    for dag in dagbag.dags.values():
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} has no retries"
            assert task.retry_exponential_backoff, f"{dag.dag_id}.{task.task_id} retries without back-off"
            assert _alerts(task.on_failure_callback, on_failure), f"{dag.dag_id}.{task.task_id} sends no alert"


def _alerts(callback, on_failure) -> bool:
    """Is `on_failure` the callback, in a list of them, or wrapped by Cosmos (it backs XCom up first)?"""
    if callback is on_failure:
        return True
    if isinstance(callback, list):
        return any(_alerts(cb, on_failure) for cb in callback)
    return any(_alerts(cell.cell_contents, on_failure) for cell in getattr(callback, "__closure__", None) or ())


def _uris(assets) -> set[str]:
    return {a.uri for a in assets}


def test_assets_chain_the_dags_landing_raw_marts_published_reports(dagbag) -> None:
    from maturity.orchestration.assets import LANDING, MARTS, PUBLISHED, RAW, REPORTS

    expected = [(LANDING, RAW), (RAW, MARTS), (MARTS, PUBLISHED), (PUBLISHED, REPORTS)]
    for dag_id, (inlet, outlet) in zip(CHAIN, expected, strict=True):
        dag = dagbag.dags[dag_id]
        assert _uris(dag.timetable.asset_condition.objects) == {inlet.uri}, f"{dag_id} is not scheduled on {inlet}"
        outlets = {a.uri for t in dag.tasks for a in t.outlets}
        assert outlet.uri in outlets, f"{dag_id} does not update {outlet.uri}"
    # The landing Asset is watched by the triggerer: new drops start the chain without a manual trigger.
    assert [w.name for w in LANDING.watchers] == ["maturity_landing_drops"]
    assert LANDING.watchers[0].trigger.serialize()[0] == "maturity.landing_watch.LandingDropTrigger"


def test_ingest_has_one_task_per_source_in_dependency_order_and_rerun_params(dagbag) -> None:
    dag = dagbag.dags["maturity_ingest"]
    order = ["prepare", "ingest_reference", "ingest_hr", "ingest_surveys", "ingest_projects", "raw_gate", "raw_ready"]
    for before, after in zip(order, order[1:], strict=False):
        assert before in dag.get_task(after).upstream_task_ids, f"{before} must run before {after}"
    assert {"wave", "force"} <= set(dag.params.keys())
    # Every task that writes the warehouse shares the one-slot pool.
    for task_id in order[:-1]:
        assert dag.get_task(task_id).pool == "maturity_warehouse"


def test_cosmos_shows_one_task_per_dbt_model_and_runs_one_build(dagbag) -> None:
    from maturity.transform import MANIFEST

    manifest = json.loads(MANIFEST.read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    dag = dagbag.dags["maturity_transform"]
    tasks = {t.task_id: t for t in dag.tasks if t.task_id.startswith("dbt.")}
    model_tasks = {tid.removeprefix("dbt.").removesuffix("_run") for tid, t in tasks.items()
                   if hasattr(t, "producer_task_id")}
    assert model_tasks == models
    producer = tasks["dbt.dbt_producer_watcher"]
    assert producer.pool == "maturity_warehouse"
    assert "--resource-type" not in (producer.dbt_cmd_flags or []), "the build must run the data tests too"
    assert "unit_test" in producer.dbt_cmd_flags
    flags = producer.dbt_cmd_flags
    assert flags[flags.index("--log-level-file") + 1] == "none", "no debug log into Cosmos' temporary project"
    assert "chain_run_id" in producer.env["MATURITY_RUN_ID"], "the marts must carry the chain id"
    for tid, task in tasks.items():
        if hasattr(task, "producer_task_id"):
            assert producer.task_id in task.upstream_task_ids or task.upstream_task_ids & tasks.keys(), tid
            assert task.pool == "default_pool", f"{tid}: sensors must not hold the warehouse slot"


def test_airflow_lists_no_import_errors(tmp_path: Path) -> None:
    """`airflow dags list-import-errors` on a fresh home is empty (what a deployment's CLI shows)."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}"}
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    proc = subprocess.run([airflow, "dags", "list-import-errors", "--local", "-o", "json"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout[-2000:]
