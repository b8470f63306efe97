"""Tests of ``maturity demo``: the synthetic landing area must match the SPEC §2 formats and quirks.

These read the generated files back as bytes and as tables (the ingest engineers rely on the demo
being a clean, realistic landing area), and check that a seed fully determines the bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from maturity.demo import DemoSummary, generate

HR_DATES = ("2022-03-31", "2024-03-31", "2025-03-31")
WAVES = {"T0": "2022-04-30", "T1": "2023-04-30", "T2": "2024-04-30", "T3": "2025-04-30"}
WAVE_TREE = {"T0": "2022-03-31", "T1": "2022-03-31", "T2": "2024-03-31", "T3": "2025-03-31"}
DIMENSION_IDS = {"strategi", "data", "kompetencer", "borger", "teknologi", "kultur", "samarbejde"}

EXPECTED_FILES = {
    "reference/dimensions.csv",
    "surveys/mapping.csv",
    "surveys/T0/wave.csv",
    "surveys/T0/T0_export.xlsx",
    "surveys/T3/mapping.csv",
    "projects/2023-05-31/portfolio.xlsx",
    "projects/2025-05-31/portfolio.xlsx",
    *(f"surveys/{w}/{f}" for w in ("T1", "T2", "T3") for f in ("wave.csv", "dataset.csv", "structure.csv",
                                                                   "labels.csv")),
    *(f"hr/{d}/{f}" for d in HR_DATES for f in ("org_units.csv", "employees.csv", "transformation_team.csv")),
}


# ----------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    """One haderslev landing area shared by the read-only tests (generation takes ~1 s)."""
    out = tmp_path_factory.mktemp("landing")
    return out, generate(out, scale="haderslev", seed=42)


@pytest.fixture(scope="module")
def xl() -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB with the Excel extension loaded offline from its wheel (as the ingest does)."""
    import duckdb_extension_excel

    ext = Path(os.path.dirname(duckdb_extension_excel.__file__)) / "extensions" / "v1.5.5"
    con = duckdb.connect()
    con.execute(f"LOAD '{ext / 'excel.duckdb_extension'}'")
    yield con
    con.close()


def _rows(path: Path, encoding: str, delimiter: str, skip: int = 0) -> list[list[str]]:
    """Parse a delimited file (after ``skip`` report lines) with the csv module; drops empty rows."""
    text = path.read_bytes().decode(encoding)
    lines = text.split("\r\n")
    return [r for r in csv.reader(io.StringIO("\r\n".join(lines[skip:])), delimiter=delimiter) if r]


def _table(path: Path, encoding: str, delimiter: str, skip: int = 0) -> list[dict[str, str]]:
    rows = _rows(path, encoding, delimiter, skip)
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _tree(root: Path, date: str) -> dict[str, str]:
    """code -> parent code ('' for the root) of one HR extract."""
    rows = _table(root / "hr" / date / "org_units.csv", "cp1252", ";")
    return {r["Afdelingskode"]: r["Overordnet afdelingskode"] for r in rows}


Survey = tuple[list[dict[str, str]], list[list[str]]]
Landing = tuple[Path, DemoSummary]


def _survey(root: Path, wave: str, xl: duckdb.DuckDBPyConnection) -> Survey:
    """Dataset rows (text values, '' = empty) and label rows of one wave, whatever its variant."""
    folder = root / "surveys" / wave
    xlsx = sorted(folder.glob("*.xlsx"))
    if xlsx:
        q = f"SELECT * FROM read_xlsx('{xlsx[0]}', sheet='Dataset', all_varchar=true)"
        cur = xl.execute(q)
        cols = [c[0] for c in cur.description]
        data = [{c: ("" if v is None else re.sub(r"\.0$", "", v)) for c, v in zip(cols, r, strict=True)}
                for r in cur.fetchall()]
        labels = xl.execute(f"SELECT * FROM read_xlsx('{xlsx[0]}', sheet='Labels', header=false, "
                            "all_varchar=true)").fetchall()
        return data, [[a, re.sub(r"\.0$", "", b), c] for a, b, c in labels]
    raw = (folder / "dataset.csv").read_bytes()
    if raw.startswith(b"\xff\xfe"):
        enc, delim = "utf-16", "\t"
    else:
        enc, delim = "cp1252", raw.split(b"\r\n")[0][4:5].decode()  # the character after "resp"
    return _table(folder / "dataset.csv", enc, delim), _rows(folder / "labels.csv", enc, delim)


