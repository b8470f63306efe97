"""An independent reference for the SPEC §3 metrics, compared with what dbt publishes in `marts.*`.

Every mart of SPEC §4 is recomputed here in pandas, from the raw tables (the parsed landing data) and the
text of SPEC §3 only, and compared with the dbt build on the full key: the same key set, numbers equal
within 1e-9 (absolute, or relative for large DKK amounts), nulls in the same places, strings and booleans
equal. Only the §3.9 suppression decisions come from the shared `maturity.privacy` module (tested on its
own); pooling, complete cases, statistics, indices, bands, ranks, quadrants, coverage splits and capacity
placement are written again here on purpose.

Two warehouses are built once per module: the demo municipality (haderslev scale, seed 42) and a small,
purpose-built landing area whose every row is there to hit an edge case of §3 (listed in `write_edge_landing`;
`test_edge_landing_hits_its_edge_cases` checks that it does).
"""

from __future__ import annotations

import csv
import io
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from maturity.demo import generate
from maturity.ingest.run import SOURCES, ingest_source
from maturity.privacy import alignment_cells, alignment_disclosure, residual_blocks, role_class, suppress_frame
from maturity.settings import Settings
from maturity.transform import build, run_dbt

pytestmark = pytest.mark.slow

MIN_CELL = 5  # the dbt var min_cell (SPEC §3)
KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
TOLERANCE = 1e-9
ACTIVE_PROJECT = {"Planlagt", "I gang"}
ACTIVE_EMPLOYMENT = {"0", "1", "3"}


# ==================================================================================================
# Building the two warehouses
# ==================================================================================================


