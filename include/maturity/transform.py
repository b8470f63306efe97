"""Run dbt (staging → intermediate → marts, with its tests) on the warehouse file.

dbt runs as a child process: an in-process dbtRunner keeps its DuckDB connection open for the life
of the process, which would lock the warehouse for the publish step that follows in the same run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from maturity import duck
from maturity.errors import MaturityError
from maturity.settings import ENV_WAREHOUSE, PROJECT_ROOT, Settings

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
#: The chain id stamped on every mart row (macro `pipeline_run_id`).
ENV_RUN_ID = "MATURITY_RUN_ID"
#: The code the incremental models' rows were computed with (macro `build_code_key`, code_fingerprint).
ENV_CODE = "MATURITY_DBT_CODE"


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def _die_with_parent() -> None:
    """In the dbt child: get SIGKILL when the parent dies, so a killed run leaves no dbt holding the lock."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: nothing to do
        pass


def run_dbt(settings: Settings, args: list[str], progress: Callable[[str], None] = print,
            run_id: str | None = None) -> list[str]:
    """Run `dbt <args>` against the settings' warehouse; stream its lines; raise on failure."""
    env = {**os.environ, ENV_WAREHOUSE: str(settings.warehouse_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           ENV_CODE: code_fingerprint()}
    if run_id:
        env[ENV_RUN_ID] = run_id
    target = settings.warehouse_dir / "dbt"
    cmd = [dbt_executable(), "--no-use-colors", *args, "--project-dir", str(DBT_PROJECT),
           "--profiles-dir", str(DBT_PROJECT), "--target-path", str(target / "target"),
           "--log-path", str(target / "logs")]
    lines: list[str] = []
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          cwd=DBT_PROJECT, preexec_fn=_die_with_parent) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            progress(line.rstrip())
    if proc.returncode != 0:
        failures = [ln.strip() for ln in lines if "ERROR" in ln or "FAIL" in ln][:5]
        raise MaturityError("dbt " + args[0] + " failed: " + ("; ".join(failures) or lines[-1] if lines else "?"))
    return lines


STATE_FILE = "marts.state.json"
MANIFEST = DBT_PROJECT / "target" / "manifest.json"
_MANIFEST_SOURCES = MANIFEST.with_name("manifest.sources.sha256")


def _project_sources() -> list[Path]:
    return sorted(p for p in DBT_PROJECT.rglob("*") if p.is_file() and p.suffix in (".sql", ".yml", ".py", ".md")
                  and not {"target", "logs", "dbt_packages"} & set(p.relative_to(DBT_PROJECT).parts))


def _sources_digest() -> str:
    h = hashlib.sha256()
    for path in _project_sources():
        h.update(path.relative_to(DBT_PROJECT).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def ensure_manifest(progress: Callable[[str], None] = print) -> Path:
    """The dbt manifest Cosmos renders the dbt task group from (LoadMode.DBT_MANIFEST).

    Produced by `dbt parse` once per change of the dbt project (a digest of its files is kept beside
    it), not at every DAG parse: checking the digest costs milliseconds, `dbt parse` ~3-5 s.
    """
    digest = _sources_digest()
    if MANIFEST.exists() and _MANIFEST_SOURCES.exists() and _MANIFEST_SOURCES.read_text().strip() == digest:
        return MANIFEST
    progress("dbt project changed since its manifest was made: running dbt parse")
    tmp = DBT_PROJECT / "target" / f".parse-{os.getpid()}"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.setdefault(ENV_WAREHOUSE, str(DBT_PROJECT.parent / "warehouse"))
    proc = subprocess.run([dbt_executable(), "--no-use-colors", "parse", "--project-dir", str(DBT_PROJECT),
                           "--profiles-dir", str(DBT_PROJECT), "--target-path", str(tmp), "--log-path", str(tmp)],
                          env=env, cwd=DBT_PROJECT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MaturityError("dbt parse failed, so the dbt task group cannot be built: "
                            + (proc.stdout + proc.stderr).strip().splitlines()[-1])
    os.replace(tmp / "manifest.json", MANIFEST)  # atomic: a concurrent DAG parse never reads half a file
    _MANIFEST_SOURCES.write_text(digest + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return MANIFEST


def inputs_fingerprint(settings: Settings) -> str:
    """What the marts are a function of: the loaded snapshots, the dbt project and the privacy rule.

    Equal fingerprints mean a rebuild would produce the same marts, so the run can skip dbt and keep
    the warehouse untouched (an unchanged landing area changes no table).
    """
    h = hashlib.sha256()
    con = duck.connect(settings.warehouse_db, read_only=True)
    try:
        for row in con.execute("SELECT source, snapshot_key, fingerprint FROM raw.snapshots ORDER BY ALL").fetchall():
            h.update(repr(row).encode())
    finally:
        con.close()
    h.update(code_fingerprint().encode())
    return h.hexdigest()


def code_fingerprint() -> str:
    """The code the models' rows are a function of: the dbt project and what its Python models import
    from this package (maturity/privacy.py, maturity/incremental.py). The incremental models keep it in
    each wave's `_build_key` (macros/incremental_builds.sql), so changed code computes every wave again
    instead of keeping waves computed by the old code."""
    h = hashlib.sha256()
    for path in _project_sources():
        h.update(path.relative_to(DBT_PROJECT).as_posix().encode() + b"\0" + path.read_bytes())
    for name in ("privacy.py", "incremental.py"):
        h.update(name.encode() + b"\0" + Path(__file__).with_name(name).read_bytes())
    return h.hexdigest()


def marts_are_current(settings: Settings, fingerprint: str) -> bool:
    state = settings.warehouse_dir / STATE_FILE
    return state.exists() and json.loads(state.read_text()).get("inputs") == fingerprint


def record_marts(settings: Settings, fingerprint: str, run_id: str | None) -> None:
    (settings.warehouse_dir / STATE_FILE).write_text(json.dumps({"inputs": fingerprint, "run_id": run_id}))


def build(settings: Settings, run_id: str | None = None, progress: Callable[[str], None] = print) -> list[str]:
    """Models and data tests; the YAML unit tests (fixed inputs, no warehouse data) run in `make test`.

    `run_id` (the Airflow run) is stamped on every mart row, so a reader can check that the tables it
    reads belong to one run.
    """
    return run_dbt(settings, ["build", "--exclude-resource-type", "unit_test"], progress, run_id=run_id)
