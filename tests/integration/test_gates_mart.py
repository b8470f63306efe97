"""The mart quality gate (expectations/mart_*.json + the SPEC §3.9 privacy audit) on the real demo marts.

The demo is generated, ingested and built with dbt once per module, and its twelve marts exported to
Parquet as the publish step does. The clean set must pass with no failure at all. Then one copy gets
one defect in every mart suite (and one the privacy audit must catch) and the gate runs once: each
defect must show up as its own error-severity failure. Two defects run alone: a unit un-suppressed
consistently across the marts — which only the linear-algebra audit can see — and a row-count
collapse against the previous publish (with a jump in another table that only warns).
"""

from __future__ import annotations

import importlib
import json
import math
import re
import shutil
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from maturity.demo import generate
from maturity.gates import GateResult, run_mart_gate
from maturity.gates.audit import _ancestors
from maturity.publish import MARTS
from maturity.settings import Settings
from maturity.transform import build

from tests.conftest import TEST_KEY

pytestmark = pytest.mark.slow
RUN_ID = "gate-test-run"
SURVEY_AUDIT = ("privacy_audit", "small_cell_disclosure", "fct_maturity_scores + fct_leadership_alignment")
CAPACITY_AUDIT = ("privacy_audit", "small_cell_disclosure", "fct_transformation_capacity")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, ingest_all_shared: Callable) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("gates_mart")
    generate(base / "landing")
    settings = Settings(base / "landing", base / "warehouse", TEST_KEY)
    reports = ingest_all_shared(settings)
    assert all(not isinstance(r, Exception) for r in reports.values()), reports
    # dbt runs as a child process: import Great Expectations (seconds) meanwhile, instead of in the first gate.
    warm = threading.Thread(target=importlib.import_module, args=("great_expectations",), daemon=True)
    warm.start()
    build(settings, run_id=RUN_ID, progress=lambda _line: None)
    warm.join()
    parquet = base / "parquet"
    parquet.mkdir()
    con = duckdb.connect(str(settings.warehouse_db), read_only=True)
    try:
        for table in MARTS:
            con.execute(f"COPY marts.{table} TO '{parquet / (table + '.parquet')}' (FORMAT parquet)")
    finally:
        con.close()
    return {"parquet": parquet, "warehouse": settings.warehouse_db, "base": base}


def edited(src: Path, dst: Path, edits: dict[str, list[str]]) -> Path:
    """A copy of the Parquet set with SQL `edits` applied per table (the table is called `t` in the SQL)."""
    shutil.copytree(src, dst)
    for table, statements in edits.items():
        con = duckdb.connect()
        try:
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{src / (table + '.parquet')}')")
            for sql in statements:
                con.execute(sql)
            con.execute(f"COPY t TO '{dst / (table + '.parquet')}' (FORMAT parquet)")
        finally:
            con.close()
    return dst


def keys(failures: list) -> set[tuple[str, str, str | None]]:
    return {(f.suite, f.expectation, f.column) for f in failures}


