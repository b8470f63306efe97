"""What the Airflow DAGs share: the Assets that chain them, the run context, alerts and the dbt group.

The DAG files in dags/ only wire tasks; everything they need lives here so it is importable (and
testable) without a scheduler.
"""

#: The DAGs in the order their Assets chain them.
CHAIN = ("maturity_ingest", "maturity_transform", "maturity_publish", "maturity_report")
