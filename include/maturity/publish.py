"""Write–audit–publish for BI: immutable published versions switched by one atomic rename.

Layout under `$MATURITY_WAREHOUSE_DIR/published/`:

    versions/<version>/maturity.duckdb      schema `marts`, the twelve SPEC §4 tables
    versions/<version>/parquet/<table>.parquet
    versions/<version>/reports -> reports-<token>/direktion_<wave>.html|.pdf   (switched by the report stage)
    versions/<version>/version.json         run_id, time, row counts
    current -> versions/<version>           the one switch (a symlink replaced by rename)
    maturity.duckdb -> current/maturity.duckdb
    parquet -> current/parquet
    reports -> current/reports

A run stages its marts in `versions/.staging-<token>/`, the gate validates the staged copy, and only
then is the staged folder renamed into `versions/` and `current` switched. The DuckDB file and the
Parquet set therefore change together, readers that opened the old file keep reading it, and a run
killed at any moment leaves either the complete old or the complete new version in place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from maturity import duck
from maturity.errors import MaturityError
from maturity.settings import Settings

MARTS = (
    "dim_org_units", "dim_dimensions", "dim_waves", "fct_maturity_scores", "fct_maturity_overall",
    "fct_gap_priorities", "fct_leadership_alignment", "fct_maturity_trend", "fct_response_rates",
    "fct_portfolio_coverage", "fct_transformation_capacity", "rpt_direktion_scorecard",
)
KEEP_VERSIONS = 5
STAGING_PREFIX = ".staging-"


def published_dir(settings: Settings) -> Path:
    return settings.warehouse_dir / "published"


def versions_dir(settings: Settings) -> Path:
    return published_dir(settings) / "versions"


@dataclass(frozen=True)
class Version:
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def info(self) -> dict:
        return json.loads((self.path / "version.json").read_text())

    @property
    def duckdb(self) -> Path:
        return self.path / "maturity.duckdb"

    @property
    def parquet(self) -> Path:
        return self.path / "parquet"


def list_versions(settings: Settings) -> list[Version]:
    """Published versions, oldest first (names start with a UTC timestamp)."""
    root = versions_dir(settings)
    if not root.is_dir():
        return []
    return [Version(p) for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".") and (p / "version.json").exists()]


def current_version(settings: Settings) -> Version | None:
    link = published_dir(settings) / "current"
    if not link.is_symlink():
        return None
    target = (link.parent / os.readlink(link)).resolve()
    return Version(target) if (target / "version.json").exists() else None


def _safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "", text)[-12:] or "run"


def clean_staging(settings: Settings) -> list[Path]:
    """Remove staging folders left by killed runs (never a published version)."""
    root = versions_dir(settings)
    removed = []
    for p in root.glob(f"{STAGING_PREFIX}*") if root.is_dir() else []:
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    for p in published_dir(settings).glob(".current-*"):
        p.unlink(missing_ok=True)
    return removed


def version_name(run_id: str) -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}Z-{_safe(run_id)}"


def staging_dir(settings: Settings, run_id: str) -> Path:
    """The one staging folder of a run (its name carries the version name it will be published as)."""
    found = sorted(versions_dir(settings).glob(f"{STAGING_PREFIX}*-{_safe(run_id)}"))
    if not found:
        raise MaturityError(f"No staged marts for run {run_id}; the export step did not complete.")
    return found[-1]


def stage(settings: Settings, run_id: str) -> Path:
    """Copy the twelve marts from the working warehouse into a new staging folder and check run_id."""
    clean_staging(settings)
    name = version_name(run_id)
    staging = versions_dir(settings) / f"{STAGING_PREFIX}{name}"
    (staging / "parquet").mkdir(parents=True)
    con = duck.connect(staging / "maturity.duckdb")
    counts: dict[str, int] = {}
    try:
        con.execute(f"ATTACH {duck_literal(str(settings.warehouse_db))} AS wh (READ_ONLY)")
        for table in MARTS:
            run_ids = [r[0] for r in con.execute(f"SELECT DISTINCT run_id FROM wh.marts.{table}").fetchall()]
            if run_ids not in ([run_id], []):
                raise MaturityError(f"marts.{table} holds run_id(s) {run_ids}, not only {run_id}; "
                                    "the marts were not all built by this run.")
        con.execute("CREATE SCHEMA marts")
        for table in MARTS:
            con.execute(f"CREATE TABLE marts.{table} AS SELECT * FROM wh.marts.{table}")
            comment = con.execute(
                "SELECT comment FROM duckdb_tables() WHERE database_name = 'wh' AND schema_name = 'marts' "
                "AND table_name = ?", [table]).fetchone()
            if comment and comment[0]:
                con.execute(f"COMMENT ON TABLE marts.{table} IS {duck_literal(comment[0])}")
            for column, text in con.execute(
                "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = 'wh' "
                "AND schema_name = 'marts' AND table_name = ? AND comment IS NOT NULL", [table]).fetchall():
                con.execute(f'COMMENT ON COLUMN marts.{table}."{column}" IS {duck_literal(text)}')
            con.execute(f"COPY marts.{table} TO '{staging / 'parquet' / (table + '.parquet')}' (FORMAT parquet)")
            counts[table] = con.execute(f"SELECT count(*) FROM marts.{table}").fetchone()[0]
        con.execute("DETACH wh")
        con.execute("CHECKPOINT")
        _carry_over_reports(settings, staging)
    except BaseException:
        con.close()
        discard(staging)
        raise
    con.close()
    (staging / "version.json").write_text(json.dumps({
        "version": name, "run_id": run_id, "staged_at": dt.datetime.now(dt.UTC).isoformat(), "row_counts": counts,
    }, indent=2))
    return staging


def reports_dir(version_path: Path) -> Path | None:
    link = version_path / "reports"
    return link.resolve() if link.is_dir() else None


def _carry_over_reports(settings: Settings, staging: Path) -> None:
    """Give the new version the current reports (hard links) until the report stage renders its own.

    So `published/reports/` never disappears; each report names the run whose marts it shows.
    """
    current = current_version(settings)
    token = uuid.uuid4().hex[:8]
    reports = staging / f"reports-{token}"
    reports.mkdir()
    old = reports_dir(current.path) if current else None
    for path in sorted(old.iterdir()) if old else []:
        if path.is_file():
            os.link(path, reports / path.name)
    (staging / "reports").symlink_to(reports.name, target_is_directory=True)


def replace_reports(version: Version, render: Callable[[Path], list[Path]],
                    keep: Callable[[str], bool] = lambda _name: True) -> list[Path]:
    """Render reports into a fresh folder of `version` and switch its `reports` link to it in one rename.

    Reports `render` does not write (other waves, when one wave is re-rendered) are kept as hard links
    if `keep(file name)` says so. Files are never rewritten in place, so a reader holding a report open
    keeps reading a whole file.
    """
    token = uuid.uuid4().hex[:8]
    fresh = version.path / f".reports-{token}"
    fresh.mkdir()
    try:
        names = [p.name for p in render(fresh)]
        old = reports_dir(version.path)
        for path in sorted(old.iterdir()) if old else []:
            if path.is_file() and not (fresh / path.name).exists() and keep(path.name):
                os.link(path, fresh / path.name)
        final = version.path / f"reports-{token}"
        os.rename(fresh, final)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    link = version.path / "reports"
    if link.is_dir() and not link.is_symlink():  # a version published before reports were switched by link
        os.rename(link, version.path / f".reports-old-{token}")
    tmp = version.path / f".reports-link-{token}"
    tmp.symlink_to(final.name, target_is_directory=True)
    os.replace(tmp, link)
    for stale in version.path.glob("*reports-*"):
        if stale != final and stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    return [final / name for name in names]


def duck_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _switch(settings: Settings, target: Path) -> None:
    """Point `current` at `target` with one rename; create the fixed links on first use."""
    pub = published_dir(settings)
    tmp = pub / f".current-{uuid.uuid4().hex[:8]}"
    tmp.symlink_to(Path("versions") / target.name, target_is_directory=True)
    os.replace(tmp, pub / "current")
    for name, inside in (("maturity.duckdb", "current/maturity.duckdb"), ("parquet", "current/parquet"),
                         ("reports", "current/reports")):
        link = pub / name
        if link.is_symlink() and os.readlink(link) == inside:
            continue
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link)
        tmp_link = pub / f".link-{uuid.uuid4().hex[:8]}"
        tmp_link.symlink_to(inside)
        os.replace(tmp_link, link)


def promote(settings: Settings, staging: Path, keep: int = KEEP_VERSIONS) -> Version:
    """Publish a validated staging folder: rename it into versions/, switch `current`, prune."""
    info = json.loads((staging / "version.json").read_text())
    info["published_at"] = dt.datetime.now(dt.UTC).isoformat()
    (staging / "version.json").write_text(json.dumps(info, indent=2))
    final = versions_dir(settings) / staging.name.removeprefix(STAGING_PREFIX)
    os.replace(staging, final)
    _switch(settings, final)
    prune(settings, keep)
    return Version(final)


def prune(settings: Settings, keep: int = KEEP_VERSIONS) -> None:
    """Keep the newest `keep` versions and always the current one."""
    current = current_version(settings)
    versions = list_versions(settings)
    for old in versions[:-keep] if keep > 0 else []:
        if current is None or old.path != current.path:
            shutil.rmtree(old.path, ignore_errors=True)


def rollback(settings: Settings) -> Version:
    """Switch `current` back to the version published before it."""
    current = current_version(settings)
    versions = list_versions(settings)
    if current is None:
        raise MaturityError(f"Nothing is published in {published_dir(settings)}; there is nothing to roll back.")
    older = [v for v in versions if v.name < current.name]
    if not older:
        raise MaturityError(f"Version {current.name} is the oldest one kept; there is no earlier version.")
    _switch(settings, older[-1].path)
    return older[-1]


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
