"""What each DAG task does, as plain functions: testable without a scheduler.

The DAG file only wires these together. Each task records what it did as JSON under
`<warehouse>/runs/<run_id>/`, which is how `maturity run` prints its summary and its one-sentence
error without parsing Airflow logs; the gates write their full results under
`<warehouse>/validation/<run_id>/` (JSON and a readable HTML page).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

from maturity.errors import MaturityError
from maturity.settings import PROJECT_ROOT, Settings, load_settings

log = logging.getLogger("maturity")
STATE_FILE = "gates.state.json"


def airflow_settings() -> Settings:
    """Settings inside a task: environment first, then Airflow Variables (`maturity_landing_dir`, …)."""
    from airflow.sdk import Variable

    def lookup(name: str) -> str | None:
        try:
            return Variable.get(name, default=None)
        except Exception:  # noqa: BLE001 - no metadata DB/API reachable: fall back to the environment
            return None

    return load_settings(lookup=lookup)


def _safe(run_id: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.+-]", "_", run_id)


def run_dir(settings: Settings, run_id: str) -> Path:
    path = settings.runs_dir / _safe(run_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def validation_dir(settings: Settings, run_id: str) -> Path:
    path = settings.warehouse_dir / "validation" / _safe(run_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def gate_cache_dir(settings: Settings) -> Path:
    """Where the gates keep results they may reuse when their inputs have not changed (see the gates)."""
    return settings.warehouse_dir / "validation" / "cache"


def record(settings: Settings, run_id: str, name: str, payload: dict) -> None:
    (run_dir(settings, run_id) / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))


def recorded(settings: Settings, run_id: str, name: str) -> dict:
    path = run_dir(settings, run_id) / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _fail(message: str) -> None:
    """Fail the task for good: a bad landing file, configuration or gate is not fixed by retrying."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


def _state(settings: Settings) -> dict:
    path = settings.warehouse_dir / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _save_state(settings: Settings, **values: str) -> None:
    (settings.warehouse_dir / STATE_FILE).write_text(json.dumps({**_state(settings), **values}, indent=2))


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


def _raw_fingerprint(settings: Settings) -> str:
    """The loaded snapshots plus the raw suites: equal means the raw gate would give the same verdict."""
    from maturity import duck

    h = hashlib.sha256()
    con = duck.connect(settings.warehouse_db, read_only=True)
    try:
        h.update(repr(con.execute("SELECT * FROM raw.snapshots ORDER BY ALL").fetchall()).encode())
    finally:
        con.close()
    for path in sorted((PROJECT_ROOT / "expectations").glob("raw_*.json")):
        h.update(path.read_bytes())
    return h.hexdigest()


def _gate_outcome(settings: Settings, run_id: str, name: str, result) -> dict:
    payload = {"status": "ok" if result.passed else "failed", "errors": len(result.errors),
               "warnings": len(result.warnings), "summary": result.summary(), "html": str(result.html_path)}
    if not result.passed:
        payload["error"] = result.blocking_sentence()
    record(settings, run_id, name, payload)
    for line in result.summary().splitlines():
        log.info(line)
    return payload


def raw_gate(run_id: str, settings: Settings | None = None) -> dict:
    """Great Expectations on the raw tables, after ingest and before dbt; errors block the run."""
    from maturity.gates import run_raw_gate

    settings = settings or airflow_settings()
    fingerprint = _raw_fingerprint(settings)
    if _state(settings).get("raw_gate_passed") == fingerprint:
        log.info("Raw data and raw suites unchanged since the raw gate last passed: gate not re-run.")
        record(settings, run_id, "raw_gate", {"status": "unchanged"})
        return {"status": "unchanged"}
    result = run_raw_gate(settings.warehouse_db, validation_dir(settings, run_id), cache_dir=gate_cache_dir(settings))
    outcome = _gate_outcome(settings, run_id, "raw_gate", result)
    if not result.passed:
        _fail(outcome["error"])
    _save_state(settings, raw_gate_passed=fingerprint)
    return outcome