@pytest.fixture(scope="module")
def clean(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> GateResult:
    out = tmp_path_factory.mktemp("mart_clean_out")
    return run_mart_gate(built["parquet"], built["parquet"], out, built["warehouse"], run_id=RUN_ID)


def test_clean_demo_marts_pass_without_any_failure(clean: GateResult) -> None:
    assert clean.passed, clean.summary()
    assert clean.failures == [], clean.summary()
    assert clean.skipped == []  # a previous publish was given: the row-count bounds ran too
    assert {s.name for s in clean.suites} == {f"mart_{t}" for t in MARTS} | {"privacy_audit"}
    assert clean.summary().startswith("Mart gate passed: 0 error(s), 0 warning(s)")


def test_clean_reports_include_the_privacy_audit(clean: GateResult) -> None:
    payload = json.loads(clean.json_path.read_text())
    assert payload["passed"] is True
    audit = payload["privacy_audit"]
    assert audit["survey"]["groups"] >= 28 and audit["capacity"]["groups"] >= 3
    assert audit["survey"]["blocking"] == [] and audit["capacity"]["blocking"] == []
    assert payload["parameters"]["publish_run_id"] == RUN_ID and payload["parameters"]["min_cell"] == 5
    page = clean.html_path.read_text()
    assert "PASSED" in page and "privacy_audit" in page
    assert not re.search(r"<script|<link|src=|https?://", page)


def test_every_text_column_of_every_mart_is_checked_for_cpr(built: dict[str, Path]) -> None:
    from maturity.gates.cpr import CPR_REGEX
    from maturity.gates.suites import columns_checked_for_cpr, load_specs

    specs = load_specs("mart")
    con = duckdb.connect()
    try:
        for table in MARTS:
            text = {c for c, kind, *_ in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet('{built['parquet'] / (table + '.parquet')}')").fetchall()
                if kind == "VARCHAR"}
            assert text <= columns_checked_for_cpr(specs[f"mart_{table}"], CPR_REGEX), table
    finally:
        con.close()


def _small_suppressed_leaf(warehouse: Path) -> dict:
    """A suppressed capacity row of a leaf unit with 1..4 placed persons, and its true figures."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute("""
            SELECT c.extract_date, c.org_unit_id, count(*), sum(p.fte), sum(p.transformation_fte), sum(p.dedicated_fte)
            FROM marts.fct_transformation_capacity AS c
            JOIN intermediate.int_persons_placed AS p
                ON p.extract_date = c.extract_date AND p.placed_org_unit_id = c.org_unit_id
            WHERE c.is_suppressed AND NOT EXISTS (
                SELECT 1 FROM marts.dim_org_units AS o
                WHERE o.extract_date = c.extract_date AND o.parent_org_unit_id = c.org_unit_id)
            GROUP BY ALL HAVING count(*) BETWEEN 1 AND 4 ORDER BY ALL LIMIT 1""").fetchone()
    finally:
        con.close()
    assert row is not None
    return dict(zip(("extract_date", "org_unit_id", "n", "fte", "tfte", "dfte"), row, strict=True))


@pytest.fixture(scope="module")
def all_defects(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> GateResult:
    leaf = _small_suppressed_leaf(built["warehouse"])
    first = "rowid = (SELECT min(rowid) FROM t WHERE {})".format
    edits = {
        "dim_dimensions": [f"UPDATE t SET name_en = 'Data 010190-1234' WHERE {first('true')}"],
        "dim_waves": ["UPDATE t SET closes_on = (SELECT min(closes_on) FROM t) WHERE wave_number = 2"],
        "dim_org_units": [f"UPDATE t SET depth = depth + 1 WHERE {first('depth = 2')}"],
        "fct_maturity_scores": [f"UPDATE t SET maturity_index = 101 WHERE {first('NOT is_suppressed')}"],
        "fct_maturity_overall": [f"UPDATE t SET overall_band = 'super' WHERE {first('overall_band IS NOT NULL')}"],
        "fct_gap_priorities": [f"INSERT INTO t SELECT * FROM t WHERE {first('true')}"],
        "fct_leadership_alignment": [
            f"UPDATE t SET alignment_gap = alignment_gap + 1 WHERE {first('NOT is_suppressed')}"],
        "fct_maturity_trend": [f"UPDATE t SET run_id = 'another-run' WHERE {first('true')}"],
        "fct_response_rates": [f"UPDATE t SET response_rate = 1.5 WHERE {first('response_rate IS NOT NULL')}",
                               "UPDATE t SET run_id = 'stale-run'"],
        "fct_portfolio_coverage": [f"UPDATE t SET active_budget_dkk = -1 WHERE {first('true')}"],
        "fct_transformation_capacity": [
            f"UPDATE t SET is_suppressed = false, headcount = {leaf['n']}, fte = {leaf['fte']}, "
            f"transformation_fte = {leaf['tfte']}, dedicated_fte = {leaf['dfte']} "
            f"WHERE extract_date = DATE '{leaf['extract_date']}' AND org_unit_id = '{leaf['org_unit_id']}'"],
        "rpt_direktion_scorecard": [f"UPDATE t SET top_gaps = 'data;strategi' WHERE {first('top_gaps IS NOT NULL')}"],
    }
    base = tmp_path_factory.mktemp("mart_defects")
    parquet = edited(built["parquet"], base / "parquet", edits)
    return run_mart_gate(parquet, built["parquet"], base / "out", built["warehouse"])  # run_id: the consensus


EXPECTED = [
    ("mart_dim_dimensions", "expect_column_values_to_not_match_regex", "name_en"),
    ("mart_dim_waves", "expect_column_values_to_be_unique", "closes_on"),
    ("mart_dim_org_units", "expect_column_values_to_be_in_set", "chk_depth_consistent"),
    ("mart_fct_maturity_scores", "expect_column_values_to_be_between", "maturity_index"),
    ("mart_fct_maturity_overall", "expect_column_values_to_be_in_set", "overall_band"),
    ("mart_fct_gap_priorities", "expect_compound_columns_to_be_unique", "wave_id, dimension_id"),
    ("mart_fct_leadership_alignment", "expect_column_values_to_be_in_set", "chk_gap_is_difference"),
    ("mart_fct_maturity_trend", "expect_column_unique_value_count_to_be_between", "run_id"),
    ("mart_fct_response_rates", "expect_column_values_to_be_between", "response_rate"),
    ("mart_fct_response_rates", "expect_column_values_to_be_in_set", "run_id"),
    ("mart_fct_portfolio_coverage", "expect_column_values_to_be_between", "active_budget_dkk"),
    ("mart_fct_transformation_capacity", "expect_column_values_to_be_between", "headcount"),
    CAPACITY_AUDIT,
    ("mart_rpt_direktion_scorecard", "expect_column_values_to_match_regex", "top_gaps"),
]


def test_every_mart_suite_has_a_seeded_defect() -> None:
    assert {suite for suite, _, _ in EXPECTED} - {"privacy_audit"} == {f"mart_{t}" for t in MARTS}


@pytest.mark.parametrize("key", EXPECTED, ids=lambda k: f"{k[0]}-{k[2]}")
def test_each_seeded_defect_is_a_blocking_failure(all_defects: GateResult, key: tuple) -> None:
    assert not all_defects.passed
    hits = [f for f in all_defects.errors if (f.suite, f.expectation, f.column) == key]
    assert hits, f"{key} not among\n{all_defects.summary(100)}"
    assert hits[0].unexpected_count is None or hits[0].unexpected_count >= 1
    assert hits[0].line() in all_defects.summary(100)


def test_two_run_ids_and_a_stale_table_are_named(all_defects: GateResult) -> None:
    by_key = {(f.suite, f.expectation, f.column): f for f in all_defects.errors}
    two = by_key[("mart_fct_maturity_trend", "expect_column_unique_value_count_to_be_between", "run_id")]
    assert two.detail.startswith("observed 2")
    assert {e["run_id"] for e in two.examples} == {RUN_ID, "another-run"}
    stale = by_key[("mart_fct_response_rates", "expect_column_values_to_be_in_set", "run_id")]
    assert stale.unexpected_count == stale.element_count > 0
    assert "stale-run" in stale.line() and RUN_ID in stale.detail


def test_capacity_audit_names_the_small_group(all_defects: GateResult, built: dict[str, Path]) -> None:
    leaf = _small_suppressed_leaf(built["warehouse"])
    audit = next(f for f in all_defects.errors if (f.suite, f.expectation, f.column) == CAPACITY_AUDIT)
    assert any(e.get("extract_date") == str(leaf["extract_date"]) for e in audit.examples), audit.examples
    for path in (all_defects.json_path, all_defects.html_path):  # the seeded CPR in name_en is redacted
        assert "010190-1234" not in path.read_text() and "Data [CPR]" in path.read_text()


def _unsuppress_consistently(built: dict[str, Path]) -> tuple[dict[str, list[str]], tuple[str, str, str]]:
    """Edits that publish one residual-suppressed scores row (n ≥ min_cell) with its true figures, in
    fct_maturity_scores and fct_maturity_trend alike, so that every per-table and cross-table expectation
    still holds; only the privacy audit can see that the parent's residual is now a small group."""
    con = duckdb.connect(str(built["warehouse"]), read_only=True)
    try:
        resp = defaultdict(list)
        for w, d, u, cur, tgt in con.execute(
                "SELECT wave_id, dimension_id, org_unit_id, cur_rd, tgt_rd "
                "FROM intermediate.int_respondent_dimensions_scored").fetchall():
            resp[(w, d)].append((u, cur, tgt))
        trees = defaultdict(dict)
        for w, u, p in con.execute(
                "SELECT w.wave_id, o.org_unit_id, o.parent_org_unit_id FROM marts.dim_org_units AS o "
                "JOIN marts.dim_waves AS w ON o.extract_date = w.hr_extract_date").fetchall():
            trees[w][u] = p
        candidates = con.execute("""
            SELECT s.wave_id, s.dimension_id, s.org_unit_id, s.scale_min, s.scale_max
            FROM marts.fct_maturity_scores AS s
            WHERE s.is_suppressed AND EXISTS (  -- overall stays null: another dimension of the unit is suppressed
                SELECT 1 FROM marts.fct_maturity_scores AS o WHERE o.wave_id = s.wave_id
                AND o.org_unit_id = s.org_unit_id AND o.dimension_id <> s.dimension_id AND o.is_suppressed)
            ORDER BY ALL""").fetchall()
    finally:
        con.close()
    for wave, dim, unit, lo, hi in candidates:  # noqa: B007 - the chosen row's scale is used below
        ancestors = _ancestors(trees[wave])
        inside = [(c, t) for u, c, t in resp[(wave, dim)] if unit in ancestors[u]]
        if len(inside) >= 5:
            break
    else:
        pytest.skip("the demo has no residual-suppressed unit")
    n = len(inside)
    cur = [c for c, _ in inside]
    mean = sum(cur) / n
    sd = math.sqrt(sum((c - mean) ** 2 for c in cur) / (n - 1))
    a = hi - lo + 1
    rwg = max(0.0, 1 - sd**2 / ((a * a - 1) / 12))
    index = 100 * (mean - lo) / (hi - lo)
    band = "basis" if index <= 25 else "gennemsnitlig" if index <= 50 else "moderat_avanceret" if index <= 75 \
        else "avanceret"
    if all(t is not None for _, t in inside):
        tmean = sum(t for _, t in inside) / n
        gmean = sum(t - c for c, t in inside) / n
        target = (f"target_mean = {tmean!r}, gap_mean = {gmean!r}, target_index = {100 * (tmean - lo) / (hi - lo)!r}, "
                  f"gap_index = {100 * gmean / (hi - lo)!r}")
    else:
        target = "target_mean = NULL, gap_mean = NULL, target_index = NULL, gap_index = NULL"
    where = f"wave_id = '{wave}' AND org_unit_id = '{unit}' AND dimension_id = '{dim}'"
    edits = {
        "fct_maturity_scores": [
            f"UPDATE t SET is_suppressed = false, n_respondents = {n}, current_mean = {mean!r}, current_sd = {sd!r}, "
            f"consensus_rwg = {rwg!r}, maturity_index = {index!r}, maturity_band = '{band}', {target} WHERE {where}"],
        "fct_maturity_trend": [
            f"UPDATE t SET maturity_index = {index!r}, delta_index = {index!r} - previous_maturity_index WHERE {where}",
            f"UPDATE t SET previous_maturity_index = {index!r}, delta_index = maturity_index - {index!r} "
            f"WHERE previous_wave_id = '{wave}' AND org_unit_id = '{unit}' AND dimension_id = '{dim}'"],
    }
    return edits, (wave, dim, unit)


def test_a_consistently_unsuppressed_unit_is_caught_by_the_privacy_audit_alone(
        built: dict[str, Path], tmp_path: Path) -> None:
    edits, (wave, dim, unit) = _unsuppress_consistently(built)
    parquet = edited(built["parquet"], tmp_path / "parquet", edits)
    result = run_mart_gate(parquet, None, tmp_path / "out", built["warehouse"], run_id=RUN_ID)
    assert not result.passed
    assert keys(result.errors) == {SURVEY_AUDIT}, result.summary()
    assert result.warnings == []
    audit = result.errors[0]
    assert audit.unexpected_count >= 1
    assert {(e["wave_id"], e["dimension_id"]) for e in audit.examples} == {(wave, dim)}
    assert all(e["kind"] == "small_set" and 1 <= e["size"] < 5 for e in audit.examples)
    summary = result.summary()
    assert re.search(r"ERROR   privacy_audit: small_cell_disclosure\(fct_maturity_scores \+ "
                     r"fct_leadership_alignment\) — \d+ disclosure\(s\) of fewer than 5 respondents in 1 of \d+ "
                     r"wave × dimension groups", summary), summary
    assert f"wave_id={wave}, dimension_id={dim}" in summary
    # without a previous publish the row-count bounds are skipped, and listed as skipped
    assert len([s for s in result.skipped if "previous_row_count" in s]) == 2 * len(MARTS)


def test_row_count_collapse_blocks_and_a_jump_only_warns(built: dict[str, Path], tmp_path: Path) -> None:
    previous = edited(built["parquet"], tmp_path / "previous", {
        "fct_maturity_scores": ["INSERT INTO t SELECT * FROM t", "INSERT INTO t SELECT * FROM t"],  # 4× today
        "fct_response_rates": ["DELETE FROM t WHERE rowid % 3 <> 0"],  # a third of today
    })
    result = run_mart_gate(built["parquet"], previous, tmp_path / "out", None, run_id=RUN_ID)
    assert not result.passed
    assert keys(result.errors) == {("mart_fct_maturity_scores", "expect_table_row_count_to_be_between", None)}
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{built['parquet'] / 'fct_maturity_scores.parquet'}')"
                      ).fetchone()[0]
    assert result.errors[0].detail == f"observed {rows}, expected ≥ {2 * rows}"
    assert keys(result.warnings) == {("mart_fct_response_rates", "expect_table_row_count_to_be_between", None),
                                     ("privacy_audit", "audit_ran", None)}
    assert "fct_maturity_scores" in result.blocking_sentence()


