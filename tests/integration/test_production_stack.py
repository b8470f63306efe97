"""The production configuration, run for real: Postgres metadata DB, CeleryExecutor with a Redis broker.

No Docker engine here, so the docker-compose services run as processes (`maturity.stack`): api-server
on 127.0.0.1, scheduler, dag-processor, triggerer and a Celery worker, on a fresh Postgres database
and a Redis DB index of their own. A demo landing area (haderslev scale) is in place; the first DAG is
triggered through the REST API v2 (JWT from SimpleAuthManager's `/auth/token`), and the Asset chain
must run to the last DAG and publish the marts and the direktion reports. Then one more landing drop
arrives, nobody triggers anything, and the chain must run again by itself (the landing Asset's
watcher) and publish a new version. Finally every process the stack started must be gone.

The DAG ids are the constants below; the waiting is generic over CHAIN (fail fast, with the component
log tails and the failed tasks' log tails, when any run of the chain fails).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psutil
import pytest
from maturity.landing_watch import STATE_FILE, landing_listing, write_state
from maturity.publish import MARTS
from maturity.stack import Stack, StackConfig, StackError, parse_time, utcnow

pytestmark = [pytest.mark.slow, pytest.mark.timeout(45 * 60)]

TRIGGER_DAG = "maturity_ingest"
FINAL_DAG = "maturity_report"
CHAIN = ["maturity_ingest", "maturity_transform", "maturity_publish", "maturity_report"]
LANDING_POLL_ENV = {"MATURITY_LANDING_POLL_SECONDS": "5"}
CHAIN_TIMEOUT = 15 * 60
PSEUDONYM_KEY = "ab" * 32
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 7  # a DB index no other test uses; flushed before/after


def _unreachable() -> str | None:
    """Why Postgres or Redis cannot be used, or None."""
    import psycopg2
    import redis

    try:
        psycopg2.connect(dbname="postgres", connect_timeout=3, **PG).close()
    except psycopg2.Error as exc:
        return f"Postgres on {PG['host']}:{PG['port']} is unreachable: {str(exc).strip()}"
    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis on {REDIS_HOST}:{REDIS_PORT} is unreachable: {exc}"
    return None


@pytest.fixture(scope="module")
def services() -> None:
    reason = _unreachable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def database_url(services: None) -> Iterator[str]:
    """A fresh Postgres database for the metadata DB (and the Celery results), dropped afterwards."""
    import psycopg2

    name = f"maturity_it_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(dbname="postgres", **PG)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def broker_url(services: None) -> Iterator[str]:
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    client.flushdb()
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def area(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo landing area and an empty warehouse."""
    from maturity.demo import generate

    base = tmp_path_factory.mktemp("production_stack")
    landing, warehouse = base / "landing", base / "warehouse"
    generate(landing, scale="haderslev", seed=42)
    warehouse.mkdir()
    return {"base": base, "landing": landing, "warehouse": warehouse, "home": base / "airflow"}


def _mark_landing_as_seen(landing: Path, warehouse: Path) -> None:
    """Tell the landing watcher that the demo drop is known, so that the first chain is the REST-triggered one.

    Without this the watcher would also start the chain for the demo files already in place when the
    triggerer starts, racing the REST trigger. Uses the watcher's own state file.
    """
    fingerprint, files = landing_listing(landing)
    assert fingerprint is not None, f"the demo landing area {landing} is empty"
    write_state(warehouse / STATE_FILE, fingerprint, files)


@pytest.fixture(scope="module")
def stack(area: dict, database_url: str, broker_url: str) -> Iterator[Stack]:
    env = {
        "MATURITY_LANDING_DIR": str(area["landing"]),
        "MATURITY_WAREHOUSE_DIR": str(area["warehouse"]),
        "MATURITY_PSEUDONYM_KEY": PSEUDONYM_KEY,
        **LANDING_POLL_ENV,
    }
    config = StackConfig.production(area["home"], database_url=database_url, broker_url=broker_url,
                                    env=env, worker_concurrency=2, queue=f"maturity_it_{uuid.uuid4().hex[:8]}")
    instance = Stack(config)
    _mark_landing_as_seen(area["landing"], area["warehouse"])  # before the triggerer starts
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


