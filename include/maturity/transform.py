"""Run dbt (staging → intermediate → marts, with its tests) on the warehouse file.

dbt runs as a child process: an in-process dbtRunner keeps its DuckDB connection open for the life
of the process, which would lock the warehouse for the publish step that follows in the same run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from maturity.errors import MaturityError
from maturity.settings import ENV_WAREHOUSE, PROJECT_ROOT, Settings

DBT_PROJECT = PROJECT_ROOT / "dbt_project"


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(settings: Settings, args: list[str], progress: Callable[[str], None] = print) -> list[str]:
    """Run `dbt <args>` against the settings' warehouse; stream its lines; raise on failure."""
    env = {**os.environ, ENV_WAREHOUSE: str(settings.warehouse_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    target = settings.warehouse_dir / "dbt"
    cmd = [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
           "--target-path", str(target / "target"), "--log-path", str(target / "logs")]
    lines: list[str] = []
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          cwd=DBT_PROJECT) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            progress(line.rstrip())
    if proc.returncode != 0:
        failures = [ln.strip() for ln in lines if "ERROR" in ln or "FAIL" in ln][:5]
        raise MaturityError("dbt " + args[0] + " failed: " + ("; ".join(failures) or lines[-1] if lines else "?"))
    return lines


def build(settings: Settings, progress: Callable[[str], None] = print) -> list[str]:
    """Models and data tests; the YAML unit tests (fixed inputs, no warehouse data) run in `make test`."""
    return run_dbt(settings, ["build", "--exclude-resource-type", "unit_test"], progress)
