"""The raw quality gate (expectations/raw_*.json) on the real demo warehouse, clean and with seeded defects.

The demo is generated and ingested once per module. The clean warehouse must pass with no failure at
all. Then one copy gets one defect in every raw suite and the gate runs once: each defect must show up
as its own error-severity failure (so each alone would block). A few defects also run alone, to check
that nothing else fires, that the summary names the expectation and the count, that a CPR number the
gate finds is never repeated in its reports, and that a warning does not block.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from maturity.demo import generate
from maturity.gates import GateResult, run_raw_gate
from maturity.settings import Settings

from tests.conftest import TEST_KEY

pytestmark = pytest.mark.slow
CPR = "010190-1234"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, ingest_all_shared: Callable) -> Path:
    base = tmp_path_factory.mktemp("gates_raw")
    generate(base / "landing")
    settings = Settings(base / "landing", base / "warehouse", TEST_KEY)
    reports = ingest_all_shared(settings)
    assert all(not isinstance(r, Exception) for r in reports.values()), reports
    return settings.warehouse_db


def seeded(warehouse: Path, target: Path, statements: list[str]) -> Path:
    """A copy of the warehouse with `statements` applied."""
    target.mkdir(parents=True, exist_ok=True)
    db = target / "warehouse.duckdb"
    shutil.copy(warehouse, db)
    con = duckdb.connect(str(db))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()
    return db


def first(table: str, where: str = "true") -> str:
    return f"rowid = (SELECT min(rowid) FROM raw.{table} WHERE {where})"


def suite_of(name: str) -> str:
    """The suite file a result belongs to: a partitioned suite's parts are named `suite[column=value]`."""
    return name.split("[", 1)[0]


def errors(result: GateResult) -> set[tuple[str, str, str | None]]:
    return {(suite_of(f.suite), f.expectation, f.column) for f in result.errors}


