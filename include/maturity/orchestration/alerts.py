"""One readable alert per failed task: always in the log; by webhook or e-mail when configured.

Configured by environment (off by default): `MATURITY_ALERT_WEBHOOK` (an https URL that receives a
JSON `{"text": …}` POST — Teams, Slack and Mattermost incoming webhooks accept this) and
`MATURITY_ALERT_EMAIL` (comma-separated addresses; sent through `MATURITY_SMTP_HOST`, default
localhost:25). A failing alert channel is logged, never raised: it must not hide the task's own error.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

log = logging.getLogger("maturity.alerts")

ENV_WEBHOOK = "MATURITY_ALERT_WEBHOOK"
ENV_EMAIL = "MATURITY_ALERT_EMAIL"
ENV_SMTP = "MATURITY_SMTP_HOST"


def alert_text(context: dict[str, Any]) -> str | None:
    """The alert sentence for a failed task, or None for a task that only mirrors another's failure."""
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", "?")
    if hasattr(context.get("task"), "producer_task_id"):
        return None  # a Cosmos sensor mirrors the one dbt build: when the build fails it fails with it
    if task_id.endswith(".dbt_producer_watcher"):
        return None  # `marts_built` runs after it in any case and alerts naming the failed models and tests
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    error = context.get("exception")
    reason = str(error).strip().splitlines()[0] if error else "see the task log"
    return (f"Maturity pipeline: task {dag_id}.{task_id} failed (run {context.get('run_id', '?')}, "
            f"try {getattr(ti, 'try_number', '?')}): {reason}")


def _post_webhook(url: str, text: str) -> None:
    request = urllib.request.Request(url, data=json.dumps({"text": text}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - configured https endpoint
        response.read()


def _send_email(addresses: str, text: str) -> None:
    message = EmailMessage()
    message["Subject"] = text[:120]
    message["From"] = os.environ.get("MATURITY_ALERT_FROM", "maturity-pipeline@localhost")
    message["To"] = addresses
    message.set_content(text)
    host, _, port = os.environ.get(ENV_SMTP, "localhost:25").partition(":")
    with smtplib.SMTP(host, int(port or 25), timeout=10) as smtp:
        smtp.send_message(message)


def on_failure(context: dict[str, Any]) -> None:
    """Airflow `on_failure_callback` for every task of the maturity DAGs."""
    text = alert_text(context)
    if text is None:
        return
    log.error(text)
    for env, send in ((ENV_WEBHOOK, _post_webhook), (ENV_EMAIL, _send_email)):
        target = os.environ.get(env)
        if not target:
            continue
        try:
            send(target, text)
        except Exception as exc:  # noqa: BLE001 - an alert channel must never mask the task's failure
            log.warning("Could not send the alert via %s: %s", env, exc)
