"""The transformation office's project portfolio at two dates (SPEC §2.7), as Excel workbooks.

Projects carry over between the extracts with status progressions (Idé → Planlagt → I gang →
Afsluttet, some Stoppet) and new projects appear. Dimension tags follow the storyline weights in
:mod:`maturity.demo.model` (many data and teknologi projects, which is why those gaps close fastest),
and no project that is active (Planlagt or I gang) in the latest extract carries the uncovered
dimension (kultur), so an "uncovered gap" shows in ``fct_portfolio_coverage``. The dimension lists
mix ``;`` and ``,`` separators, with and without spaces, as typed by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maturity.demo import textio
from maturity.demo.model import (
    DIMENSIONS,
    PROJECT_DATES,
    UNCOVERED_DIMENSION,
    ScaleConfig,
    as_day,
    hr_index_for,
)
from maturity.demo.org import OrgHistory

HEADER = ("Projekt-ID", "Projektnavn", "Ejer (afdelingskode)", "Status", "Startdato", "Slutdato",
          "Budget (kr.)", "Forbrug (kr.)", "Masterplan", "Budgetproces", "Dimensioner")
STATUSES = ("Idé", "Planlagt", "I gang", "Afsluttet", "Stoppet")
IDE, PLANLAGT, I_GANG, AFSLUTTET, STOPPET = range(5)
#: Status mix of the first extract, and the transition matrix to the second (rows: from, cols: to).
STATUS_P0 = np.array([0.15, 0.20, 0.42, 0.18, 0.05])
TRANSITION = np.array([
    [0.35, 0.25, 0.25, 0.00, 0.15],
    [0.00, 0.10, 0.65, 0.20, 0.05],
    [0.00, 0.00, 0.40, 0.53, 0.07],
    [0.00, 0.00, 0.00, 1.00, 0.00],
    [0.00, 0.00, 0.00, 0.00, 1.00],
])
NEW_STATUS_P = np.array([0.30, 0.35, 0.35, 0.0, 0.0])

TOPICS: dict[str, tuple[str, ...]] = {
    "strategi": ("Digitaliseringsstrategi", "Gevinstrealisering", "Porteføljestyring", "Digital ledelse"),
    "data": ("Fælles datafundament", "Datavarehus", "Informationssikkerhed", "Datadrevet ledelse",
             "GDPR-oprydning", "Masterdata"),
    "kompetencer": ("Digitale kompetencer", "Uddannelse i Copilot", "Digital dannelse", "Superbrugernetværk"),
    "borger": ("Digital borgerservice", "Selvbetjening", "Digital forældrekontakt", "Chatbot på hjemmesiden",
               "Digital post"),
    "teknologi": ("Cloud-migrering", "Ny integrationsplatform", "Velfærdsteknologi", "Robotisering (RPA)",
                  "Netværk og wifi", "Udskiftning af fagsystem"),
    "kultur": ("Forandringsparathed", "Innovationslab", "Ambassadørkorps"),
    "samarbejde": ("Tværgående samarbejde", "Fælles sagsgange", "Netværk på tværs"),
}
AREAS = ("i Børn og Familie", "i hjemmeplejen", "på skolerne", "i Jobcenteret", "i Teknik og Miljø", "fase 2",
         "2.0", "pilot", "i dagtilbud", "på plejecentrene", "for hele kommunen", "i Borgerservice")
SEPARATORS = (";", ",", "; ", ", ")


@dataclass
class Portfolio:
    """All projects ever listed, with status per extract (-1 = not listed)."""

    pid: np.ndarray
    name: np.ndarray
    owner_unit: np.ndarray  # unit row index (resolved per extract)
    status: np.ndarray  # (n, 2) status index per extract
    start: np.ndarray  # (n, 2) datetime64[D] per extract (NaT = empty)
    end: np.ndarray
    budget: np.ndarray  # (n, 2)
    spent: np.ndarray
    masterplan: np.ndarray
    budgetproces: np.ndarray
    dims: np.ndarray  # (n, 3) dimension indices, -1 = none
    sep: np.ndarray  # separator index


def _dimension_sets(rng: np.random.Generator, n: int) -> np.ndarray:
    """1-3 distinct dimensions per project, drawn with the storyline weights."""
    w = np.array([d.project_weight for d in DIMENSIONS])
    k = rng.choice([1, 2, 3], size=n, p=[0.45, 0.4, 0.15])
    # Gumbel top-k trick: distinct weighted draws for all projects at once.
    keys = np.log(w)[None, :] - np.log(-np.log(rng.random((n, len(w)))))
    order = np.argsort(-keys, axis=1)[:, :3]
    order[np.arange(3)[None, :] >= k[:, None]] = -1
    return order


def build_portfolio(cfg: ScaleConfig, org: OrgHistory, rng: np.random.Generator) -> Portfolio:
    """Simulate both extracts (see module docstring)."""
    n0, n1 = cfg.project_counts
    n_carry = int(round(n0 * 0.85))
    n_new = n1 - n_carry
    n = n0 + n_new
    d0, d1 = (as_day(x) for x in PROJECT_DATES)
    status = np.full((n, 2), -1)
    status[:n0, 0] = rng.choice(5, size=n0, p=STATUS_P0)
    # Carried over: mostly the projects still open in the first extract.
    weight = np.where(np.isin(status[:n0, 0], [AFSLUTTET, STOPPET]), 0.35, 1.0)
    carry = rng.choice(n0, size=n_carry, replace=False, p=weight / weight.sum())
    cdf = np.cumsum(TRANSITION, axis=1)
    u = rng.random(n_carry)[:, None]
    status[carry, 1] = np.minimum((u > cdf[status[carry, 0]]).sum(axis=1), 4)
    status[n0:, 1] = rng.choice(5, size=n_new, p=NEW_STATUS_P)

    dims = _dimension_sets(rng, n)
    # Nothing active in the latest extract works on the uncovered dimension: swap it out.
    unc = [d.dimension_id for d in DIMENSIONS].index(UNCOVERED_DIMENSION)
    active1 = np.isin(status[:, 1], [PLANLAGT, I_GANG])
    hit = active1[:, None] & (dims == unc)
    has_data = (dims == 1).any(axis=1, keepdims=True)
    has_tek = (dims == 4).any(axis=1, keepdims=True)
    dims = np.where(hit, np.where(~has_data, 1, np.where(~has_tek, 4, 0)), dims)  # data, teknologi, strategi

    # Owners: mostly IT og Digitalisering and the big forvaltninger's afdelinger (tree at first date).
    tree = org.tree(hr_index_for(PROJECT_DATES[0]))
    cand = tree.loc[tree["level"].isin(["ny1", "ny2"])]
    w_owner = np.where(cand["ny2"] == "1ITD", 6.0, 1.0) * np.where(cand["level"] == "ny2", 0.5, 1.0)
    row_of = {c: i for i, c in enumerate(org.units["code"])}
    cand_rows = np.array([row_of[c] for c in cand["code"]])
    owner = cand_rows[rng.choice(len(cand), size=n, p=w_owner / w_owner.sum())]

    # Dates and money per extract; a project keeps its start once it has started.
    first_start = np.where(np.arange(n) < n0, d0 - _days(rng.uniform(-200, 900, n)),
                           d0 + _days(rng.uniform(0, (d1 - d0).astype(np.int64) + 150, n)))
    duration = _days(rng.uniform(180, 1100, n))
    budget = np.round(np.exp(rng.normal(np.log(600_000), 0.9, n)) / 5000) * 5000
    budget = np.where(rng.random(n) < 0.04, 0.0, budget)
    start = np.full((n, 2), np.datetime64("NaT"), dtype="datetime64[D]")
    end = start.copy()
    spent = np.zeros((n, 2))
    bud = np.zeros((n, 2))
    for e, day in enumerate((d0, d1)):  # two extracts; each step is vectorised over projects
        st = status[:, e]
        s = first_start.copy()
        s = np.where(np.isin(st, [I_GANG, AFSLUTTET, STOPPET]), np.minimum(s, day - 30), s)
        s = np.where(st == PLANLAGT, np.maximum(s, day + _days(rng.uniform(10, 200, n))), s)
        f_end = s + duration
        f_end = np.where(st == AFSLUTTET, np.minimum(f_end, day - 10), f_end)
        f_end = np.where(st == STOPPET, np.minimum(f_end, day - 5), f_end)
        f_end = np.where(st == I_GANG, np.maximum(f_end, day + _days(rng.uniform(30, 600, n))), f_end)
        has_dates = (st != IDE) | (rng.random(n) < 0.15)
        start[:, e] = np.where(has_dates, s, np.datetime64("NaT"))
        open_ended = (st == I_GANG) & (rng.random(n) < 0.1)
        end[:, e] = np.where(has_dates & ~open_ended, f_end, np.datetime64("NaT"))
        b = np.where((st == IDE) & (rng.random(n) < 0.6), 0.0, budget)
        frac = np.select([st == IDE, st == PLANLAGT, st == I_GANG, st == AFSLUTTET],
                         [np.zeros(n), rng.uniform(0, 0.08, n), rng.uniform(0.1, 0.9, n),
                          rng.uniform(0.8, 1.08, n)], rng.uniform(0.1, 0.6, n))
        bud[:, e] = b
        spent[:, e] = np.round(b * frac, 2)
    big = budget > 1_000_000
    return Portfolio(
        pid="P-" + textio.int_str(np.arange(1, n + 1), 3 if n < 1000 else 5),
        name=_names(rng, dims),
        owner_unit=owner, status=status, start=start, end=end, budget=bud, spent=spent,
        masterplan=rng.random(n) < np.where(big, 0.7, 0.3),
        budgetproces=rng.random(n) < np.where(big, 0.6, 0.25),
        dims=dims, sep=rng.integers(0, len(SEPARATORS), n),
    )


def _days(x: np.ndarray) -> np.ndarray:
    return np.rint(x).astype(np.int64).astype("timedelta64[D]")


def _names(rng: np.random.Generator, dims: np.ndarray) -> np.ndarray:
    """Project names from the first dimension's topics plus an area."""
    n = len(dims)
    topic_idx = rng.integers(0, 1000, n)
    area = np.array(AREAS, dtype=object)[rng.integers(0, len(AREAS), n)]
    per_dim = [np.array(TOPICS[d.dimension_id], dtype=object) for d in DIMENSIONS]
    topic = np.empty(n, dtype=object)
    for k, arr in enumerate(per_dim):  # seven dimensions; vectorised within each
        m = dims[:, 0] == k
        topic[m] = arr[topic_idx[m] % len(arr)]
    return topic + " " + area


