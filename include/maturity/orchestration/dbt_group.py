"""The dbt build as an astronomer-cosmos task group: one Airflow task per dbt model, one dbt process.

`ExecutionMode.WATCHER`: a producer task runs one `dbt build` (models and their data tests, dbt's own
threads), and one sensor task per model shows that model's result in the UI, so a data engineer sees
which model or test failed without reading the whole build log. One process writes the DuckDB file,
so nothing collides; the producer also holds the one slot of the `maturity_warehouse` pool that every
task writing the warehouse shares. The group is rendered from the manifest that `dbt parse` leaves in
dbt_project/target (`LoadMode.DBT_MANIFEST`), refreshed only when the dbt project changes.
"""

from __future__ import annotations

from typing import Any

from maturity.settings import ENV_WAREHOUSE
from maturity.transform import DBT_PROJECT, ENV_CODE, ENV_RUN_ID, dbt_executable, ensure_manifest

WAREHOUSE_POOL = "maturity_warehouse"
PRODUCER = "dbt_producer_watcher"


def dbt_task_group(group_id: str, prepare_task_id: str, default_args: dict[str, Any]):
    """A DbtTaskGroup for the whole project.

    `prepare_task_id` is the task that returned {"chain_run_id", "warehouse_dir", "code_key"}: the chain id
    is stamped on every mart row, the warehouse resolved there (environment or Airflow Variable) is the
    one dbt writes, and the code key goes into the incremental models' build keys.
    """

    def pulled(key: str) -> str:
        return "{{ ti.xcom_pull(task_ids='" + prepare_task_id + "')['" + key + "'] }}"

    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    manifest = ensure_manifest(progress=lambda _line: None)
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(dbt_project_path=DBT_PROJECT, manifest_path=manifest, project_name="maturity"),
        profile_config=ProfileConfig(profile_name="maturity", target_name="dev",
                                     profiles_yml_filepath=DBT_PROJECT / "profiles.yml"),
        # A subprocess, not dbtRunner: an in-process dbt keeps its DuckDB connection open for the life of
        # the process, which would lock the warehouse for the tasks after it under `maturity run`.
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.WATCHER,
                                         invocation_mode=InvocationMode.SUBPROCESS,
                                         dbt_executable_path=dbt_executable()),
        # One task per model; no separate test tasks (each would cost a task start for a result the build
        # already has). The data tests still run inside the one `dbt build` (see below) and a failed test
        # fails the build. Unit tests (fixed inputs, no warehouse data) run in `make test`.
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.NONE,
                                   emit_datasets=False),
        operator_args={"install_deps": False, "pool": WAREHOUSE_POOL, "append_env": True,
                       "env": {ENV_WAREHOUSE: pulled("warehouse_dir"), ENV_RUN_ID: pulled("chain_run_id"),
                               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}},
        default_args=default_args,
    )
    tasks = [t for t in group.dag.tasks if t.task_id.startswith(f"{group_id}.")]
    producer = next(t for t in tasks if t.task_id.endswith(PRODUCER))
    members = {t.task_id for t in tasks}
    # TestBehavior.NONE makes Cosmos restrict the build to `--resource-type model|seed|snapshot…`; drop that
    # restriction so the producer's `dbt build` runs every data test too (a failed test fails the build).
    flags = list(producer.dbt_cmd_flags or [])
    while "--resource-type" in flags:
        at = flags.index("--resource-type")
        del flags[at:at + 2]
    # No JSON artefacts from the build (manifest.json twice, run_results.json, graph.gpickle): nothing reads them —
    # the sensors and `marts_built` read the per-node results from XCom, the DAG is rendered from the manifest of
    # `dbt parse` (`ensure_manifest`), and the partial-parse state is written either way.
    # No debug log file either: dbt writes it (4.5 MB of JSON lines at haderslev, every SQL statement) into
    # Cosmos' temporary copy of the project, which is deleted when the task ends; the task log keeps dbt's
    # info-level lines from stdout.
    producer.dbt_cmd_flags = [*flags, "--exclude-resource-type", "unit_test", "--no-write-json",
                              "--log-level-file", "none"]
    # The code fingerprint the incremental models key their waves on, for the build only: a sensor's own
    # dbt run (Cosmos' fallback on retry) goes without it and computes every wave, as a full refresh would.
    producer.env = {**(producer.env or {}), ENV_CODE: pulled("code_key")}
    for task in tasks:
        if task is producer or not hasattr(task, "producer_task_id"):
            continue
        # Only the build writes the warehouse; the sensors just read its progress from XCom.
        task.pool = "default_pool"
        # Sensors start after the build: under `maturity run` (dag.test runs tasks one at a time) a sensor
        # scheduled before the producer would wait forever; under the scheduler it only delays the UI a little.
        if not task.upstream_task_ids & members:
            producer >> task
    return group


def producer_status(ti: Any, producer_task_id: str) -> str:
    """"completed" when the producer's `dbt build` succeeded, else the producer task's state ("failed", …).

    Read from the task's state, not from Cosmos' `task_status` XCom: Cosmos pushes "completed" there when
    the build ends whether it failed or not (it only tells the sensors to stop waiting).
    """
    states = ti.get_task_states(dag_id=ti.dag_id, task_ids=[producer_task_id], run_ids=[ti.run_id])
    state = str((states.get(ti.run_id) or {}).get(producer_task_id))
    return "completed" if state in ("success", "TaskInstanceState.SUCCESS") else state


def failed_nodes(ti: Any, producer_task_id: str) -> dict[str, str]:
    """Per-node dbt statuses the producer pushed to XCom (read only when the build did not complete)."""
    import json

    from maturity.transform import MANIFEST

    nodes = json.loads(MANIFEST.read_text())["nodes"]
    out = {}
    for uid, node in nodes.items():
        if node.get("resource_type") not in ("model", "test"):
            continue
        state = ti.xcom_pull(task_ids=producer_task_id, key=f"{uid.replace('.', '__')}_status")
        if isinstance(state, dict) and state.get("status"):
            out[uid] = state["status"]
    return out
