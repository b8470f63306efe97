"""End to end on the demo municipality through the real Airflow DAG (`maturity run` → dag.test()).

Checks the privacy promise (no CPR-shaped string, no name from the HR files anywhere in the DuckDB
file) and idempotence (a second run on an unchanged landing area changes no table).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import TEST_KEY

pytestmark = pytest.mark.slow
CPR = re.compile(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)")


def _text_values(db: Path) -> list[tuple[str, str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.execute(
            """SELECT table_schema, table_name, column_name FROM information_schema.columns
               WHERE data_type IN ('VARCHAR') OR data_type LIKE 'VARCHAR[]'"""
        ).fetchall()
        out = []
        for schema, table, column in cols:
            rows = con.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{schema}"."{table}" '
                               f'WHERE "{column}" IS NOT NULL').fetchall()
            out += [(f"{schema}.{table}", column, r[0]) for r in rows]
        return out
    finally:
        con.close()


def _hr_names(landing: Path) -> set[str]:
    """Full names of every person in the demo SD files (column 2 of the personnel report)."""
    names: set[str] = set()
    for path in landing.glob("hr/*/employees.csv"):
        text = path.read_bytes().decode("cp1252")
        for line in text[text.index("CPR-nummer"):].splitlines()[1:]:
            parts = line.split(";")
            if len(parts) > 2 and parts[1].strip():
                names.add(parts[1].strip())
    return names


def _word_pairs(text: str) -> set[str]:
    words = re.findall(r"[^\W\d_]+", text)
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def test_run_prints_per_source_summary(demo_run: dict) -> None:
    out = demo_run["first"].stdout
    for source in ("reference", "hr", "surveys", "projects"):
        assert re.search(rf"^{source}\s+\d+\s+[\d,]+\s+[\d,]+\s+[\d,]+", out, re.M), out[-2000:]
    assert "succeeded" in out


def test_no_cpr_or_name_in_any_text_column(demo_run: dict) -> None:
    db = demo_run["warehouse"] / "warehouse.duckdb"
    names = _hr_names(demo_run["landing"])
    assert len(names) > 1000  # the demo really has names to leak
    values = _text_values(db)
    assert len(values) > 1000
    cpr_hits = [(t, c, v) for t, c, v in values if any(_valid_date(m.group(1)) for m in CPR.finditer(v))]
    assert cpr_hits == []
    # A name never appears: no first/last name pair anywhere, and no name word at all in the tables
    # derived from the SD files (where a name could only have come from the personnel report).
    name_pairs = {p for n in names for p in _word_pairs(n)}
    pairs = set().union(*(_word_pairs(v) for _t, _c, v in values))
    assert pairs & name_pairs == set()
    name_words = {w for n in names for w in n.split()}
    hr_words = {w for t, _c, v in values if t in ("raw.employments", "raw.team_memberships", "raw.quarantine")
                for w in re.findall(r"[^\W\d_]+", v)}
    assert hr_words & name_words == set()


def _valid_date(ddmmyy: str) -> bool:
    import datetime as dt

    try:
        dt.datetime.strptime(ddmmyy, "%d%m%y")
    except ValueError:
        return False
    return True


def _table_digests(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        return {f"{s}.{t}": hashlib.sha256(repr(con.execute(f'SELECT * FROM "{s}"."{t}" ORDER BY ALL').fetchall())
                                           .encode()).hexdigest() for s, t in tables}
    finally:
        con.close()


def test_second_run_changes_no_table(demo_run: dict) -> None:
    db = demo_run["warehouse"] / "warehouse.duckdb"
    before = _table_digests(db)
    second = subprocess.run([sys.executable, "-m", "maturity.cli", "run", "--landing", str(demo_run["landing"]),
                             "--warehouse", str(demo_run["warehouse"])], env=demo_run["env"],
                            capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    assert _table_digests(db) == before
    assert "4 unchanged" in second.stdout  # four survey waves skipped as unchanged snapshots


def test_dbt_unit_tests_pass_on_the_built_warehouse(demo_run: dict) -> None:
    """The formulas' YAML unit tests (hand-computed expectations) against the real dbt-duckdb adapter."""
    from maturity.settings import Settings
    from maturity.transform import run_dbt

    settings = Settings(demo_run["landing"], demo_run["warehouse"], TEST_KEY)
    lines = run_dbt(settings, ["test", "--select", "test_type:unit"], progress=lambda _line: None)
    done = next(line for line in reversed(lines) if "PASS=" in line)
    assert "ERROR=0" in done, done
    assert int(re.search(r"PASS=(\d+)", done).group(1)) >= 20


