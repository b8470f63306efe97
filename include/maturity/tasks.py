"""What each DAG task does, as plain functions: testable without a scheduler.

The DAG file only wires these together. Each task records what it did as JSON under
`<warehouse>/runs/<run_id>/`, which is how `maturity run` prints its summary and its one-sentence
error without parsing Airflow logs.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from maturity.errors import MaturityError
from maturity.settings import Settings, load_settings

log = logging.getLogger("maturity")


def airflow_settings() -> Settings:
    """Settings inside a task: environment first, then Airflow Variables (`maturity_landing_dir`, …)."""
    from airflow.sdk import Variable

    def lookup(name: str) -> str | None:
        try:
            return Variable.get(name, default=None)
        except Exception:  # noqa: BLE001 - no metadata DB/API reachable: fall back to the environment
            return None

    return load_settings(lookup=lookup)


def run_dir(settings: Settings, run_id: str) -> Path:
    safe = re.sub(r"[^0-9A-Za-z_.+-]", "_", run_id)
    path = settings.runs_dir / safe
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(settings: Settings, run_id: str, name: str, payload: dict) -> None:
    (run_dir(settings, run_id) / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))


def ingest(source: str, run_id: str, settings: Settings | None = None) -> dict:
    """Ingest one landing source; data problems end the task without retries (they would fail again)."""
    from maturity.ingest.run import ingest_source

    settings = settings or airflow_settings()
    try:
        report = ingest_source(settings, source, progress=log.info).as_dict()
    except MaturityError as exc:
        record(settings, run_id, f"ingest_{source}", {"source": source, "status": "failed", "error": str(exc)})
        _fail(str(exc))
    record(settings, run_id, f"ingest_{source}", {"status": "ok", **report})
    return report


def _fail(message: str) -> None:
    """Fail the task for good: a bad landing file or configuration is not fixed by retrying."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


def transform(run_id: str, settings: Settings | None = None) -> dict:
    """dbt build: staging → intermediate → marts with every dbt test."""
    from maturity.transform import build, inputs_fingerprint, marts_are_current, record_marts

    settings = settings or airflow_settings()
    fingerprint = inputs_fingerprint(settings)
    if marts_are_current(settings, fingerprint):
        log.info("Nothing changed since the marts were built (same snapshots, same dbt project): dbt skipped.")
        record(settings, run_id, "transform", {"status": "unchanged"})
        return {"status": "unchanged"}
    try:
        lines = build(settings, run_id=run_id, progress=log.info)
    except MaturityError as exc:
        record(settings, run_id, "transform", {"status": "failed", "error": str(exc)})
        _fail(str(exc))
    record_marts(settings, fingerprint, run_id)
    summary = next((ln for ln in reversed(lines) if "PASS=" in ln), "").strip()
    record(settings, run_id, "transform", {"status": "ok", "summary": summary})
    return {"status": "built", "summary": summary}


def publish(run_id: str, settings: Settings | None = None) -> dict:
    """Stage the marts in a new version, then switch the published set to it in one rename."""
    from maturity.publish import current_version, promote, stage

    settings = settings or airflow_settings()
    built = json.loads((run_dir(settings, run_id) / "transform.json").read_text())
    current = current_version(settings)
    if built.get("status") == "unchanged" and current is not None:
        log.info("The marts did not change; published version %s stays.", current.name)
        record(settings, run_id, "publish", {"status": "unchanged", "version": current.name})
        return {"status": "unchanged", "version": current.name}
    try:
        version = promote(settings, stage(settings, run_id))
    except MaturityError as exc:
        record(settings, run_id, "publish", {"status": "failed", "error": str(exc)})
        _fail(str(exc))
    record(settings, run_id, "publish", {"status": "ok", "version": version.name, "path": str(version.path)})
    return {"status": "published", "version": version.name}