def _skip(message: str) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    raise AirflowSkipException(message)


def forget_wave(wave_id: str, settings: Settings | None = None) -> bool:
    """Make the next ingest reload one survey wave even if its files did not change (re-run / backfill)."""
    from maturity import duck

    settings = settings or airflow_settings()
    if not settings.warehouse_db.exists():
        return False
    con = duck.connect(settings.warehouse_db)
    try:
        found = con.execute("SELECT count(*) FROM raw.snapshots WHERE source = 'surveys' AND snapshot_key = ?",
                            [wave_id]).fetchone()[0]
        con.execute("DELETE FROM raw.snapshots WHERE source = 'surveys' AND snapshot_key = ?", [wave_id])
    finally:
        con.close()
    log.info("Wave %s %s", wave_id, "will be reloaded from the landing area" if found else "was not loaded before")
    return bool(found)


def raw_ready(chain: dict, settings: Settings | None = None) -> dict:
    """Decide whether the marts must be rebuilt; skipping emits no raw Asset event, so the chain ends here.

    Rebuild when the loaded snapshots, the dbt project or the privacy rule changed since the last
    published build (see `transform.inputs_fingerprint`), when nothing is published yet, or when the
    run was started with `force` / `wave`.
    """
    from maturity.transform import inputs_fingerprint, marts_are_current

    settings = settings or airflow_settings()
    fingerprint = inputs_fingerprint(settings)
    run_id = chain["chain_run_id"]
    if marts_are_current(settings, fingerprint) and _current_published(settings) and not chain.get("force"):
        record(settings, run_id, "raw_ready", {"status": "unchanged"})
        _skip("Nothing changed since the last published build: the marts stay as they are.")
    record(settings, run_id, "raw_ready", {"status": "changed", "inputs": fingerprint})
    return {"inputs": fingerprint}


def prepare_transform(chain: dict, settings: Settings | None = None) -> dict:
    """What the dbt task group needs: the chain id for the marts' run_id, the warehouse to build in and the
    code fingerprint the incremental models key their waves on."""
    from maturity.transform import code_fingerprint, inputs_fingerprint

    settings = settings or airflow_settings()
    fingerprint = inputs_fingerprint(settings)
    record(settings, chain["chain_run_id"], "transform", {"status": "running", "inputs": fingerprint})
    return {**chain, "warehouse_dir": str(settings.warehouse_dir), "inputs": fingerprint,
            "code_key": code_fingerprint()}


def transform_outcome(chain: dict, producer_status: str | None, node_statuses: dict[str, str],
                      settings: Settings | None = None) -> dict:
    """Record how the dbt build ended; fail with one sentence naming the failed models and tests."""
    settings = settings or airflow_settings()
    run_id = chain["chain_run_id"]
    previous = recorded(settings, run_id, "transform")
    failed = sorted(uid for uid, status in node_statuses.items() if status in ("failed", "error", "fail"))
    if producer_status == "completed" and not failed:
        record(settings, run_id, "transform", {**previous, "status": "ok", "nodes": len(node_statuses)})
        return {"status": "built", "nodes": len(node_statuses)}
    names = ", ".join(f"{uid.split('.')[0]} {uid.split('.')[2]}" for uid in failed[:5]) \
        or "see the dbt_producer_watcher log"
    message = f"dbt build failed, so nothing new is published: {names}."
    record(settings, run_id, "transform", {**previous, "status": "failed", "error": message})
    _fail(message)
    return {}


def _current_published(settings: Settings) -> bool:
    from maturity.publish import current_version

    return current_version(settings) is not None