def test_disclosure_audit_on_published_demo_marts(demo_run: dict) -> None:
    """SPEC §3.9 objective on the real demo: per wave × dimension, build the linear system of published
    n × mean sums (unit rows and, where published, the two alignment group sums) over the counted
    respondents and show that no suppressed unit sum and no set of fewer than min_cell respondents is
    determined by it."""
    from maturity.privacy import audit_linear, role_class

    db = demo_run["warehouse"] / "warehouse.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        groups = con.execute(
            "SELECT DISTINCT wave_id, dimension_id FROM marts.fct_maturity_scores ORDER BY ALL").fetchall()
        checked = 0
        for wave_id, dimension_id in groups:
            respondents = con.execute(
                "SELECT org_unit_id, role FROM intermediate.int_respondent_dimensions_scored "
                "WHERE wave_id = ? AND dimension_id = ? ORDER BY respondent_id", [wave_id, dimension_id]).fetchall()
            parents = dict(con.execute(
                """SELECT o.org_unit_id, o.parent_org_unit_id FROM marts.dim_org_units o
                   JOIN marts.dim_waves w ON o.extract_date = w.hr_extract_date WHERE w.wave_id = ?""",
                [wave_id]).fetchall())
            published = {r[0] for r in con.execute(
                "SELECT org_unit_id FROM marts.fct_maturity_scores WHERE wave_id = ? AND dimension_id = ? "
                "AND NOT is_suppressed", [wave_id, dimension_id]).fetchall()}
            alignment = con.execute(
                "SELECT NOT is_suppressed FROM marts.fct_leadership_alignment WHERE wave_id = ? AND dimension_id = ?",
                [wave_id, dimension_id]).fetchone()[0]
            findings = audit_linear([u for u, _ in respondents], [role_class(r) for _, r in respondents], parents,
                                    published, alignment_published=alignment, min_cell=5)
            assert [f for f in findings if f.blocking] == [], (wave_id, dimension_id, findings[:3])
            checked += 1
        assert checked >= 28
    finally:
        con.close()


def test_dbt_docs_generate_describes_every_mart_column(demo_run: dict) -> None:
    """BI analysts read the column descriptions: `dbt docs generate` works and no mart column lacks one."""
    import json

    from maturity.publish import MARTS
    from maturity.settings import Settings
    from maturity.transform import run_dbt

    settings = Settings(demo_run["landing"], demo_run["warehouse"], TEST_KEY)
    run_dbt(settings, ["docs", "generate"], progress=lambda _line: None)
    target = demo_run["warehouse"] / "dbt" / "target"
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    missing = []
    for table in MARTS:
        node = manifest["nodes"][f"model.maturity.{table}"]
        assert node["description"].strip(), table
        columns = catalog["nodes"][f"model.maturity.{table}"]["columns"]
        missing += [f"{table}.{c}" for c in columns if not node["columns"].get(c, {}).get("description", "").strip()]
    assert missing == []


def _published_digest(warehouse: Path) -> dict[str, str]:
    current = (warehouse / "published" / "current").resolve()
    return {p.relative_to(current).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(current.rglob("*")) if p.is_file()} | {"<current>": current.name}