def _ingest(landing: Path, warehouse: Path) -> Settings:
    settings = Settings(landing.resolve(), warehouse.resolve(), KEY)
    for source in SOURCES:
        report = ingest_source(settings, source, progress=lambda _m: None)
        assert not report.errors, f"{source}: {report.errors}"
    return settings


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both warehouse files. The demo's dbt run overlaps the edge case's ingest and build (two processes).

    The demo runs the models only (`dbt run`: its data tests run in test_pipeline_demo); the edge case runs the
    pipeline's `dbt build` (models + data tests), so dbt's own data tests also see every edge case.
    """
    base = tmp_path_factory.mktemp("metrics_reference")
    generate(base / "demo" / "landing", "haderslev", 42)
    demo = _ingest(base / "demo" / "landing", base / "demo" / "warehouse")
    failure: list[BaseException] = []

    def run_demo() -> None:
        try:
            run_dbt(demo, ["run"], progress=lambda _m: None)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            failure.append(exc)

    thread = threading.Thread(target=run_demo)
    thread.start()
    try:
        write_edge_landing(base / "edge" / "landing")
        edge = _ingest(base / "edge" / "landing", base / "edge" / "warehouse")
        build(edge, progress=lambda _m: None)
    finally:
        thread.join()
    if failure:
        raise failure[0]
    return {"demo": demo.warehouse_db, "edge": edge.warehouse_db}


# ==================================================================================================
# The edge-case landing area (formats as in /work/shared/spec/samples)
# ==================================================================================================


def _write(path: Path, rows: list[list[object]], delimiter: str = ";", encoding: str = "cp1252") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(
        [["" if c is None else c for c in row] for row in rows]
    )
    path.write_bytes(buf.getvalue().encode(encoding))


def _table(text: str) -> list[list[str | None]]:
    """Whitespace-separated rows; '.' is an empty cell, '#' starts a comment."""
    rows = [line.split("#")[0].split() for line in text.strip().splitlines()]
    return [[None if c == "." else c for c in row] for row in rows if row]


DIMENSIONS = [  # sort_order deliberately not alphabetical: a tie must go to kompetencer (2), not data (3)
    ["dimension_id", "name_da", "name_en", "weight", "sort_order"],
    ["strategi", "Strategi og ledelse", "Strategy", "2", "1"],
    ["kompetencer", "Digitale kompetencer", "Skills", "1", "2"],
    ["data", "Data og sikkerhed", "Data", "1", "3"],
    ["borger", "Borgerrettet digitalisering", "Citizens", "2", "4"],
    ["teknologi", "Teknologi", "Technology", "1", "5"],
    ["kultur", "Kultur", "Culture", "1", "6"],  # never measured
]

MAPPING_T0 = """
resp   respondent_id .           . .
afd    org_unit      .           . .
rolle  role          .           . .
st_1   current       strategi    1 5   # two current items for one dimension
st_2   current       strategi    1 5
st_t   target        strategi    1 5
st_imp importance    strategi    1 10  # importance on another scale than current/target
da_1   current       data        1 5
da_t   target        data        1 5
da_imp importance    data        0 10
ko_1   current       kompetencer 1 5   # no importance items
ko_t   target        kompetencer 1 5
"""
MAPPING_T1 = MAPPING_T0 + """
bo_1   current       borger      1 7   # no target items; 7-point scale
bo_imp importance    borger      1 5   # answered by fewer than min_cell
te_1   current       teknologi   1 5   # root below min_cell: nothing published
te_t   target        teknologi   1 5
"""

# stato: 1 Ny (not distributed), 2 Distribueret, 3 Nogle svar, 4 Gennemført, 5 Frafaldet. 6 = "Ved ikke" on the
# 1-5 items, 99 on da_imp; 9 is an unlabelled invalid answer. Role 6 is a label outside the five (-> andet).
T0_ROWS = """
resp afd  rolle st_1 st_2 st_t st_imp da_1 da_t da_imp ko_1 ko_t stato
1001 0KOM 1     3    4    5    9      2    4    8      2    4    4    # root's own respondents (direktion)
1002 0KOM 1     4    4    5    10     3    5    9      3    5    4
1003 1ADM 2     2    3    4    7      6    6    .      .    .    4    # a parent with direct respondents
1004 1ADM 2     3    .    4    8      .    .    .      .    .    4    # one of two current items
1005 1ADM 2     3    2    5    6      6    6    99     .    .    4
1006 2HR  2     3    3    4    8      2    4    7      2    4    4    # 2HR: n = 5 for strategi and data
1007 2HR  3     2    3    4    7      3    4    6      3    4    4
1008 2HR  3     2    2    3    6      2    3    5      2    3    4
1009 2HR  3     4    3    5    9      6    4    5      6    4    4    # data: target without current
1010 2HR  3     3    4    4    8      1    3    7      2    5    4    # kompetencer swapped with 1024 (tie)
1011 2HR  3     6    .    4    5      2    5    8      2    5    4    # strategi: target without current
1012 2IT  3     2    2    4    4      3    4    6      3    4    4    # 2IT: n = 4 for strategi, 5 for data
1013 2IT  3     3    3    4    6      2    4    5      2    4    4
1014 2IT  3     1    2    3    3      2    3    4      2    3    4
1015 2IT  3     2    3    5    7      3    5    9      3    5    4
1016 2IT  3     6    6    6    .      1    3    2      1    3    4    # strategi: don't know only
1017 2SKO 2     3    3    5    8      3    4    8      3    4    4
1018 2SKO 3     2    3    4    7      2    4    7      2    4    4
1019 2SKO 3     3    3    .    6      4    5    6      4    5    4    # strategi: current without target
1020 2SKO 3     4    9    5    9      3    5    9      3    5    4    # 9: an invalid answer
1021 2SKO 6     2    2    4    5      2    3    5      2    3    4    # role label outside the five
1022 2SKO 4     3    2    4    6      3    4    6      3    4    4
1023 2SKO 3     2    3    4    7      .    .    .      .    .    3    # answered partly (Nogle svar)
1024 2DAG 3     3    3    5    8      2    5    8      1    3    4    # 2DAG: n = 5
1025 2DAG 3     2    2    4    7      3    4    7      3    4    4
1026 2DAG 3     3    4    4    9      2    4    6      2    4    4
1027 2DAG 3     2    3    4    6      3    5    8      3    5    4
1028 2DAG 3     4    4    5    10     2    4    9      2    4    4
1029 2DAG 3     1    1    5    1      1    5    1      1    5    2    # distributed, not answered
1030 2DAG 3     .    .    .    .      .    .    .      .    .    1    # not distributed
1031 2DAG 3     .    .    .    .      .    .    .      .    .    5    # dropped out
1032 2NEW 3     5    5    5    5      5    5    5      5    5    4    # unit not in T0's tree: quarantined
1033 .    3     5    5    5    5      5    5    5      5    5    4    # no unit: quarantined
"""

T1_ROWS = """
resp afd  rolle st_1 st_2 st_t st_imp da_1 da_t da_imp ko_1 ko_t bo_1 bo_imp te_1 te_t stato
2001 0KOM 1     3    4    5    9      3    4    8      3    4    .    .      3    4    4
2002 0KOM 1     4    4    5    10     3    5    9      3    5    .    .      .    .    4
2003 1ADM 2     3    3    4    7      3    4    7      .    .    .    .      2    4    4
2004 1ADM 2     3    4    4    8      2    4    8      .    .    .    .      .    .    4
2005 1ADM 2     4    3    5    6      3    5    6      .    .    .    .      .    .    4
2006 2HR  3     3    3    4    8      3    4    7      3    4    .    .      3    5    4
2007 2HR  3     3    3    4    7      3    4    6      3    4    .    .      .    .    4
2008 2HR  3     2    3    4    6      2    3    5      2    3    .    .      .    .    4
2009 2HR  3     4    3    5    9      3    4    5      3    4    .    .      .    .    4
2010 2HR  3     3    4    4    8      6    6    99     3    5    .    .      .    .    4    # data: don't know
2011 2IT  3     2    3    4    4      3    4    6      3    4    .    .      .    .    4
2012 2IT  3     3    3    4    6      2    4    5      2    4    .    .      .    .    4
2013 2IT  3     2    2    3    3      2    3    4      2    3    .    .      .    .    4
2014 2IT  3     2    3    5    7      3    5    9      3    5    .    .      .    .    4
2015 2IT  3     3    3    4    5      2    3    2      2    3    .    .      .    .    4
2016 2SKO 3     3    3    5    8      3    4    8      3    4    5    4      .    .    4
2017 2SKO 3     2    3    4    7      2    4    7      2    4    4    5      .    .    4
2018 2SKO 3     3    4    4    6      4    5    6      4    5    6    3      .    .    4
2019 2SKO 3     4    4    5    9      3    5    9      3    5    3    4      .    .    4
2020 2SKO 3     2    3    4    5      2    3    5      2    3    5    .      .    .    4
2021 2SKO 3     3    3    4    6      3    4    6      3    4    4    .      .    .    4
2022 2DAG 3     3    3    5    8      2    5    8      2    5    2    .      .    .    4
2023 2DAG 3     2    3    4    7      3    4    7      3    4    7    .      .    .    4
2024 2DAG 3     3    4    4    9      2    4    6      2    4    3    .      .    .    4
2025 2DAG 3     3    3    4    6      3    5    8      3    5    5    .      .    .    4
2026 2DAG 3     4    4    5    10     2    4    9      2    4    4    .      .    .    3
2027 2NEW 3     3    4    5    8      3    4    8      3    4    6    .      .    .    4    # 2NEW: only in T1's tree
2028 2NEW 3     2    3    4    7      2    4    7      2    4    5    .      .    .    4
2029 2NEW 3     3    3    5    6      3    5    6      3    5    4    .      .    .    4
2030 2NEW 3     4    4    5    9      3    4    9      3    4    6    .      .    .    4
2031 2NEW 3     3    3    4    8      2    4    8      2    4    5    .      .    .    4
2032 2NEW 3     .    .    .    .      .    .    .      .    .    .    .      .    .    2
"""

ORG_UNITS = """
0KOM .    NY3-niveau
1ADM 0KOM NY2-niveau
2HR  1ADM NY1-niveau
2IT  1ADM NY1-niveau
1BOR 0KOM NY2-niveau
2SKO 1BOR NY1-niveau
2DAG 1BOR NY1-niveau
1TOM 0KOM NY2-niveau
"""

# Persons with special cases (both extracts). Tjenestenummer keeps its leading zero; dates DD.MM.YYYY, EXTRACT is
# the extract's own date.
SPECIAL_EMPLOYMENTS = """
#cpr       tjn    start      end        unit fte    status
0101801001 010001 01.01.2015 .          2HR  0,5000 0    # a person with two employments, equal fte:
0101801001 010002 01.01.2016 31.12.9999 2IT  0,5000 1    #   placed in the lower org_unit_id (2HR)
0101801002 010003 01.02.2010 .          1ADM 1,0000 3
0101801003 010004 01.03.2012 .          2SKO 0,8000 1    # memberships 60 + 50 > 100 %
0101801004 010005 01.04.2013 .          2SKO 1,0000 1    # memberships 30 + 50 = 80 %: none dedicated
0101801005 010006 01.05.2014 .          2DAG 0,6000 8    # inactive, with a membership
0101801005 010007 01.06.2014 .          2DAG 0,4000 1
0101801006 010008 01.07.2011 .          2DAG 0,3000 1    # membership on the smaller employment:
0101801006 010009 01.08.2011 .          2SKO 0,7000 1    #   counted in 2SKO, where the person is placed
0101801007 010010 01.09.2010 31.12.2022 2HR  1,0000 1    # ended before the extract
0101801008 010011 01.01.2025 .          2HR  1,0000 1    # starts after the extract
0101801009 010012 01.01.2010 .          9XXX 1,0000 1    # unit not in the tree: quarantined, so this
0101801009 010014 01.01.2011 .          2DAG 0,2000 1    #   person is placed by the smaller employment
0101801010 010013 01.01.2010 .          2IT  1,0000 S    # inactive status code S
0101801011 010015 EXTRACT    .          2SKO 1,0000 1    # starts on the extract date: active
0101801012 010016 01.01.2010 EXTRACT    2SKO 1,0000 0    # ends on the extract date: active
"""
MEMBERSHIPS = """
#tjn   share from       to
010002 80    01.01.2020 .          # dedicated (>= 80)
010003 79    01.01.2020 .          # not dedicated (79)
010003 50    01.01.2019 31.12.2020 # ended: neither counted nor part of the > 100 % check
010004 60    01.01.2021 .
010004 50    01.01.2022 .
010005 30    01.01.2021 .
010005 50    01.01.2021 .
010006 100   01.01.2021 .          # on an inactive employment: not counted
010008 100   01.01.2021 .
010010 100   01.01.2020 .          # only an inactive employment matches
020001 100   01.01.2020 .          # a filler in 2HR, fully dedicated
020002 45    01.01.2030 .          # starts after the extract
010015 20    EXTRACT    .          # starts on the extract date: counted
010016 90    01.01.2020 EXTRACT    # ends on the extract date: counted, dedicated
099999 50    01.01.2020 .          # matches no employment: quarantined
"""
FILLERS = {"0KOM": 3, "1ADM": 1, "2HR": 5, "2IT": 4, "2SKO": 4, "2DAG": 3}  # headcount 2IT 4, 2DAG 5

PORTFOLIOS = {
    "2023-01-31": """
