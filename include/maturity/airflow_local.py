"""Run the real DAG in-process on an embedded Airflow (SQLite metadata DB, project-local home).

`maturity run` uses this so that the CLI and the scheduler share one code path: the DAG file in
dags/ is parsed by Airflow's own DagBag and executed with `dag.test()`.
"""

from __future__ import annotations

import os
from pathlib import Path

from maturity.settings import PROJECT_ROOT

DAG_ID = "maturity_pipeline"


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
    marker.write_text("ok\n")
    return True


def load_dag(dag_id: str = DAG_ID):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        first = next(iter(bag.import_errors.items()))
        raise RuntimeError(f"The DAG file {first[0]} does not import: {first[1].strip().splitlines()[-1]}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise RuntimeError(f"DAG {dag_id} not found in {os.environ['AIRFLOW__CORE__DAGS_FOLDER']}")
    return dag


def run_dag(run_conf: dict | None = None):
    """Execute the DAG once in this process; returns the DagRun (state success or failed)."""
    dag = load_dag()
    return dag.test(run_conf=run_conf or {})


def task_durations(dag_run) -> dict[str, float]:
    """Seconds per task of a finished run, from the metadata DB (what the Airflow UI shows)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.start_date, TaskInstance.end_date).filter(
            TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id).all()
    return {task: (end - start).total_seconds() for task, start, end in rows if start and end}
