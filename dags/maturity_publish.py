"""Airflow DAG `maturity_publish`: validate the marts and publish them for BI in one switch.

Wiring only: every task calls the `maturity` package (include/).
"""

from __future__ import annotations

from airflow.sdk import dag, task
from maturity import tasks
from maturity.orchestration.assets import MARTS, PUBLISHED
from maturity.orchestration.chain import chain_of, emit
from maturity.orchestration.defaults import DEFAULT_ARGS, START, TAGS

DOC = """
### Publish: marts → published (third of four chained DAGs)
Runs when `maturity_transform` updates the `maturity_marts` Asset. `mart_gate` copies the twelve SPEC §4
marts into a staged version (DuckDB file + Parquet) and validates that copy: Great Expectations suites
(expectations/mart_*.json) and the §3.9 small-cell privacy audit. Only when every blocking check passes
does `publish` switch `published/current` to it in one rename (the previous version is kept; `maturity
rollback` switches back). A blocked gate publishes nothing, names the failed expectation in its alert
and leaves the last good version in place. `publish` updates the `maturity_published` Asset, which
starts `maturity_report`.
"""


@dag(
    dag_id="maturity_publish",
    schedule=[MARTS],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=[*TAGS, "publish"],
    doc_md=DOC,
    default_args=DEFAULT_ARGS,
)
def maturity_publish():
    @task
    def prepare(**context) -> dict:
        """Which chain (and so which marts run_id) this run publishes"""
        return chain_of(context)

    @task(pool="maturity_warehouse")
    def mart_gate(chain: dict) -> dict:
        """Stage the marts as the next version; GX suites (expectations/mart_*.json) + §3.9 privacy audit"""
        return tasks.mart_gate(chain["chain_run_id"])

    @task(outlets=[PUBLISHED])
    def publish(chain: dict, **context) -> dict:
        """Switch published/ (maturity.duckdb, parquet/) to the validated version in one rename"""
        outcome = tasks.publish(chain["chain_run_id"])
        emit(context, PUBLISHED, chain, version=outcome["version"])
        return outcome

    chain = prepare()
    mart_gate(chain) >> publish(chain)


maturity_publish()
