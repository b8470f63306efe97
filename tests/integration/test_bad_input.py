"""The bad-input corpus (SPEC §2.8): one defect per case, applied to one snapshot of a loaded landing area.

A good landing area is loaded once per module. Each case copies it and its warehouse, applies one defect,
ingests the affected source again and asserts the exact outcome:

* an error case: the exact sentence of the MaturityError (naming the file), and every raw table —
  data, quarantine, manifest, snapshots — unchanged;
* a quarantine case: the exact reasons, levels and counts of the new quarantine entries, and no change
  outside the affected snapshot.

The good area is the samples re-encoded as UTF-8 (each Windows-1252 file read by DuckDB costs ~1 s for
the encodings extension; the Windows-1252 path has its own case here and is covered by the reader tests),
plus a second HR extract, a second wave and a second projects extract, so that "only the affected
snapshot changed" is a real check.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from maturity.errors import MaturityError
from maturity.ingest.run import ingest_source
from maturity.ingest.store import SOURCE_TABLES
from maturity.settings import Settings

from tests.conftest import SAMPLES, TEST_KEY, table_rows
from tests.landing import write_xlsx

HR, T0, T1, PF = "hr/2024-01-31", "surveys/T0", "surveys/T1", "projects/2024-02-29"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory, ingest_all_shared) -> Settings:
    base = tmp_path_factory.mktemp("good")
    landing = base / "landing"
    for path in SAMPLES.rglob("*.csv"):
        target = landing / path.relative_to(SAMPLES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_bytes().decode("cp1252"), encoding="utf-8", newline="")
    shutil.copytree(landing / HR, landing / "hr/2022-01-31")
    shutil.copytree(landing / PF, landing / "projects/2023-02-28")
    shutil.copytree(landing / T0, landing / T1)
    (landing / T1 / "wave.csv").write_text("wave_id,label,closes_on\nT1,Opfølgning 2023,2023-04-30\n")
    settings = Settings(landing, base / "warehouse", TEST_KEY)
    reports = ingest_all_shared(settings)
    assert all(not isinstance(r, Exception) for r in reports.values()), reports
    return settings


SYSTEM_KEY = "source || '/' || snapshot_key"  # raw.snapshots, raw.manifest, raw.quarantine


def snapshot_tables(settings: Settings) -> dict[tuple[str, str], list[tuple]]:
    """Every row of every raw table (all columns, nothing excluded), keyed by (table, 'source/snapshot').

    Quarantine rows are kept as tuples (they are inspected); other rows as their full text. One query.
    """
    key_of = {t: f"'{source}/' || {key}" for source, (key, names) in SOURCE_TABLES.items() for t in names}
    with duckdb.connect(str(settings.warehouse_db), read_only=True) as con:
        tables = sorted(t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall())
        union = " UNION ALL ".join(
            f"SELECT '{t}', {key_of.get(t, SYSTEM_KEY)}, "
            f"CAST(r AS VARCHAR) FROM raw.{t} AS r" for t in tables)
        out: dict[tuple[str, str], list] = {}
        for table, snap, row in con.execute(f"{union} ORDER BY ALL").fetchall():
            out.setdefault((table, snap), []).append(row)
        for row in con.execute("SELECT source || '/' || snapshot_key, * FROM raw.quarantine ORDER BY ALL").fetchall():
            out.setdefault(("quarantine:rows", row[0]), []).append(tuple(row[1:]))
    return out


def quarantine_entries(tables: dict[tuple[str, str], list[tuple]], snapshot: str) -> Counter:
    """(reason, level, line) of the snapshot's quarantine entries, from the rows of raw.quarantine."""
    return Counter((row[6], row[5], row[4]) for row in tables.get(("quarantine:rows", snapshot), []))


# --- Defects: small edits of one landed file --------------------------------------------------------------