def test_a_defect_that_passes_ingest_but_breaks_an_expectation_is_not_published(
    demo_run: dict, tmp_path: Path
) -> None:
    """Three of four waves vanish from the landing area: ingest accepts that (snapshots removed), the
    marts shrink by three quarters, and the mart gate's row-count expectation against the previous
    publish blocks. Nothing is published, the previous version stays byte-identical, and the message
    names the expectation."""
    import shutil

    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(demo_run["landing"], landing)
    shutil.copytree(demo_run["warehouse"], warehouse, symlinks=True)
    before = _published_digest(warehouse)
    for wave in ("T1", "T2", "T3"):
        shutil.rmtree(landing / "surveys" / wave)
    blocked = subprocess.run([sys.executable, "-m", "maturity.cli", "run", "--landing", str(landing),
                              "--warehouse", str(warehouse)], env=demo_run["env"], capture_output=True, text=True)
    assert blocked.returncode == 1
    assert "nothing new was published" in blocked.stderr
    assert "row_count" in blocked.stderr or "row count" in blocked.stderr, blocked.stderr[-2000:]
    assert _published_digest(warehouse) == before
    assert not list((warehouse / "published" / "versions").glob(".staging-*"))
    assert list((warehouse / "validation").glob("*/mart_gate.html"))


def test_a_failed_dbt_build_ends_the_chain_and_names_what_failed(demo_run: dict, tmp_path: Path) -> None:
    """dbt fails inside the build (here: 4 MB of memory, so models and tests error): `marts_built` reads the
    producer task's state — not Cosmos' task_status XCom, which says "completed" either way — and ends the
    chain with the failed nodes named; nothing is staged or published."""
    import shutil

    warehouse = tmp_path / "warehouse"
    shutil.copytree(demo_run["warehouse"], warehouse, symlinks=True)
    before = _published_digest(warehouse)
    blocked = subprocess.run([sys.executable, "-m", "maturity.cli", "run", "--landing", str(demo_run["landing"]),
                              "--warehouse", str(warehouse), "--force"],
                             env={**demo_run["env"], "MATURITY_DBT_MEMORY_LIMIT": "4MB"}, capture_output=True,
                             text=True)
    assert blocked.returncode == 1
    assert "dbt build failed, so nothing new is published: " in blocked.stderr, blocked.stderr[-2000:]
    assert "see the dbt_producer_watcher log" not in blocked.stderr  # the failed nodes are named
    assert _published_digest(warehouse) == before
    assert not list((warehouse / "published" / "versions").glob(".staging-*"))


def test_a_raw_gate_error_blocks_before_dbt_and_publishes_nothing(demo_run: dict, tmp_path: Path) -> None:
    """An FTE of 1.5 in raw.employments (as a faulty loader could leave it) fails the raw gate: dbt never
    runs, nothing is published, the previous version stays byte-identical, and the summary names the
    expectation, the count and the column."""
    import shutil

    warehouse = tmp_path / "warehouse"
    shutil.copytree(demo_run["warehouse"], warehouse, symlinks=True)
    before = _published_digest(warehouse)
    (warehouse / "gates.state.json").unlink()  # the defect bypassed ingest, so the gate must look again
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    con.execute("UPDATE raw.employments SET fte = 1.5 WHERE rowid = (SELECT min(rowid) FROM raw.employments)")
    con.close()
    blocked = subprocess.run([sys.executable, "-m", "maturity.cli", "run", "--landing", str(demo_run["landing"]),
                              "--warehouse", str(warehouse)], env=demo_run["env"], capture_output=True, text=True)
    assert blocked.returncode == 1
    assert "expect_column_values_to_be_between(fte)" in blocked.stderr, blocked.stderr[-2000:]
    assert "1 of " in blocked.stderr
    assert _published_digest(warehouse) == before
    run_dirs = sorted((warehouse / "validation").glob("*/raw_gate.html"), key=lambda p: p.stat().st_mtime)
    assert run_dirs and not (run_dirs[-1].parent / "mart_gate.json").exists()


