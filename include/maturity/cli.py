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
    dag_run = airflow_local.run_dag()
    dag_seconds = time.perf_counter() - dag_started
    run_path = run_dir(settings, dag_run.run_id)
    reports: dict[str, dict] = {}
    errors: list[str] = []
    for path in sorted(run_path.glob("*.json"), key=lambda p: p.stat().st_mtime):
        payload = json.loads(path.read_text())
        if payload.get("status") == "failed":
            errors.append(payload.get("summary") or payload["error"])
        elif path.stem.startswith("ingest_"):
            reports[payload["source"]] = payload
    print()
    print(format_summary(settings, reports))
    print(f"\nWarehouse (working DuckDB file): {settings.warehouse_db}")
    published = settings.warehouse_dir / "published"
    if (published / "current").exists():
        print(f"Published for BI: {published / 'maturity.duckdb'} (schema marts), {published / 'parquet'}/, "
              f"reports in {published / 'reports'}/ (version {(published / 'current').resolve().name})")
    print(f"Run records: {run_path}; gate results: {settings.warehouse_dir / 'validation'}/")
    elapsed = time.perf_counter() - started
    durations = airflow_local.task_durations(dag_run)
    stages = {
        "airflow_startup": dag_started - started + dag_seconds - sum(durations.values()),
        "ingest": sum(v for k, v in durations.items() if k.startswith("ingest_")),
        **{k: durations.get(k, 0.0) for k in ("raw_gate", "dbt_build", "mart_gate", "report", "publish")},
    }
    print("Stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
    if args.timings:
        Path(args.timings).write_text(json.dumps({"total": elapsed, "state": str(dag_run.state), **stages}))
    if str(dag_run.state) != "success":
        message = "\n".join(errors) or f"the Airflow run {dag_run.run_id} ended {dag_run.state}; see the log above"
        print(f"\nRun failed after {elapsed:.1f} s; nothing new was published:\n{message}", file=sys.stderr)
        return 1
    print(f"\nRun {dag_run.run_id} succeeded in {elapsed:.1f} s.")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from maturity.publish import current_version
    from maturity.report import render_reports

    settings = load_settings(warehouse=args.warehouse)
    version = current_version(settings)
    if version is None:
        raise MaturityError(f"Nothing is published in {settings.warehouse_dir / 'published'}; run the pipeline first.")
    out = Path(args.out) if args.out else version.path / "reports"
    paths = render_reports(version.duckdb, out, wave_id=args.wave, pdf=not args.html_only,
                           quality={"status": "ok", "run_id": version.info["run_id"]})
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
    run = sub.add_parser("run", help="run the pipeline DAG in-process (embedded Airflow)")
    run.add_argument("--landing", help=f"landing area (default ${ENV_LANDING} or ./landing)")
    run.add_argument("--warehouse", help=f"warehouse folder (default ${ENV_WAREHOUSE} or ./warehouse)")
    run.add_argument("--timings", help="write the run's stage timings as JSON to this file (bench/)")
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


if __name__ == "__main__":
    sys.exit(main())