def _mapping(root: Path, wave: str) -> list[dict[str, str]]:
    own = root / "surveys" / wave / "mapping.csv"
    path = own if own.exists() else root / "surveys" / "mapping.csv"
    return list(csv.DictReader(path.read_text("utf-8").splitlines()))


def _sha(root: Path, rel: str) -> str:
    return hashlib.sha256((root / rel).read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------- tests
def test_writes_the_spec_layout_and_a_summary(landing: Landing) -> None:
    root, summary = landing
    written = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert written == EXPECTED_FILES
    assert set(summary.files) == EXPECTED_FILES
    assert summary.out == root
    assert 4000 <= summary.counts["employments"] <= 6000
    assert 1000 <= summary.counts["respondents"] <= 1400
    assert 130 <= summary.counts["projects"] <= 170
    assert 150 <= summary.counts["org_units"] <= 300
    assert "haderslev" in str(summary) and "respondents" in str(summary)


def test_bad_scale_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale="copenhagen")
    assert not any(tmp_path.iterdir())


def test_prints_nothing_reports_progress_and_overwrites_only_its_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "surveys" / "T0" / "notes.txt"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("keep me")
    stale = tmp_path / "reference" / "dimensions.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("stale")
    messages: list[str] = []
    generate(tmp_path, seed=7, progress=messages.append)
    assert capsys.readouterr().out == ""
    assert messages and all(isinstance(m, str) and m for m in messages)
    assert foreign.read_text() == "keep me"
    assert stale.read_text("utf-8").startswith("dimension_id,name_da,name_en,weight,sort_order\n")


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, landing: Landing) -> None:
    root, _ = landing
    again = generate(tmp_path / "again", seed=42)
    other = generate(tmp_path / "other", seed=43)
    for rel in EXPECTED_FILES:
        assert _sha(root, rel) == _sha(again.out, rel), rel
    differs = {rel for rel in EXPECTED_FILES if _sha(root, rel) != _sha(other.out, rel)}
    assert {"hr/2025-03-31/employees.csv", "surveys/T2/dataset.csv", "surveys/T0/T0_export.xlsx",
            "projects/2025-05-31/portfolio.xlsx"} <= differs
    # The workbooks carry a fixed creation date, not the clock.
    with zipfile.ZipFile(root / "surveys" / "T0" / "T0_export.xlsx") as z:
        assert "2025-01-01T08:00:00Z" in z.read("docProps/core.xml").decode()


def test_reference_dimensions(landing: Landing) -> None:
    root, _ = landing
    rows = list(csv.DictReader((root / "reference" / "dimensions.csv").read_text("utf-8").splitlines()))
    assert {r["dimension_id"] for r in rows} == DIMENSION_IDS
    assert sorted(int(r["sort_order"]) for r in rows) == list(range(1, 8))
    assert all(1 <= float(r["weight"]) <= 2 for r in rows)
    assert next(r for r in rows if r["dimension_id"] == "strategi")["weight"] == "2"


def test_org_trees_have_one_root_no_cycle_and_change_between_extracts(landing: Landing) -> None:
    root, _ = landing
    trees = {d: _tree(root, d) for d in HR_DATES}
    for d, tree in trees.items():
        roots = [c for c, p in tree.items() if p == ""]
        assert roots == ["0HAD"], d
        for code in tree:
            seen, cur = set(), code
            while tree[cur]:
                assert tree[cur] in tree, f"{d}: unknown parent of {cur}"
                assert cur not in seen, f"{d}: cycle at {code}"
                seen.add(cur)
                cur = tree[cur]
        levels = {r["Niveau"] for r in _table(root / "hr" / d / "org_units.csv", "cp1252", ";")}
        assert levels == {"NY3-niveau", "NY2-niveau", "NY1-niveau", "Afdelings-niveau"}
        assert 150 <= len(tree) <= 300
    a, b, c = trees.values()
    assert set(b) - set(a) and set(a) - set(b), "2024 adds and removes units"
    assert any(a[k] != b[k] for k in set(a) & set(b)), "a unit moves to another parent"
    assert set(c) != set(b)


