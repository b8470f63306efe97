"""The direktion report (SPEC §4) on the demo municipality, read back against the published marts.

The demo is built once per module through the real commands (`maturity demo` + `maturity run`);
set MATURITY_REPORT_TEST_WAREHOUSE to an already built warehouse to skip that while developing.

What is checked:
- every figure in the HTML sits in a `data-metric` element and equals the published mart value as
  displayed (Danish format, rounding as shown); a published null never appears as a number; no
  other digits appear in the visible text except fixed constants (scale ends, thresholds);
- suppressed heatmap cells show "<5", withheld alignment rows say so;
- the HTML is self-contained (no script, link, img, external URL or CSS import) and, loaded in headless
  Chromium through the DevTools protocol (`--remote-debugging-pipe`, no port), makes no request but
  the file itself and logs no console error or exception. The page's Network domain sees every
  request the document starts — including ones Chromium would block — so this is exact; the
  resolver rule `MAP * ~NOTFOUND` additionally guarantees nothing could leave the machine;
- the PDF (printed by `render_reports` via Chromium's --print-to-pdf) has one A4 page per section.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import fcntl
import json
import math
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest
from maturity.errors import MaturityError
from maturity.report import render_reports

pytestmark = pytest.mark.slow

KEYS = {
    "rpt_direktion_scorecard": ("wave_id",),
    "dim_waves": ("wave_id",),
    "fct_maturity_scores": ("wave_id", "org_unit_id", "dimension_id"),
    "fct_maturity_overall": ("wave_id", "org_unit_id"),
    "fct_gap_priorities": ("wave_id", "dimension_id"),
    "fct_leadership_alignment": ("wave_id", "dimension_id"),
    "fct_maturity_trend": ("wave_id", "org_unit_id", "dimension_id"),
    "fct_response_rates": ("wave_id", "org_unit_id"),
    "fct_portfolio_coverage": ("extract_date", "dimension_id"),
    "fct_transformation_capacity": ("extract_date", "org_unit_id"),
}
QUALITY = {"status": "ok", "warnings": 2, "run_id": "gate-run-42"}
# Digits allowed in visible text outside data-metric elements: the index scale, the rwg scale, thresholds.
CONSTANTS = {"0", "1", "5", "25", "50", "75", "80", "100"}
CHROMIUM = shutil.which(os.environ.get("MATURITY_CHROMIUM", "chromium")) or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def published(request: pytest.FixtureRequest) -> Path:
    """The published DuckDB file of the demo municipality (the session's shared demo run)."""
    prebuilt = os.environ.get("MATURITY_REPORT_TEST_WAREHOUSE")
    if prebuilt:
        return Path(prebuilt) / "published" / "maturity.duckdb"
    return request.getfixturevalue("demo_run")["warehouse"] / "published" / "maturity.duckdb"


@pytest.fixture(scope="module")
def marts(published: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(published), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def reports(published: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("reports")
    before = published.resolve().stat().st_mtime_ns
    started = time.perf_counter()
    paths = render_reports(published, out, quality=QUALITY, pdf=CHROMIUM is not None)
    seconds = time.perf_counter() - started
    assert published.resolve().stat().st_mtime_ns == before, "the report must not write to the published file"
    return {"out": out, "paths": paths, "seconds": seconds}


def _waves(marts: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in marts.execute("SELECT wave_id FROM marts.dim_waves ORDER BY closes_on").fetchall()]


# ---------------------------------------------------------------- HTML reading


class Tagged(HTMLParser):
    """Collects data-metric elements (attributes + text) and the visible text outside them."""

    SKIP = {"style", "script", "svg", "title", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str], bool]] = []
        self.figures: list[dict[str, str]] = []
        self.withheld: list[dict[str, str]] = []
        self.free_text: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._open: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag in {"meta", "br", "hr", "img", "link", "input", "source", "wbr"}:
            return
        tagged = "data-metric" in a
        self.stack.append((tag, a, tagged))
        if tagged:
            a = {**a, "_text": ""}
            self._open.append(a)
            self.figures.append(a)
        if "data-withheld" in a:
            self.withheld.append(a)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            t, _a, tagged = self.stack.pop()
            if tagged:
                self._open.pop()
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1]["_text"] += data
        elif not any(t in self.SKIP for t, _, _ in self.stack):
            self.free_text.append(data)


