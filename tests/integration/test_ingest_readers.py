"""The readers on small landing files with every quirk of SPEC §2, through `ingest_source` into DuckDB.

One landing area is loaded once for the module: the samples (SD report lines, two Ansættelsesstatus
columns, `="…"` cells, Danish dates and numbers, Windows-1252 and CRLF, a three-file SurveyXact export)
plus an embedded line break and trailing spaces in the export, a second wave exported as a workbook with
its dataset split over two sheets and its own mapping, and a portfolio workbook with real Excel dates.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import shutil
from pathlib import Path

import pytest
from maturity.settings import Settings

from tests.conftest import SAMPLES, TEST_KEY, ingest_all, table_rows
from tests.landing import write_csv, write_surveyxact, write_xlsx

KEY = bytes.fromhex(TEST_KEY)
HR = "hr/2024-01-31/"


def pseudonym(value: str) -> str:
    return base64.b32encode(hmac.new(KEY, value.encode(), hashlib.sha256).digest()).decode().rstrip("=").lower()


def _replace_bytes(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1, (path, old)
    path.write_bytes(data.replace(old, new))


T1_HEADER = ["id", "enhed", "rolle", "q1", "q2", "q3", "imp1", *(f"stato_{i}" for i in range(1, 6))]
T1_ROWS = [  # id, enhed, rolle, q1 (strategi current), q2 (target), | q3 (data current), imp1 (1-10), stato
    [2001, "1ITD", 1, 3, 4, 2, 8, 0, 0, 0, 1, 0],
    [2002, "2BFB", 2, 4, 5, 3, 10, 0, 0, 0, 1, 0],
    [2003, "2BFA", 3, 2, 4, 2, 7, 0, 0, 1, 0, 0],
    [2004, "0HAD", 4, 5, 5, 4, None, 0, 0, 0, 1, 0],
    [2005, "1ITD", 5, 1, 3, 1, 3, 0, 0, 0, 1, 0],
    [2006, "2BFA", 6, None, None, None, None, 0, 1, 0, 0, 0],
    [2007, "2BFB", 7, 3, 3, 3, 5, 0, 0, 0, 1, 0],
]
T1_LABELS = [["rolle", 1, "Direktion "], ["rolle", 2, "Chéf"], ["rolle", 3, "LEDER\u00a0"],
             ["rolle", 4, " medarbejder"], ["rolle", 5, "Konsulent"], ["rolle", 6, "Direktør"]]
T1_STRUCTURE = [
    ["questionName", "variableName", "questionType", "subType", "questionText", "choiceValue", "choiceText"],
    *[[v, v, "Closed", "Single", f"Spørgsmål {v}", None, None] for v in T1_HEADER[:7]],
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, ingest_all_shared) -> Settings:
    base = tmp_path_factory.mktemp("readers")
    landing = base / "landing"
    shutil.copytree(SAMPLES, landing)
    # An embedded line break (CRLF, as Windows writes it) in a question text, trailing spaces in a label.
    _replace_bytes(landing / "surveys/T0/structure.csv", "Data - Hvor bør I stå i 2025?".encode("cp1252"),
                   '"Data - Hvor bør I stå\r\ni 2025?"'.encode("cp1252"))
    _replace_bytes(landing / "surveys/T0/labels.csv", b"rolle;3;Leder\r\n", b"rolle;3;Leder   \r\n")
    # Wave T1: an Excel export split over two Dataset sheets, with its own mapping.
    t1 = landing / "surveys" / "T1"
    write_csv(t1 / "wave.csv", [["wave_id", "label", "closes_on"], ["T1", "Opfølgning 2023", "2023-04-30"]],
              delimiter=",")
    write_csv(t1 / "mapping.csv", [
        ["variable_name", "use", "dimension_id", "scale_min", "scale_max"],
        ["id", "respondent_id", None, None, None], ["enhed", "org_unit", None, None, None],
        ["rolle", "role", None, None, None], ["q1", "current", "strategi", 1, 5], ["q2", "target", "strategi", 1, 5],
        ["q3", "current", "data", 1, 5], ["imp1", "importance", "strategi", 1, 10],
    ], delimiter=",")
    write_surveyxact(t1, "xlsx", [T1_HEADER, *T1_ROWS], T1_STRUCTURE, T1_LABELS, split_at=5)
    # A second projects extract as a workbook with real dates and numbers.
    write_xlsx(landing / "projects" / "2024-06-30" / "portfolio.xlsx", {"Portefølje": [
        ["Projekt-ID", "Projektnavn", "Ejer (afdelingskode)", "Status", "Startdato", "Slutdato", "Budget (kr.)",
         "Forbrug (kr.)", "Masterplan", "Budgetproces", "Dimensioner", "Bemærkning"],
        ["P-010", "Ny borgerportal", "1ITD", "i gang", dt.date(2024, 1, 15), dt.date(2025, 6, 30), 2500000.5,
         125000, "Ja", "Nej", "strategi, data", "intern note"],
        ["P-011", "Sensorer i daginstitutioner", "2BFB", "Planlagt", None, None, None, None, "nej", None, "data"],
    ]})
    settings = Settings(landing, base / "warehouse", TEST_KEY)
    reports = ingest_all_shared(settings)
    assert all(not isinstance(r, Exception) for r in reports.values()), reports
    return settings


# --- SD Løn: the personnel report -------------------------------------------------------------------------


def test_sd_header_is_found_below_the_report_lines(loaded):
    rows = table_rows(loaded, "SELECT _file, _line, start_date FROM raw.employments ORDER BY _line")
    assert rows == [(HR + "employees.csv", 6, dt.date(2015, 8, 1)), (HR + "employees.csv", 7, dt.date(2023, 1, 1)),
                    (HR + "employees.csv", 8, dt.date(2019, 3, 1))]


def test_the_two_status_columns_are_text_then_code(loaded):
    rows = table_rows(loaded, "SELECT status_text, status_code FROM raw.employments ORDER BY _line")
    assert rows == [("Ansat", "0"), ("Ansat", "1"), ("Fratrådt", "8")]  # Windows-1252 'å' decoded


def test_excel_quoted_cells_dates_and_decimal_commas(loaded):
    rows = table_rows(loaded, "SELECT employment_key, position_code, position_title, end_date, fte "
                              "FROM raw.employments ORDER BY _line")
    assert rows == [
        (pseudonym("00017"), "264-43", "It-medarbejder", None, 1.0),  # empty Slutdato: open
        (pseudonym("00018"), "104-00", "Pædagog", None, 0.25),  # 31.12.9999: open
        (pseudonym("00031"), "104-00", "Pædagog", dt.date(2023, 6, 30), 0.8108),
    ]


def test_a_person_with_two_employments_has_one_person_key(loaded):
    rows = table_rows(loaded, "SELECT person_key, count(*) FROM raw.employments GROUP BY 1 ORDER BY 2 DESC")
    assert rows == [(pseudonym("0101801234"), 2), (pseudonym("0202904321"), 1)]


def test_no_cpr_number_or_name_reaches_duckdb(loaded):
    cols = table_rows(loaded, "SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = 'raw' AND data_type = 'VARCHAR'")
    union = " UNION ALL ".join(f"SELECT '{t}.{c}', \"{c}\" FROM raw.\"{t}\"" for t, c in cols)
    found = table_rows(loaded, f"SELECT * FROM ({union}) AS v(col, val) "
                               "WHERE regexp_matches(val, '010180|0101801234|020290|Eva|Ole Opdigtet')")
    assert found == []
    assert len(cols) > 50


def test_team_membership_matches_the_employment_key(loaded):
    rows = table_rows(loaded, "SELECT employment_key, share_pct, team_role, valid_from, valid_to, _file, _line "
                              "FROM raw.team_memberships")
    assert rows == [(pseudonym("00017"), 80.0, "Dataansvarlig", dt.date(2023, 1, 1), None,
                     HR + "transformation_team.csv", 2)]


def test_org_units_in_windows_1252(loaded):
    rows = table_rows(loaded, "SELECT org_unit_id, org_unit_name, parent_org_unit_id, level, _line "
                              "FROM raw.org_units ORDER BY _line")
    assert rows == [("0HAD", "Haderslev Kommune", None, "NY3-niveau", 2),
                    ("1ITD", "IT og Digitalisering", "0HAD", "NY2-niveau", 3),
                    ("2BFA", "Børn og Familie", "0HAD", "NY2-niveau", 4),
                    ("2BFB", "Dagtilbud Øst", "2BFA", "Afdelings-niveau", 5)]


# --- SurveyXact: the CSV export (T0) ----------------------------------------------------------------------


def test_structure_drops_the_trailing_column_and_keeps_line_breaks(loaded):
    rows = table_rows(loaded, "SELECT variable_name, question_text, choice_text, _line FROM raw.survey_structure "
                              "WHERE wave_id = 'T0' ORDER BY _line")
    assert len(rows) == 12
    assert rows[6] == ("d_1_2", "Data - Hvor bør I stå\r\ni 2025?", None, 8)
    # The rows below the two-line text carry their physical line in the file.
    assert rows[7] == ("stato_1", "Samlet status", "Ny", 10)
    assert rows[-1] == ("stato_5", "Samlet status", "Frafaldet", 14)


def test_labels_without_header_line_numbers_and_trailing_spaces(loaded):
    rows = table_rows(loaded, "SELECT variable_name, value, value_label, _line FROM raw.survey_labels "
                              "WHERE wave_id = 'T0' ORDER BY _line")
    assert rows[0] == ("rolle", "1", "Direktion", 1)
    assert rows[2] == ("rolle", "3", "Leder", 3)  # "Leder   "
    assert rows[5] == ("s_1_1", "5", "I meget høj grad", 6)
    assert len(rows) == 12


def test_stato_flags_become_answered_distributed_completed(loaded):
    rows = table_rows(loaded, "SELECT respondent_id, role, is_distributed, is_answered, is_completed, _line "
                              "FROM raw.survey_respondents WHERE wave_id = 'T0' ORDER BY _line")
    assert rows == [("1001", "chef", True, True, True, 2), ("1002", "leder", True, True, True, 3),
                    ("1003", "leder", True, False, False, 4), ("1004", "leder", True, True, False, 5)]


def test_answers_dont_know_and_invalid(loaded):
    rows = table_rows(loaded, "SELECT respondent_id, variable_name, dimension_id, aspect, raw_value, value, "
                              "answer_status, _line FROM raw.survey_answers WHERE wave_id = 'T0' "
                              "AND answer_status <> 'valid' ORDER BY _line")
    assert rows == [("1002", "d_1_1", "data", "current", "6", None, "dont_know", 3),
                    ("1004", "s_1_2", "strategi", "target", "9", None, "invalid", 5)]
    counts = table_rows(loaded, "SELECT respondent_id, count(*) FROM raw.survey_answers WHERE wave_id = 'T0' "
                                "GROUP BY 1 ORDER BY 1")
    assert counts == [("1001", 4), ("1002", 4), ("1004", 3)]  # empty cells give no answer rows
    q = table_rows(loaded, "SELECT source, snapshot_key, file_path, line, level, reason, column_name, value "
                           "FROM raw.quarantine WHERE snapshot_key = 'T0'")
    assert q == [("surveys", "T0", "surveys/T0/dataset.csv", 5, "cell", "invalid_answer", "s_1_2", "9")]


# --- SurveyXact: the split workbook with a mapping override (T1) ------------------------------------------


def test_wave_mapping_override(loaded):
    rows = table_rows(loaded, "SELECT wave_id, _file, bool_and(is_wave_override), count(*) FROM raw.survey_mapping "
                              "GROUP BY ALL ORDER BY 1")
    assert rows == [("T0", "surveys/mapping.csv", False, 7), ("T1", "surveys/T1/mapping.csv", True, 7)]


def test_role_labels_are_folded(loaded):
    rows = table_rows(loaded, "SELECT respondent_id, role_code, role_label, role FROM raw.survey_respondents "
                              "WHERE wave_id = 'T1' ORDER BY respondent_id")
    assert rows == [("2001", "1", "Direktion", "direktion"), ("2002", "2", "Chéf", "chef"),
                    ("2003", "3", "LEDER", "leder"), ("2004", "4", "medarbejder", "medarbejder"),
                    ("2005", "5", "Konsulent", "andet"), ("2006", "6", "Direktør", "andet"),
                    ("2007", "7", "7", "andet")]


def test_split_dataset_sheets_are_joined_row_by_row(loaded):
    rows = table_rows(loaded, "SELECT respondent_id, variable_name, aspect, value, _file, _line "
                              "FROM raw.survey_answers "
                              "WHERE wave_id = 'T1' AND respondent_id IN ('2001', '2004') ORDER BY ALL")
    xlsx = "surveys/T1/export.xlsx"
    assert rows == [("2001", "imp1", "importance", 8.0, xlsx, 2), ("2001", "q1", "current", 3.0, xlsx, 2),
                    ("2001", "q2", "target", 4.0, xlsx, 2), ("2001", "q3", "current", 2.0, xlsx, 2),
                    ("2004", "q1", "current", 5.0, xlsx, 5), ("2004", "q2", "target", 5.0, xlsx, 5),
                    ("2004", "q3", "current", 4.0, xlsx, 5)]
    flags = table_rows(loaded, "SELECT respondent_id, is_answered FROM raw.survey_respondents "
                               "WHERE wave_id = 'T1' AND NOT is_answered")
    assert flags == [("2006", False)]  # the stato flags come from the second sheet
    waves = table_rows(loaded, "SELECT wave_id, hr_extract_date, export_format FROM raw.survey_waves ORDER BY 1")
    assert waves == [("T0", dt.date(2024, 1, 31), "csv (semicolon, utf-8)"),
                     ("T1", dt.date(2024, 1, 31), "xlsx")]


# --- The portfolio ---------------------------------------------------------------------------------------


def test_portfolio_csv_quoted_dimension_list_and_danish_numbers(loaded):
    rows = table_rows(loaded, "SELECT * EXCLUDE (extract_date, _load_id) FROM raw.projects "
                              "WHERE extract_date = DATE '2024-02-29' ORDER BY _line")
    csv = "projects/2024-02-29/portfolio.csv"
    assert rows == [
        ("P-001", "Fælles datafundament", "1ITD", "I gang", dt.date(2023, 3, 1), dt.date(2025, 12, 31), 1250000.0,
         310500.75, True, True, ["data", "strategi"], csv, 2),
        ("P-002", "Digital forældrekontakt", "2BFA", "Idé", None, None, 0.0, 0.0, False, False, ["data"], csv, 3),
    ]


def test_portfolio_xlsx_with_excel_dates(loaded):
    rows = table_rows(loaded, "SELECT * EXCLUDE (extract_date, _load_id) FROM raw.projects "
                              "WHERE extract_date = DATE '2024-06-30' ORDER BY _line")
    xlsx = "projects/2024-06-30/portfolio.xlsx"
    assert rows == [
        ("P-010", "Ny borgerportal", "1ITD", "I gang", dt.date(2024, 1, 15), dt.date(2025, 6, 30), 2500000.5,
         125000.0, True, False, ["strategi", "data"], xlsx, 2),
        ("P-011", "Sensorer i daginstitutioner", "2BFB", "Planlagt", None, None, 0.0, 0.0, False, None, ["data"],
         xlsx, 3),
    ]


# --- Lineage: every landed row is accounted for -----------------------------------------------------------

ROW_TABLES = ("dimensions", "survey_waves", "survey_mapping", "survey_structure", "survey_labels",
              "survey_respondents", "org_units", "employments", "team_memberships", "projects")


def test_manifest_reconciles_for_every_file(loaded):
    manifest = table_rows(loaded, "SELECT file_path, rows_read, rows_loaded, rows_quarantined, cells_quarantined "
                                  "FROM raw.manifest ORDER BY file_path")
    assert [m[0] for m in manifest] == sorted([
        "reference/dimensions.csv", HR + "org_units.csv", HR + "employees.csv", HR + "transformation_team.csv",
        "surveys/T0/wave.csv", "surveys/mapping.csv", "surveys/T0/dataset.csv", "surveys/T0/structure.csv",
        "surveys/T0/labels.csv", "surveys/T1/wave.csv", "surveys/T1/mapping.csv", "surveys/T1/export.xlsx",
        "projects/2024-02-29/portfolio.csv", "projects/2024-06-30/portfolio.xlsx"])
    union = " UNION ALL ".join(f"SELECT _file FROM raw.{t}" for t in ROW_TABLES)
    loaded_rows = dict(table_rows(loaded, f"SELECT _file, count(*) FROM ({union}) GROUP BY 1"))
    quarantined = {(f, level): n for f, level, n in table_rows(
        loaded, "SELECT file_path, level, count(*) FROM raw.quarantine GROUP BY ALL")}
    for file, read, rows_loaded, rows_quarantined, cells in manifest:
        assert read == rows_loaded + rows_quarantined, file
        assert rows_loaded == loaded_rows.get(file, 0), file
        assert rows_quarantined == quarantined.get((file, "row"), 0), file
        assert cells == quarantined.get((file, "cell"), 0), file
    by_file = {m[0]: m[1:] for m in manifest}
    assert by_file["surveys/T1/export.xlsx"] == (7 + 7 + 6, 20, 0, 0)  # dataset + structure + labels rows
    assert by_file[HR + "employees.csv"] == (3, 3, 0, 0)
    assert by_file["surveys/T0/dataset.csv"] == (4, 4, 0, 1)


def test_every_row_has_its_file_and_line(loaded):
    for table in (*ROW_TABLES, "survey_answers"):
        missing = table_rows(loaded, f"SELECT count(*) FROM raw.{table} WHERE _file IS NULL OR _line IS NULL "
                                     "OR _line < 1 OR _load_id IS NULL")
        assert missing == [(0,)], table
        if table != "survey_answers":  # one answer row per cell: the respondent's line repeats
            dupes = table_rows(loaded, f"SELECT count(*) FROM (SELECT _file, _line, wave_id IS NULL FROM raw.{table} "
                                       "GROUP BY ALL HAVING count(*) > 1)".replace("wave_id IS NULL", _snapshot(table)))
            assert dupes == [(0,)], table


def _snapshot(table: str) -> str:
    """The snapshot column: the same default mapping file is loaded once per wave."""
    return "wave_id" if table.startswith("survey_") else "NULL"


def test_unchanged_landing_is_a_no_op(loaded):
    before = table_rows(loaded, "SELECT * FROM raw.snapshots ORDER BY ALL")
    reports = ingest_all(loaded)
    assert {s: (r.loaded, len(r.unchanged)) for s, r in reports.items()} == {
        "reference": ([], 1), "hr": ([], 1), "surveys": ([], 2), "projects": ([], 2)}
    assert table_rows(loaded, "SELECT * FROM raw.snapshots ORDER BY ALL") == before