def test_sd_employee_report_format(landing: Landing) -> None:
    root, _ = landing
    cpr_re = re.compile(r'^="(\d{2})(\d{2})(\d{2})-?\d{4}"$')
    for date in HR_DATES:
        path = root / "hr" / date / "employees.csv"
        raw = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        text = raw.decode("cp1252")
        assert "\n" not in text.replace("\r\n", "")
        lines = text.split("\r\n")
        y, m, d = date.split("-")
        assert lines[0] == "Personaleoversigt"
        assert lines[1].startswith(f"Kørt {d}.{m}.{y} ") and lines[1].endswith("af SD Løn")
        assert lines[2].startswith("Institution: Haderslev Kommune")
        assert lines[3] == ""
        header = lines[4].split(";")
        assert header[-2:] == ["Ansættelsesstatus", "Ansættelsesstatus"]
        assert header[:3] == ["CPR-nummer", "Navn (for-/efternavn)", "Tjenestenummer"]
        rows = [r.split(";") for r in lines[5:] if r]
        assert 4000 <= len(rows) <= 6000
        assert all(len(r) == 11 for r in rows)
        tree = _tree(root, date)
        tjs = [r[2] for r in rows]
        assert len(set(tjs)) == len(tjs)
        assert all(re.fullmatch(r'="\d{5}"', t) for t in tjs)
        without_hyphen = 0
        for r in rows:
            match = cpr_re.match(r[0])
            assert match, r[0]
            dt.date(2000, int(match.group(2)), int(match.group(1)))  # a valid day and month
            without_hyphen += "-" not in r[0]
            assert re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", r[3])
            assert r[4] == "" or re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", r[4])
            assert r[5] in tree
            assert re.fullmatch(r'="\d{3}-\d{2}"', r[6])
            assert 0 < float(r[8].replace(",", ".")) <= 1 and re.fullmatch(r"[01],\d{4}", r[8])
            assert r[10] in {"0", "1", "3", "7", "8", "9", "S"}
        assert 0 < without_hyphen < len(rows) / 2
        cprs = [r[0].replace("-", "") for r in rows]
        multi = len(cprs) - len(set(cprs))
        assert 0.02 * len(rows) <= multi <= 0.09 * len(rows), "about 5 % hold a second employment"
        codes = {r[10] for r in rows}
        assert {"0", "1", "3", "8"} <= codes and codes & {"7", "9", "S"}
        ends = [r[4] for r in rows]
        assert "" in ends and "31.12.9999" in ends and any(e not in ("", "31.12.9999") for e in ends)


def test_tjenestenummer_stable_across_extracts(landing: Landing) -> None:
    root, _ = landing
    people = []
    for date in HR_DATES:
        rows = _table(root / "hr" / date / "employees.csv", "cp1252", ";", skip=4)
        people.append({r["Tjenestenummer"]: (r["CPR-nummer"], r["Startdato"]) for r in rows})
    common = set(people[0]) & set(people[2])
    assert len(common) > 0.6 * len(people[0])
    assert all(people[0][t] == people[2][t] for t in common)