def parse(path: Path) -> Tagged:
    parser = Tagged()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


NUMBER = re.compile(r"^([+\u2212-]?)(\d{1,3}(?:\.\d{3})*|\d+)(?:,(\d+))?(\s?%)?$")


def read_number(text: str) -> tuple[float, int, bool] | None:
    """"48,9" → (48.9, 1, False); "−1.234" → (-1234.0, 0, False); "82 %" → (82.0, 0, True)."""
    m = NUMBER.match(text.replace("\u00a0", " ").strip())
    if not m:
        return None
    sign, whole, frac, pct = m.groups()
    value = float(whole.replace(".", "") + ("." + frac if frac else ""))
    return (-value if sign in ("-", "\u2212") else value), len(frac or ""), bool(pct)


def _lookup(marts: duckdb.DuckDBPyConnection, table: str, key: str) -> list[dict[str, Any]]:
    cols = KEYS[table]
    parts = key.split("|")
    assert len(parts) == len(cols), (table, key)
    where = [f"CAST({c} AS VARCHAR) = ?" for c, p in zip(cols, parts, strict=True) if p != "*"]
    params = [p for p in parts if p != "*"]
    cur = marts.execute(f"SELECT * FROM marts.{table}" + (" WHERE " + " AND ".join(where) if where else ""), params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def expected_value(marts: duckdb.DuckDBPyConnection, fig: dict[str, str], context: dict[str, Any]) -> Any:
    """The value a data-metric element stands for, from the marts (or the run's version/quality info)."""
    source, column = fig["data-metric"].split(".", 1)
    if source == "quality":
        return context["quality"].get(column)
    if source == "publication":
        return context["publication"].get(column)
    rows = _lookup(marts, source, fig["data-key"])
    calc = fig.get("data-calc", "")
    if calc == "sum":
        values = [r[column] for r in rows if r[column] is not None]
        return sum(values) if values else None
    if calc.startswith("wavg:"):
        weight = calc.split(":", 1)[1]
        total = sum(r[weight] or 0 for r in rows)
        return sum(r[column] * r[weight] for r in rows if r[column] is not None) / total if total else None
    assert len(rows) == 1, (fig, rows)
    value = rows[0][column]
    if calc.startswith(("diff:", "absdiff:")):
        other = rows[0][calc.split(":", 1)[1]]
        value = None if value is None or other is None else value - other
        if calc.startswith("absdiff:") and value is not None:
            value = abs(value)
    elif calc == "abs" and value is not None:
        value = abs(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _visible(doc: Tagged) -> str:
    return re.sub(r"\s+", " ", " ".join(doc.free_text))


def _context(published: Path) -> dict[str, Any]:
    folder = published.resolve().parent
    info = json.loads((folder / "version.json").read_text())
    return {"quality": QUALITY, "publication": {"run_id": info["run_id"], "version": folder.name,
                                                "published_at": info.get("published_at")}}


# ---------------------------------------------------------------- tests: files and API


def test_one_html_and_pdf_per_wave(reports: dict[str, Any], marts: duckdb.DuckDBPyConnection) -> None:
    waves = _waves(marts)
    expected = []
    for w in waves:
        expected.append(reports["out"] / f"direktion_{w}.html")
        if CHROMIUM:
            expected.append(reports["out"] / f"direktion_{w}.pdf")
    assert reports["paths"] == expected
    assert all(p.is_file() and p.stat().st_size > 10_000 for p in expected)
    print(f"render_reports: {len(waves)} waves in {reports['seconds']:.1f} s")


def test_single_wave_without_pdf_and_unknown_wave(published: Path, tmp_path: Path) -> None:
    paths = render_reports(published, tmp_path, wave_id="T1", pdf=False)
    assert paths == [tmp_path / "direktion_T1.html"]
    assert "Datakvalitet ikke oplyst" in _visible(parse(paths[0]))
    with pytest.raises(MaturityError, match="T9"):
        render_reports(published, tmp_path, wave_id="T9", pdf=False)
    with pytest.raises(MaturityError, match="does not exist"):
        render_reports(tmp_path / "missing.duckdb", tmp_path, pdf=False)


def test_missing_chromium_is_a_clear_error(published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATURITY_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(MaturityError, match="pdf=False"):
        render_reports(published, tmp_path / "out", wave_id="T0")
    assert not (tmp_path / "out").exists(), "nothing is written when the PDF cannot be made"
    monkeypatch.delenv("MATURITY_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MaturityError, match="Chromium is not installed"):
        render_reports(published, tmp_path / "out", wave_id="T0")


def test_html_is_deterministic(published: Path, tmp_path: Path) -> None:
    a = render_reports(published, tmp_path / "a", wave_id="T2", quality=QUALITY, pdf=False)[0]
    b = render_reports(published, tmp_path / "b", wave_id="T2", quality=QUALITY, pdf=False)[0]
    assert a.read_bytes() == b.read_bytes()


# ---------------------------------------------------------------- tests: every number equals the marts


@pytest.mark.parametrize("wave", ["T0", "T1", "T2", "T3"])
def test_every_shown_number_equals_the_published_marts(reports: dict[str, Any], marts: duckdb.DuckDBPyConnection,
                                                        published: Path, wave: str) -> None:
    doc = parse(reports["out"] / f"direktion_{wave}.html")
    assert len(doc.figures) > 150
    problems = figure_problems(doc, marts, _context(published))
    assert not problems, "\n".join(problems[:30])


def figure_problems(doc: Tagged, marts: duckdb.DuckDBPyConnection, context: dict[str, Any]) -> list[str]:
    """Every data-metric element against the marts: equal as displayed, null never shown as a number."""
    problems = []
    for fig in doc.figures:
        text = fig["_text"].strip()
        value = expected_value(marts, fig, context)
        kind = fig.get("data-type")
        if fig.get("data-null") == "true":
            if value is not None:
                problems.append(f"{fig['data-metric']} {fig['data-key']}: shown as {text!r} but the mart has {value}")
            if re.search(r"\d", text) and text != "<5":
                problems.append(f"{fig['data-metric']} {fig['data-key']}: a null shown with digits {text!r}")
            continue
        if kind in {"text", "date"}:
            raw = value.isoformat() if isinstance(value, dt.date) else str(value)
            if fig.get("data-value") != raw:
                problems.append(f"{fig['data-metric']} {fig['data-key']}: {fig.get('data-value')!r} != {raw!r}")
            continue
        shown = read_number(text)
        if shown is None:
            problems.append(f"{fig['data-metric']} {fig['data-key']}: {text!r} is not a Danish number")
            continue
        if value is None:
            problems.append(f"{fig['data-metric']} {fig['data-key']}: {text!r} shown for a published null")
            continue
        number, decimals, pct = shown
        target = float(value) * float(fig.get("data-scale", "1")) * (100 if pct else 1)
        if abs(number - target) > 0.5 * 10 ** -decimals + 1e-9:
            problems.append(f"{fig['data-metric']} {fig['data-key']}: shown {text!r}, mart {target}")
    return problems


@pytest.mark.parametrize("wave", ["T0", "T3"])
def test_no_untagged_numbers_in_visible_text(reports: dict[str, Any], wave: str) -> None:
    doc = parse(reports["out"] / f"direktion_{wave}.html")
    text = _visible(doc)
    tokens = re.findall(r"(?<![\w.,])\d+(?:[.,]\d+)*", text)
    assert set(tokens) <= CONSTANTS, sorted(set(tokens) - CONSTANTS)


def test_danish_number_format(reports: dict[str, Any]) -> None:
    doc = parse(reports["out"] / "direktion_T3.html")
    overall = next(f for f in doc.figures if f["data-metric"] == "rpt_direktion_scorecard.overall_index"
                   and "data-calc" not in f)
    assert re.fullmatch(r"\d{1,3},\d", overall["_text"])
    rate = next(f for f in doc.figures if f["data-metric"] == "rpt_direktion_scorecard.response_rate")
    assert re.fullmatch(r"\d{1,3}\u00a0%", rate["_text"])
    assert not any(re.search(r"\d\.\d{1,2}(?!\d)", f["_text"]) for f in doc.figures if "data-type" not in f)


# ---------------------------------------------------------------- tests: suppression


@pytest.mark.parametrize("wave", ["T0", "T1", "T2", "T3"])
def test_suppressed_heatmap_cells_show_lt5(reports: dict[str, Any], marts: duckdb.DuckDBPyConnection,
                                           wave: str) -> None:
    doc = parse(reports["out"] / f"direktion_{wave}.html")
    cells = {f["data-key"]: f["_text"].strip() for f in doc.figures
             if f["data-metric"] == "fct_maturity_scores.maturity_index" and "heatcell" in f.get("class", "").split()}
    heat = marts.execute("""
        SELECT s.wave_id || '|' || s.org_unit_id || '|' || s.dimension_id, s.is_suppressed
        FROM marts.fct_maturity_scores s JOIN marts.dim_waves w USING (wave_id)
        JOIN marts.dim_org_units o ON o.extract_date = w.hr_extract_date AND o.org_unit_id = s.org_unit_id
        WHERE s.wave_id = ? AND o.depth = 1""", [wave]).fetchall()
    assert heat and {k for k, _ in heat} <= set(cells), "every forvaltning × dimension cell is in the heatmap"
    for k, suppressed in heat:
        if suppressed:
            assert cells[k] == "<5", (k, cells[k])
        else:
            assert read_number(cells[k]) is not None, (k, cells[k])


@pytest.mark.parametrize("wave", ["T0", "T1", "T2", "T3"])
def test_withheld_alignment_says_so(reports: dict[str, Any], marts: duckdb.DuckDBPyConnection, wave: str) -> None:
    doc = parse(reports["out"] / f"direktion_{wave}.html")
    withheld = {w["data-key"] for w in doc.withheld}
    shown = {f["data-key"] for f in doc.figures if f["data-metric"].startswith("fct_leadership_alignment.")}
    for dim, suppressed in marts.execute(
            "SELECT dimension_id, is_suppressed FROM marts.fct_leadership_alignment WHERE wave_id = ?",
            [wave]).fetchall():
        k = f"{wave}|{dim}"
        assert (k in withheld) == bool(suppressed) and (k in shown) == (not suppressed), k
    html = (reports["out"] / f"direktion_{wave}.html").read_text()
    assert html.count("ikke vist (for få besvarelser)</span>") >= len(withheld)


# ---------------------------------------------------------------- tests: narrative


def test_narrative_follows_the_data(reports: dict[str, Any], marts: duckdb.DuckDBPyConnection) -> None:
    first = _visible(parse(reports["out"] / "direktion_T0.html"))
    assert "baseline" in first and "intet porteføljeudtræk" in first.lower()
    last_doc = parse(reports["out"] / "direktion_T3.html")
    last = _visible(last_doc)
    assert "baseline" not in last.split("Sammenfatning")[1].split("Datagrundlag")[0]
    top = marts.execute("SELECT top_gaps FROM marts.rpt_direktion_scorecard WHERE wave_id = 'T3'").fetchone()[0]
    names = dict(marts.execute("SELECT dimension_id, name_da FROM marts.dim_dimensions").fetchall())
    summary = last.split("Sammenfatning")[1].split("Datagrundlag")[0]
    positions = [summary.index(names[d]) for d in top.split(",")]
    assert positions == sorted(positions), "the three largest gaps are named in rank order"
    uncovered = [r[0] for r in marts.execute("""SELECT dimension_id FROM marts.fct_portfolio_coverage c
        JOIN marts.rpt_direktion_scorecard s ON c.extract_date = s.projects_extract_date
        WHERE s.wave_id = 'T3' AND c.is_uncovered""").fetchall()]
    if uncovered:
        assert "udækket" in summary and all(names[d] in summary for d in uncovered)
    else:
        assert "Alle gab på mindst" in summary
    best = marts.execute("""SELECT t.dimension_id FROM marts.fct_maturity_trend t JOIN marts.dim_waves w USING (wave_id)
        JOIN marts.dim_org_units o ON o.extract_date = w.hr_extract_date AND o.org_unit_id = t.org_unit_id
        WHERE t.wave_id = 'T3' AND o.depth = 0 AND t.delta_index IS NOT NULL ORDER BY t.delta_index DESC
        LIMIT 1""").fetchone()[0]
    assert f"Den største fremgang siden T2 er i {names[best]}" in summary
    front = {f["data-metric"] for f in last_doc.figures}
    assert {"rpt_direktion_scorecard.overall_index", "rpt_direktion_scorecard.response_rate",
            "dim_waves.closes_on", "publication.run_id", "quality.warnings"} <= front


@pytest.fixture(scope="module")
def edge_marts(published: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the published file with T3 edited into the hard cases: the root of one dimension
    suppressed (so no overall index, no change), no importance items, every alignment row withheld,
    no uncovered gap — and no version.json beside it."""
    db = tmp_path_factory.mktemp("edge") / "maturity.duckdb"
    shutil.copyfile(published.resolve(), db)
    con = duckdb.connect(str(db))
    root = con.execute("""SELECT o.org_unit_id FROM marts.dim_waves w JOIN marts.dim_org_units o
        ON o.extract_date = w.hr_extract_date AND o.depth = 0 WHERE w.wave_id = 'T3'""").fetchone()[0]
    stats = ["n_respondents", "current_mean", "current_sd", "consensus_rwg", "target_mean", "gap_mean",
             "maturity_index", "target_index", "gap_index", "maturity_band"]
    con.execute(f"UPDATE marts.fct_maturity_scores SET {', '.join(s + ' = NULL' for s in stats)}, "
                "is_suppressed = true WHERE wave_id = 'T3' AND org_unit_id = ? AND dimension_id = 'kultur'", [root])
    con.execute("UPDATE marts.fct_maturity_overall SET overall_index = NULL, overall_band = NULL "
                "WHERE wave_id = 'T3' AND org_unit_id = ?", [root])
    con.execute("UPDATE marts.fct_maturity_trend SET maturity_index = NULL, delta_index = NULL "
                "WHERE wave_id = 'T3' AND org_unit_id = ? AND dimension_id = 'kultur'", [root])
    con.execute("UPDATE marts.rpt_direktion_scorecard SET overall_index = NULL, overall_band = NULL, "
                "uncovered_dimensions = 0 WHERE wave_id = 'T3'")
    con.execute("UPDATE marts.fct_gap_priorities SET importance_index = NULL, ipa_quadrant = NULL WHERE wave_id = 'T3'")
    con.execute("UPDATE marts.fct_gap_priorities SET gap_index = NULL, priority_score = NULL, priority_rank = NULL "
                "WHERE wave_id = 'T3' AND dimension_id = 'kultur'")
    con.execute("UPDATE marts.fct_leadership_alignment SET n_top = NULL, n_leader = NULL, top_mean = NULL, "
                "leader_mean = NULL, alignment_gap = NULL, is_suppressed = true WHERE wave_id = 'T3'")
    con.execute("""UPDATE marts.fct_portfolio_coverage SET is_uncovered = false, n_active_projects = 1
        WHERE is_uncovered AND wave_id = 'T3'""")
    con.close()
    return db


def test_edge_cases_render_with_conditional_text(edge_marts: Path, tmp_path: Path) -> None:
    paths = render_reports(edge_marts, tmp_path, wave_id="T3", pdf=CHROMIUM is not None)
    doc = parse(paths[0])
    con = duckdb.connect(str(edge_marts), read_only=True)
    try:
        run_id = con.execute("SELECT min(run_id) FROM marts.rpt_direktion_scorecard").fetchone()[0]
        problems = figure_problems(doc, con, {"quality": {}, "publication": {"run_id": run_id}})
    finally:
        con.close()
    assert not problems, "\n".join(problems[:30])
    text = _visible(doc)
    summary = text.split("Sammenfatning")[1].split("Datagrundlag")[0]
    assert "Det samlede modenhedsindeks kan ikke vises" in summary
    assert "Alle gab på mindst 25 indekspoint er dækket" in summary
    assert "kan ikke sammenlignes for nogen dimension" in summary
    assert "analysen kan ikke laves" in text
    assert "Publiceret version ikke oplyst" in text and "Datakvalitet ikke oplyst" in text
    if CHROMIUM:
        pdf = paths[1].read_bytes()
        sections = paths[0].read_text().count('<section class="page"')
        assert len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf)) == sections


def test_narrative_branches(published: Path) -> None:
    """The sentences change with the data: declines only, several uncovered gaps, one dimension."""
    from maturity.report import data as report_data
    from maturity.report import narrative

    con, resolved = report_data.open_published(published)
    try:
        base = report_data.load_wave(con, resolved, "T3")
    finally:
        con.close()

    def plain(html: str | None) -> str:
        return re.sub(r"<[^>]+>", "", html or "")

    falling = copy.deepcopy(base)
    for (wave, _dim), row in falling.trend.items():
        if wave == "T3" and row["delta_index"] is not None:
            row["delta_index"] = -abs(row["delta_index"]) - 0.5
    text = plain(narrative.improvement(falling))
    assert text.startswith("Ingen dimension er gået frem siden T2.") and "dimensioner er gået tilbage, mest" in text

    rising = copy.deepcopy(base)
    for row in rising.trend.values():
        if row["delta_index"] is not None:
            row["delta_index"] = abs(row["delta_index"]) + 0.5
    assert plain(narrative.improvement(rising)).endswith("Ingen dimension er gået tilbage.")

    two = copy.deepcopy(base)
    for i, row in enumerate(two.coverage):
        row["is_uncovered"] = i < 2
    assert plain(narrative.coverage(two)).startswith("To gab er udækkede")

    baseline = copy.deepcopy(base)
    baseline.previous = None
    assert narrative.improvement(baseline) is None
    assert "er den første måling og er derfor baseline" in plain(narrative.overall(baseline))


# ---------------------------------------------------------------- tests: self-contained, browser, PDF


@pytest.mark.parametrize("wave", ["T0", "T3"])
def test_html_is_self_contained(reports: dict[str, Any], wave: str) -> None:
    path = reports["out"] / f"direktion_{wave}.html"
    doc, html = parse(path), path.read_text()
    assert not {t for t, _ in doc.tags} & {"script", "link", "img", "iframe", "object", "embed", "video", "audio"}
    for tag, attrs in doc.tags:
        for name in ("src", "href", "xlink:href", "srcset", "action", "poster", "data"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, name, value)
    assert not re.search(r"url\(\s*['\"]?(?!#)", html), "CSS/SVG url() only to fragments in the document"
    assert "@import" not in html and "@font-face" not in html
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", html, re.I)
    assert html.startswith("<!DOCTYPE html>") and "<?xml" not in html
    assert html.count("<svg") >= 4 and "<metadata>" not in html


class DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3/4), no TCP port."""

    def __init__(self, chromium: str, profile: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def wire() -> None:  # in the child, before exec: fd 3 = commands in, fd 4 = replies out
            a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 100), fcntl.fcntl(res_w, fcntl.F_DUPFD, 100)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
             "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(res_w)
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        while chunk := os.read(self._res_r, 1 << 16):
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                self._replies.put(json.loads(raw))

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60) -> dict[str, Any]:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._replies.get(timeout=max(0.1, deadline - time.monotonic()))
            if reply.get("id") == self._next:
                assert "error" not in reply, (method, reply["error"])
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._replies.get(timeout=max(0.1, deadline - time.monotonic())))

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with contextlib.suppress(queue.Empty):
                self.events.append(self._replies.get(timeout=0.1))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the browser may close the pipe before replying
            self.send("Browser.close", timeout=10)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._cmd_w)


def load_in_chromium(html: Path, profile: Path) -> dict[str, Any]:
    """Open `html` in headless Chromium; return the page's requests, errors, a full-page PNG and its figures."""
    url = html.resolve().as_uri()
    browser = DevTools(CHROMIUM or "chromium", profile)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 900, "height": 1200, "deviceScaleFactor": 1, "mobile": False}, session)
        browser.send("Page.navigate", {"url": url}, session)
        browser.wait_for("Page.loadEventFired")
        browser.drain(1.0)
        size = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = browser.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}, session)
        dom = browser.send("Runtime.evaluate", {
            "expression": "JSON.stringify([...document.querySelectorAll('[data-metric]')]"
                          ".map(e => [e.dataset.metric, e.dataset.key, e.textContent]))",
            "returnByValue": True}, session)["result"]["value"]
    finally:
        browser.close()
    events = [e for e in browser.events if e.get("sessionId") == session]
    errors = [e["params"] for e in events
              if e["method"] == "Runtime.exceptionThrown"
              or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in {"error", "assert"})
              or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    return {"url": url, "errors": errors, "png": base64.b64decode(shot["data"]), "figures": json.loads(dom),
            "requests": [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]}