P-01 Tidlig I~gang 1.000.000,00 10.000,00 Ja Nej strategi
""",  # before any wave closes: no wave, no gap
    "2023-05-31": """
P-01 Datafundament I~gang 1.000.000,00 250.000,50 Ja Nej strategi;data
P-02 Dataplatform Planlagt 300.000,00 0,00 Nej Ja data,data
P-03 Ideen Idé 500.000,00 0,00 Ja Ja strategi
P-04 Afsluttet Afsluttet 700.000,00 700.000,00 Ja Ja data
P-05 Ukendt I~gang 90.000,00 30.000,00 Nej Nej ukendt;strategi
P-06 Kun~ukendt I~gang 80.000,00 1.000,00 Ja Ja ukendt
P-07 Gratis Planlagt 0,00 0,00 Ja Ja borger
P-08 Stoppet Stoppet 100.000,00 5.000,00 Nej Nej kompetencer
""",
    "2024-04-30": """
P-11 Kompetenceløft Planlagt 400.000,00 0,00 Ja Nej kompetencer;strategi;teknologi
""",  # dated on T1's closes_on: T1
    "2024-05-31": """
P-11 Kompetenceløft I~gang 400.000,00 100.000,00 Ja Nej kompetencer;strategi;teknologi
""",
    "2024-06-30": """
P-11 Kompetenceløft I~gang 400.000,00 150.000,00 Ja Nej kompetencer;strategi;teknologi
P-12 Borgerdata Planlagt 250.000,00 0,00 Nej Ja borger;data
P-13 Uden~flag I~gang 50.000,00 0,00 . . data
""",
}


def _survey(folder: Path, wave: tuple[str, str, str], mapping: str, rows_text: str, *, own_mapping: bool) -> None:
    wave_id, label, closes_on = wave
    _write(folder / "wave.csv", [["wave_id", "label", "closes_on"], [wave_id, label, closes_on]], ",", "utf-8")
    items = _table(mapping)
    if own_mapping:
        _write(folder / "mapping.csv", [["variable_name", "use", "dimension_id", "scale_min", "scale_max"], *items],
               ",", "utf-8")
    rows = _table(rows_text)
    header, data = rows[0], rows[1:]
    header[0] = "resp"
    stato = [f"stato_{i}" for i in range(1, 6)]
    dataset = [header[:-1] + stato] + [row[:-1] + [int(row[-1]) == i for i in range(1, 6)] for row in data]
    dataset = [[int(c) if isinstance(c, bool) else c for c in row] for row in dataset]
    structure = [["questionName", "variableName", "questionType", "subType", "questionText", "choiceValue",
                  "choiceText", None]]
    structure += [[v.split("_")[0], v, "Closed", "Single", f"Spørgsmål {v} ", None, None, None] for v in header[:-1]]
    structure += [["statoverall", s, "Closed", "Multiple", "Samlet status", s[-1], None, None] for s in stato]
    labels = [["rolle", "1", "Direktion"], ["rolle", "2", "Chef"], ["rolle", "3", "Leder "],
              ["rolle", "4", "Medarbejder"], ["rolle", "6", "Konsulent"]]
    for var, use, _dim, _lo, hi in items:
        if use in ("current", "target"):
            labels.append([var, str(int(hi) + 1), "Ved ikke "])
        elif use == "importance":
            labels.append([var, "99", "Ved ikke/ikke relevant"])
    _write(folder / "dataset.csv", dataset)
    _write(folder / "structure.csv", structure)
    _write(folder / "labels.csv", labels)


def _hr(folder: Path, extract_date: str, extra_units: list[list[str | None]], extra_fillers: dict[str, int]) -> None:
    """One HR extract; extract_date is DD.MM.YYYY."""
    units = _table(ORG_UNITS) + extra_units
    _write(folder / "org_units.csv", [["Afdelingskode", "Afdelingsnavn", "Overordnet afdelingskode", "Niveau"]]
           + [[code, f"Enhed {code}", parent, level] for code, parent, level in units])
    report = [["Personaleoversigt"], [f"Kørt {extract_date} af SD Løn"], ["Institution: Testkommune"], []]
    header = ["CPR-nummer", "Navn (for-/efternavn)", "Tjenestenummer", "Startdato", "Slutdato", "Stamafdeling",
              "Stillingskode", "Stilling", "Beskæftigelsesgrad", "Ansættelsesstatus", "Ansættelsesstatus"]
    rows = []
    for cpr, tjn, start, end, unit, fte, status in _table(SPECIAL_EMPLOYMENTS.replace("EXTRACT", extract_date)):
        rows.append([f'="{cpr[:6]}-{cpr[6:]}"', "Test Person", f'="{tjn}"', start, end, unit, "100-00",
                     "Konsulent", fte, "Ansat" if status in ACTIVE_EMPLOYMENT else "Fratrådt", status])
    number = 0
    for unit, count in {**FILLERS, **extra_fillers}.items():
        for _ in range(count):
            number += 1
            fte = "1,0000" if number % 3 else "0,7500"
            cpr, tjn = f"0202{80 + number % 10:02d}-{2000 + number:04d}", f"{20000 + number:06d}"
            rows.append([f'="{cpr}"', "Fyld Person", f'="{tjn}"', "01.01.2018", None, unit, "100-00", "Konsulent",
                         fte, "Ansat", "1"])
    _write(folder / "employees.csv", report + [header] + rows)
    _write(folder / "transformation_team.csv", [["Tjenestenummer", "Andel (%)", "Rolle i teamet", "Fra", "Til"]]
           + [[tjn, share, "Projektleder", start, end]
              for tjn, share, start, end in _table(MEMBERSHIPS.replace("EXTRACT", extract_date))])


def write_edge_landing(landing: Path) -> None:
    """Two waves on two HR extracts, one tree per wave; every row below exists to hit a §3 edge case:

    - T0 closes before the first HR extract (earliest tree); T1 uses the later one, dated on its closes_on,
      which adds 2NEW; a T0
      respondent in 2NEW and one without a unit are quarantined and count nowhere;
    - strategi has two current items; respondents with a target but no current, a current but no target,
      don't-know and invalid answers; stato Ny / Distribueret / Nogle svar / Frafaldet;
    - n exactly 5 (2HR, 2DAG) and 4 (2IT); 1ADM has its own respondents and is suppressed by the residual
      rule (T0 strategi, T1 strategi) while its children stay published; T0 data and T1 kompetencer need the
      fallback (no nearest published descendant with residual >= 1) and then a tie on n;
    - kompetencer and data tie on the root priority score in T0 (rank by sort_order, not by id);
      kompetencer has no importance items; borger's importance has < min_cell answers; teknologi's root
      has < min_cell; alignment is published (T1 strategi), suppressed by n (T0 data) and by disclosure
      with both groups >= min_cell (T0 strategi, T1 data);
    - capacity: a person with two employments (tie on fte), 79 % and 80 % memberships, memberships adding to
      110 % (quarantined) and to 80 % (none dedicated), inactive employments and memberships, a membership
      counted on a person's smaller employment, an employment in an unknown unit beside a known one,
      employments and memberships starting or ending on the extract date, n = 4 and 5 units;
    - projects: one extract before any wave, one dated on a closes_on, several dimensions per project,
      unknown and duplicated ids, inactive statuses, a zero budget, three extracts of the same wave.
    """
    _write(landing / "reference" / "dimensions.csv", DIMENSIONS, ",", "utf-8")
    items = _table(MAPPING_T0)
    _write(landing / "surveys" / "mapping.csv",
           [["variable_name", "use", "dimension_id", "scale_min", "scale_max"], *items], ",", "utf-8")
    _survey(landing / "surveys" / "T0", ("T0", "Baseline 2023", "2023-04-30"), MAPPING_T0, T0_ROWS, own_mapping=False)
    _survey(landing / "surveys" / "T1", ("T1", "Måling 2024", "2024-04-30"), MAPPING_T1, T1_ROWS, own_mapping=True)
    _hr(landing / "hr" / "2023-06-30", "30.06.2023", [], {})
    _hr(landing / "hr" / "2024-04-30", "30.04.2024", [["2NEW", "1BOR", "NY1-niveau"]], {"2NEW": 5, "2IT": 1})
    header = ["Projekt-ID", "Projektnavn", "Ejer (afdelingskode)", "Status", "Startdato", "Slutdato", "Budget (kr.)",
              "Forbrug (kr.)", "Masterplan", "Budgetproces", "Dimensioner"]
    for extract, text in PORTFOLIOS.items():
        rows = [[pid, name.replace("~", " "), "1ADM", status.replace("~", " "), "01.01.2023", "31.12.2025", *rest]
                for pid, name, status, *rest in _table(text)]
        _write(landing / "projects" / extract / "portfolio.csv", [header, *rows])


# ==================================================================================================
# Raw inputs and org trees
# ==================================================================================================

RAW_QUERIES = {
    "dimensions": "SELECT dimension_id, weight, sort_order FROM raw.dimensions",
    "waves": "SELECT wave_id, label, closes_on FROM raw.survey_waves",
    "mapping": "SELECT wave_id, variable_name, use, dimension_id, scale_min, scale_max FROM raw.survey_mapping",
    "respondents": "SELECT wave_id, respondent_id, org_unit_id, role, is_distributed, is_answered, is_completed "
    "FROM raw.survey_respondents",
    "answers": "SELECT wave_id, respondent_id, dimension_id, aspect, value FROM raw.survey_answers",
    "org_units": "SELECT extract_date, org_unit_id, parent_org_unit_id FROM raw.org_units",
    "employments": "SELECT extract_date, person_key, employment_key, start_date, end_date, org_unit_id, fte, "
    "status_code FROM raw.employments",
    "memberships": "SELECT extract_date, employment_key, share_pct, valid_from, valid_to FROM raw.team_memberships",
    "projects": "SELECT extract_date, project_id, status, budget_dkk, spent_dkk, is_masterplan, is_budget_process, "
    "dimension_ids FROM raw.projects",
}


@dataclass
class Tree:
    """One HR extract's org tree: its units and, for pooling, every (member unit, ancestor-or-self) pair."""

    units: pd.DataFrame  # org_unit_id, parent_org_unit_id (None for the root)
    pairs: pd.DataFrame  # member_unit, org_unit_id
    root: str