def write_portfolio(path: Path, p: Portfolio, org: OrgHistory, e: int) -> int:
    """Write extract ``e`` as ``portfolio.xlsx`` (sheet ``Portefølje``; real dates and numbers)."""
    listed = np.flatnonzero(p.status[:, e] >= 0)
    hr_e = hr_index_for(PROJECT_DATES[e])
    owners = org.units["code"].to_numpy(dtype=object)[org.resolve_idx(p.owner_unit[listed], hr_e)]
    dim_ids = np.array([d.dimension_id for d in DIMENSIONS] + [""], dtype=object)
    sep = np.array(SEPARATORS, dtype=object)[p.sep[listed]]
    d = p.dims[listed]
    dim_text = dim_ids[d[:, 0]]
    for k in (1, 2):
        dim_text = np.where(d[:, k] >= 0, dim_text + sep + dim_ids[d[:, k]], dim_text)
    ja_nej = np.array(["Nej", "Ja"], dtype=object)
    epoch = dt.date(1970, 1, 1)

    def as_dates(col: np.ndarray) -> list[dt.date | None]:
        days = col.astype("datetime64[D]")
        ok = ~np.isnat(days)
        out: list[dt.date | None] = [None] * len(days)
        for i in np.flatnonzero(ok):  # Excel needs one date object per non-empty cell
            out[i] = epoch + dt.timedelta(days=int(days[i].astype(np.int64)))
        return out

    starts, ends = as_dates(p.start[listed, e]), as_dates(p.end[listed, e])
    rows = zip(
        p.pid[listed].tolist(), p.name[listed].tolist(), owners.tolist(),
        np.array(STATUSES, dtype=object)[p.status[listed, e]].tolist(), starts, ends,
        p.budget[listed, e].tolist(), p.spent[listed, e].tolist(),
        ja_nej[p.masterplan[listed].astype(int)].tolist(),
        ja_nej[p.budgetproces[listed].astype(int)].tolist(),
        dim_text.tolist(), strict=True,
    )
    wb = textio.new_workbook(path, default_date_format="dd-mm-yyyy")
    ws = wb.add_worksheet("Portefølje")
    money = wb.add_format({"num_format": "#,##0.00"})
    bold = wb.add_format({"bold": True})
    ws.set_column(0, 0, 10)
    ws.set_column(1, 1, 42)
    ws.set_column(2, 10, 14)
    ws.write_row(0, 0, HEADER, bold)
    for i, (pid, name, owner, status, s, en, b, sp, mp, bp, dims) in enumerate(rows, start=1):
        ws.write_row(i, 0, (pid, name, owner, status, s, en))
        ws.write_number(i, 6, b, money)
        ws.write_number(i, 7, sp, money)
        ws.write_row(i, 8, (mp, bp, dims))
    wb.close()
    return len(listed)