def edit(rel: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    """Replace `old` (found exactly `count` times) by `new` in a UTF-8 landing file."""
    def apply(landing: Path) -> None:
        path = landing / rel
        text = path.read_bytes().decode("utf-8")
        assert text.count(old) == count, (rel, old)
        path.write_bytes(text.replace(old, new).encode("utf-8"))

    return apply


def write(rel: str, data: bytes) -> Callable[[Path], None]:
    def apply(landing: Path) -> None:
        (landing / rel).write_bytes(data)

    return apply


def reencode_cp1252(rel: str) -> Callable[[Path], None]:
    def apply(landing: Path) -> None:
        path = landing / rel
        path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))

    return apply


def truncate_last_row(rel: str, keep: int) -> Callable[[Path], None]:
    """Cut the file `keep` bytes into its last row, as an interrupted transfer does."""
    def apply(landing: Path) -> None:
        path = landing / rel
        data = path.read_bytes().rstrip(b"\r\n")
        path.write_bytes(data[: data.rindex(b"\n") + 1 + keep])

    return apply


def remove(*rels: str) -> Callable[[Path], None]:
    def apply(landing: Path) -> None:
        for rel in rels:
            (landing / rel).unlink()

    return apply


def replace_export_with_xlsx(sheets: list[str], damaged: bool = False) -> Callable[[Path], None]:
    def apply(landing: Path) -> None:
        folder = landing / T0
        for name in ("dataset.csv", "structure.csv", "labels.csv"):
            (folder / name).unlink()
        path = write_xlsx(folder / "export.xlsx", {s: [["resp", "afd"], [1001, "1ITD"]] for s in sheets})
        if damaged:
            path.write_bytes(path.read_bytes()[:400])

    return apply


def write_portfolio(*rows: list) -> Callable[[Path], None]:
    header = ["Projekt-ID", "Projektnavn", "Ejer (afdelingskode)", "Status", "Startdato", "Slutdato", "Budget (kr.)",
              "Forbrug (kr.)", "Masterplan", "Budgetproces", "Dimensioner"]

    def apply(landing: Path) -> None:
        write_xlsx(landing / PF / "portfolio.xlsx", {"Portefølje": [header, *rows]})

    return apply


def wave_mapping(*extra_rows: str) -> Callable[[Path], None]:
    """A wave override mapping: the default plus `extra_rows`."""
    def apply(landing: Path) -> None:
        text = (landing / "surveys/mapping.csv").read_text()
        (landing / T0 / "mapping.csv").write_text(text + "".join(f"{r}\n" for r in extra_rows))

    return apply