def _tree(org_units: pd.DataFrame) -> Tree:
    parent = {u: (None if pd.isna(p) or p == "" else p)
              for u, p in zip(org_units.org_unit_id, org_units.parent_org_unit_id, strict=True)}
    pairs = []
    for unit in parent:
        ancestor: str | None = unit
        while ancestor is not None:
            pairs.append((unit, ancestor))
            ancestor = parent[ancestor]
    root = next(u for u, p in parent.items() if p is None)
    units = pd.DataFrame({"org_unit_id": list(parent), "parent_org_unit_id": list(parent.values())})
    return Tree(units, pd.DataFrame(pairs, columns=["member_unit", "org_unit_id"]), root)


@dataclass
class Inputs:
    raw: dict[str, pd.DataFrame]
    trees: dict[pd.Timestamp, Tree]  # per HR extract date
    wave_tree: dict[str, pd.Timestamp]  # wave → HR extract date used (§3: latest ≤ closes_on, else earliest)
    previous_wave: dict[str, str | None]  # wave → the wave with the next earlier closes_on


def load_inputs(db: Path) -> Inputs:
    con = duckdb.connect(str(db), read_only=True)
    try:
        raw = {name: con.execute(sql).df() for name, sql in RAW_QUERIES.items()}
    finally:
        con.close()
    org = raw["org_units"]
    trees = {date: _tree(group) for date, group in org.groupby("extract_date")}
    extracts = sorted(trees)
    waves = raw["waves"].sort_values("closes_on")
    wave_tree = {}
    for wave_id, closes_on in zip(waves.wave_id, waves.closes_on, strict=True):
        earlier = [e for e in extracts if e <= closes_on]
        wave_tree[wave_id] = max(earlier) if earlier else min(extracts)
    ordered = list(waves.wave_id)
    previous_wave = {w: (ordered[i - 1] if i else None) for i, w in enumerate(ordered)}
    return Inputs(raw, trees, wave_tree, previous_wave)


def _pool(frame: pd.DataFrame, tree: Tree) -> pd.DataFrame:
    """Repeat each row once per ancestor-or-self of its home_unit: grouping by org_unit_id then pools subtrees."""
    return frame.merge(tree.pairs, left_on="home_unit", right_on="member_unit").drop(columns="member_unit")


def _band(index: float | None) -> str | None:
    if index is None or pd.isna(index):
        return None
    if index <= 25:
        return "basis"
    if index <= 50:
        return "gennemsnitlig"
    if index <= 75:
        return "moderat_avanceret"
    return "avanceret"


def _null_if_zero(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator != 0)).astype(float)


# ==================================================================================================
# The reference marts (SPEC §3), one function each
# ==================================================================================================


def wave_dimensions(inp: Inputs) -> pd.DataFrame:
    """Per wave, the measured dimensions (≥ 1 current item), their scale, target flag and importance scale."""
    m = inp.raw["mapping"]
    measured = (m[m.use == "current"].groupby(["wave_id", "dimension_id"], as_index=False)
                .agg(scale_min=("scale_min", "first"), scale_max=("scale_max", "first")))
    targets = m[m.use == "target"][["wave_id", "dimension_id"]].drop_duplicates().assign(has_target=True)
    importance = (m[m.use == "importance"].groupby(["wave_id", "dimension_id"], as_index=False)
                  .agg(imp_min=("scale_min", "first"), imp_max=("scale_max", "first")))
    out = measured.merge(targets, how="left", on=["wave_id", "dimension_id"])
    out["has_target"] = out.has_target.eq(True)
    return out.merge(importance, how="left", on=["wave_id", "dimension_id"])


