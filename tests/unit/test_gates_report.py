"""CPR redaction, GateResult verdicts and summaries, and the JSON/HTML reports — without running GX."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from maturity.errors import MaturityError
from maturity.gates import Failure
from maturity.gates.cpr import CPR_REGEX, has_cpr, redact
from maturity.gates.runner import _Run


@pytest.mark.parametrize("text", ["010190-1234", "0101901234", "CPR 311299-9999 her", "x;150505-0001;y",
                                  "a0101901234b"])
def test_cpr_shaped_strings_are_found_and_redacted(text: str) -> None:
    assert has_cpr(text)
    assert not has_cpr(redact(text)) and "[CPR]" in redact(text)


@pytest.mark.parametrize("text", ["12345678901", "01019012345", "1234-567890", "320190-1234", "011390-1234",
                                  "ba5d8bd7 58eb3a7d c3d7e6f2", "dtltebpmipqv3t7zmpr7wpb4mi2uelhp2h7gmkc",
                                  "2025-03-31", "P-026", "20261127T073207-e63c30d9"])
def test_other_digit_runs_are_left_alone(text: str) -> None:
    assert not has_cpr(text)
    assert redact(text) == text


def test_redact_walks_nested_values() -> None:
    value = {"a": ["x 010190-1234", 3, None], "010190-1234": {"b": ("0101901234",)}}
    assert redact(value) == {"a": ["x [CPR]", 3, None], "[CPR]": {"b": ["[CPR]"]}}
    assert re.compile(CPR_REGEX).groups == 0  # non-capturing: pandas str.contains warns on groups


def _result(tmp_path: Path, *failures: Failure):
    run = _Run("raw", "warehouse.duckdb")
    run.failures += failures
    run.evaluated = 10
    return run.finish(tmp_path)


ERROR = Failure("raw_projects", "expect_column_values_to_not_match_regex", "project_name", "error", 1, 270,
                "1 of 270 rows unexpected (expected no CPR-shaped string)",
                [{"project_id": "P-001", "project_name": "Velfærd 010190-1234"}], "No CPR-shaped string.")
WARNING = Failure("raw_projects", "expect_column_values_to_be_in_set", "chk_owner_known", "warning", 2, 270,
                  "2 of 270 rows unexpected", [{"project_id": "P-002", "chk_owner_known": False}])


def test_an_error_blocks_and_the_reports_never_repeat_a_cpr_number(tmp_path: Path) -> None:
    result = _result(tmp_path, ERROR, WARNING)
    assert not result.passed and result.errors == [ERROR] and result.warnings == [WARNING]
    summary = result.summary()
    assert summary.splitlines()[0] == ("Raw gate BLOCKED: 1 error(s), 1 warning(s) in 0 suites "
                                       f"(10 expectations, 0 skipped, {result.seconds:.1f} s).")
    assert ("ERROR   raw_projects: expect_column_values_to_not_match_regex(project_name) — 1 of 270 rows "
            "unexpected (expected no CPR-shaped string); e.g. project_id=P-001, project_name=Velfærd [CPR]") in summary
    assert "WARNING raw_projects: expect_column_values_to_be_in_set(chk_owner_known) — 2 of 270" in summary
    assert summary.index("ERROR") < summary.index("WARNING")
    sentence = result.blocking_sentence()
    assert sentence.startswith("The raw quality gate blocked: raw_projects failed "
                               "expect_column_values_to_not_match_regex(project_name)")
    with pytest.raises(MaturityError, match="raw quality gate blocked"):
        result.raise_if_blocked()
    for path in (result.json_path, result.html_path):
        assert path.name in ("raw_gate.json", "raw_gate.html")
        text = path.read_text(encoding="utf-8")
        assert "010190-1234" not in text and "Velfærd [CPR]" in text
    payload = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert payload["passed"] is False and payload["errors"] == 1 and payload["warnings"] == 1
    assert payload["failures"][0]["examples"][0]["project_name"] == "Velfærd [CPR]"


def test_warnings_never_block(tmp_path: Path) -> None:
    result = _result(tmp_path, WARNING)
    assert result.passed and result.blocking_sentence() == ""
    result.raise_if_blocked()
    assert result.summary().startswith("Raw gate passed: 0 error(s), 1 warning(s)")


def test_the_html_report_is_self_contained_and_escaped(tmp_path: Path) -> None:
    odd = Failure("raw_x", "expect_y", "c", "warning", 1, 1, "value <script>alert(1)</script>")
    page = _result(tmp_path, ERROR, WARNING, odd).html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "BLOCKED" in page
    assert not re.search(r"<script|<link|<img|src=|https?://|@import", page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "raw_projects" in page


def test_the_summary_is_capped(tmp_path: Path) -> None:
    many = [Failure(f"s{i}", "expect_x", "c", "error", 1, 2, "1 of 2 rows unexpected") for i in range(40)]
    summary = _result(tmp_path, *many).summary(max_lines=5)
    assert "… and 35 more" in summary and len(summary.splitlines()) == 1 + 5 + 1 + 1
