"""One SurveyXact export written in all four variants gives identical canonical rows (SPEC §2.2).

The export is built here in Python: a dozen respondents, Danish letters in labels and question texts,
line breaks inside texts, "Ved ikke" (also with a non-breaking space) and "Don’t know" codes, invalid
codes, stato flags, an unknown org unit and empty cells. Each variant is ingested into its own warehouse
(with the same dimensions, HR extract and mapping, loaded once and copied) and the raw survey tables are
compared without their lineage columns.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from maturity.ingest.run import ingest_source
from maturity.settings import Settings

from tests.conftest import SAMPLES, TEST_KEY, table_rows
from tests.landing import write_csv, write_surveyxact

VARIANTS = ("xlsx", "comma-cp1252", "semicolon-cp1252", "tab-utf16")
ITEMS = ("s_1_1", "s_1_2", "d_1_1", "d_1_2")

STRUCTURE = [
    ["questionName", "variableName", "questionType", "subType", "questionText", "choiceValue", "choiceText"],
    ["resp", "resp", "Open", "String", "Respondent-id", None, None],
    ["afd", "afd", "Closed", "Single", "Afdeling  ", None, None],
    ["rolle", "rolle", "Closed", "Single", "Hvad er din rolle?", None, None],
    ["s_1", "s_1_1", "Closed", "Single", "Strategi – hvor står I i dag?\nVælg ét svar", None, None],
    ["s_1", "s_1_2", "Closed", "Single", "Strategi – hvor bør I stå i 2025?", None, None],
    ["d_1", "d_1_1", "Closed", "Single", "Data og sikkerhed – i dag, ærligt talt", None, None],
    ["d_1", "d_1_2", "Closed", "Single", "Data og sikkerhed – om to år", None, None],
    ["kommentar", "kommentar", "Open", "String", "Øvrige bemærkninger; gerne \"konkrete\"", None, None],
    *[["statoverall", f"stato_{i}", "Closed", "Multiple", "Samlet status", str(i), text]
      for i, text in enumerate(("Ny", "Distribueret", "Nogle svar", "Gennemført", "Frafaldet"), start=1)],
]

LABELS = [
    ["rolle", 1, "Direktion"], ["rolle", 2, "Chef "], ["rolle", 3, "Leder"], ["rolle", 4, "Medarbejder"],
    ["rolle", 5, "Anden rolle, fx konsulent"],
    *[[v, 1, "I meget lav grad"] for v in ITEMS],
    *[[v, 5, "I meget\nhøj grad"] for v in ITEMS],
    *[[v, 6, "Ved ikke"] for v in ("s_1_1", "s_1_2", "d_1_1")],
    ["d_1_2", 6, "Ved\u00a0ikke  "],
    ["d_1_2", 8, "Don’t know"],
    ["stato_1", 0, "Ikke valgt"], ["stato_1", 1, "Valgt"],
]

HEADER = ["resp", "afd", "rolle", *ITEMS, "kommentar", *(f"stato_{i}" for i in range(1, 6))]
#          resp   afd     rolle s_1_1 s_1_2 d_1_1 d_1_2 kommentar                    stato_1..5
RESPONDENTS = [
    [1001, "1ITD", 1, 4, 5, 3, 4, "Godt initiativ, tak", 0, 0, 0, 1, 0],
    [1002, "1ITD", 2, 3, 4, 6, 4, None, 0, 0, 0, 1, 0],
    [1003, "2BFA", 3, None, None, None, None, None, 0, 1, 0, 0, 0],
    [1004, "2BFA", 3, 4, 9, 3, None, "Flere\nlinjer; med æøå", 0, 0, 1, 0, 0],
    [1005, "2BFB", 4, 2, 3, 2, 3, None, 0, 0, 0, 1, 0],
    [1006, "2BFB", 5, 5, 5, 5, 8, None, 0, 0, 0, 1, 0],
    [1007, "1ITD", 7, 1, 2, 1, 2, None, 0, 0, 0, 1, 0],
    [1008, "XXXX", 3, 3, 3, 3, 3, None, 0, 0, 0, 1, 0],
    [1009, "2BFA", 3, None, None, None, None, None, 1, 0, 0, 0, 0],
    [1010, "1ITD", 2, None, None, None, None, None, 0, 0, 0, 0, 1],
    [1011, "2BFB", 3, 3, 4, 2, 6, "Ved ikke", 0, 0, 0, 1, 0],
    [1012, "0HAD", 1, 0, 4, 3, 5, None, 0, 0, 0, 1, 0],
]


@pytest.fixture(scope="module")
def variant_warehouses(tmp_path_factory: pytest.TempPathFactory, ingest_all_shared) -> dict[str, Settings]:
    """One landing area and warehouse per variant; dimensions and HR are loaded once and copied."""
    base = tmp_path_factory.mktemp("equivalence")
    common = base / "common"
    shutil.copytree(SAMPLES / "reference", common / "reference")
    shutil.copy(SAMPLES / "surveys" / "mapping.csv", _mkdir(common / "surveys") / "mapping.csv")
    hr = common / "hr" / "2022-03-31"
    write_csv(hr / "org_units.csv", [
        ["Afdelingskode", "Afdelingsnavn", "Overordnet afdelingskode", "Niveau"],
        ["0HAD", "Haderslev Kommune", None, "NY3-niveau"], ["1ITD", "IT og Digitalisering", "0HAD", "NY2-niveau"],
        ["2BFA", "Børn og Familie", "0HAD", "NY2-niveau"], ["2BFB", "Dagtilbud Øst", "2BFA", "Afdelings-niveau"],
    ])
    write_csv(hr / "employees.csv", [
        ["CPR-nummer", "Navn (for-/efternavn)", "Tjenestenummer", "Startdato", "Slutdato", "Stamafdeling",
         "Stillingskode", "Stilling", "Beskæftigelsesgrad", "Ansættelsesstatus", "Ansættelsesstatus"],
        ["010180-1234", "Eva Eksempel", "00017", "01.08.2015", None, "1ITD", "264-43", "Konsulent", "1,0", "Ansat",
         "0"],
    ])
    common_settings = Settings(common, base / "common-warehouse", TEST_KEY)
    reports = ingest_all_shared(common_settings, ("reference", "hr"))
    assert all(not isinstance(r, Exception) for r in reports.values()), reports
    out = {}
    for variant in VARIANTS:
        landing = base / variant / "landing"
        shutil.copytree(common, landing)
        wave = landing / "surveys" / "T0"
        write_csv(wave / "wave.csv", [["wave_id", "label", "closes_on"], ["T0", "Baseline – forår", "2022-04-30"]],
                  delimiter=",")
        write_surveyxact(wave, variant, [HEADER, *RESPONDENTS], STRUCTURE, LABELS)
        settings = Settings(landing, base / variant / "warehouse", TEST_KEY)
        settings.warehouse_dir.mkdir(parents=True)
        shutil.copy(common_settings.warehouse_db, settings.warehouse_db)
        ingest_source(settings, "surveys", progress=lambda _m: None)
        out[variant] = settings
    return out


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def canonical(settings: Settings) -> dict[str, list[tuple]]:
    return {
        "respondents": table_rows(settings, "SELECT * EXCLUDE (_file, _line, _load_id) FROM raw.survey_respondents "
                                            "ORDER BY ALL"),
        "answers": table_rows(settings, "SELECT * EXCLUDE (_file, _line, _load_id) FROM raw.survey_answers "
                                        "ORDER BY ALL"),
        "quarantine": table_rows(settings, "SELECT reason, level, column_name, value, detail, count(*) "
                                           "FROM raw.quarantine GROUP BY ALL ORDER BY ALL"),
    }


@pytest.mark.parametrize("variant", VARIANTS[1:])
def test_variant_gives_the_same_canonical_rows_as_the_workbook(variant_warehouses, variant):
    assert canonical(variant_warehouses[variant]) == canonical(variant_warehouses["xlsx"])


def test_each_variant_was_read_as_its_own_format(variant_warehouses):
    formats = {v: table_rows(s, "SELECT export_format FROM raw.survey_waves")[0][0]
               for v, s in variant_warehouses.items()}
    assert formats == {"xlsx": "xlsx", "comma-cp1252": "csv (comma, cp1252)",
                       "semicolon-cp1252": "csv (semicolon, cp1252)", "tab-utf16": "csv (tab, utf-16)"}


def test_canonical_rows_are_right(variant_warehouses):
    """The common result itself: a wrong answer in all four variants would pass the equivalence tests."""
    rows = canonical(variant_warehouses["tab-utf16"])
    respondents = {r[1]: r for r in rows["respondents"]}
    assert sorted(respondents) == [str(i) for i in range(1001, 1013) if i != 1008]  # 1008: unknown org unit
    roles = {rid: (r[4], r[5]) for rid, r in respondents.items()}
    assert roles["1001"] == ("Direktion", "direktion")
    assert roles["1002"] == ("Chef", "chef")
    assert roles["1005"] == ("Medarbejder", "medarbejder")
    assert roles["1006"] == ("Anden rolle, fx konsulent", "andet")
    assert roles["1007"] == ("7", "andet")  # no label for code 7
    flags = {rid: r[-3:] for rid, r in respondents.items()}  # is_distributed, is_answered, is_completed
    assert flags["1001"] == (True, True, True)
    assert flags["1003"] == (True, False, False)
    assert flags["1004"] == (True, True, False)
    assert flags["1009"] == (False, False, False)
    assert flags["1010"] == (True, False, False)
    answers = {(a[1], a[2]): (a[5], a[6], a[7]) for a in rows["answers"]}
    assert len(answers) == 4 * 8 - 1  # 8 respondents with answers, 1004 left d_1_2 empty
    assert answers[("1002", "d_1_1")] == ("6", None, "dont_know")
    assert answers[("1006", "d_1_2")] == ("8", None, "dont_know")  # "Don’t know"
    assert answers[("1011", "d_1_2")] == ("6", None, "dont_know")  # "Ved\u00a0ikke  "
    assert answers[("1004", "s_1_2")] == ("9", None, "invalid")
    assert answers[("1012", "s_1_1")] == ("0", None, "invalid")
    assert answers[("1005", "s_1_2")] == ("3", 3.0, "valid")
    not_in_scale = "not in the scale 1.0–5.0 and not a don't-know label"
    assert rows["quarantine"] == [
        ("invalid_answer", "cell", "s_1_1", "0", f"respondent 1012: {not_in_scale}", 1),
        ("invalid_answer", "cell", "s_1_2", "9", f"respondent 1004: {not_in_scale}", 1),
        ("unknown_org_unit", "row", "afd", "XXXX", "not a unit of the HR extract 2022-03-31 used by this wave", 1),
    ]


def test_texts_survive_every_variant(variant_warehouses):
    for variant, settings in variant_warehouses.items():
        texts = dict(table_rows(settings, "SELECT variable_name, question_text FROM raw.survey_structure"))
        assert texts["s_1_1"].replace("\r\n", "\n") == "Strategi – hvor står I i dag?\nVælg ét svar", variant
        assert texts["afd"] == "Afdeling", variant  # trailing spaces trimmed
        assert texts["kommentar"] == 'Øvrige bemærkninger; gerne "konkrete"', variant
        labels = dict(table_rows(settings, "SELECT value_label, count(*) FROM raw.survey_labels GROUP BY 1"))
        assert labels["Chef"] == 1 and labels["Anden rolle, fx konsulent"] == 1, variant
