"""Airflow DAG: the digital-maturity pipeline (landing → DuckDB raw → …).

Wiring only: every task calls a function of the `maturity` package (include/), which is tested
without a scheduler. `maturity run` executes this same DAG in-process with `dag.test()`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task
from maturity import tasks

RAW = {source: Asset(f"maturity://warehouse/raw/{source}") for source in ("reference", "hr", "surveys", "projects")}
MARTS = Asset("maturity://warehouse/marts")
PUBLISHED = Asset("maturity://published/marts")

DOC = """
### Digital-maturity pipeline
Ingests the landing area (`MATURITY_LANDING_DIR` or Airflow Variable `maturity_landing_dir`) into the
DuckDB `raw` schema of `MATURITY_WAREHOUSE_DIR`: reference data first, then HR extracts (the org trees
the surveys are placed in), then survey waves and the project portfolio. Unchanged snapshots are skipped.
A bad landing file fails its task at once (no retries) with one sentence naming the file.
Then the raw gate (Great Expectations) checks the raw tables, `dbt build` computes the maturity and gap
marts (SPEC §3) with its tests, the mart gate validates the staged copy (GX + the §3.9 privacy audit),
the direktion reports are rendered, and `publish` switches the published set in one rename. A blocked
gate publishes nothing; the last good version stays.
"""


@dag(
    dag_id="maturity_pipeline",
    schedule=None,
    start_date=datetime(2022, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["maturity", "ingest"],
    doc_md=DOC,
    default_args={"owner": "data-team", "retries": 2, "retry_delay": timedelta(seconds=30),
                  "retry_exponential_backoff": True},
)
def maturity_pipeline():
    @task(outlets=[RAW["reference"]])
    def ingest_reference(**context) -> dict:
        """reference/dimensions.csv → raw.dimensions"""
        return tasks.ingest("reference", context["run_id"])

    @task(outlets=[RAW["hr"]])
    def ingest_hr(**context) -> dict:
        """hr/<date>/ (SD Løn) → raw.org_units, raw.employments, raw.team_memberships (pseudonymised)"""
        return tasks.ingest("hr", context["run_id"])

    @task(outlets=[RAW["surveys"]])
    def ingest_surveys(**context) -> dict:
        """surveys/<wave>/ (SurveyXact) → raw.survey_* (needs the dimensions and the HR org trees)"""
        return tasks.ingest("surveys", context["run_id"])

    @task(outlets=[RAW["projects"]])
    def ingest_projects(**context) -> dict:
        """projects/<date>/portfolio → raw.projects (needs the dimensions)"""
        return tasks.ingest("projects", context["run_id"])

    @task
    def raw_gate(**context) -> dict:
        """Great Expectations suites on the raw tables (expectations/raw_*.json); errors block the run"""
        return tasks.raw_gate(context["run_id"])

    @task(outlets=[MARTS])
    def dbt_build(**context) -> dict:
        """dbt build: staging → intermediate → the SPEC §4 marts, with every dbt data test"""
        return tasks.transform(context["run_id"])

    @task
    def mart_gate(**context) -> dict:
        """Stage the marts as the next version; GX suites (expectations/mart_*.json) + §3.9 privacy audit"""
        return tasks.mart_gate(context["run_id"])

    @task
    def report(**context) -> dict:
        """Danish direktion report per wave (HTML + PDF) from the staged, validated marts"""
        return tasks.report(context["run_id"])

    @task(outlets=[PUBLISHED])
    def publish(**context) -> dict:
        """Switch published/ (maturity.duckdb, parquet/, reports/) to the validated version in one rename"""
        return tasks.publish(context["run_id"])

    # One chain, not a fan-out: DuckDB allows one writing process per file, and surveys need the
    # dimensions and the HR org trees, projects the dimensions.
    (ingest_reference() >> ingest_hr() >> ingest_surveys() >> ingest_projects() >> raw_gate() >> dbt_build()
     >> mart_gate() >> report() >> publish())


maturity_pipeline()