def then(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(landing: Path) -> None:
        for step in steps:
            step(landing)

    return apply


EVA_2 = '="010180-1234";Eva Eksempel;="00018";01.01.2023;31.12.9999;2BFB;="104-00";Pædagog;0,2500;Ansat;1'
EMP_HEADER = ("CPR-nummer;Navn (for-/efternavn);Tjenestenummer;Startdato;Slutdato;Stamafdeling;Stillingskode;Stilling;"
              "Beskæftigelsesgrad;Ansættelsesstatus;Ansættelsesstatus")


def check_rows(sql: str, expected: list[tuple], *more: str | list[tuple]) -> Callable[[Settings], None]:
    """Queries (SQL, expected rows, SQL, expected rows, ...) to run after the load."""
    pairs = [(sql, expected), *zip(more[::2], more[1::2], strict=True)]

    def check(settings: Settings) -> None:
        with duckdb.connect(str(settings.warehouse_db), read_only=True) as con:
            for query, rows in pairs:
                assert con.execute(query).fetchall() == rows, query

    return check


@dataclass
class Case:
    id: str
    snapshot: str  # "source/key" of the snapshot the defect is applied to
    defect: Callable[[Path], None]
    error: str | None = None  # the exact message of the MaturityError, or
    quarantine: dict[tuple[str, str], int] = field(default_factory=dict)  # new entries by (reason, level)
    lines: list[int] | None = None  # the lines of the new quarantine entries
    check: Callable[[Settings], None] | None = None


CASES = [
    # -- files that cannot be used at all ------------------------------------------------------------------
    Case("empty_file", "hr/2024-01-31", write(f"{HR}/org_units.csv", b""),
         error="hr/2024-01-31/org_units.csv: the file is empty."),
    Case("only_a_bom", "projects/2024-02-29", write(f"{PF}/portfolio.csv", b"\xef\xbb\xbf\r\n"),
         error="projects/2024-02-29/portfolio.csv: the file is empty."),
    Case("missing_header_column", "hr/2024-01-31",
         edit(f"{HR}/employees.csv", "Stillingskode;Stilling;", "Stilling;"),
         error="hr/2024-01-31/employees.csv: the header lacks the column 'Stillingskode'."),
    Case("duplicated_header", "projects/2024-02-29",
         edit(f"{PF}/portfolio.csv", "Forbrug (kr.)", "Budget (kr.)"),
         error="projects/2024-02-29/portfolio.csv: the header has the column 'Budget (kr.)' 2 times."),
    Case("one_status_column", "hr/2024-01-31", edit(f"{HR}/employees.csv", "Ansættelsesstatus;Ansættelsesstatus",
                                                    "Ansættelsesstatus;Statuskode"),
         error="hr/2024-01-31/employees.csv: the header must have two 'Ansættelsesstatus' columns "
               "(status text, status code)."),
    Case("cycle_in_org_tree", "hr/2024-01-31", then(
        edit(f"{HR}/org_units.csv", "1ITD;IT og Digitalisering;0HAD", "1ITD;IT og Digitalisering;2BFB"),
        edit(f"{HR}/org_units.csv", "2BFA;Børn og Familie;0HAD", "2BFA;Børn og Familie;1ITD")),
         error="hr/2024-01-31/org_units.csv: the organisation tree has a cycle among the codes 1ITD, 2BFA, 2BFB."),
    Case("two_roots", "hr/2024-01-31",
         edit(f"{HR}/org_units.csv", "2BFA;Børn og Familie;0HAD", "2BFA;Børn og Familie;"),
         error="hr/2024-01-31/org_units.csv: the organisation tree has 2 roots (0HAD, 2BFA); "
               "it must have exactly one."),
    Case("unknown_parent", "hr/2024-01-31", edit(f"{HR}/org_units.csv", "Dagtilbud Øst;2BFA", "Dagtilbud Øst;2BFX"),
         error="hr/2024-01-31/org_units.csv: the parent code(s) 2BFX are not units of the extract."),
    Case("xlsx_without_dataset_sheet", "surveys/T0", replace_export_with_xlsx(["Data", "Structure", "Labels"]),
         error="surveys/T0/export.xlsx: the workbook has no 'Dataset' sheet (sheets: Data, Structure, Labels)."),
    Case("damaged_xlsx", "surveys/T0", replace_export_with_xlsx(["Dataset", "Structure", "Labels"], damaged=True),
         error="surveys/T0/export.xlsx: it is not a readable .xlsx workbook (damaged or not Excel)."),
    Case("mapping_names_a_missing_variable", "surveys/T0", wave_mapping("d_9_9,current,data,1,5"),
         error="surveys/T0/mapping.csv: the mapping names the variable(s) d_9_9, which are not in the dataset "
               "of wave T0."),
    Case("mapping_with_two_org_unit_variables", "surveys/T0", wave_mapping("stato_5,org_unit,,,"),
         error="surveys/T0/mapping.csv: the mapping needs exactly one 'org_unit' variable, it has 2."),
    Case("wave_id_differs_from_folder", "surveys/T0", edit(f"{T0}/wave.csv", "T0,Baseline", "T9,Baseline"),
         error="surveys/T0/wave.csv: wave_id 'T9' does not match its folder name 'T0'."),
    Case("two_waves_with_the_same_closes_on", "surveys/T1", edit(f"{T1}/wave.csv", "2023-04-30", "2022-04-30"),
         error="surveys/T1/wave.csv: closes_on 2022-04-30 is also the closes_on of wave T0; "
               "each wave needs its own date."),
    Case("wave_folder_without_export", "surveys/T1",
         remove(f"{T1}/dataset.csv", f"{T1}/structure.csv", f"{T1}/labels.csv"),
         error="surveys/T1: no SurveyXact export found (expected dataset.csv, structure.csv and labels.csv, "
               "or one .xlsx)."),
    Case("two_portfolio_files", "projects/2024-02-29",
         lambda landing: write_xlsx(landing / PF / "portfolio.xlsx", {"Portefølje": [["Projekt-ID"]]}),
         error="projects/2024-02-29: expected one portfolio.xlsx or portfolio.csv, found both."),
    # -- rows and cells that are quarantined while the rest loads ----------------------------------------
    Case("undeclared_cp1252", "hr/2024-01-31", reencode_cp1252(f"{HR}/org_units.csv"),
         check=check_rows("SELECT org_unit_name FROM raw.org_units WHERE extract_date = '2024-01-31' ORDER BY 1",
                          [("Børn og Familie",), ("Dagtilbud Øst",), ("Haderslev Kommune",),
                           ("IT og Digitalisering",)])),
    Case("trailing_empty_column_only_in_the_header", "surveys/T0",  # a quirk, not a defect: nothing quarantined
         then(edit(f"{T0}/structure.csv", ";\r\n", "\r\n", count=13),
              edit(f"{T0}/structure.csv", "choiceText", "choiceText;")),
         check=check_rows("SELECT count(*), count(choice_text) FROM raw.survey_structure WHERE wave_id = 'T0'",
                          [(12, 5)])),
    Case("mixed_delimiters", "hr/2024-01-31", edit(f"{HR}/employees.csv", EVA_2, EVA_2.replace(";", ",")),
         quarantine={("malformed_row", "row"): 1}, lines=[7],
         check=check_rows("SELECT value, detail FROM raw.quarantine WHERE reason = 'malformed_row'",  # may hold a CPR
                          [(None, "unparseable row (expected 11 columns, found 1)")])),
    Case("truncated_file", "hr/2024-01-31", truncate_last_row(f"{HR}/employees.csv", keep=40),
         quarantine={("malformed_row", "row"): 1}, lines=[8]),
    Case("truncated_dataset", "surveys/T0", truncate_last_row(f"{T0}/dataset.csv", keep=12),
         quarantine={("malformed_row", "row"): 1, ("invalid_answer", "cell"): -1}, lines=[5],
         check=check_rows("SELECT file_path, value, detail FROM raw.quarantine WHERE reason = 'malformed_row'",
                          [("surveys/T0/dataset.csv", "1004;2BFA;3;", "unparseable row (missing columns)")])),
    Case("dataset_row_with_an_extra_cell", "surveys/T0",  # would shift every answer one variable to the right
         edit(f"{T0}/dataset.csv", "1001;1ITD;2;", "1001;1ITD;;2;"),
         quarantine={("malformed_row", "row"): 1}, lines=[2],
         check=check_rows("SELECT respondent_id FROM raw.survey_respondents WHERE wave_id = 'T0' ORDER BY 1",
                          [("1002",), ("1003",), ("1004",)])),
    Case("bad_row_below_a_text_with_line_breaks", "surveys/T0", then(
        edit(f"{T0}/structure.csv", "Hvad er din rolle?", '"Hvad er\r\ndin rolle\r\n?"'),
        truncate_last_row(f"{T0}/structure.csv", keep=20)),
         quarantine={("malformed_row", "row"): 1}, lines=[15],
         check=check_rows("SELECT variable_name, _line FROM raw.survey_structure WHERE wave_id = 'T0' "
                          "AND variable_name IN ('rolle', 's_1_1', 'stato_4') ORDER BY 2",
                          [("rolle", 4), ("s_1_1", 7), ("stato_4", 14)])),
    Case("fte_above_one", "hr/2024-01-31", edit(f"{HR}/employees.csv", ";0,2500;", ";1,2500;"),
         quarantine={("fte_out_of_range", "row"): 1}, lines=[7]),
    Case("fte_zero", "hr/2024-01-31", edit(f"{HR}/employees.csv", ";0,2500;", ";0,0000;"),
         quarantine={("fte_out_of_range", "row"): 1}, lines=[7]),
    Case("unparseable_date", "hr/2024-01-31", edit(f"{HR}/employees.csv", ";01.01.2023;31.12.9999;", ";31.02.2023;;"),
         quarantine={("invalid_date", "row"): 1}, lines=[7]),
    Case("unknown_status_code", "hr/2024-01-31", edit(f"{HR}/employees.csv", ";Ansat;1", ";Ansat;5"),
         quarantine={("invalid_status_code", "row"): 1}, lines=[7]),
    Case("invalid_cpr", "hr/2024-01-31", edit(f"{HR}/employees.csv", '="020290-4321"', '="020290-43"'),
         quarantine={("invalid_cpr", "row"): 1}, lines=[8],
         check=check_rows("SELECT column_name, value FROM raw.quarantine WHERE reason = 'invalid_cpr'",
                          [("CPR-nummer", "[redacted]")])),
    Case("cpr_in_stilling", "hr/2024-01-31", edit(f"{HR}/employees.csv", ";It-medarbejder;", ";Vikar for 0202904321;"),
         quarantine={("cpr_in_free_text", "cell"): 1}, lines=[6],
         check=check_rows("SELECT position_title FROM raw.employments WHERE position_title LIKE 'Vikar%'",
                          [("Vikar for [CPR]",), ])),
    Case("team_member_with_unknown_tjenestenummer", "hr/2024-01-31",
         edit(f"{HR}/transformation_team.csv", "00017;", "00099;"),
         quarantine={("unknown_employment", "row"): 1}, lines=[2]),
    Case("duplicate_respondent", "surveys/T0", edit(f"{T0}/dataset.csv", "1004;", "1001;"),
         quarantine={("duplicate_respondent", "row"): 1, ("invalid_answer", "cell"): -1}, lines=[5]),
    Case("out_of_range_answer", "surveys/T0", edit(f"{T0}/dataset.csv", "1001;1ITD;2;3;", "1001;1ITD;2;0;"),
         quarantine={("invalid_answer", "cell"): 1}, lines=[2]),
    Case("non_numeric_answer", "surveys/T0", edit(f"{T0}/dataset.csv", "1001;1ITD;2;3;", "1001;1ITD;2;tre;"),
         quarantine={("invalid_answer", "cell"): 1}, lines=[2],
         check=check_rows("SELECT raw_value, value, answer_status FROM raw.survey_answers "
                          "WHERE wave_id = 'T0' AND respondent_id = '1001' AND variable_name = 's_1_1'",
                          [("tre", None, "invalid")])),
    Case("unknown_org_unit_in_survey", "surveys/T0", edit(f"{T0}/dataset.csv", "1002;1ITD;", "1002;9XXX;"),
         quarantine={("unknown_org_unit", "row"): 1}, lines=[3]),
    Case("cpr_in_question_text", "surveys/T0",
         edit(f"{T0}/structure.csv", "Hvad er din rolle?", "Hvad er din rolle? (spørg 010180-1234)"),
         quarantine={("cpr_in_free_text", "cell"): 1}, lines=[4],
         check=check_rows("SELECT question_text FROM raw.survey_structure WHERE variable_name = 'rolle' "
                          "ORDER BY wave_id", [("Hvad er din rolle? (spørg [CPR])",), ("Hvad er din rolle?",)])),
    Case("duplicate_label", "surveys/T0", edit(f"{T0}/labels.csv", "rolle;3;Leder\r\n",
                                               "rolle;3;Leder\r\nrolle;3;Chef\r\n"),
         quarantine={("duplicate_label", "row"): 1}, lines=[4],
         check=check_rows("SELECT role, count(*) FROM raw.survey_respondents WHERE wave_id = 'T0' "
                          "GROUP BY 1 ORDER BY 1", [("chef", 1), ("leder", 3)])),  # one row per respondent
    Case("mapping_variable_in_other_case", "surveys/T0",  # labels and answers still meet (names are case-blind)
         then(wave_mapping(), edit(f"{T0}/mapping.csv", "d_1_1,current", "D_1_1,current"),
              edit(f"{T0}/mapping.csv", "rolle,role", "ROLLE,role")),
         check=check_rows("SELECT variable_name, raw_value, answer_status FROM raw.survey_answers "
                          "WHERE wave_id = 'T0' AND answer_status <> 'valid' ORDER BY 1",
                          [("D_1_1", "6", "dont_know"), ("s_1_2", "9", "invalid")],
                          "SELECT respondent_id, role_label, role FROM raw.survey_respondents WHERE wave_id = 'T0' "
                          "ORDER BY 1", [("1001", "Chef", "chef"), ("1002", "Leder", "leder"),
                                         ("1003", "Leder", "leder"), ("1004", "Leder", "leder")])),
    Case("na_is_text_not_null", "hr/2024-01-31", edit(f"{HR}/transformation_team.csv", "Dataansvarlig", "NA"),
         check=check_rows("SELECT team_role FROM raw.team_memberships WHERE extract_date = '2024-01-31'", [("NA",)])),
    Case("negative_budget", "projects/2024-02-29", edit(f"{PF}/portfolio.csv", ";1.250.000,00;", ";-1.250.000,00;"),
         quarantine={("negative_amount", "row"): 1}, lines=[2]),
    Case("unknown_project_status", "projects/2024-02-29", edit(f"{PF}/portfolio.csv", ";I gang;", ";På pause;"),
         quarantine={("invalid_status", "row"): 1}, lines=[2]),
    Case("unknown_dimension_id", "projects/2024-02-29",
         edit(f"{PF}/portfolio.csv", '"data;strategi"', '"data;ledelse;strategi"'),
         quarantine={("unknown_dimension", "cell"): 1}, lines=[2],
         check=check_rows("SELECT dimension_ids FROM raw.projects WHERE extract_date = '2024-02-29' "
                          "AND project_id = 'P-001'", [(["data", "strategi"],)])),
    Case("xlsx_date_cell_holding_an_amount", "projects/2024-02-29", then(remove(f"{PF}/portfolio.csv"), write_portfolio(
        ["P-001", "Fælles datafundament", "1ITD", "I gang", 1250000000, None, 1250000, 0, "Ja", "Ja", "data"],
        ["P-002", "Digital forældrekontakt", "2BFA", "Idé", dt.date(2024, 1, 1), None, None, None, "Nej", "Nej",
         "data"])),
         quarantine={("invalid_date", "row"): 1}, lines=[2]),
    Case("amount_that_is_not_finite", "projects/2024-02-29", edit(f"{PF}/portfolio.csv", ";310.500,75;", ";inf;"),
         quarantine={("invalid_number", "row"): 1}, lines=[2]),
    Case("cpr_in_projektnavn", "projects/2024-02-29",
         edit(f"{PF}/portfolio.csv", "Fælles datafundament", "Fælles datafundament (sag 0101801234)"),
         quarantine={("cpr_in_free_text", "cell"): 1}, lines=[2],
         check=check_rows("SELECT project_name FROM raw.projects WHERE project_id = 'P-001' ORDER BY extract_date",
                          [("Fælles datafundament",), ("Fælles datafundament (sag [CPR])",)])),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, good: Settings, tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(good.landing_dir, landing)
    shutil.copytree(good.warehouse_dir, warehouse)
    settings = Settings(landing, warehouse, TEST_KEY)
    before = snapshot_tables(settings)
    case.defect(landing)
    source, snapshot_key = case.snapshot.split("/", 1)

    if case.error is not None:
        with pytest.raises(MaturityError) as raised:
            ingest_source(settings, source, progress=lambda _m: None)
        assert str(raised.value) == case.error
        assert snapshot_tables(settings) == before  # nothing already loaded is changed
        return

    report = ingest_source(settings, source, progress=lambda _m: None)
    assert report.loaded == [snapshot_key] and not report.errors
    after = snapshot_tables(settings)
    changed = {snap for key in before.keys() | after.keys() if before.get(key) != after.get(key) for snap in [key[1]]}
    assert changed <= {case.snapshot}, changed
    added = quarantine_entries(after, case.snapshot)
    added.subtract(quarantine_entries(before, case.snapshot))
    by_reason = Counter()
    for (reason, level, _line), n in added.items():
        by_reason[reason, level] += n
    assert {k: n for k, n in by_reason.items() if n} == case.quarantine
    if case.lines is not None:
        assert sorted(line for (_r, _l, line), n in added.items() for _ in range(n)) == case.lines
    manifest = table_rows(settings, "SELECT file_path, rows_read, rows_loaded, rows_quarantined FROM raw.manifest "
                                    "WHERE source = ? AND snapshot_key = ?", [source, snapshot_key])
    assert manifest and all(read == loaded + quarantined for _file, read, loaded, quarantined in manifest)
    if case.check:
        case.check(settings)


def test_the_corpus_is_large_enough():
    assert len({c.id for c in CASES}) == len(CASES) >= 22


def test_a_broken_wave_folder_does_not_hold_back_a_new_wave(good: Settings, tmp_path: Path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(good.landing_dir, landing)
    shutil.copytree(good.warehouse_dir, warehouse)
    settings = Settings(landing, warehouse, TEST_KEY)
    before = snapshot_tables(settings)
    remove(f"{T1}/dataset.csv")(landing)
    shutil.copytree(landing / T0, landing / "surveys/T2")
    (landing / "surveys/T2/wave.csv").write_text("wave_id,label,closes_on\nT2,Anden måling,2024-04-30\n")
    with pytest.raises(MaturityError) as raised:
        ingest_source(settings, "surveys", progress=lambda _m: None)
    assert str(raised.value) == "surveys/T1: the CSV export is incomplete: dataset.csv missing."
    after = snapshot_tables(settings)
    assert {k: v for k, v in after.items() if not k[1].endswith("/T2")} == before  # T0 and T1 as they were
    assert table_rows(settings, "SELECT wave_id, hr_extract_date FROM raw.survey_waves ORDER BY 1")[-1] == (
        "T2", dt.date(2024, 1, 31))


def test_a_wave_follows_a_new_tree_whatever_the_encoding_of_its_wave_csv(good: Settings, tmp_path: Path) -> None:
    """The as-of tree is part of a wave's fingerprint: it must be read from a UTF-16 wave.csv too."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(good.landing_dir, landing)
    shutil.copytree(good.warehouse_dir, warehouse)
    settings = Settings(landing, warehouse, TEST_KEY)
    t2 = landing / "surveys/T2"
    shutil.copytree(landing / T0, t2)
    (t2 / "wave.csv").write_bytes(b"\xff\xfe" + "wave_id\tlabel\tcloses_on\r\nT2\tMåling\t2024-04-30\r\n"
                                  .encode("utf-16-le"))
    edit("surveys/T2/dataset.csv", "1003;2BFA;", "1003;3NYE;")(landing)
    assert ingest_source(settings, "surveys", progress=lambda _m: None).loaded == ["T2"]
    assert table_rows(settings, "SELECT reason, value FROM raw.quarantine WHERE snapshot_key = 'T2' "
                                "AND level = 'row'") == [("unknown_org_unit", "3NYE")]
    # The unit appears in the extract the wave uses (2024-01-31): the wave must be reloaded.
    path = landing / HR / "org_units.csv"
    path.write_bytes(path.read_bytes() + b"3NYE;Ny enhed;0HAD;NY2-niveau\r\n")
    assert ingest_source(settings, "hr", progress=lambda _m: None).loaded == ["2024-01-31"]
    assert ingest_source(settings, "surveys", progress=lambda _m: None).loaded == ["T2"]
    assert table_rows(settings, "SELECT org_unit_id FROM raw.survey_respondents WHERE wave_id = 'T2' "
                                "AND respondent_id = '1003'") == [("3NYE",)]
