"""Arguments every maturity DAG shares."""

from __future__ import annotations

from datetime import datetime, timedelta

from maturity.orchestration.alerts import on_failure

START = datetime(2022, 1, 1)
TAGS = ["maturity"]

# Retries with back-off are for transient trouble (a locked file, a killed worker). Data problems —
# a bad landing file, a blocked gate — end the task with AirflowFailException, which is never retried.
DEFAULT_ARGS = {
    "owner": "data-team",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "on_failure_callback": on_failure,
}
