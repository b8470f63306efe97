"""DAG integrity: every DAG in dags/ imports, has tags, retries and docs (Astronomer-style check)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert dagbag.dag_ids, "no DAG found in dags/"


def test_every_dag_has_tags_docs_and_one_active_run(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.max_active_runs == 1, f"{dag_id} may run twice at once on one DuckDB file"


def test_every_task_retries(dagbag) -> None:
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} has no retries"


def test_pipeline_has_one_ingest_task_per_source_in_dependency_order(dagbag) -> None:
    dag = dagbag.dags["maturity_pipeline"]
    ids = {t.task_id for t in dag.tasks}
    assert {"ingest_reference", "ingest_hr", "ingest_surveys", "ingest_projects"} <= ids
    assert "ingest_reference" in dag.get_task("ingest_hr").upstream_task_ids
    assert "ingest_hr" in dag.get_task("ingest_surveys").upstream_task_ids