def test_a_wave_can_be_rerun_through_the_dag_params(demo_run: dict, tmp_path: Path) -> None:
    """`maturity run --wave T2` (the `wave` param of maturity_ingest): T2 is reloaded although its files did
    not change, and the marts, the published version and the reports are rebuilt under a new chain id."""
    import shutil

    warehouse = tmp_path / "warehouse"
    shutil.copytree(demo_run["warehouse"], warehouse, symlinks=True)
    before = (warehouse / "published" / "current").resolve().name
    rerun = subprocess.run([sys.executable, "-m", "maturity.cli", "run", "--landing", str(demo_run["landing"]),
                            "--warehouse", str(warehouse), "--wave", "T2"], env=demo_run["env"],
                           capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "surveys: loading snapshot T2" in rerun.stdout + rerun.stderr
    assert "surveys: loading snapshot T1" not in rerun.stdout + rerun.stderr
    current = (warehouse / "published" / "current").resolve()
    assert current.name != before
    chain_id = next(line for line in rerun.stdout.splitlines() if line.startswith("Run manual__")).split()[1]
    con = duckdb.connect(str(current / "maturity.duckdb"), read_only=True)
    assert con.execute("SELECT DISTINCT run_id FROM marts.fct_maturity_scores").fetchall() == [(chain_id,)]
    con.close()
    reports = sorted(p.name for p in (warehouse / "published" / "reports").iterdir())
    assert [r for r in reports if r.endswith(".html")] == [f"direktion_T{i}.html" for i in range(4)]
    assert chain_id in (warehouse / "published" / "reports" / "direktion_T2.html").read_text(encoding="utf-8")


def test_only_reports_whose_inputs_changed_are_rendered_again(demo_run: dict, tmp_path: Path, monkeypatch) -> None:
    """The published set records a digest of each report's inputs (its wave and the waves before it,
    the wave-less tables, the report code): a change to T3 only makes T3's report stale; a change to an
    earlier wave (or to its HR extract's capacity) makes it and every later one stale; new report code
    makes all stale."""
    import shutil

    from maturity import report_inputs
    from maturity.publish import reports_dir

    current = (demo_run["warehouse"] / "published" / "current").resolve()
    reports = reports_dir(current)
    assert report_inputs.stale_waves(current / "maturity.duckdb", reports, pdf=True)[0] == []
    db = tmp_path / "maturity.duckdb"
    shutil.copy(current / "maturity.duckdb", db)
    con = duckdb.connect(str(db))
    con.execute("UPDATE marts.fct_response_rates SET distributed = distributed + 1 WHERE wave_id = 'T3'")
    con.close()
    assert report_inputs.stale_waves(db, reports, pdf=True)[0] == ["T3"]
    con = duckdb.connect(str(db))
    con.execute("UPDATE marts.fct_response_rates SET distributed = distributed + 1 WHERE wave_id = 'T1'")
    con.close()
    assert report_inputs.stale_waves(db, reports, pdf=True)[0] == ["T1", "T2", "T3"]
    assert report_inputs.stale_waves(current / "maturity.duckdb", reports, pdf=False)[0] == ["T0", "T1", "T2", "T3"]
    # Capacity rows belong to the reports of the waves whose HR extract they are (and the reports after them).
    shutil.copy(current / "maturity.duckdb", db)
    con = duckdb.connect(str(db))
    con.execute("UPDATE marts.fct_transformation_capacity SET fte = fte + 1 WHERE extract_date = "
                "(SELECT hr_extract_date FROM marts.dim_waves WHERE wave_id = 'T2')")
    con.close()
    assert report_inputs.stale_waves(db, reports, pdf=True)[0] == ["T2", "T3"]
    monkeypatch.setattr(report_inputs, "code_digest", lambda: "a new template")
    assert report_inputs.stale_waves(current / "maturity.duckdb", reports, pdf=True)[0] == ["T0", "T1", "T2", "T3"]
