"""The pieces the DAGs share, run for real without a scheduler: the landing watcher trigger (its async
generator driven by asyncio), the failure alert (posted to a real local HTTP server), the chain id
hand-over and the report switch of a published version."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from maturity.landing_watch import LandingDropTrigger, landing_listing, read_state


class _Events:
    """Drive a trigger's async generator in the background, as the triggerer does, collecting its events."""

    def __init__(self, trigger) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._pump(trigger))

    async def _pump(self, trigger) -> None:
        async for event in trigger.run():
            await self.queue.put(event)

    async def next(self, timeout: float):
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def none_within(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        assert self.queue.empty(), f"unexpected event {self.queue.get_nowait().payload}"

    async def stop(self) -> None:
        self.task.cancel()


def _drop(landing: Path, rel: str, text: str = "a;b\n1;2\n") -> None:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_landing_trigger_fires_once_per_settled_new_drop(tmp_path: Path) -> None:
    landing, state = tmp_path / "landing", tmp_path / "wh" / "landing.watch.json"
    trigger = LandingDropTrigger(landing_dir=str(landing), state_file=str(state), poke_interval=0.05)

    async def scenario() -> list:
        watch = _Events(trigger)
        await watch.none_within(0.3)  # nothing landed yet
        _drop(landing, "reference/dimensions.csv")
        events = [await watch.next(5)]
        await watch.none_within(0.3)  # the same state again: no second event
        # Partial copies and editor leftovers are ignored; a new HR extract is one new drop.
        _drop(landing, "hr/2026-11-01/.employees.csv.part")
        _drop(landing, "hr/2026-11-01/~$portfolio.xlsx")
        await watch.none_within(0.3)
        _drop(landing, "hr/2026-11-01/employees.csv")
        events.append(await watch.next(5))
        await watch.stop()
        return events

    events = asyncio.run(scenario())
    assert [e.payload["files"] for e in events] == [1, 2]
    assert events[0].payload["landing_fingerprint"] != events[1].payload["landing_fingerprint"]
    # Remembered across triggerer restarts: a new trigger does not fire for the drop already seen.
    assert read_state(state) == events[1].payload["landing_fingerprint"]

    async def restarted() -> None:
        watch = _Events(LandingDropTrigger(str(landing), str(state), poke_interval=0.05))
        await watch.none_within(0.4)
        await watch.stop()

    asyncio.run(restarted())


def test_landing_trigger_waits_until_a_copy_has_settled(tmp_path: Path) -> None:
    """A file still growing between polls is not a drop yet."""
    landing = tmp_path / "landing"
    _drop(landing, "surveys/T9/dataset.csv", "x\n")
    trigger = LandingDropTrigger(str(landing), str(tmp_path / "state.json"), poke_interval=0.2)
    stop = threading.Event()

    def keep_writing() -> None:
        with open(landing / "surveys/T9/dataset.csv", "a") as fh:
            while not stop.is_set():
                fh.write("more\n")
                fh.flush()
                time.sleep(0.05)

    writer = threading.Thread(target=keep_writing)
    writer.start()

    async def scenario():
        watch = _Events(trigger)
        try:
            await watch.none_within(1.0)
            stop.set()
            return await watch.next(5)
        finally:
            await watch.stop()

    try:
        event = asyncio.run(scenario())
    finally:
        stop.set()
        writer.join()
    assert event.payload["landing_fingerprint"] == landing_listing(landing)[0]


def test_landing_trigger_serializes_for_the_triggerer(tmp_path: Path) -> None:
    trigger = LandingDropTrigger(str(tmp_path), str(tmp_path / "s.json"), poke_interval=7)
    path, kwargs = trigger.serialize()
    module, _, name = path.rpartition(".")
    rebuilt = getattr(__import__(module, fromlist=[name]), name)(**kwargs)
    assert rebuilt.serialize() == (path, kwargs)


class _Capture(BaseHTTPRequestHandler):
    bodies: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        _Capture.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _context(task_id: str, error: Exception, task=None) -> dict:
    ti = SimpleNamespace(task_id=task_id, dag_id="maturity_publish", try_number=1)
    return {"ti": ti, "task": task or SimpleNamespace(), "run_id": "manual__x", "exception": error}


def test_failure_alert_is_one_sentence_in_the_log_and_on_the_webhook(monkeypatch, caplog) -> None:
    from maturity.orchestration import alerts

    server = HTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Capture.bodies.clear()
    monkeypatch.setenv(alerts.ENV_WEBHOOK, f"http://127.0.0.1:{server.server_port}/hook")
    monkeypatch.delenv(alerts.ENV_EMAIL, raising=False)
    try:
        with caplog.at_level("ERROR", logger="maturity.alerts"):
            alerts.on_failure(_context("mart_gate", RuntimeError("Mart gate blocked: fct_maturity_scores has 0 rows.\n"
                                                                 "Traceback lines …")))
        # A Cosmos sensor only mirrors the dbt build's failure: no second alert.
        alerts.on_failure(_context("dbt.fct_maturity_scores_run", RuntimeError("x"),
                                   task=SimpleNamespace(producer_task_id="dbt.dbt_producer_watcher")))
        # Nor the build itself: `marts_built` alerts once, naming the failed models and tests.
        alerts.on_failure(_context("dbt.dbt_producer_watcher", RuntimeError("dbt command failed")))
    finally:
        server.shutdown()
    expected = ("Maturity pipeline: task maturity_publish.mart_gate failed (run manual__x, try 1): "
                "Mart gate blocked: fct_maturity_scores has 0 rows.")
    assert _Capture.bodies == [{"text": expected}]
    assert [r.getMessage() for r in caplog.records] == [expected]


def test_an_unreachable_alert_channel_never_raises(monkeypatch, caplog) -> None:
    from maturity.orchestration import alerts

    monkeypatch.setenv(alerts.ENV_WEBHOOK, "http://127.0.0.1:9/unreachable")
    monkeypatch.setenv(alerts.ENV_EMAIL, "data-team@example.invalid")
    monkeypatch.setenv(alerts.ENV_SMTP, "127.0.0.1:9")
    with caplog.at_level("WARNING", logger="maturity.alerts"):
        alerts.on_failure(_context("ingest_hr", ValueError("hr/2026-01-01/employees.csv: no CPR column")))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and all("Could not send the alert" in w for w in warnings)


def test_chain_id_comes_from_conf_then_asset_event_then_the_run_itself() -> None:
    from maturity.orchestration.chain import chain_of

    base = {"run_id": "asset_triggered__2", "params": {}}
    conf = {**base, "dag_run": SimpleNamespace(conf={"chain_run_id": "manual__1", "force": True, "wave": None})}
    assert chain_of(conf) == {"chain_run_id": "manual__1", "force": True, "wave": None}
    events = {"maturity_raw": [SimpleNamespace(extra={"chain_run_id": "old"}),
                               SimpleNamespace(extra={"chain_run_id": "manual__7", "force": False, "wave": "T2"})]}
    by_event = {**base, "dag_run": SimpleNamespace(conf={}), "triggering_asset_events": events}
    assert chain_of(by_event) == {"chain_run_id": "manual__7", "force": False, "wave": "T2"}
    own = {**base, "dag_run": SimpleNamespace(conf=None), "params": {"wave": "T3", "force": False}}
    assert chain_of(own) == {"chain_run_id": "asset_triggered__2", "force": False, "wave": "T3"}


def test_replace_reports_switches_the_set_in_one_rename_and_keeps_other_waves(tmp_path: Path) -> None:
    from maturity.publish import Version, replace_reports

    version = Version(tmp_path / "v1")
    (version.path / "reports-old").mkdir(parents=True)
    for wave in ("T0", "T1"):
        (version.path / "reports-old" / f"direktion_{wave}.html").write_text(f"old {wave}")
    (version.path / "reports").symlink_to("reports-old", target_is_directory=True)
    held = open(version.path / "reports" / "direktion_T1.html")  # noqa: SIM115 - a reader holding the old report

    def render(out: Path) -> list[Path]:
        (out / "direktion_T1.html").write_text("new T1")
        return [out / "direktion_T1.html"]

    paths = replace_reports(version, render)
    reports = version.path / "reports"
    assert reports.is_symlink() and paths == [reports.resolve() / "direktion_T1.html"]
    assert (reports / "direktion_T1.html").read_text() == "new T1"
    assert (reports / "direktion_T0.html").read_text() == "old T0"  # kept (hard link)
    assert held.read() == "old T1"  # the open file was never rewritten in place
    held.close()
    assert sorted(p.name for p in version.path.iterdir()) == ["reports", os.readlink(reports)]

    def broken(out: Path) -> list[Path]:
        raise RuntimeError("chromium crashed")

    before = os.readlink(reports)
    with pytest.raises(RuntimeError):
        replace_reports(version, broken)
    assert os.readlink(reports) == before and sorted(p.name for p in version.path.iterdir()) == ["reports", before]


def test_a_failed_dbt_build_ends_with_one_sentence_naming_the_failed_nodes(tmp_path: Path) -> None:
    from airflow.sdk.exceptions import AirflowFailException
    from maturity import tasks
    from maturity.settings import Settings

    settings = Settings(tmp_path / "landing", tmp_path / "wh")
    chain = {"chain_run_id": "manual__9", "force": False, "wave": None}
    tasks.record(settings, "manual__9", "transform", {"status": "running", "inputs": "abc"})
    statuses = {"model.maturity.fct_maturity_scores": "success",
                "test.maturity.not_null_fct_gap_priorities_gap.1a2b": "failed",
                "model.maturity.rpt_direktion_scorecard": "failed"}
    with pytest.raises(AirflowFailException) as failed:
        tasks.transform_outcome(chain, "failed", statuses, settings=settings)
    assert str(failed.value) == ("dbt build failed, so nothing new is published: "
                                 "model rpt_direktion_scorecard, test not_null_fct_gap_priorities_gap.")
    assert tasks.recorded(settings, "manual__9", "transform") == {
        "status": "failed", "inputs": "abc", "error": str(failed.value)}
    ok = tasks.transform_outcome(chain, "completed", {}, settings=settings)
    assert ok["status"] == "built" and tasks.recorded(settings, "manual__9", "transform")["status"] == "ok"


_SERVED_VERSIONS = """
import json, httpx
from airflow.sdk.api.datamodels._generated import API_VERSION
from airflow.sdk.execution_time.supervisor import in_process_api_server
from maturity.inprocess_api import serve_client_version_only

trimmed = serve_client_version_only()
api = in_process_api_server()
older = str(api.app.versions.versions[1].value)
client = httpx.Client(transport=api.transport, base_url="http://in-process.invalid./")
status = {v: client.get("/health", headers={"airflow-api-version": v}).status_code for v in (API_VERSION, older)}
print(json.dumps({"trimmed": trimmed, "status": status, "client": API_VERSION, "older": older,
                  "second_call": serve_client_version_only()}))
"""


def test_in_process_api_serves_the_task_runners_version_and_only_that(tmp_path: Path) -> None:
    """`maturity run`'s embedded execution API builds the version the Task SDK client sends (a request
    with it is served) and no older one (those routes were never built: 404)."""
    import subprocess
    import sys

    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}"}
    out = subprocess.run([sys.executable, "-c", _SERVED_VERSIONS], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["trimmed"] is True
    assert got["status"] == {got["client"]: 200, got["older"]: 404}
    assert got["second_call"] is False  # already serving: left as it is