def respondent_dimensions(inp: Inputs) -> pd.DataFrame:
    """cur_rd, tgt_rd, imp_rd per answered respondent and measured dimension, with the complete-case flag."""
    resp = inp.raw["respondents"]
    answered = resp[resp.is_answered][["wave_id", "respondent_id", "org_unit_id", "role"]]
    answers = inp.raw["answers"].merge(answered[["wave_id", "respondent_id"]], on=["wave_id", "respondent_id"])
    means = (answers.groupby(["wave_id", "respondent_id", "dimension_id", "aspect"])["value"].mean()
             .unstack("aspect").reindex(columns=["current", "target", "importance"]).reset_index())
    means = means.rename(columns={"current": "cur", "target": "tgt", "importance": "imp"})
    rd = means.merge(wave_dimensions(inp), on=["wave_id", "dimension_id"])
    rd = rd.merge(answered.rename(columns={"org_unit_id": "home_unit"}), on=["wave_id", "respondent_id"])
    rd["counted"] = rd.cur.notna() & (~rd.has_target | rd.tgt.notna())
    return rd


def ref_scores(inp: Inputs) -> pd.DataFrame:
    """§3.1 fct_maturity_scores, with the §3.9 rule per wave × dimension."""
    rd = respondent_dimensions(inp)
    dims = wave_dimensions(inp)
    frames = []
    for wave_id, extract in inp.wave_tree.items():
        tree = inp.trees[extract]
        counted = _pool(rd[(rd.wave_id == wave_id) & rd.counted].assign(gap=lambda f: f.tgt - f.cur), tree)
        stats = counted.groupby(["org_unit_id", "dimension_id"], as_index=False).agg(
            n=("cur", "size"), current_mean=("cur", "mean"), current_sd=("cur", "std"),
            target_mean=("tgt", "mean"), gap_mean=("gap", "mean"))
        grid = tree.units.merge(dims[dims.wave_id == wave_id], how="cross")
        frames.append(grid.merge(stats, how="left", on=["org_unit_id", "dimension_id"]))
    s = pd.concat(frames, ignore_index=True)
    s["n"] = s.n.fillna(0).astype(int)
    s = suppress_frame(s, ["wave_id", "dimension_id"], MIN_CELL)
    span = s.scale_max - s.scale_min
    a = span + 1
    s["consensus_rwg"] = np.maximum(0.0, 1 - s.current_sd**2 / ((a**2 - 1) / 12)).where(s.current_sd.notna())
    s.loc[~s.has_target, ["target_mean", "gap_mean"]] = np.nan
    s["maturity_index"] = 100 * (s.current_mean - s.scale_min) / span
    s["target_index"] = 100 * (s.target_mean - s.scale_min) / span
    s["gap_index"] = 100 * s.gap_mean / span
    s["maturity_band"] = s.maturity_index.map(_band)
    s["n_respondents"] = s.n.astype(float)
    stats = ["n_respondents", "current_mean", "current_sd", "consensus_rwg", "target_mean", "gap_mean",
             "maturity_index", "target_index", "gap_index", "maturity_band"]
    s.loc[s.is_suppressed, stats] = None
    return s


def ref_overall(inp: Inputs, scores: pd.DataFrame) -> pd.DataFrame:
    """§3.2 fct_maturity_overall: weighted mean of maturity_index, null if any dimension is suppressed."""
    s = scores.merge(inp.raw["dimensions"][["dimension_id", "weight"]], on="dimension_id")
    s["weighted"] = s.weight * s.maturity_index
    out = s.groupby(["wave_id", "org_unit_id"], as_index=False).agg(
        weighted=("weighted", "sum"), weight=("weight", "sum"), any_suppressed=("is_suppressed", "any"))
    out["overall_index"] = (out.weighted / out.weight).where(~out.any_suppressed)
    out["overall_band"] = out.overall_index.map(_band)
    return out


def _root_rows(inp: Inputs, frame: pd.DataFrame) -> pd.DataFrame:
    roots = pd.DataFrame({"wave_id": list(inp.wave_tree),
                          "org_unit_id": [inp.trees[e].root for e in inp.wave_tree.values()]})
    return frame.merge(roots, on=["wave_id", "org_unit_id"])


def ref_priorities(inp: Inputs, scores: pd.DataFrame) -> pd.DataFrame:
    """§3.3 fct_gap_priorities at the root: score, rank (ties → lower sort_order), importance, IPA quadrant."""
    dims = inp.raw["dimensions"][["dimension_id", "weight", "sort_order"]]
    p = _root_rows(inp, scores)[["wave_id", "org_unit_id", "dimension_id", "gap_index", "maturity_index",
                                 "is_suppressed", "imp_min", "imp_max"]].merge(dims, on="dimension_id")
    p["priority_score"] = p.gap_index * p.weight
    # §3.3 ties go to the lower sort_order; dimension_id only makes a (never seen) equal sort_order deterministic
    p = p.sort_values(["wave_id", "priority_score", "sort_order", "dimension_id"], ascending=[True, False, True, True])
    p["priority_rank"] = p.groupby("wave_id").priority_score.cumcount() + 1
    p.loc[p.priority_score.isna(), "priority_rank"] = np.nan

    rd = respondent_dimensions(inp)
    rd = rd[rd.counted & rd.imp.notna()]
    imp = rd.groupby(["wave_id", "dimension_id"], as_index=False).agg(n_imp=("imp", "size"), imp_mean=("imp", "mean"))
    p = p.merge(imp, how="left", on=["wave_id", "dimension_id"])
    enough = (p.n_imp >= MIN_CELL) & ~p.is_suppressed
    p["importance_index"] = (100 * (p.imp_mean - p.imp_min) / (p.imp_max - p.imp_min)).where(enough)

    both = p.maturity_index.notna() & p.importance_index.notna()
    means = p[both].groupby("wave_id")[["maturity_index", "importance_index"]].mean()
    mean_mat = p.wave_id.map(means.maturity_index)
    mean_imp = p.wave_id.map(means.importance_index)
    high_imp, high_mat = p.importance_index >= mean_imp, p.maturity_index >= mean_mat
    quadrant = np.select([high_imp & ~high_mat, high_imp & high_mat, ~high_imp & ~high_mat],
                         ["concentrate_here", "keep_up", "low_priority"], "possible_overkill")
    p["ipa_quadrant"] = pd.Series(quadrant, index=p.index).where(both, None)
    return p