@needs_chromium
def test_browser_check_detects_requests_and_errors(tmp_path: Path) -> None:
    """The harness itself: a page with an external image, a CSS import and console.error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><style>@import url("https://fonts.example.org/a.css");</style>'
                   '</head><body><img src="http://example.com/x.png"><script>console.error("boom")</script>'
                   "</body></html>")
    seen = load_in_chromium(bad, tmp_path / "profile")
    assert any(u.startswith("http://example.com/") for u in seen["requests"]), seen["requests"]
    assert any(u.startswith("https://fonts.example.org/") for u in seen["requests"]), seen["requests"]
    assert seen["errors"]


@needs_chromium
@pytest.mark.parametrize("wave", ["T0", "T3"])
def test_chromium_renders_without_errors_or_network(reports: dict[str, Any], wave: str, tmp_path: Path) -> None:
    html = reports["out"] / f"direktion_{wave}.html"
    seen = load_in_chromium(html, tmp_path / "profile")
    assert seen["requests"] == [seen["url"]], seen["requests"]
    assert not seen["errors"], seen["errors"]
    png = seen["png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    (reports["out"] / f"direktion_{wave}.png").write_bytes(png)
    parsed = [[f["data-metric"], f["data-key"], f["_text"]] for f in parse(html).figures]
    assert seen["figures"] == parsed, "the browser shows exactly the figures the HTML holds"


@needs_chromium
@pytest.mark.parametrize("wave", ["T0", "T1", "T2", "T3"])
def test_pdf_has_one_a4_page_per_section(reports: dict[str, Any], wave: str) -> None:
    pdf = (reports["out"] / f"direktion_{wave}.pdf").read_bytes()
    sections = (reports["out"] / f"direktion_{wave}.html").read_text().count('<section class="page"')
    assert pdf.startswith(b"%PDF-")
    try:
        import pypdf
    except ImportError:
        pages = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))
        boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    else:
        import io

        reader = pypdf.PdfReader(io.BytesIO(pdf))
        pages = len(reader.pages)
        boxes = [(str(p.mediabox.width).encode(), str(p.mediabox.height).encode()) for p in reader.pages]
    has_portfolio = "fct_portfolio_coverage." in (reports["out"] / f"direktion_{wave}.html").read_text()
    assert pages == sections == (8 if has_portfolio else 7)
    assert boxes and all(abs(float(w) - 595.0) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes), boxes[:2]


@needs_chromium
def test_one_chromium_prints_many_files_and_reports_a_failure_per_file(tmp_path: Path) -> None:
    from maturity.report.pdf import Printer

    page = tmp_path / "page.html"
    page.write_text('<!DOCTYPE html><html><head><style>@page { size: A4; margin: 0 }</style></head>'
                    "<body><p>Side</p></body></html>")
    with Printer() as printer:
        missing = printer.submit(tmp_path / "missing.html", tmp_path / "missing.pdf")
        first = printer.submit(page, tmp_path / "a.pdf")
        second = printer.submit(page, tmp_path / "b.pdf")
        with pytest.raises(MaturityError, match="missing.html"):
            missing.result()
        assert first.result().read_bytes().startswith(b"%PDF-")
        assert second.result().read_bytes().startswith(b"%PDF-")
    assert not (tmp_path / "missing.pdf").exists() and not list(tmp_path.glob(".*.tmp"))
    assert printer._proc.poll() is not None, "Chromium is stopped by close()"


def test_several_waves_in_one_call_equal_single_wave_calls(published: Path, tmp_path: Path) -> None:
    together = render_reports(published, tmp_path / "together", wave_id=["T3", "T1", "T0"], quality=QUALITY,
                              pdf=False)
    assert [p.name for p in together] == ["direktion_T3.html", "direktion_T1.html", "direktion_T0.html"]
    for path in together:
        alone = render_reports(published, tmp_path / path.stem, wave_id=path.stem.split("_")[1], quality=QUALITY,
                               pdf=False)
        assert alone[0].read_bytes() == path.read_bytes()
