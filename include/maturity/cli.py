"""`maturity` command line: demo · run · report · rollback · keygen.

Each command is a thin shell over package functions; `run` executes the Airflow DAG itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from maturity.errors import MaturityError
from maturity.settings import ENV_KEY_FILE, ENV_LANDING, ENV_WAREHOUSE, create_key_file, load_settings


def cmd_demo(args: argparse.Namespace) -> int:
    from maturity.demo import generate

    started = time.perf_counter()
    summary = generate(Path(args.out), scale=args.scale, seed=args.seed, progress=lambda m: print(f"  {m}"))
    print(f"{summary} ({time.perf_counter() - started:.1f} s)")
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if create_key_file(path):
        print(f"Created a new local pseudonym key in {path} (git-ignored; keep it: a new key gives new "
              "pseudonyms and reloads every HR extract).")
    else:
        print(f"Using the existing pseudonym key in {path}.")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from maturity import airflow_local
    from maturity.summary import format_summary
    from maturity.tasks import run_dir

    settings = load_settings(args.landing, args.warehouse)
    if not settings.landing_dir.is_dir():
        raise MaturityError(f"The landing area {settings.landing_dir} does not exist "
                            f"(set {ENV_LANDING} or pass --landing; `maturity demo --out DIR` creates one).")
    settings.pseudonym_key()  # a missing key is a clear error before anything starts
    # Tasks resolve their settings from the environment, exactly as under the scheduler.
    os.environ[ENV_LANDING] = str(settings.landing_dir)
    os.environ[ENV_WAREHOUSE] = str(settings.warehouse_dir)
    os.environ["MATURITY_PSEUDONYM_KEY"] = settings.pseudonym_key_hex or ""
    started = time.perf_counter()
    home = airflow_local.configure_environment()
    print(f"Airflow home {home} (SQLite); landing {settings.landing_dir}; warehouse {settings.warehouse_dir}")
    if airflow_local.ensure_migrated(home):
        print("Migrated the Airflow metadata database.")
    dag_started = time.perf_counter()
    params = {"force": bool(args.force), "wave": args.wave}
    dag_runs = airflow_local.run_chain(params)
    dag_seconds = time.perf_counter() - dag_started
    chain_id = dag_runs[0].run_id
    run_path = run_dir(settings, chain_id)
    reports: dict[str, dict] = {}
    errors: list[str] = []
    unchanged = False
    for path in sorted(run_path.glob("*.json"), key=lambda p: p.stat().st_mtime):
        payload = json.loads(path.read_text())
        if payload.get("status") == "failed":
            errors.append(payload.get("summary") or payload["error"])
        elif path.stem.startswith("ingest_"):
            reports[payload["source"]] = payload
        elif path.stem == "raw_ready" and payload.get("status") == "unchanged":
            unchanged = True
    print()
    print(format_summary(settings, reports))
    print(f"\nWarehouse (working DuckDB file): {settings.warehouse_db}")
    published = settings.warehouse_dir / "published"
    if (published / "current").exists():
        print(f"Published for BI: {published / 'maturity.duckdb'} (schema marts), {published / 'parquet'}/, "
              f"reports in {published / 'reports'}/ (version {(published / 'current').resolve().name})")
    print(f"Run records: {run_path}; gate results: {settings.warehouse_dir / 'validation'}/")
    elapsed = time.perf_counter() - started
    durations = airflow_local.task_durations(dag_runs)

    def stage(*prefixes: str) -> float:
        return sum(v for k, v in durations.items() if k.startswith(prefixes))

    stages = {
        "airflow_startup": dag_started - started + dag_seconds - sum(durations.values()),
        "ingest": stage("maturity_ingest.ingest_", "maturity_ingest.prepare"),
        "raw_gate": stage("maturity_ingest.raw_gate", "maturity_ingest.raw_ready"),
        "dbt_build": stage("maturity_transform."),
        "mart_gate": stage("maturity_publish.mart_gate", "maturity_publish.prepare"),
        "report": stage("maturity_report."),
        "publish": stage("maturity_publish.publish"),
    }
    print("Stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
    failed = [r for r in dag_runs if str(r.state) != "success"]
    if args.timings:
        Path(args.timings).write_text(json.dumps({
            "total": elapsed, "state": "failed" if failed else "success", "unchanged": unchanged,
            "dag_runs": {r.dag_id: str(r.state) for r in dag_runs}, **stages}))
    if failed:
        message = "\n".join(errors) or f"the Airflow run {failed[0].dag_id} {failed[0].run_id} ended {failed[0].state}"
        print(f"\nRun failed after {elapsed:.1f} s; nothing new was published:\n{message}", file=sys.stderr)
        return 1
    if unchanged:
        print(f"\nNothing changed since the last published build ({elapsed:.1f} s); the published version stays.")
    else:
        print(f"\nRun {chain_id} succeeded in {elapsed:.1f} s.")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from maturity.publish import current_version, replace_reports
    from maturity.report import render_reports

    settings = load_settings(warehouse=args.warehouse)
    version = current_version(settings)
    if version is None:
        raise MaturityError(f"Nothing is published in {settings.warehouse_dir / 'published'}; run the pipeline first.")
    def render(out: Path) -> list[Path]:
        return render_reports(version.duckdb, out, wave_id=args.wave, pdf=not args.html_only,
                              quality={"status": "ok", "run_id": version.info["run_id"]})

    # Into the published version: a fresh set switched in one rename (never rewritten in place).
    paths = render(Path(args.out)) if args.out else replace_reports(version, render)
    for path in paths:
        print(path)
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from maturity.publish import current_version, rollback

    settings = load_settings(warehouse=args.warehouse)
    before = current_version(settings)
    restored = rollback(settings)
    print(f"Published version switched from {before.name if before else '-'} back to {restored.name} "
          f"(run {restored.info['run_id']}).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maturity", description="Digital-maturity warehouse for municipalities.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write a synthetic landing area in the real export formats")
    demo.add_argument("--out", required=True, help="folder to write the landing area to")
    demo.add_argument("--scale", choices=["haderslev", "kl"], default="haderslev")
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=cmd_demo)
    run = sub.add_parser("run", help="run the pipeline DAGs in-process (embedded Airflow): ingest → transform "
                         "→ publish → report")
    run.add_argument("--landing", help=f"landing area (default ${ENV_LANDING} or ./landing)")
    run.add_argument("--warehouse", help=f"warehouse folder (default ${ENV_WAREHOUSE} or ./warehouse)")
    run.add_argument("--timings", help="write the run's stage timings as JSON to this file (bench/)")
    run.add_argument("--force", action="store_true", help="rebuild and republish even if nothing changed")
    run.add_argument("--wave", help="re-run (or backfill) one survey wave: reload it and rebuild")
    run.set_defaults(func=cmd_run)
    rep = sub.add_parser("report", help="render the direktion report(s) from the published marts")
    rep.add_argument("--wave", help="one wave id (default: every wave)")
    rep.add_argument("--warehouse", help=f"warehouse folder (default ${ENV_WAREHOUSE} or ./warehouse)")
    rep.add_argument("--out", help="output folder (default: the published version's reports/)")
    rep.add_argument("--html-only", action="store_true", help="skip the PDF (no Chromium needed)")
    rep.set_defaults(func=cmd_report)
    back = sub.add_parser("rollback", help="switch the published marts back to the previous version")
    back.add_argument("--warehouse", help=f"warehouse folder (default ${ENV_WAREHOUSE} or ./warehouse)")
    back.set_defaults(func=cmd_rollback)
    keygen = sub.add_parser("keygen", help="create a local pseudonym key file if none exists")
    keygen.add_argument("--file", default=os.environ.get(ENV_KEY_FILE, ".secrets/pseudonym.key"))
    keygen.set_defaults(func=cmd_keygen)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except MaturityError as exc:
        print(f"maturity {args.command}: {exc}", file=sys.stderr)
        return 2


def console() -> None:
    """The `maturity` command (and `python -m maturity.cli`): `main`, then end the process without Python's
    object-by-object teardown.

    After a run the interpreter holds Airflow's, SQLAlchemy's and pydantic's objects (the in-process
    execution API among them); freeing them one by one at exit took ~1.7 s of an unchanged re-run's 7.5 s,
    and does nothing a finished run needs: every task's state is committed and its files closed. What an
    exit must do still happens, in the same order: other (non-daemon) threads are waited for, the atexit
    handlers run (logging's flush among them) and the standard streams are flushed.
    """
    import atexit
    import threading

    code = main()
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