def ref_alignment(inp: Inputs, scores: pd.DataFrame) -> pd.DataFrame:
    """§3.4 fct_leadership_alignment at the root, with the n check and the exact disclosure check."""
    rd = respondent_dimensions(inp)
    rd = rd[rd.counted]
    rows = []
    for (wave_id, dimension_id), _ in scores.groupby(["wave_id", "dimension_id"]):
        group = rd[(rd.wave_id == wave_id) & (rd.dimension_id == dimension_id)]
        top = group[group.role.isin(["direktion", "chef"])].cur
        leader = group[group.role == "leder"].cur
        row = {"wave_id": wave_id, "dimension_id": dimension_id, "n_top": len(top), "n_leader": len(leader),
               "top_mean": top.mean() if len(top) else None, "leader_mean": leader.mean() if len(leader) else None}
        row["alignment_gap"] = (None if row["top_mean"] is None or row["leader_mean"] is None
                                else row["top_mean"] - row["leader_mean"])
        suppressed = len(top) < MIN_CELL or len(leader) < MIN_CELL
        if not suppressed:
            tree = inp.trees[inp.wave_tree[wave_id]]
            unit_rows = scores[(scores.wave_id == wave_id) & (scores.dimension_id == dimension_id)]
            published = unit_rows[~unit_rows.is_suppressed].org_unit_id.tolist()
            blocks = residual_blocks(tree.units.itertuples(index=False), published)
            cells = alignment_cells(group.home_unit.tolist(), [role_class(r) for r in group.role], blocks)
            suppressed = alignment_disclosure(cells, MIN_CELL) is not None
        row.update(n_top_counted=len(top), n_leader_counted=len(leader))  # for the edge-case check
        if suppressed:
            row.update(n_top=None, n_leader=None, top_mean=None, leader_mean=None, alignment_gap=None)
        rows.append({**row, "is_suppressed": suppressed})
    return pd.DataFrame(rows)


def ref_trend(inp: Inputs, scores: pd.DataFrame) -> pd.DataFrame:
    """§3.5 fct_maturity_trend: delta against the previous wave's published maturity_index."""
    t = scores[["wave_id", "org_unit_id", "dimension_id", "maturity_index"]].copy()
    t["previous_wave_id"] = t.wave_id.map(inp.previous_wave)
    previous = t[["wave_id", "org_unit_id", "dimension_id", "maturity_index"]].rename(
        columns={"wave_id": "previous_wave_id", "maturity_index": "previous_maturity_index"})
    t = t.merge(previous, how="left", on=["previous_wave_id", "org_unit_id", "dimension_id"])
    t["delta_index"] = t.maturity_index - t.previous_maturity_index
    return t


def ref_response_rates(inp: Inputs) -> pd.DataFrame:
    """§3.6 fct_response_rates, pooled over the subtree, every unit of the wave's tree."""
    resp = inp.raw["respondents"].rename(columns={"org_unit_id": "home_unit"})
    frames = []
    for wave_id, extract in inp.wave_tree.items():
        tree = inp.trees[extract]
        pooled = _pool(resp[resp.wave_id == wave_id], tree)
        counts = pooled.groupby("org_unit_id").agg(distributed=("is_distributed", "sum"),
                                                   answered=("is_answered", "sum"), completed=("is_completed", "sum"))
        frames.append(tree.units[["org_unit_id"]].assign(wave_id=wave_id).merge(
            counts, how="left", left_on="org_unit_id", right_index=True))
    r = pd.concat(frames, ignore_index=True)
    r[["distributed", "answered", "completed"]] = r[["distributed", "answered", "completed"]].fillna(0).astype(int)
    r["response_rate"] = _null_if_zero(r.answered, r.distributed)
    return r


def _ja(flag: object) -> bool:
    """Flagged Ja (an empty flag is not Ja)."""
    return not pd.isna(flag) and bool(flag)


def ref_coverage(inp: Inputs, scores: pd.DataFrame) -> pd.DataFrame:
    """§3.7 fct_portfolio_coverage: active projects split equally over their known dimensions."""
    dims = inp.raw["dimensions"].dimension_id.tolist()
    waves = inp.raw["waves"].sort_values("closes_on")
    root_gap = _root_rows(inp, scores).set_index(["wave_id", "dimension_id"]).gap_index
    projects = inp.raw["projects"]
    rows = []
    for extract, group in projects.groupby("extract_date"):
        earlier = waves[waves.closes_on <= extract]
        wave_id = earlier.wave_id.iloc[-1] if len(earlier) else None
        split: dict[str, list[tuple[float, float, bool, bool]]] = {d: [] for d in dims}
        for p in group[group.status.isin(ACTIVE_PROJECT)].itertuples():
            known = sorted({d for d in p.dimension_ids if d in split})
            for d in known:
                split[d].append((p.budget_dkk / len(known), p.spent_dkk / len(known), _ja(p.is_masterplan),
                                 _ja(p.is_budget_process)))
        for d in dims:
            parts = split[d]
            budget = sum(b for b, _s, _m, _p in parts)
            gap = root_gap.get((wave_id, d), np.nan) if wave_id is not None else np.nan
            rows.append({
                "extract_date": extract, "dimension_id": d, "wave_id": wave_id, "gap_index": gap,
                "n_active_projects": len(parts), "active_budget_dkk": budget,
                "active_spent_dkk": sum(s for _b, s, _m, _p in parts),
                "masterplan_budget_share": sum(b for b, _s, m, _p in parts if m) / budget if budget else None,
                "budget_process_share": sum(b for b, _s, _m, p in parts if p) / budget if budget else None,
                "is_uncovered": None if pd.isna(gap) else bool(gap >= 25 and not parts),
            })
    return pd.DataFrame(rows)


def ref_capacity(inp: Inputs) -> pd.DataFrame:
    """§3.8 fct_transformation_capacity: persons placed in one unit, FTE and team FTE pooled over subtrees."""
    emp_all, mem_all = inp.raw["employments"], inp.raw["memberships"]
    frames = []
    for extract, tree in inp.trees.items():
        emp = emp_all[(emp_all.extract_date == extract) & emp_all.org_unit_id.isin(tree.units.org_unit_id)]
        active = emp[emp.status_code.isin(ACTIVE_EMPLOYMENT) & (emp.start_date <= extract)
                     & (emp.end_date.isna() | (emp.end_date >= extract))]
        place = (active.sort_values(["person_key", "fte", "org_unit_id"], ascending=[True, False, True])
                 .drop_duplicates("person_key")[["person_key", "org_unit_id"]]
                 .rename(columns={"org_unit_id": "home_unit"}))
        mem = mem_all[(mem_all.extract_date == extract)
                      & (mem_all.valid_from.isna() | (mem_all.valid_from <= extract))
                      & (mem_all.valid_to.isna() | (mem_all.valid_to >= extract))]
        mem = mem[mem.employment_key.isin(emp.employment_key)]  # the others are quarantined
        mem = mem[mem.groupby("employment_key").share_pct.transform("sum") <= 100]
        team = mem.merge(active[["employment_key", "person_key", "fte"]], on="employment_key")
        team["tf"] = team.fte * team.share_pct / 100
        team["dedicated"] = team.tf.where(team.share_pct >= 80, 0.0)
        persons = place.merge(active.groupby("person_key", as_index=False).fte.sum(), on="person_key").merge(
            team.groupby("person_key", as_index=False)[["tf", "dedicated"]].sum(), how="left", on="person_key")
        pooled = _pool(persons.fillna({"tf": 0.0, "dedicated": 0.0}), tree)
        sums = pooled.groupby("org_unit_id").agg(n=("person_key", "size"), fte=("fte", "sum"),
                                                 transformation_fte=("tf", "sum"), dedicated_fte=("dedicated", "sum"))
        frames.append(tree.units.assign(extract_date=extract).merge(sums, how="left", left_on="org_unit_id",
                                                                     right_index=True))
    c = pd.concat(frames, ignore_index=True)
    c = c.fillna({"n": 0, "fte": 0.0, "transformation_fte": 0.0, "dedicated_fte": 0.0})
    c["n"] = c.n.astype(int)
    c = suppress_frame(c, ["extract_date"], MIN_CELL)
    c["headcount"] = c.n.astype(float)
    c["dedicated_share"] = _null_if_zero(c.dedicated_fte, c.transformation_fte)
    figures = ["headcount", "fte", "transformation_fte", "dedicated_fte", "dedicated_share"]
    c.loc[c.is_suppressed, figures] = np.nan
    return c