def mart_gate(run_id: str, settings: Settings | None = None) -> dict:
    """Stage the marts as the next version and validate the staged copy (GX + the §3.9 privacy audit)."""
    from maturity.gates import run_mart_gate
    from maturity.publish import current_version, discard, stage

    settings = settings or airflow_settings()
    try:
        staging = stage(settings, run_id)
    except MaturityError as exc:
        record(settings, run_id, "mart_gate", {"status": "failed", "error": str(exc)})
        _fail(str(exc))
    previous = current_version(settings)
    result = run_mart_gate(staging / "parquet", previous.parquet if previous else None,
                           validation_dir(settings, run_id), settings.warehouse_db, run_id=run_id,
                           cache_dir=gate_cache_dir(settings))
    outcome = _gate_outcome(settings, run_id, "mart_gate", result)
    if not result.passed:
        discard(staging)
        _fail(outcome["error"])
    return outcome


def publish(run_id: str, settings: Settings | None = None) -> dict:
    """Switch the published marts (DuckDB file + Parquet) to this run's validated version."""
    from maturity.publish import promote, staging_dir
    from maturity.transform import record_marts

    settings = settings or airflow_settings()
    version = promote(settings, staging_dir(settings, run_id))
    # Only a published build counts as current: after a blocked gate the next run rebuilds and re-checks.
    record_marts(settings, recorded(settings, run_id, "transform")["inputs"], run_id)
    record(settings, run_id, "publish", {"status": "ok", "version": version.name, "path": str(version.path)})
    return {"status": "published", "version": version.name}


def report(run_id: str, settings: Settings | None = None, wave_id: str | None = None) -> dict:
    """Render the direktion reports (HTML, and PDF when Chromium is installed) from the published marts.

    Only the waves whose report inputs changed are rendered (`maturity.report_inputs`: e.g. none after
    a rebuild of identical marts), plus `wave_id` when given. They replace the published version's
    report set in one rename; until then (a few seconds after a publish) that set is the previous
    version's reports, each stamped with the run it was made from.
    """
    from maturity.publish import current_version, replace_reports, reports_dir
    from maturity.report import render_reports
    from maturity.report.pdf import find_chromium
    from maturity.report_inputs import STATE, stale_waves

    settings = settings or airflow_settings()
    version = current_version(settings)
    if version is None:
        _fail(f"Nothing is published in {settings.warehouse_dir / 'published'}; there is nothing to report on.")
    gate = recorded(settings, version.info["run_id"], "mart_gate")
    quality = {"status": gate.get("status", "ok"), "warnings": gate.get("warnings", 0),
               "errors": gate.get("errors", 0), "run_id": version.info["run_id"]}
    try:
        find_chromium()
        pdf = True
    except MaturityError as exc:
        log.warning("%s The reports are written as HTML only.", exc)
        pdf = False
    stale, state = stale_waves(version.duckdb, reports_dir(version.path), pdf)
    waves = list(state["waves"])
    if wave_id:
        if wave_id not in waves:
            _fail(f"Wave {wave_id} is not in the published marts (waves: {', '.join(waves)}).")
        stale = [w for w in waves if w in stale or w == wave_id]
    if not stale:
        log.info("Every report's inputs are unchanged since it was rendered: nothing to render.")
        record(settings, run_id, "report", {"status": "unchanged", "version": version.name})
        return {"status": "unchanged", "files": 0, "version": version.name}
    log.info("Rendering the report(s) for %s; keeping %s", ", ".join(stale),
             ", ".join(w for w in waves if w not in stale) or "none")

    def render(out: Path) -> list[Path]:
        # One call: one Chromium prints every PDF, and the waves render in parallel.
        paths = render_reports(version.duckdb, out, wave_id=stale, quality=quality, pdf=pdf)
        (out / STATE).write_text(json.dumps(state, indent=2))
        return paths

    current = {f"direktion_{w}.{ext}" for w in waves for ext in ("html", "pdf")}
    try:
        paths = replace_reports(version, render, keep=current.__contains__)
    except MaturityError as exc:
        record(settings, run_id, "report", {"status": "failed", "error": str(exc)})
        _fail(str(exc))
    record(settings, run_id, "report", {"status": "ok", "files": [p.name for p in paths], "pdf": pdf,
                                        "rendered": stale, "version": version.name})
    return {"status": "rendered", "files": len(paths), "waves": stale, "version": version.name}
