"""Airflow DAG `maturity_transform`: raw → dbt staging → intermediate → marts, through astronomer-cosmos.

Wiring only: the dbt task group is built by `maturity.orchestration.dbt_group`.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from maturity import tasks
from maturity.orchestration.assets import MARTS, RAW
from maturity.orchestration.chain import chain_of, emit
from maturity.orchestration.dbt_group import PRODUCER, dbt_task_group, failed_nodes, producer_status
from maturity.orchestration.defaults import DEFAULT_ARGS, START, TAGS

DOC = """
### Transform: raw → marts (second of four chained DAGs)
Runs when `maturity_ingest` updates the `maturity_raw` Asset. One `dbt build` (models and their data
tests, SPEC §3 metrics) runs in the `dbt.dbt_producer_watcher` task; every dbt model has its own task in
the `dbt` group showing that model's result (Cosmos `ExecutionMode.WATCHER`, rendered from the dbt
manifest). Every mart row is stamped with the chain id (`run_id`). `marts_built` updates the
`maturity_marts` Asset, which starts `maturity_publish`; a failed model or test ends the chain here and
names itself in the alert.
"""


@dag(
    dag_id="maturity_transform",
    schedule=[RAW],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=[*TAGS, "dbt"],
    doc_md=DOC,
    default_args=DEFAULT_ARGS,
)
def maturity_transform():
    @task
    def prepare(**context) -> dict:
        """Chain id (stamped on the marts) and the warehouse dbt builds in"""
        return tasks.prepare_transform(chain_of(context))

    @task(outlets=[MARTS], trigger_rule="all_done")
    def marts_built(chain: dict, **context) -> dict:
        """Check the dbt build's outcome; update the marts Asset (→ maturity_publish) when it passed"""
        ti = context["ti"]
        status = producer_status(ti, f"dbt.{PRODUCER}")
        nodes = {} if status == "completed" else failed_nodes(ti, f"dbt.{PRODUCER}")
        outcome = tasks.transform_outcome(chain, status, nodes)
        emit(context, MARTS, {k: chain[k] for k in ("chain_run_id", "force", "wave")})
        return outcome

    chain = prepare()
    dbt = dbt_task_group("dbt", prepare_task_id="prepare", default_args=DEFAULT_ARGS)
    chain >> dbt >> marts_built(chain)


maturity_transform()
