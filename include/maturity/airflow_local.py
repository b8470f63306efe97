"""Run the real DAGs in-process on an embedded Airflow (SQLite metadata DB, project-local home).

`maturity run` uses this so that the CLI and the scheduler share one code path: the DAG files in
dags/ are parsed by Airflow's own DagBag and executed with `dag.test()`, one after another in the
order the Assets chain them (ingest → transform → publish → report). Under the scheduler the Asset
events start the next DAG; here the chain id is handed on in the run conf instead, and the chain ends
where a DAG emitted no event (nothing changed) or failed.
"""

from __future__ import annotations

import os
from pathlib import Path

from maturity.inprocess_api import serve_client_version_only
from maturity.orchestration import CHAIN
from maturity.settings import PROJECT_ROOT

# Nothing leaves the machine: Cosmos would otherwise report every task run to an analytics endpoint
# (a municipal server may have no route out, and each attempt costs a timeout), dbt its invocations.
NO_TELEMETRY = {"AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False", "DO_NOT_TRACK": "1", "SCARF_NO_ANALYTICS": "1",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
POOL = "maturity_warehouse"
POOL_DOC = "Tasks that write the DuckDB warehouse: one at a time (DuckDB allows one writing process per file)"


def configure_environment(airflow_home: Path | None = None) -> Path:
    """Point Airflow at a project-local home and the project's dags/ (unless the user set them)."""
    home = Path(os.environ.get("AIRFLOW_HOME") or airflow_home or PROJECT_ROOT / ".airflow").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    defaults = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        **NO_TELEMETRY,
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    return home


def ensure_migrated(home: Path) -> bool:
    """Migrate the metadata DB once per Airflow version (no manual `airflow db migrate` step)."""
    import airflow
    from airflow.utils import db

    marker = home / f".migrated-{airflow.__version__}"
    conn = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if marker.exists() and (not conn.startswith("sqlite:///") or Path(conn[len("sqlite:///"):]).exists()):
        return False
    db.upgradedb()
    ensure_pool()
    marker.write_text("ok\n")
    return True


def ensure_pool() -> None:
    """The one-slot pool the warehouse-writing tasks share (a scheduler leaves tasks of a missing pool queued)."""
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(POOL, slots=1, description=POOL_DOC, include_deferred=False)


def load_dag(dag_id: str):
    """Parse only `dags/<dag_id>.py` (each DAG has its own file): an unchanged run that ends after ingest
    never imports Cosmos or builds the 39-task dbt group."""
    from airflow.dag_processing.dagbag import DagBag

    path = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / f"{dag_id}.py"
    bag = DagBag(dag_folder=str(path))
    if bag.import_errors:
        first = next(iter(bag.import_errors.items()))
        raise RuntimeError(f"The DAG file {first[0]} does not import: {first[1].strip().splitlines()[-1]}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise RuntimeError(f"DAG {dag_id} not found in {path}")
    return dag


def _emitted(dag_run, task_id: str) -> bool:
    """Did `task_id` (the run's outlet task) succeed, i.e. emit the Asset event that starts the next DAG?"""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        state = session.query(TaskInstance.state).filter(
            TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id,
            TaskInstance.task_id == task_id).scalar()
    return str(state) in ("success", "TaskInstanceState.SUCCESS")


OUTLET_TASK = {"maturity_ingest": "raw_ready", "maturity_transform": "marts_built", "maturity_publish": "publish"}


def run_chain(params: dict | None = None) -> list:
    """Execute the chained DAGs in this process; returns their DagRuns (the chain stops early when a DAG
    fails or, having found nothing changed, emits no Asset event)."""
    serve_client_version_only()
    first = load_dag(CHAIN[0]).test(run_conf=dict(params or {}))
    runs = [first]
    conf = {"chain_run_id": first.run_id, "force": bool((params or {}).get("force")),
            "wave": (params or {}).get("wave")}
    for previous, dag_id in zip(CHAIN, CHAIN[1:], strict=False):
        if str(runs[-1].state) != "success" or not _emitted(runs[-1], OUTLET_TASK[previous]):
            break
        runs.append(load_dag(dag_id).test(run_conf=conf))
    return runs


def task_durations(dag_runs: list) -> dict[str, float]:
    """Seconds per `dag_id.task_id` of finished runs, from the metadata DB (what the Airflow UI shows)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    out: dict[str, float] = {}
    with create_session() as session:
        for dag_run in dag_runs:
            rows = session.query(TaskInstance.task_id, TaskInstance.start_date, TaskInstance.end_date).filter(
                TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id).all()
            out.update({f"{dag_run.dag_id}.{task}": (end - start).total_seconds()
                        for task, start, end in rows if start and end})
    return out
