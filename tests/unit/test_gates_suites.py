"""The JSON suites in expectations/: they load (as JSON and as GX 1.x objects) and follow our conventions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from maturity.errors import MaturityError
from maturity.gates import frames
from maturity.gates.cpr import CPR_REGEX
from maturity.gates.suites import (
    EXPECTATIONS_DIR,
    SEVERITIES,
    columns_checked_for_cpr,
    expectation_parameters,
    load_specs,
    runnable,
)
from maturity.ingest.store import LINEAGE, RAW_TABLES, SYSTEM_DDL
from maturity.publish import MARTS

SUITE_FILES = sorted(EXPECTATIONS_DIR.glob("*.json"))
MART_PARAMETERS = {"min_cell", "publish_run_id", "previous_row_count_min", "previous_row_count_max"}


def _columns(spec: str) -> dict[str, str]:
    """column → type from a `name TYPE, …` column list."""
    return {p.split()[0]: p.split()[1] for p in (x.strip() for x in spec.split(",")) if p}


def _system_tables() -> dict[str, dict[str, str]]:
    tables = {}
    for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS raw\.(\w+) \((.*?)\);", SYSTEM_DDL, re.S):
        body = re.sub(r",\s*PRIMARY KEY \(.*?\)", "", body)
        tables[name] = _columns(body)
    return tables


def test_there_is_a_suite_per_raw_source_and_per_published_mart() -> None:
    specs = load_specs()
    raw = {s.table for s in specs.values() if s.gate == "raw"}
    assert {"raw.dimensions", "raw.org_units", "raw.employments", "raw.team_memberships", "raw.survey_respondents",
            "raw.survey_answers", "raw.survey_mapping", "raw.projects"} <= raw
    assert {s.name for s in specs.values() if s.gate == "mart"} == {f"mart_{t}" for t in MARTS}
    assert {s.table for s in specs.values() if s.gate == "mart"} == set(MARTS)


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda p: p.stem)
def test_every_expectation_has_a_severity(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["name"] == path.stem
    assert data["meta"]["gate"] in ("raw", "mart") and data["meta"]["table"] and data["meta"]["key"]
    assert data["expectations"]
    for exp in data["expectations"]:
        assert exp["meta"]["severity"] in SEVERITIES, exp
        assert exp["type"].startswith("expect_"), exp


def test_every_suite_loads_into_gx_with_every_expectation() -> None:
    """GX validates the kwargs (pydantic) and would drop an unknown expectation type: the count must hold."""
    from maturity.gates.suites import Validator

    validator = Validator()
    for spec in load_specs().values():
        suite = validator.suite(spec.data)
        assert suite.name == spec.name
        assert len(suite.expectations) == len(spec.expectations), spec.name
        for exp, source in zip(suite.expectations, spec.expectations, strict=True):
            assert exp.meta["severity"] == source["meta"]["severity"]
            assert exp.severity.value == ("critical" if source["meta"]["severity"] == "error" else "warning")
        # GX's own JSON of the suite loads back (ExpectationSuite(**dict)) with the same expectations.
        again = type(suite)(**json.loads(json.dumps(suite.to_json_dict())))
        assert [e.expectation_type for e in again.expectations] == [e.expectation_type for e in suite.expectations]


def test_an_unknown_expectation_type_is_refused_not_dropped() -> None:
    from maturity.gates.suites import Validator

    typo = {"name": "typo", "expectations": [
        {"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "x"}, "meta": {"severity": "error"}}]}
    with pytest.raises(MaturityError, match="expect_column_values_to_be_betwen"):
        Validator().suite(typo)


def test_every_suite_has_a_frame_query_and_every_query_a_suite() -> None:
    specs = load_specs()
    assert {n for n, s in specs.items() if s.gate == "raw"} == set(frames.RAW_FRAMES)
    assert {n for n, s in specs.items() if s.gate == "mart"} == set(frames.MART_FRAMES)


def test_prepared_columns_come_from_the_frame_query() -> None:
    for spec in load_specs().values():
        sql = {**frames.RAW_FRAMES, **frames.MART_FRAMES}[spec.name]
        used = {c for e in spec.expectations for c in _expectation_columns(e) if c.startswith("chk_")}
        for column in used:
            assert re.search(rf"\bAS {column}\b", sql), (spec.name, column)


def _expectation_columns(exp: dict) -> list[str]:
    kw = exp["kwargs"]
    return [c for c in [kw.get("column"), kw.get("column_A"), kw.get("column_B"), *kw.get("column_list", []),
                        *kw.get("column_set", [])] if c]


def test_raw_suites_pin_exactly_the_contract_columns() -> None:
    contract = {f"raw.{t}": list(_columns(f"{cols}, {LINEAGE}")) for t, cols in RAW_TABLES.items()}
    contract |= {f"raw.{t}": list(cols) for t, cols in _system_tables().items()}
    for spec in load_specs("raw").values():
        sets = [e for e in spec.expectations if e["type"] == "expect_table_columns_to_match_set"]
        assert len(sets) == 1 and sets[0]["kwargs"]["exact_match"] is True, spec.name
        assert sets[0]["meta"]["severity"] == "error"
        pinned = [c for c in sets[0]["kwargs"]["column_set"] if not c.startswith("chk_")]
        assert pinned == contract[spec.table], spec.name


def test_every_raw_text_column_is_checked_for_cpr() -> None:
    tables = {f"raw.{t}": _columns(f"{cols}, {LINEAGE}") for t, cols in RAW_TABLES.items()}
    tables |= {f"raw.{t}": cols for t, cols in _system_tables().items()}
    for spec in load_specs("raw").values():
        text = {c for c, kind in tables[spec.table].items() if kind.startswith("VARCHAR")}
        assert text and text <= columns_checked_for_cpr(spec, CPR_REGEX), (spec.name, text)


def test_every_not_match_regex_is_the_cpr_pattern_and_blocks() -> None:
    for spec in load_specs().values():
        for exp in spec.expectations:
            if exp["type"] == "expect_column_values_to_not_match_regex":
                assert exp["kwargs"]["regex"] == CPR_REGEX and exp["meta"]["severity"] == "error", spec.name


def test_every_mart_pins_one_run_id_and_checks_row_counts_against_the_previous_publish() -> None:
    for spec in load_specs("mart").values():
        by_type: dict[str, list[dict]] = {}
        for exp in spec.expectations:
            by_type.setdefault(exp["type"], []).append(exp)
        single = by_type["expect_column_unique_value_count_to_be_between"]
        assert [(e["kwargs"], e["meta"]["severity"]) for e in single] == [
            ({"column": "run_id", "min_value": 1, "max_value": 1}, "error")]
        counts = {tuple(sorted(expectation_parameters(e))): e["meta"]["severity"]
                  for e in by_type["expect_table_row_count_to_be_between"]}
        assert counts[("previous_row_count_min",)] == "error"  # a collapse blocks
        assert counts[("previous_row_count_max",)] == "warning"  # a jump (a new wave) only warns
        used = set().union(*(expectation_parameters(e) for e in spec.expectations))
        assert used <= MART_PARAMETERS, spec.name


def test_raw_suites_need_no_parameters() -> None:
    for spec in load_specs("raw").values():
        data, skipped = runnable(spec, {})
        assert skipped == [] and data["expectations"] == spec.expectations


def test_expectations_without_their_parameter_are_skipped_not_run() -> None:
    spec = load_specs("mart")["mart_fct_maturity_scores"]
    data, skipped = runnable(spec, {"min_cell": 5, "publish_run_id": ["r"]})
    assert len(skipped) == 2 and {t for e in skipped for t in expectation_parameters(e)} == {
        "previous_row_count_min", "previous_row_count_max"}
    assert len(data["expectations"]) == len(spec.expectations) - 2
    data, skipped = runnable(spec, dict.fromkeys(MART_PARAMETERS, 1))
    assert skipped == []


def test_a_malformed_suite_is_refused_with_its_file_name(tmp_path: Path) -> None:
    good = json.loads((EXPECTATIONS_DIR / "raw_reference.json").read_text(encoding="utf-8"))
    good["expectations"][0]["meta"] = {}
    (tmp_path / "raw_reference.json").write_text(json.dumps(good), encoding="utf-8")
    with pytest.raises(MaturityError, match=r"raw_reference\.json is malformed: expectation 0 .* meta\.severity None"):
        load_specs(directory=tmp_path)
    (tmp_path / "raw_reference.json").write_text("{", encoding="utf-8")
    with pytest.raises(MaturityError, match=r"raw_reference\.json cannot be read"):
        load_specs(directory=tmp_path)


def test_a_partition_column_must_be_part_of_the_key(tmp_path: Path) -> None:
    """Results of a partitioned suite compose only when its key holds the partition column."""
    data = json.loads((EXPECTATIONS_DIR / "raw_surveys__survey_answers.json").read_text(encoding="utf-8"))
    assert load_specs(directory=EXPECTATIONS_DIR)[data["name"]].partition == "wave_id"
    data["meta"]["partition"] = "dimension_id"
    (tmp_path / "raw_surveys__survey_answers.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(MaturityError, match=r"malformed: meta\.partition must be one of the meta\.key columns"):
        load_specs(directory=tmp_path)
    data["meta"]["key"] = None
    (tmp_path / "raw_surveys__survey_answers.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(MaturityError, match=r"meta\.key must be a list.*meta\.partition must be"):
        load_specs(directory=tmp_path)


def test_a_gate_freezes_older_objects_while_it_validates_and_leaves_a_foreign_freeze_alone() -> None:
    import gc

    from maturity.gates.runner import _collections_of_own_objects

    assert gc.get_freeze_count() == 0
    with _collections_of_own_objects():
        assert gc.get_freeze_count() > 0  # the collections in the gate skip what was alive before it
    assert gc.get_freeze_count() == 0
    gc.freeze()  # e.g. a server that froze its objects before forking
    try:
        frozen = gc.get_freeze_count()
        with _collections_of_own_objects():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