def ref_waves(inp: Inputs) -> pd.DataFrame:
    """§3.10 dim_waves: the HR extract each wave uses and the previous wave."""
    w = inp.raw["waves"].copy()
    w["hr_extract_date"] = w.wave_id.map(inp.wave_tree)
    w["previous_wave_id"] = w.wave_id.map(inp.previous_wave)
    return w


def ref_scorecard(inp: Inputs, m: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """§3.10 rpt_direktion_scorecard: one row per wave, from the reference marts."""
    rows = []
    for w in ref_waves(inp).itertuples():
        root = inp.trees[w.hr_extract_date].root
        overall = m["overall"].set_index(["wave_id", "org_unit_id"]).overall_index
        ranked = m["priorities"][(m["priorities"].wave_id == w.wave_id) & (m["priorities"].priority_rank <= 3)]
        rwg = m["scores"][(m["scores"].wave_id == w.wave_id) & (m["scores"].org_unit_id == root)].consensus_rwg
        coverage = m["coverage"][m["coverage"].wave_id == w.wave_id]
        projects_extract = coverage.extract_date.max() if len(coverage) else None
        capacity = m["capacity"].set_index(["extract_date", "org_unit_id"]).loc[(w.hr_extract_date, root)]
        rates = m["response_rates"].set_index(["wave_id", "org_unit_id"]).loc[(w.wave_id, root)]
        previous = inp.previous_wave[w.wave_id]
        previous_root = inp.trees[inp.wave_tree[previous]].root if previous else None
        rows.append({
            "wave_id": w.wave_id, "closes_on": w.closes_on, "hr_extract_date": w.hr_extract_date,
            "overall_index": overall[(w.wave_id, root)], "overall_band": _band(overall[(w.wave_id, root)]),
            "previous_overall_index": overall.get((previous, previous_root)),
            "response_rate": rates.response_rate,
            "top_gaps": ",".join(ranked.sort_values("priority_rank").dimension_id) or None,
            "mean_consensus_rwg": rwg.mean(),
            "projects_extract_date": projects_extract,
            "uncovered_dimensions": (None if projects_extract is None else int(
                coverage[coverage.extract_date == projects_extract].is_uncovered.eq(True).sum())),
            "transformation_fte": capacity.transformation_fte, "dedicated_share": capacity.dedicated_share,
        })
    return pd.DataFrame(rows)


def reference_marts(db: Path) -> dict[str, pd.DataFrame]:
    inp = load_inputs(db)
    m = {"scores": ref_scores(inp), "response_rates": ref_response_rates(inp), "capacity": ref_capacity(inp)}
    m["overall"] = ref_overall(inp, m["scores"])
    m["priorities"] = ref_priorities(inp, m["scores"])
    m["alignment"] = ref_alignment(inp, m["scores"])
    m["trend"] = ref_trend(inp, m["scores"])
    m["coverage"] = ref_coverage(inp, m["scores"])
    m["waves"] = ref_waves(inp)
    m["scorecard"] = ref_scorecard(inp, m)
    return m


# ==================================================================================================
# Comparison
# ==================================================================================================

# mart → (reference frame, key, compared columns). The §3 columns, plus a few published extras whose meaning
# is unambiguous (scale bounds, the maturity_index a row is based on, the previous wave's value).
MARTS: dict[str, tuple[str, list[str], list[str]]] = {
    "fct_maturity_scores": ("scores", ["wave_id", "org_unit_id", "dimension_id"], [
        "n_respondents", "current_mean", "current_sd", "consensus_rwg", "target_mean", "gap_mean", "maturity_index",
        "target_index", "gap_index", "maturity_band", "is_suppressed", "scale_min", "scale_max"]),
    "fct_maturity_overall": ("overall", ["wave_id", "org_unit_id"], ["overall_index", "overall_band"]),
    "fct_gap_priorities": ("priorities", ["wave_id", "dimension_id"], [
        "gap_index", "weight", "priority_score", "priority_rank", "importance_index", "ipa_quadrant",
        "maturity_index"]),
    "fct_leadership_alignment": ("alignment", ["wave_id", "dimension_id"], [
        "n_top", "n_leader", "top_mean", "leader_mean", "alignment_gap", "is_suppressed"]),
    "fct_maturity_trend": ("trend", ["wave_id", "org_unit_id", "dimension_id"], [
        "previous_wave_id", "delta_index", "maturity_index", "previous_maturity_index"]),
    "fct_response_rates": ("response_rates", ["wave_id", "org_unit_id"], [
        "distributed", "answered", "completed", "response_rate"]),
    "fct_portfolio_coverage": ("coverage", ["extract_date", "dimension_id"], [
        "wave_id", "gap_index", "n_active_projects", "active_budget_dkk", "active_spent_dkk",
        "masterplan_budget_share", "budget_process_share", "is_uncovered"]),
    "fct_transformation_capacity": ("capacity", ["extract_date", "org_unit_id"], [
        "headcount", "fte", "transformation_fte", "dedicated_fte", "dedicated_share", "is_suppressed"]),
    "rpt_direktion_scorecard": ("scorecard", ["wave_id"], [
        "closes_on", "overall_index", "overall_band", "previous_overall_index", "response_rate", "top_gaps",
        "mean_consensus_rwg", "projects_extract_date", "uncovered_dimensions", "transformation_fte",
        "dedicated_share", "hr_extract_date"]),
    "dim_waves": ("waves", ["wave_id"], ["label", "closes_on", "hr_extract_date", "previous_wave_id"]),
}


def _normal(value: object) -> object:
    """One comparable form per value: None for every null, Timestamp for dates, float for numbers."""
    if value is None or (not isinstance(value, str | list | np.ndarray) and pd.isna(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if hasattr(value, "year"):
        return pd.Timestamp(value)
    return value


def _same(a: object, b: object) -> bool:
    a, b = _normal(a), _normal(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return a == b


def differences(ref: pd.DataFrame, pub: pd.DataFrame, key: list[str], columns: list[str]) -> list[str]:
    """Every difference between the reference and the published frame, one line each (key and both values)."""
    out = []
    ref = ref[key + columns].copy()
    pub = pub[key + columns].copy()
    for frame in (ref, pub):
        for k in key:
            frame[k] = frame[k].map(_normal)
    for name, frame in (("reference", ref), ("published", pub)):
        dup = frame[frame.duplicated(key, keep=False)]
        out += [f"duplicate key in {name}: {tuple(r)}" for r in dup[key].itertuples(index=False)]
    merged = ref.merge(pub, how="outer", on=key, suffixes=("_ref", "_pub"), indicator="side")
    for row in merged.itertuples(index=False):
        record = row._asdict()
        where = ", ".join(f"{k}={record[k]}" for k in key)
        if record["side"] != "both":
            out.append(f"[{where}] only in {'reference' if record['side'] == 'left_only' else 'published'}")
            continue
        for col in columns:
            a, b = record[f"{col}_ref"], record[f"{col}_pub"]
            if not _same(a, b):
                out.append(f"[{where}] {col}: reference={_normal(a)!r} published={_normal(b)!r}")
    return out


@pytest.fixture(scope="module")
def results(warehouses: dict[str, Path]) -> dict[str, tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]]:
    """Per case: (reference marts, published marts)."""
    out = {}
    for case, db in warehouses.items():
        con = duckdb.connect(str(db), read_only=True)
        try:
            published = {mart: con.execute(f"SELECT * FROM marts.{mart}").df() for mart in MARTS}
        finally:
            con.close()
        out[case] = (reference_marts(db), published)
    return out


def _check(results: dict, case: str, mart: str) -> None:
    reference, published = results[case]
    name, key, columns = MARTS[mart]
    found = differences(reference[name], published[mart], key, columns)
    assert reference[name].shape[0] > 0, f"{case}: the reference {name} is empty"
    shown = "\n".join(found[:40]) + (f"\n... and {len(found) - 40} more" if len(found) > 40 else "")
    assert not found, f"{case} {mart}: {len(found)} difference(s)\n{shown}"


CASES = ["demo", "edge"]


@pytest.mark.parametrize("case", CASES)
def test_maturity_scores(results: dict, case: str) -> None:
    _check(results, case, "fct_maturity_scores")


@pytest.mark.parametrize("case", CASES)
def test_maturity_overall(results: dict, case: str) -> None:
    _check(results, case, "fct_maturity_overall")


@pytest.mark.parametrize("case", CASES)
def test_gap_priorities(results: dict, case: str) -> None:
    _check(results, case, "fct_gap_priorities")


@pytest.mark.parametrize("case", CASES)
def test_leadership_alignment(results: dict, case: str) -> None:
    _check(results, case, "fct_leadership_alignment")


@pytest.mark.parametrize("case", CASES)
def test_maturity_trend(results: dict, case: str) -> None:
    _check(results, case, "fct_maturity_trend")


@pytest.mark.parametrize("case", CASES)
def test_response_rates(results: dict, case: str) -> None:
    _check(results, case, "fct_response_rates")


@pytest.mark.parametrize("case", CASES)
def test_portfolio_coverage(results: dict, case: str) -> None:
    _check(results, case, "fct_portfolio_coverage")


@pytest.mark.parametrize("case", CASES)
def test_transformation_capacity(results: dict, case: str) -> None:
    _check(results, case, "fct_transformation_capacity")


@pytest.mark.parametrize("case", CASES)
def test_direktion_scorecard(results: dict, case: str) -> None:
    _check(results, case, "rpt_direktion_scorecard")


@pytest.mark.parametrize("case", CASES)
def test_dim_waves(results: dict, case: str) -> None:
    _check(results, case, "dim_waves")


def test_edge_landing_hits_its_edge_cases(results: dict) -> None:
    """The small landing area really exercises what it was written for (checked on the reference side)."""
    m = results["edge"][0]
    s = m["scores"].set_index(["wave_id", "dimension_id", "org_unit_id"])
    assert s.loc[("T0", "strategi", "2HR"), "n"] == 5 and not s.loc[("T0", "strategi", "2HR"), "is_suppressed"]
    assert s.loc[("T0", "strategi", "2IT"), "n"] == 4 and s.loc[("T0", "strategi", "2IT"), "is_suppressed"]
    # 1ADM (own respondents, n >= 5) suppressed by the residual rule while its child 2HR stays published
    for wave in ("T0", "T1"):
        assert s.loc[(wave, "strategi", "1ADM"), "n"] >= MIN_CELL and s.loc[(wave, "strategi", "1ADM"), "is_suppressed"]
        assert not s.loc[(wave, "strategi", "2HR"), "is_suppressed"]
    # the fallback, then a tie on n: 2HR suppressed, 2IT (same n) published
    assert s.loc[("T0", "data", "2HR"), "is_suppressed"] and not s.loc[("T0", "data", "2IT"), "is_suppressed"]
    assert s.loc[("T1", "teknologi", "0KOM"), "is_suppressed"]  # root below min_cell
    assert ("T0", "strategi", "2NEW") not in s.index and not s.loc[("T1", "strategi", "2NEW"), "is_suppressed"]
    p = m["priorities"].set_index(["wave_id", "dimension_id"])
    assert p.loc[("T0", "kompetencer"), "priority_score"] == p.loc[("T0", "data"), "priority_score"]
    assert p.loc[("T0", "kompetencer"), "priority_rank"] < p.loc[("T0", "data"), "priority_rank"]
    assert pd.isna(p.loc[("T1", "borger"), "importance_index"])  # fewer than min_cell importance answers
    assert p.ipa_quadrant.notna().sum() >= 2
    a = m["alignment"].set_index(["wave_id", "dimension_id"])
    assert not a.loc[("T1", "strategi"), "is_suppressed"]
    assert a.loc[("T0", "data"), "is_suppressed"] and a.loc[("T0", "data"), "n_top_counted"] < MIN_CELL
    for wave, dim in (("T0", "strategi"), ("T1", "data")):  # suppressed by the disclosure check alone
        assert a.loc[(wave, dim), "is_suppressed"]
        assert min(a.loc[(wave, dim), "n_top_counted"], a.loc[(wave, dim), "n_leader_counted"]) >= MIN_CELL
    c = m["capacity"].set_index(["extract_date", "org_unit_id"])
    first = pd.Timestamp("2023-06-30")
    assert c.loc[(first, "2IT"), "n"] == 4 and c.loc[(first, "2DAG"), "n"] == 5  # 2DAG: persons 5 and 9
    assert c.loc[(first, "2HR"), "n"] == 6  # person 1 placed in 2HR (fte tie), not in 2IT
    assert c.loc[(first, "1ADM"), "is_suppressed"] and not c.loc[(first, "2HR"), "is_suppressed"]
    assert c.loc[(first, "2SKO"), "n"] == 9  # persons 3, 4, 6, 11, 12 and four others
    assert c.loc[(first, "0KOM"), "transformation_fte"] == pytest.approx(0.4 + 0.79 + 0.8 + 0.3 + 1.0 + 0.2 + 0.9)
    assert c.loc[(first, "0KOM"), "dedicated_fte"] == pytest.approx(0.4 + 0.3 + 1.0 + 0.9)
    cov = m["coverage"]
    assert cov.is_uncovered.eq(True).any() and cov.is_uncovered.eq(False).any() and cov.is_uncovered.isna().any()
