"""Airflow DAG `maturity_ingest`: landing area → DuckDB `raw`, then the raw gate.

Wiring only: every task calls the `maturity` package (include/), which is tested without a scheduler.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from maturity import tasks
from maturity.orchestration.assets import LANDING, RAW
from maturity.orchestration.chain import chain_of, emit
from maturity.orchestration.defaults import DEFAULT_ARGS, START, TAGS

DOC = """
### Ingest: landing → raw (first of four chained DAGs)
Runs by itself when a new drop lands in `MATURITY_LANDING_DIR` (the `maturity_landing` Asset's watcher
in the triggerer polls the folder every `MATURITY_LANDING_POLL_SECONDS`, default 30, and waits until a
copy has settled), or when triggered. Reference data first, then the HR extracts (the org trees the
surveys are placed in), then the survey waves and the project portfolio; unchanged snapshots are
skipped, CPR numbers and names are pseudonymised before DuckDB. A bad landing file fails its task at
once (no retries) with one sentence naming the file. The raw gate (Great Expectations) then checks the
raw tables. `raw_ready` updates the `maturity_raw` Asset only when the marts must change, which starts
`maturity_transform` → `maturity_publish` → `maturity_report`.

**Params** — `wave`: re-run (or backfill) one survey wave: its snapshot is reloaded from the landing
area and the marts, the published version and the reports are rebuilt. `force`: rebuild and republish
even when nothing changed.
"""


@dag(
    dag_id="maturity_ingest",
    schedule=[LANDING],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=[*TAGS, "ingest"],
    doc_md=DOC,
    default_args=DEFAULT_ARGS,
    params={
        "wave": Param(None, type=["null", "string"], description="Survey wave to reload and rebuild, e.g. T2"),
        "force": Param(False, type="boolean", description="Rebuild and republish even if nothing changed"),
    },
)
def maturity_ingest():
    @task(pool="maturity_warehouse")
    def prepare(**context) -> dict:
        """Chain id and params; a `wave` re-run forgets that wave's snapshot so it is reloaded"""
        chain = chain_of(context)
        if chain["wave"]:
            tasks.forget_wave(chain["wave"])
            chain["force"] = True
        return chain

    @task(pool="maturity_warehouse")
    def ingest_reference(chain: dict) -> dict:
        """reference/dimensions.csv → raw.dimensions"""
        return tasks.ingest("reference", chain["chain_run_id"])

    @task(pool="maturity_warehouse")
    def ingest_hr(chain: dict) -> dict:
        """hr/<date>/ (SD Løn) → raw.org_units, raw.employments, raw.team_memberships (pseudonymised)"""
        return tasks.ingest("hr", chain["chain_run_id"])

    @task(pool="maturity_warehouse")
    def ingest_surveys(chain: dict) -> dict:
        """surveys/<wave>/ (SurveyXact) → raw.survey_* (needs the dimensions and the HR org trees)"""
        return tasks.ingest("surveys", chain["chain_run_id"])

    @task(pool="maturity_warehouse")
    def ingest_projects(chain: dict) -> dict:
        """projects/<date>/portfolio → raw.projects (needs the dimensions)"""
        return tasks.ingest("projects", chain["chain_run_id"])

    @task(pool="maturity_warehouse")
    def raw_gate(chain: dict) -> dict:
        """Great Expectations suites on the raw tables (expectations/raw_*.json); errors block the chain"""
        return tasks.raw_gate(chain["chain_run_id"])

    @task(outlets=[RAW])
    def raw_ready(chain: dict, **context) -> dict:
        """Update the raw Asset (→ maturity_transform) unless the marts would come out the same"""
        outcome = tasks.raw_ready(chain)
        emit(context, RAW, chain, inputs=outcome["inputs"])
        return outcome

    chain = prepare()
    # One chain, not a fan-out: DuckDB allows one writing process per file, and surveys need the
    # dimensions and the HR org trees, projects the dimensions.
    steps = [ingest_reference(chain), ingest_hr(chain), ingest_surveys(chain), ingest_projects(chain),
             raw_gate(chain), raw_ready(chain)]
    for before, after in zip(steps, steps[1:], strict=False):
        before >> after


maturity_ingest()