@pytest.fixture(scope="module")
def clean(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> GateResult:
    return run_raw_gate(warehouse, tmp_path_factory.mktemp("raw_clean_out"))


def test_clean_demo_passes_without_any_failure(clean: GateResult) -> None:
    assert clean.passed, clean.summary()
    assert clean.failures == [], clean.summary()
    assert len(clean.suites) >= 14 and clean.evaluated >= 200
    assert clean.summary().startswith("Raw gate passed: 0 error(s), 0 warning(s)")


def test_reports_are_written(clean: GateResult) -> None:
    payload = json.loads(clean.json_path.read_text())
    assert payload["passed"] is True and payload["gate"] == "raw"
    assert {s["name"] for s in payload["validation"]} == {s.name for s in clean.suites}
    assert all(s["validation_result"]["success"] for s in payload["validation"])
    page = clean.html_path.read_text()
    assert "PASSED" in page and "raw_hr__employments" in page
    assert not re.search(r"<script|<link|src=|https?://", page)  # self-contained


# One defect per raw suite: (suite, expectation, column) → the SQL that seeds it.
DEFECTS: dict[tuple[str, str, str | None], list[str]] = {
    ("raw_reference", "expect_column_values_to_be_between", "weight"): [
        f"UPDATE raw.dimensions SET weight = 0 WHERE {first('dimensions')}"],
    ("raw_hr__org_units", "expect_column_values_to_be_in_set", "chk_parent_known"): [
        "UPDATE raw.org_units SET parent_org_unit_id = 'NOPE' WHERE "
        + first("org_units", "level = 'NY1-niveau'")],
    ("raw_hr__employments", "expect_column_values_to_be_between", "fte"): [
        f"UPDATE raw.employments SET fte = 1.5 WHERE {first('employments')}"],
    ("raw_hr__team_memberships", "expect_column_values_to_be_between", "share_pct"): [
        f"UPDATE raw.team_memberships SET share_pct = 120 WHERE {first('team_memberships')}"],
    ("raw_surveys__survey_waves", "expect_column_values_to_be_unique", "closes_on"): [
        "UPDATE raw.survey_waves SET closes_on = (SELECT min(closes_on) FROM raw.survey_waves) WHERE wave_id = 'T1'"],
    ("raw_surveys__survey_mapping", "expect_column_values_to_be_in_set", "chk_scale_shared"): [
        "UPDATE raw.survey_mapping SET scale_max = 7 WHERE " + first("survey_mapping", "use = 'current'")],
    ("raw_surveys__survey_structure", "expect_column_values_to_not_match_regex", "question_text"): [
        f"UPDATE raw.survey_structure SET question_text = 'Kontakt {CPR} ved spørgsmål' "
        f"WHERE {first('survey_structure')}"],
    ("raw_surveys__survey_labels", "expect_column_values_to_not_match_regex", "value_label"): [
        f"UPDATE raw.survey_labels SET value_label = 'Leder {CPR.replace('-', '')}' WHERE {first('survey_labels')}"],
    ("raw_surveys__survey_respondents", "expect_column_values_to_be_in_set", "chk_org_unit_in_tree"): [
        f"UPDATE raw.survey_respondents SET org_unit_id = 'ZZZZ' WHERE {first('survey_respondents')}"],
    ("raw_surveys__survey_answers", "expect_column_pair_values_a_to_be_greater_than_b", "chk_scale_max, value"): [
        "UPDATE raw.survey_answers SET value = 9 WHERE "
        + first("survey_answers", "aspect = 'current' AND answer_status = 'valid'")],
    ("raw_projects", "expect_column_values_to_not_match_regex", "project_name"): [
        f"UPDATE raw.projects SET project_name = 'Velfærdsteknologi {CPR}' WHERE {first('projects')}"],
    ("raw_projects", "expect_compound_columns_to_be_unique", "extract_date, project_id"): [
        "INSERT INTO raw.projects SELECT * FROM raw.projects WHERE " + first("projects", "status = 'I gang'")],
    ("raw_system__quarantine", "expect_column_values_to_not_match_regex", "value"): [
        f"UPDATE raw.quarantine SET value = 'x;{CPR};y' WHERE {first('quarantine')}"],
    ("raw_system__manifest", "expect_column_values_to_be_in_set", "chk_reconciled"): [
        f"UPDATE raw.manifest SET rows_loaded = rows_loaded + 1 WHERE {first('manifest')}"],
    ("raw_system__snapshots", "expect_column_values_to_be_in_set", "source"): [
        f"UPDATE raw.snapshots SET source = 'sharepoint' WHERE {first('snapshots')}"],
}


@pytest.fixture(scope="module")
def all_defects(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> GateResult:
    base = tmp_path_factory.mktemp("raw_defects")
    db = seeded(warehouse, base, [sql for statements in DEFECTS.values() for sql in statements])
    return run_raw_gate(db, base / "out")


def test_every_raw_suite_has_a_seeded_defect() -> None:
    from maturity.gates.suites import load_specs

    assert {suite for suite, _, _ in DEFECTS} == set(load_specs("raw"))


@pytest.mark.parametrize("key", list(DEFECTS), ids=lambda k: f"{k[0]}-{k[2]}")
def test_each_seeded_defect_is_a_blocking_failure(all_defects: GateResult, key: tuple) -> None:
    assert not all_defects.passed
    hits = [f for f in all_defects.errors if (suite_of(f.suite), f.expectation, f.column) == key]
    assert hits, f"{key} not among\n{all_defects.summary(100)}"
    failure = hits[0]
    assert failure.unexpected_count and failure.unexpected_count >= 1
    assert failure.line() in all_defects.summary(100)


def test_fte_above_one_alone_blocks_with_a_readable_summary(warehouse: Path, tmp_path: Path) -> None:
    db = seeded(warehouse, tmp_path, [f"UPDATE raw.employments SET fte = 1.5 WHERE {first('employments')}"])
    result = run_raw_gate(db, tmp_path / "out")
    assert not result.passed
    assert errors(result) == {("raw_hr__employments", "expect_column_values_to_be_between", "fte")}
    assert result.warnings == []
    failure = result.errors[0]
    assert failure.unexpected_count == 1
    assert failure.examples[0]["fte"] == 1.5 and failure.examples[0]["_file"].endswith("employees.csv")
    summary = result.summary()
    assert "Raw gate BLOCKED: 1 error(s)" in summary
    assert re.search(r"expect_column_values_to_be_between\(fte\) — 1 of \d+ rows unexpected", summary), summary
    assert "fte=1.5" in summary
    assert "raw_hr__employments" in result.blocking_sentence()


def test_cpr_in_a_project_name_blocks_and_is_never_repeated(warehouse: Path, tmp_path: Path) -> None:
    db = seeded(warehouse, tmp_path, [
        f"UPDATE raw.projects SET project_name = 'Velfærdsteknologi {CPR}' WHERE {first('projects')}"])
    result = run_raw_gate(db, tmp_path / "out")
    assert errors(result) == {("raw_projects", "expect_column_values_to_not_match_regex", "project_name")}
    assert result.errors[0].unexpected_count == 1
    assert result.errors[0].examples[0]["project_name"] == "Velfærdsteknologi [CPR]"
    for text in (result.summary(), result.json_path.read_text(), result.html_path.read_text()):
        assert CPR not in text and "0101901234" not in text
        assert "[CPR]" in text


def test_a_warning_is_recorded_but_does_not_block(warehouse: Path, tmp_path: Path) -> None:
    db = seeded(warehouse, tmp_path, [f"UPDATE raw.projects SET owner_org_unit_id = 'ZZZZ' WHERE {first('projects')}"])
    result = run_raw_gate(db, tmp_path / "out")
    assert result.passed, result.summary()
    assert [(f.suite, f.column, f.severity, f.unexpected_count) for f in result.warnings] == [
        ("raw_projects", "chk_owner_known", "warning", 1)]
    assert "WARNING raw_projects" in result.summary()
    assert "warned" in result.html_path.read_text()


def test_the_helper_process_changes_nothing(all_defects: GateResult, warehouse: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Suites validated by the forked helper give exactly what a serial run in this process gives."""
    from maturity.gates import runner

    db = seeded(warehouse, tmp_path, [sql for statements in DEFECTS.values() for sql in statements])
    shares: list[list[int]] = []
    real_share = runner._helper_share
    monkeypatch.setattr(runner, "_helper_share", lambda *a: shares.append(real_share(*a)) or shares[-1])
    parallel = run_raw_gate(db, tmp_path / "parallel")
    monkeypatch.setattr(runner, "_helper_share", lambda *a: [])
    serial = run_raw_gate(db, tmp_path / "serial")
    if shares and shares[0]:  # a machine with one core validates everything here anyway
        assert 0 < len(shares[0]) < len(serial.suites)
    assert parallel.failures == serial.failures == all_defects.failures
    assert parallel.suites == serial.suites and parallel.skipped == serial.skipped
    assert parallel.evaluated == serial.evaluated


def test_a_broken_helper_falls_back_to_this_process(warehouse: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from maturity.gates import runner

    monkeypatch.setattr(runner, "_helper_share", lambda todo, indices: list(indices[1::2]))
    monkeypatch.setattr(runner, "_validate_in_helper", _die)
    result = run_raw_gate(warehouse, tmp_path / "out")
    assert result.passed and result.failures == [] and result.evaluated >= 200, result.summary()


def _die(_indices: list[int]) -> dict:
    import os

    os._exit(9)  # as if the helper process were killed


def test_large_frames_validated_column_by_column_give_the_same_results(
        all_defects: GateResult, warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame above GROUPED_ROWS stays in DuckDB and GX sees a few columns at a time: same failures,
    counts, examples and per-expectation results (in GX's order) as validating the whole frame."""
    from maturity.gates import frames

    db = seeded(warehouse, tmp_path, [sql for statements in DEFECTS.values() for sql in statements])
    monkeypatch.setattr(frames, "GROUPED_ROWS", 0)
    grouped = run_raw_gate(db, tmp_path / "grouped")
    assert grouped.failures == all_defects.failures
    assert grouped.suites == all_defects.suites and grouped.skipped == all_defects.skipped
    whole = json.loads(all_defects.json_path.read_text())["validation"]
    parts = json.loads(grouped.json_path.read_text())["validation"]
    assert [d["expectations"] for d in parts] == [d["expectations"] for d in whole]
    assert [[_order_free(r["result"]) for r in d["validation_result"]["results"]] for d in parts] == \
        [[_order_free(r["result"]) for r in d["validation_result"]["results"]] for d in whole]


# Which unexpected rows GX lists first, and at which positions, follows the frame's row order, and DuckDB
# returns the rows of a parallel join in no fixed order (two builds of the same frame differ): the lists are
# compared as sets and the positions not at all (the examples read through them are compared above).
_ORDERED = ("partial_unexpected_list", "partial_unexpected_counts")


def _order_free(result: dict) -> dict:
    return {k: sorted(map(repr, v)) if k in _ORDERED and isinstance(v, list) else v for k, v in result.items()
            if k != "partial_unexpected_index_list"}


def test_results_are_reused_only_for_suites_whose_inputs_did_not_change(
        warehouse: Path, clean: GateResult, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    db = seeded(warehouse, tmp_path / "wh", [])
    assert run_raw_gate(db, tmp_path / "out1", cache_dir=cache).reused == []
    again = run_raw_gate(db, tmp_path / "out2", cache_dir=cache)
    assert sorted(again.reused) == sorted(s.name for s in clean.suites)
    assert again.passed and again.failures == [] and again.suites == clean.suites
    assert again.evaluated == clean.evaluated
    # One employment changed: its suite (and the ones whose frames read raw.employments) run again, and a
    # defect there is found although the result of the clean table is in the store.
    con = duckdb.connect(str(db))
    con.execute(f"UPDATE raw.employments SET fte = 1.5 WHERE {first('employments')}")
    con.close()
    changed = run_raw_gate(db, tmp_path / "out3", cache_dir=cache)
    assert set(again.reused) - set(changed.reused) == {"raw_hr__employments", "raw_hr__team_memberships"}
    assert errors(changed) == {("raw_hr__employments", "expect_column_values_to_be_between", "fte")}
    assert f"{len(changed.reused)} suites' results reused (inputs unchanged)" in changed.summary()
    # A changed suite file is validated again too.
    suites = tmp_path / "suites"
    shutil.copytree(Path(__file__).parents[2] / "expectations", suites)
    path = suites / "raw_projects.json"
    data = json.loads(path.read_text())
    data["meta"]["description"] += " (edited)"
    path.write_text(json.dumps(data))
    edited = run_raw_gate(db, tmp_path / "out4", cache_dir=cache, expectations_dir=suites)
    assert "raw_projects" not in edited.reused and "raw_reference" in edited.reused
    assert errors(edited) == errors(changed)


def test_a_partitioned_suite_finds_what_the_whole_table_suite_finds(
        all_defects: GateResult, warehouse: Path, tmp_path: Path) -> None:
    """The answers and respondents suites run one wave at a time (meta.partition); on the warehouse with every
    seeded defect they fail the same expectations on the same number of rows as when run on the whole table."""
    suites = tmp_path / "suites"
    shutil.copytree(Path(__file__).parents[2] / "expectations", suites)
    partitioned = []
    for path in suites.glob("raw_*.json"):
        data = json.loads(path.read_text())
        if data["meta"].pop("partition", None):
            partitioned.append(data["name"])
            path.write_text(json.dumps(data))
    assert sorted(partitioned) == ["raw_surveys__survey_answers", "raw_surveys__survey_respondents"]
    db = seeded(warehouse, tmp_path, [sql for statements in DEFECTS.values() for sql in statements])
    whole = run_raw_gate(db, tmp_path / "whole", expectations_dir=suites)
    waves = duckdb.connect(str(db), read_only=True).execute(
        "SELECT list(DISTINCT wave_id ORDER BY wave_id) FROM raw.survey_answers").fetchone()[0]
    for name in partitioned:
        parts = [s for s in all_defects.suites if suite_of(s.name) == name]
        assert [s.name for s in parts] == [f"{name}[wave_id={w}]" for w in waves]
        assert sum(s.rows for s in parts) == next(s.rows for s in whole.suites if s.name == name)

    def counted(result: GateResult) -> dict[tuple, int]:
        out: dict[tuple, int] = {}
        for f in result.failures:
            key = (suite_of(f.suite), f.expectation, f.column, f.severity)
            out[key] = out.get(key, 0) + (f.unexpected_count or 0)
        return out

    assert counted(all_defects) == counted(whole)


def test_a_new_wave_validates_only_its_own_part_of_a_partitioned_suite(
        warehouse: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    db = seeded(warehouse, tmp_path / "wh", [])
    first_run = run_raw_gate(db, tmp_path / "out1", cache_dir=cache)
    assert first_run.passed and first_run.reused == []
    con = duckdb.connect(str(db))
    wave = con.execute("SELECT max(wave_id) FROM raw.survey_answers").fetchone()[0]
    con.execute("UPDATE raw.survey_answers SET value = 9 WHERE "
                + first("survey_answers", f"wave_id = '{wave}' AND aspect = 'current' AND answer_status = 'valid'"))
    con.close()
    changed = run_raw_gate(db, tmp_path / "out2", cache_dir=cache)
    assert {s.name for s in changed.suites} - set(changed.reused) == {f"raw_surveys__survey_answers[wave_id={wave}]"}
    assert {f.suite for f in changed.errors} == {f"raw_surveys__survey_answers[wave_id={wave}]"}
    assert f"raw_surveys__survey_answers[wave_id={wave}]: expect_column_pair_values_a_to_be_greater_than_b" \
        in changed.summary()