def test_the_audit_cache_reuses_unchanged_groups_and_never_hides_a_changed_one(
        built: dict[str, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run_mart_gate(built["parquet"], None, tmp_path / "out1", built["warehouse"], run_id=RUN_ID, cache_dir=cache)
    assert first.passed, first.summary()
    assert json.loads(first.json_path.read_text())["privacy_audit"]["groups_reused"] == 0
    # The same warehouse, one group made disclosive: that group is solved again and blocks, the others are reused.
    edits, (wave, dim, _unit) = _unsuppress_consistently(built)
    parquet = edited(built["parquet"], tmp_path / "parquet", edits)
    uncached = run_mart_gate(parquet, None, tmp_path / "out2", built["warehouse"], run_id=RUN_ID)
    for out in ("out3", "out4"):
        cached = run_mart_gate(parquet, None, tmp_path / out, built["warehouse"], run_id=RUN_ID, cache_dir=cache)
        assert not cached.passed
        assert keys(cached.errors) == {SURVEY_AUDIT}, cached.summary()
        assert cached.errors[0].examples == uncached.errors[0].examples
        assert {(e["wave_id"], e["dimension_id"]) for e in cached.errors[0].examples} == {(wave, dim)}
        audit = json.loads(cached.json_path.read_text())["privacy_audit"]
        groups = audit["survey"]["groups"] + audit["capacity"]["groups"]
        assert audit["groups_reused"] == (groups - 1 if out == "out3" else groups)


def _cached_and_copied(built: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A passing gate that filled the audit cache, and a copy of its warehouse for a test to change."""
    cache = tmp_path / "cache"
    first = run_mart_gate(built["parquet"], None, tmp_path / "out1", built["warehouse"], run_id=RUN_ID, cache_dir=cache)
    assert first.passed, first.summary()
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built["warehouse"], warehouse)
    return cache, warehouse


def test_the_audit_cache_does_not_depend_on_the_row_order_of_a_rebuilt_tree(
        built: dict[str, Path], tmp_path: Path) -> None:
    """dbt rebuilds dim_org_units every run and DuckDB's parallel scan does not keep a row order: a rebuild
    with the same rows in another order is the same audit input (at kl, before the tree was read in key
    order, 30 of 31 groups were solved again after every new wave)."""
    cache, warehouse = _cached_and_copied(built, tmp_path)
    con = duckdb.connect(str(warehouse))
    try:
        before = con.execute("SELECT list(org_unit_id) FROM marts.dim_org_units").fetchone()[0]
        con.execute("CREATE OR REPLACE TABLE marts.dim_org_units AS "
                    "SELECT * FROM marts.dim_org_units ORDER BY org_unit_id DESC, extract_date DESC")
        assert con.execute("SELECT list(org_unit_id) FROM marts.dim_org_units").fetchone()[0] != before
    finally:
        con.close()
    again = run_mart_gate(built["parquet"], None, tmp_path / "out2", warehouse, run_id=RUN_ID, cache_dir=cache)
    assert again.passed, again.summary()
    audit = json.loads(again.json_path.read_text())["privacy_audit"]
    assert audit["groups_reused"] == audit["survey"]["groups"] + audit["capacity"]["groups"]


def test_the_audit_cache_solves_again_a_group_whose_respondents_or_persons_changed(
        built: dict[str, Path], tmp_path: Path) -> None:
    """The cache key covers each counted member (id, unit, role) read from the warehouse: one respondent
    with another role, or one person placed in another unit, makes that group's audit run again, with the
    findings of an audit without cache."""
    cache, warehouse = _cached_and_copied(built, tmp_path)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("UPDATE intermediate.int_respondent_dimensions_scored "
                    "SET role = CASE WHEN role = 'chef' THEN 'leder' ELSE 'chef' END "
                    "WHERE rowid = (SELECT min(rowid) FROM intermediate.int_respondent_dimensions_scored)")
        con.execute("UPDATE intermediate.int_persons_placed SET placed_org_unit_id = ("
                    "  SELECT min(o.org_unit_id) FROM marts.dim_org_units AS o, intermediate.int_persons_placed AS p"
                    "  WHERE p.rowid = 0 AND o.extract_date = p.extract_date"
                    "    AND o.org_unit_id <> p.placed_org_unit_id) WHERE rowid = 0")
    finally:
        con.close()
    uncached = run_mart_gate(built["parquet"], None, tmp_path / "out2", warehouse, run_id=RUN_ID)
    again = run_mart_gate(built["parquet"], None, tmp_path / "out3", warehouse, run_id=RUN_ID, cache_dir=cache)
    audit = json.loads(again.json_path.read_text())["privacy_audit"]
    assert audit["groups_reused"] == audit["survey"]["groups"] + audit["capacity"]["groups"] - 2
    plain = json.loads(uncached.json_path.read_text())["privacy_audit"]
    assert {k: plain[k] for k in ("survey", "capacity")} == {k: audit[k] for k in ("survey", "capacity")}
    assert [f.line() for f in again.failures] == [f.line() for f in uncached.failures]
