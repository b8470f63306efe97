"""Airflow DAG `maturity_report`: the Danish direktion report per wave from the published marts.

Wiring only: every task calls the `maturity` package (include/).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from maturity import tasks
from maturity.orchestration.assets import PUBLISHED, REPORTS
from maturity.orchestration.chain import chain_of, emit
from maturity.orchestration.defaults import DEFAULT_ARGS, START, TAGS

DOC = """
### Report: published → direktion report (last of four chained DAGs)
Runs when `maturity_publish` updates the `maturity_published` Asset, or when triggered (e.g. to re-render
one wave after a template change: param `wave`). Renders `direktion_<wave>.html` and, with Chromium,
`.pdf` for every wave from the published read-only marts and switches `published/reports/` to the new
set in one rename. Suppressed cells show as "<5"; the report names the run whose marts it shows.
"""


@dag(
    dag_id="maturity_report",
    schedule=[PUBLISHED],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=[*TAGS, "report"],
    doc_md=DOC,
    default_args=DEFAULT_ARGS,
    params={"wave": Param(None, type=["null", "string"], description="Render only this wave, e.g. T2")},
)
def maturity_report():
    @task(outlets=[REPORTS])
    def report(**context) -> dict:
        """direktion_<wave>.html (+ .pdf) into published/reports/, switched in one rename"""
        chain = chain_of(context)
        outcome = tasks.report(chain["chain_run_id"], wave_id=chain["wave"])
        emit(context, REPORTS, chain, files=outcome["files"])
        return outcome

    report()


maturity_report()