def test_transformation_team(landing: Landing) -> None:
    root, _ = landing
    sizes = []
    for date in HR_DATES:
        raw = (root / "hr" / date / "transformation_team.csv").read_bytes()
        assert raw.startswith(b"Tjenestenummer;Andel (%);Rolle i teamet;Fra;Til\r\n")
        rows = _table(root / "hr" / date / "transformation_team.csv", "cp1252", ";")
        emps = {r[2].strip('="') for r in _rows(root / "hr" / date / "employees.csv", "cp1252", ";", 5)}
        assert all(re.fullmatch(r"\d{5}", r["Tjenestenummer"]) for r in rows)
        assert all(r["Tjenestenummer"] in emps for r in rows)
        shares = [int(r["Andel (%)"]) for r in rows]
        assert all(20 <= s <= 100 for s in shares)
        assert all(r["Til"] == "" or re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", r["Til"]) for r in rows)
        sizes.append(len(rows))
    assert 20 <= sizes[0] < sizes[1] < sizes[2] <= 45
    last = _table(root / "hr" / HR_DATES[2] / "transformation_team.csv", "cp1252", ";")
    shares = {int(r["Andel (%)"]) for r in last}
    assert 80 in shares and any(s > 80 for s in shares) and any(s < 80 for s in shares)


def test_surveyxact_variants_bytes(landing: Landing) -> None:
    root, _ = landing
    s = root / "surveys"
    with zipfile.ZipFile(s / "T0" / "T0_export.xlsx") as z:
        book = z.read("xl/workbook.xml").decode()
    assert re.findall(r'<sheet name="([^"]+)"', book) == ["Dataset", "Structure", "Labels"]
    for wave, delim in (("T1", ","), ("T2", ";")):
        for name in ("dataset.csv", "structure.csv", "labels.csv"):
            raw = (s / wave / name).read_bytes()
            assert not raw.startswith((b"\xff\xfe", b"\xef\xbb\xbf"))
            if name != "labels.csv" or wave == "T1":
                with pytest.raises(UnicodeDecodeError):
                    raw.decode("utf-8")  # Danish letters in Windows-1252
            assert raw.endswith(b"\r\n")
        head = (s / wave / "structure.csv").read_bytes().split(b"\r\n")[0].decode("cp1252")
        assert head == delim.join(["questionName", "variableName", "questionType", "subType", "questionText",
                                   "choiceValue", "choiceText", ""])
    for name in ("dataset.csv", "structure.csv", "labels.csv"):
        raw = (s / "T3" / name).read_bytes()
        assert raw.startswith(b"\xff\xfe")
        text = raw[2:].decode("utf-16-le")
        assert "\t" in text and text.endswith("\r\n")
    structure = (s / "T3" / "structure.csv").read_bytes()[2:].decode("utf-16-le")
    assert '"' in structure and "står" in structure  # a quoted question text with a line break
    labels = _rows(s / "T2" / "labels.csv", "cp1252", ";")
    assert labels[0][0] == "rolle", "labels.csv has no header row"


def test_xlsx_wave_sheets(landing: Landing, xl: duckdb.DuckDBPyConnection) -> None:
    root, _ = landing
    path = root / "surveys" / "T0" / "T0_export.xlsx"
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    row2 = re.search(r'<row r="2".*?</row>', sheet)
    assert row2 is not None
    assert re.search(r'<c r="A2"( s="\d+")?><v>\d+</v>', row2.group(0)), "respondent id is a numeric cell"
    assert re.search(r'<c r="B2"[^>]*t="(inlineStr|s)"', row2.group(0)), "org code is a text cell"
    n_empty = xl.execute(f"SELECT count(*) FROM read_xlsx('{path}', sheet='Dataset', all_varchar=true) "
                         "WHERE stato_2 = '1' AND st_1_1 IS NULL AND stato_1 = '0'").fetchone()
    assert n_empty and n_empty[0] > 0, "non-answered respondents have empty answer cells"
    struct = xl.execute(f"SELECT * FROM read_xlsx('{path}', sheet='Structure', all_varchar=true)")
    assert [c[0] for c in struct.description] == ["questionName", "variableName", "questionType", "subType",
                                                   "questionText", "choiceValue", "choiceText"]
    first_label = xl.execute(f"SELECT * FROM read_xlsx('{path}', sheet='Labels', header=false) LIMIT 1"
                             ).fetchone()
    assert first_label is not None and first_label[0] == "rolle"


def test_mapping_matches_every_wave(landing: Landing, xl: duckdb.DuckDBPyConnection) -> None:
    root, _ = landing
    default = _mapping(root, "T0")
    t3 = _mapping(root, "T3")
    assert default != t3
    for mapping in (default, t3):
        uses = [r["use"] for r in mapping]
        assert uses.count("org_unit") == 1 and uses.count("role") == 1 and uses.count("respondent_id") == 1
        assert {r["dimension_id"] for r in mapping if r["use"] == "current"} == DIMENSION_IDS
        scales = {(r["dimension_id"], r["scale_min"], r["scale_max"]) for r in mapping
                  if r["use"] in ("current", "target")}
        assert all(lo == "1" and hi == "5" for _, lo, hi in scales)
        assert all(r["scale_max"] == "10" for r in mapping if r["use"] == "importance")
    per_dim = {d: [r["use"] for r in default if r["dimension_id"] == d] for d in DIMENSION_IDS}
    assert any(u.count("current") == 2 and u.count("target") == 2 for u in per_dim.values())
    with_importance = [d for d, u in per_dim.items() if "importance" in u]
    assert 3 <= len(with_importance) < len(DIMENSION_IDS)
    for wave in WAVES:
        data, _ = _survey(root, wave, xl)
        columns = set(data[0])
        mapped = {r["variable_name"] for r in _mapping(root, wave)}
        assert mapped <= columns, wave
        assert {"kommentar", "alder"} <= columns - mapped, "extra variables that ingest must drop"
        assert {f"stato_{i}" for i in range(1, 6)} <= columns


def test_survey_answers_are_realistic(landing: Landing, xl: duckdb.DuckDBPyConnection) -> None:
    root, _ = landing
    for wave in WAVES:
        data, labels = _survey(root, wave, xl)
        mapping = _mapping(root, wave)
        org_var = next(r["variable_name"] for r in mapping if r["use"] == "org_unit")
        items = [r for r in mapping if r["use"] in ("current", "target", "importance")]
        assert 250 <= len(data) <= 350
        stato = [[r[f"stato_{i}"] for i in range(1, 6)] for r in data]
        assert all(sorted(s) == ["0", "0", "0", "0", "1"] for s in stato), "one status flag per respondent"
        answered = [r for r in data if r["stato_3"] == "1" or r["stato_4"] == "1"]
        assert 0.74 <= len(answered) / len(data) <= 0.92
        assert any(r["stato_1"] == "1" for r in data) and any(r["stato_5"] == "1" for r in data)
        for r in data:
            if r not in answered:
                assert all(r[i["variable_name"]] == "" for i in items)
        cells = [(r[i["variable_name"]], int(i["scale_max"])) for r in answered for i in items
                 if r[i["variable_name"]] != ""]
        dont_know = sum(int(v) == hi + 1 for v, hi in cells) / len(cells)
        invalid = sum(int(v) not in range(1, hi + 2) for v, hi in cells)
        assert 0.02 <= dont_know <= 0.07
        assert 0 < invalid <= 0.01 * len(cells)
        label_map = {(a, b): c for a, b, c in labels}
        assert {label_map[("rolle", str(i))].strip() for i in range(1, 6)} == {
            "Direktion", "Chef", "Leder", "Medarbejder", "Andet"}
        first_current = next(i["variable_name"] for i in items if i["use"] == "current")
        assert label_map[(first_current, "6")].replace("\xa0", " ").strip().lower().startswith("ved ikke")
        assert (first_current, "9") not in label_map
        tree = _tree(root, WAVE_TREE[wave])
        unknown = [r[org_var] for r in data if r[org_var].strip() not in tree]
        assert 1 <= len(unknown) <= 3, (wave, unknown)
        roles = [r["rolle"] for r in data]
        assert 5 <= roles.count("1") <= 12 and 30 <= roles.count("2") <= 55 and roles.count("3") >= 200


def test_portfolio_workbooks(landing: Landing, xl: duckdb.DuckDBPyConnection) -> None:
    root, _ = landing
    header = ["Projekt-ID", "Projektnavn", "Ejer (afdelingskode)", "Status", "Startdato", "Slutdato",
              "Budget (kr.)", "Forbrug (kr.)", "Masterplan", "Budgetproces", "Dimensioner"]
    sizes = []
    for date, hr_date in (("2023-05-31", "2022-03-31"), ("2025-05-31", "2025-03-31")):
        path = root / "projects" / date / "portfolio.xlsx"
        cur = xl.execute(f"SELECT * FROM read_xlsx('{path}', sheet='Portefølje')")
        assert [c[0] for c in cur.description] == header
        rows = [dict(zip(header, r, strict=True)) for r in cur.fetchall()]
        sizes.append(len(rows))
        types = dict(xl.execute(f"DESCRIBE SELECT * FROM read_xlsx('{path}', sheet='Portefølje')").fetchall()
                     [i][:2] for i in range(11))
        assert types["Startdato"] in ("DATE", "TIMESTAMP") and types["Budget (kr.)"] == "DOUBLE"
        assert {r["Status"] for r in rows} == {"Idé", "Planlagt", "I gang", "Afsluttet", "Stoppet"}
        assert {r["Masterplan"] for r in rows} == {"Ja", "Nej"}
        assert any(r["Startdato"] is None for r in rows if r["Status"] == "Idé")
        assert any(r["Budget (kr.)"] == 0 for r in rows)
        tree = _tree(root, hr_date)
        assert all(r["Ejer (afdelingskode)"] in tree for r in rows)
        lists = [r["Dimensioner"] for r in rows]
        assert any(";" in x for x in lists) and any("," in x for x in lists) and any(" " in x for x in lists)
        active: set[str] = set()
        for r in rows:
            ids = [x.strip() for x in re.split(r"[;,]", r["Dimensioner"])]
            assert 1 <= len(ids) <= 3 and set(ids) <= DIMENSION_IDS
            if r["Status"] in ("Planlagt", "I gang"):
                active |= set(ids)
        if date == "2025-05-31":
            assert "kultur" not in active and {"data", "teknologi"} <= active
    assert 100 <= sizes[0] <= 140 and 130 <= sizes[1] <= 170