# ---------------------------------------------------------------------------------------------- helpers
def _task_log_tails(home: Path, dag_id: str, run_id: str, task_ids: list[str], lines: int = 25) -> str:
    out = []
    for task_id in task_ids:
        logs = sorted((home / "logs").glob(f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/**/*.log"))
        for log in logs[-1:]:
            text = log.read_text(encoding="utf-8", errors="replace").splitlines()
            out.append(f"--- task log {log.relative_to(home)} ---\n" + "\n".join(text[-lines:]))
    return "\n".join(out)


def _failure_report(stack: Stack, dag_id: str, run: dict) -> str:
    try:
        tis = stack.task_instances(dag_id, run["dag_run_id"])
    except StackError as exc:
        tis, note = [], f"(task instances unavailable: {exc})"
    else:
        note = ""
    failed = [ti["task_id"] for ti in tis if ti.get("state") in ("failed", "upstream_failed")]
    states = {ti["task_id"]: ti.get("state") for ti in tis}
    return (f"{dag_id} run {run['dag_run_id']} ({run.get('run_type')}) failed; task states {states} {note}\n"
            f"{_task_log_tails(stack.home, dag_id, run['dag_run_id'], failed)}\n{stack.log_tails()}")


def _started(run: dict) -> dt.datetime | None:
    return parse_time(run.get("start_date")) or parse_time(run.get("queued_at"))


def wait_for_chain(stack: Stack, since: dt.datetime, timeout: float = CHAIN_TIMEOUT) -> dict:
    """Wait until FINAL_DAG has a successful run that started after `since`; fail fast when a CHAIN run fails."""
    deadline = time.monotonic() + timeout
    while True:
        stack.check_alive()
        seen = {}
        for dag_id in CHAIN:
            runs = [r for r in stack.dag_runs(dag_id, limit=25) if (_started(r) or since) >= since]
            seen[dag_id] = [(r["dag_run_id"], r["run_type"], r["state"]) for r in runs]
            for run in runs:
                if run["state"] == "failed":
                    pytest.fail(_failure_report(stack, dag_id, run))
        done = [r for r in stack.dag_runs(FINAL_DAG, limit=25)
                if r["state"] == "success" and (_started(r) or since) > since]
        if done:
            return done[0]
        if time.monotonic() > deadline:
            pytest.fail(f"{FINAL_DAG} has no successful run started after {since.isoformat()} within "
                        f"{timeout:.0f} s; runs since then: {json.dumps(seen, indent=1)}\n{stack.log_tails()}")
        time.sleep(5)


def _current(warehouse: Path) -> Path:
    return (warehouse / "published" / "current").resolve()


def _published_marts(warehouse: Path) -> set[str]:
    """The mart tables of the published file; asserts that every row carries one and the same run_id."""
    path = warehouse / "published" / "maturity.duckdb"
    assert path.exists(), f"{path} was not published"
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
        missing = set(MARTS) - tables
        assert not missing, f"published marts missing: {sorted(missing)}"
        run_ids: dict[str, set] = {}
        for table in MARTS:
            run_ids[table] = {r[0] for r in con.execute(f"SELECT DISTINCT run_id FROM marts.{table}").fetchall()}
        rows = sum(con.execute(f"SELECT count(*) FROM marts.{t}").fetchone()[0] for t in MARTS)
    finally:
        con.close()
    assert rows > 0, "the published marts are empty"
    every = set().union(*run_ids.values())
    assert len(every) == 1 and None not in every, f"rows of more than one run (or none): {run_ids}"
    return every


def _reports(warehouse: Path) -> list[Path]:
    return sorted((warehouse / "published" / "reports").glob("direktion_*.html"))


def _land_new_hr_drop(landing: Path) -> str:
    """Copy the latest HR extract to a later extract date: staged under a dot-folder, then one rename."""
    dates = sorted(p.name for p in (landing / "hr").iterdir() if p.is_dir() and not p.name.startswith("."))
    latest = dt.date.fromisoformat(dates[-1])
    new = (latest + dt.timedelta(days=365)).isoformat()
    staging = landing / "hr" / f".incoming-{new}"
    shutil.copytree(landing / "hr" / dates[-1], staging)
    os.replace(staging, landing / "hr" / new)
    return new


# ---------------------------------------------------------------------------------------------- the test
def test_rest_triggered_chain_then_a_new_drop_runs_it_again_and_the_stack_stops_cleanly(
        stack: Stack, area: dict) -> None:
    warehouse, landing = area["warehouse"], area["landing"]
    health = stack.health()
    assert all(health[k]["status"] == "healthy" for k in ("metadatabase", "scheduler", "triggerer", "dag_processor"))
    assert stack.env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor" and "worker" in stack.pids()
    assert stack.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")

    # The DAGs are parsed (into Postgres) without import errors, also as the CLI sees them.
    dags = stack.wait_for_dags(CHAIN, timeout=300)
    assert not any(d["is_paused"] for d in dags.values()), {d: v["is_paused"] for d, v in dags.items()}
    assert stack.import_errors() == []
    cli = stack.airflow("dags", "list-import-errors", "-o", "json")
    listed = (cli.stdout.strip().splitlines() or [""])[-1].strip()  # warnings are logged to stdout first
    assert listed in ("", "[]", "No data found") or json.loads(listed) == [], cli.stdout + cli.stderr

    # 1. Trigger the first DAG through the REST API; the Assets carry the chain to the last DAG.
    since = utcnow()
    triggered = stack.trigger_dag(TRIGGER_DAG, conf={})
    assert triggered["run_type"] == "manual"
    final = wait_for_chain(stack, since)
    run = stack.wait_for_run(TRIGGER_DAG, triggered["dag_run_id"], timeout=60)
    assert run["state"] == "success", _failure_report(stack, TRIGGER_DAG, run)

    first_ids = _published_marts(warehouse)
    # No watcher run raced it: the published marts carry the REST-triggered chain's id.
    assert first_ids == {triggered["dag_run_id"]}, (first_ids, triggered["dag_run_id"])
    assert _reports(warehouse), "no published/reports/direktion_*.html"
    first_version = _current(warehouse)
    assert first_version.is_dir(), first_version
    print(f"chain 1: {TRIGGER_DAG} {triggered['dag_run_id']} → {FINAL_DAG} {final['dag_run_id']}, "
          f"published {first_version.name}")

    # 2. A new landing drop, and no trigger: the landing watcher must start the chain by itself.
    since = utcnow()
    new_date = _land_new_hr_drop(landing)
    final = wait_for_chain(stack, since)
    new_runs = [r for r in stack.dag_runs(TRIGGER_DAG, limit=25) if (_started(r) or since) > since]
    assert new_runs and all(r["run_type"] != "manual" for r in new_runs), new_runs
    second_version = _current(warehouse)
    assert second_version != first_version, f"published/current still points to {first_version.name}"
    second_ids = _published_marts(warehouse)
    assert second_ids != first_ids, (first_ids, second_ids)
    assert _reports(warehouse)
    print(f"chain 2 (hr/{new_date}): {[r['dag_run_id'] for r in new_runs]} → {FINAL_DAG} {final['dag_run_id']}, "
          f"published {second_version.name}")

    # 3. Stop: every process the stack started (components and their descendants) is gone.
    started = dict(stack.pids())
    stack.stop()
    assert stack.leftovers() == [], stack.leftovers()
    for name, pid in started.items():
        alive = psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        assert not alive, f"{name} (PID {pid}) is still running"
    assert not (stack.home / "stack.pids.json").exists()
