"""SD Løn personnel reports and transformation-team lists at each HR extract date (SPEC §2.4-§2.6).

One population of employments is simulated over 2021-2025 (a stock at 31.03.2021 plus hires, with
exponential durations, retirement at 67 and some fixed-term contracts), so that the same employment
keeps its Tjenestenummer across extracts, people leave and join between extracts, and each extract
shows what SD would list on its date: current employments, future starts, and employments that ended
within the last year (inactive status codes). About 5 % of persons hold a second, part-time
employment. Everything is built column-wise with numpy: ``--scale kl`` writes 500,000 rows per
extract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maturity.demo import names, textio
from maturity.demo.model import HR_DATES, ScaleConfig, as_day
from maturity.demo.org import KIND_SIZE, OrgHistory

EMPLOYEE_HEADER = (
    "CPR-nummer", "Navn (for-/efternavn)", "Tjenestenummer", "Startdato", "Slutdato", "Stamafdeling",
    "Stillingskode", "Stilling", "Beskæftigelsesgrad", "Ansættelsesstatus", "Ansættelsesstatus",
)
TEAM_HEADER = ("Tjenestenummer", "Andel (%)", "Rolle i teamet", "Fra", "Til")

#: (Stillingskode, Stilling). Codes are synthetic but shaped like SD's ``NNN-NN``.
TITLES: tuple[tuple[str, str], ...] = (
    ("104-00", "Pædagog"), ("109-00", "Pædagogmedhjælper"), ("110-00", "Pædagogisk assistent"),
    ("250-00", "Lærer"), ("301-10", "Skolesekretær"), ("173-20", "Social- og sundhedsassistent"),
    ("173-10", "Social- og sundhedshjælper"), ("170-00", "Sygeplejerske"), ("176-00", "Ergoterapeut"),
    ("175-00", "Fysioterapeut"), ("171-00", "Sundhedsplejerske"), ("118-00", "Socialpædagog"),
    ("210-00", "Socialrådgiver"), ("301-00", "Administrativ medarbejder"), ("306-00", "Specialkonsulent"),
    ("305-00", "Konsulent"), ("302-00", "Økonomimedarbejder"), ("264-43", "It-medarbejder"),
    ("306-10", "Digitaliseringskonsulent"), ("306-20", "Dataanalytiker"), ("264-50", "It-arkitekt"),
    ("280-00", "Ingeniør"), ("282-00", "Tekniker"), ("420-00", "Gartner"), ("240-00", "Bibliotekar"),
    ("301-30", "Kulturmedarbejder"), ("252-00", "Musikskolelærer"), ("306-30", "Jobkonsulent"),
    ("180-00", "Tandlæge"), ("181-00", "Tandklinikassistent"),
    ("190-00", "Leder"), ("191-00", "Chef"), ("192-00", "Direktør"), ("193-00", "Kommunaldirektør"),
)
_T = {title: i for i, (_, title) in enumerate(TITLES)}
LEDER, CHEF, DIREKTOER, KOMMUNALDIREKTOER = _T["Leder"], _T["Chef"], _T["Direktør"], _T["Kommunaldirektør"]

#: Title mix of ordinary staff per kind of unit: (titles, probabilities).
KIND_TITLES: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "dagtilbud": (("Pædagog", "Pædagogmedhjælper", "Pædagogisk assistent"), (0.55, 0.35, 0.10)),
    "skole": (("Lærer", "Pædagog", "Skolesekretær", "Pædagogmedhjælper"), (0.70, 0.15, 0.05, 0.10)),
    "pleje": (("Social- og sundhedsassistent", "Social- og sundhedshjælper", "Sygeplejerske",
               "Ergoterapeut"), (0.45, 0.35, 0.15, 0.05)),
    "hjemmepleje": (("Social- og sundhedsassistent", "Social- og sundhedshjælper", "Sygeplejerske"),
                    (0.35, 0.55, 0.10)),
    "sundhed": (("Sygeplejerske", "Sundhedsplejerske", "Fysioterapeut", "Ergoterapeut", "Tandlæge",
                 "Tandklinikassistent"), (0.35, 0.15, 0.15, 0.15, 0.05, 0.15)),
    "social": (("Socialpædagog", "Socialrådgiver", "Pædagog"), (0.5, 0.3, 0.2)),
    "adm": (("Administrativ medarbejder", "Specialkonsulent", "Konsulent", "Økonomimedarbejder"),
            (0.5, 0.2, 0.2, 0.1)),
    "it": (("It-medarbejder", "Digitaliseringskonsulent", "Dataanalytiker", "It-arkitekt"),
           (0.5, 0.25, 0.15, 0.1)),
    "teknik": (("Ingeniør", "Tekniker", "Gartner", "Administrativ medarbejder"), (0.25, 0.3, 0.35, 0.1)),
    "kultur": (("Bibliotekar", "Kulturmedarbejder", "Musikskolelærer"), (0.5, 0.3, 0.2)),
    "besk": (("Jobkonsulent", "Socialrådgiver", "Administrativ medarbejder"), (0.5, 0.3, 0.2)),
}
_CARE_KINDS = {"dagtilbud", "pleje", "hjemmepleje", "sundhed", "social"}
HOURS = np.array([37, 34, 32, 30, 28, 25, 22, 20, 15, 12, 8])
HOURS_P_CARE = np.array([0.30, 0.08, 0.16, 0.14, 0.10, 0.08, 0.05, 0.04, 0.02, 0.02, 0.01])
HOURS_P_OFFICE = np.array([0.72, 0.06, 0.07, 0.05, 0.03, 0.03, 0.01, 0.01, 0.01, 0.005, 0.005])

#: SD status codes (SPEC §2.5): 0, 1, 3 active; 7, 8, 9, S inactive.
STATUS_TEXT = {"0": "Ansat", "1": "Ansat i løn", "3": "Midlertidigt ude af løn", "7": "Død/udvandret",
               "8": "Fratrådt", "9": "Pensioneret", "S": "Slettet"}

TEAM_ROLES = ("Digitaliseringskonsulent", "Dataansvarlig", "Projektleder", "Forandringsleder",
              "Dataanalytiker", "Gevinstrealiseringsansvarlig")
TEAM_SHARES = np.array([100, 90, 80, 79, 75, 60, 50, 40, 30, 25, 20])
TEAM_SHARES_P = np.array([0.24, 0.05, 0.16, 0.06, 0.04, 0.10, 0.15, 0.08, 0.06, 0.03, 0.03])

_OPEN_AFTER = np.datetime64("2026-01-01", "D")
_YEAR = 365.25
_T0 = np.datetime64("2021-03-31", "D")  # stock date of the simulation (one year before extract 1)
_HORIZON = np.datetime64("2025-05-31", "D")


def _days(x: np.ndarray) -> np.ndarray:
    """Round a float array of day offsets to a ``timedelta64[D]`` array."""
    return np.rint(x).astype(np.int64).astype("timedelta64[D]")


class DateTable:
    """``DD.MM.YYYY`` strings for every day of a range, so formatting 500k dates is one ``take``."""

    def __init__(self, lo: str = "1930-01-01", hi: str = "2031-12-31", suffix: str = "") -> None:
        self.lo = np.datetime64(lo, "D")
        days = np.arange(self.lo, np.datetime64(hi, "D") + 1)
        self.table = textio.date_str(days) + suffix

    def __call__(self, days: np.ndarray) -> np.ndarray:
        pos = (np.asarray(days, dtype="datetime64[D]") - self.lo).astype(np.int64)
        if len(pos) and (pos.min() < 0 or pos.max() >= len(self.table)):
            raise ValueError("date outside the DateTable range")  # a negative index would wrap silently
        return self.table[pos]


@dataclass
class Population:
    """All simulated employments over 2021-2025 (numpy columns, one element per employment).

    Plain numpy arrays rather than a DataFrame: pandas would convert every text column to Arrow
    strings, which costs seconds at ``--scale kl``.
    """

    tj: np.ndarray  # Tjenestenummer (int)
    person: np.ndarray  # index into the person arrays
    unit: np.ndarray  # row index into OrgHistory.units (the unit the employment was created in)
    title: np.ndarray  # index into TITLES
    hours: np.ndarray  # weekly hours of 37 (Beskæftigelsesgrad = hours / 37)
    start: np.ndarray  # datetime64[D]
    end: np.ndarray  # datetime64[D], NaT = open
    fixed_term: np.ndarray  # end date known in advance
    open_9999: np.ndarray  # open end printed as 31.12.9999 rather than empty
    manager: np.ndarray
    status_u: np.ndarray  # uniform draw deciding rare status quirks
    person_prefix: np.ndarray  # per person: ``="CPR";Name;`` (CPR and name never leave this module)
    person_sort: np.ndarray  # per person: alphabetical rank of the name
    tj_width: int

    @property
    def size(self) -> int:
        return len(self.tj)


def _pick(rng: np.random.Generator, probs_by_group: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw: one index per row from the probability row of its group.

    Each group's CDF is shifted by the group number and all are searched at once.
    """
    k = probs_by_group.shape[1]
    cdf = np.cumsum(probs_by_group / probs_by_group.sum(axis=1, keepdims=True), axis=1)
    cdf[:, -1] = 1.0
    shifted = (cdf + np.arange(len(cdf))[:, None]).ravel()
    u = np.minimum(rng.random(len(group)), 1 - 1e-12) + group
    pos = np.searchsorted(shifted, u, side="right")
    return np.minimum(pos - group * k, k - 1)


def _unit_weights(org: OrgHistory) -> tuple[np.ndarray, np.ndarray]:
    """Kinds and staff weights of every unit ever seen (leaves weigh by kind, managers aside)."""
    u = org.units
    has_child = u["code"].isin(set(u["parent0"].dropna()) | set(u["parent2"].dropna())).to_numpy()
    size = u["kind"].map(KIND_SIZE).to_numpy(dtype=float)
    level = u["level"].to_numpy()
    w = np.where(level == "enhed", size, 0.0)
    w = np.where((level == "ny1") & ~has_child, 3 * size, w)
    w = np.where((level == "ny1") & has_child, 1.5, w)
    w = np.where(level == "ny2", 3.0, w)
    # A unit created later has fewer employments started before it existed.
    w = w * np.where(u["first"].to_numpy() > 0, 0.6, 1.0)
    return u["kind"].to_numpy(dtype=object), w


def build_population(cfg: ScaleConfig, org: OrgHistory, rng: np.random.Generator) -> Population:
    """Simulate the employments behind the three extracts (see module docstring)."""
    kinds, weights = _unit_weights(org)
    n_units = len(kinds)
    kind_list = sorted(KIND_TITLES)
    kind_idx = np.array([kind_list.index(k) for k in kinds])
    title_p = np.zeros((len(kind_list), len(TITLES)))
    for i, k in enumerate(kind_list):
        ts, ps = KIND_TITLES[k]
        for t, p in zip(ts, ps, strict=True):
            title_p[i, _T[t]] = p
    hours_p = np.array([HOURS_P_CARE if k in _CARE_KINDS else HOURS_P_OFFICE for k in kind_list])

    # --- managers: one leader per enhed, one chef per afdeling, one direktør per forvaltning.
    u = org.units
    lvl = u["level"].to_numpy()
    m_units = np.flatnonzero(lvl != "root")
    m_title = np.select([lvl[m_units] == "enhed", lvl[m_units] == "ny1"], [LEDER, CHEF], DIREKTOER)
    m_title = np.where(u["code"].to_numpy()[m_units] == "1KDO", KOMMUNALDIREKTOER, m_title)
    first_date = np.array([as_day(d) for d in HR_DATES])[u["first"].to_numpy()[m_units]]
    n_m = len(m_units)
    m_start = np.where(u["first"].to_numpy()[m_units] == 0,
                       _T0 - _days(rng.uniform(0.3, 15, n_m) * _YEAR),
                       first_date - _days(rng.uniform(20, 200, n_m)))
    m_age_start = rng.uniform(38, 58, n_m) + (m_start - _T0).astype(np.int64) / _YEAR

    # --- ordinary staff: a stock at _T0 plus hires until the horizon.
    target_active = max(cfg.employments * 0.845 - n_m, 10)
    mean_dur = 11.0
    n_stock = int(round(target_active))
    hires_per_year = target_active / mean_dur * 1.45
    years = (_HORIZON - _T0).astype(np.int64) / _YEAR
    n_hire = int(rng.poisson(hires_per_year * years))
    n_s = n_stock + n_hire
    age_t0 = 22 + 44 * rng.beta(1.6, 1.6, n_stock)
    tenure = np.minimum(rng.exponential(mean_dur, n_stock), age_t0 - 20)
    s_start = _T0 - _days(tenure * _YEAR)
    h_start = _T0 + _days(rng.uniform(1, years * _YEAR, n_hire))
    h_age_start = 20 + 40 * rng.beta(1.5, 2.5, n_hire)
    start = np.concatenate([m_start, s_start, h_start])
    age_start = np.concatenate([m_age_start, age_t0 - tenure, h_age_start])
    n_all = n_m + n_s
    # Hires are a mix of short stays and stayers; the stock at _T0 consists of stayers, whose
    # remaining time is counted from _T0 (memoryless), not from their start.
    short = rng.random(n_all) < 0.3
    short[: n_m + n_stock] = False
    churn = np.where(short, rng.exponential(1.5, n_all), rng.exponential(mean_dur, n_all))
    from_day = np.maximum(np.concatenate([np.full(n_m + n_stock, _T0), h_start]), start)
    end = from_day + _days(churn * _YEAR)
    birth = start - _days(age_start * _YEAR + rng.uniform(0, 365, n_all))
    retire = birth + _days(67 * _YEAR)
    end = np.minimum(end, retire)
    # Fixed-term contracts: the end date is known in advance (and printed before it is reached).
    fixed = np.zeros(n_all, dtype=bool)
    fixed[n_m:] = rng.random(n_s) < 0.05
    fixed_end = np.maximum(start, _T0 - 300) + _days(rng.uniform(300, 900, n_all))
    end = np.where(fixed, np.minimum(fixed_end, retire), end)
    end = np.where(end >= _OPEN_AFTER, np.datetime64("NaT"), end).astype("datetime64[D]")
    # Managers stay (a closed unit's leader follows the unit it is merged into).
    end[:n_m] = np.datetime64("NaT")

    p_unit = weights / weights.sum()
    unit_idx = np.concatenate([m_units, rng.choice(n_units, size=n_s, p=p_unit)])
    title = np.concatenate([m_title, _pick(rng, title_p, kind_idx[unit_idx[n_m:]])])
    hours = np.where(np.arange(n_all) < n_m, 37, HOURS[_pick(rng, hours_p, kind_idx[unit_idx])])
    person = np.arange(n_all)
    manager = np.arange(n_all) < n_m

    # --- second, part-time employments of about 5 % of persons (same CPR and name).
    sel = np.flatnonzero(~manager & (rng.random(n_all) < 0.07))
    s2_start = np.maximum(start[sel], _T0 - 700) + _days(rng.uniform(0, 3.5 * _YEAR, len(sel)))
    s2_end = s2_start + _days(rng.exponential(4.0, len(sel)) * _YEAR)
    s2_end = np.where(np.isnat(end[sel]), s2_end, np.minimum(s2_end, end[sel]))
    s2_end = np.where(s2_end >= _OPEN_AFTER, np.datetime64("NaT"), s2_end).astype("datetime64[D]")
    keep = s2_start <= _HORIZON
    sel, s2_start, s2_end = sel[keep], s2_start[keep], s2_end[keep]
    s2_unit = rng.choice(n_units, size=len(sel), p=p_unit)
    s2_unit = np.where(s2_unit == unit_idx[sel], (s2_unit + 1) % n_units, s2_unit)
    s2_unit = np.where(weights[s2_unit] > 0, s2_unit, unit_idx[sel])
    hours[sel] = np.minimum(hours[sel], 30)
    start = np.concatenate([start, s2_start])
    end = np.concatenate([end, s2_end])
    unit_idx = np.concatenate([unit_idx, s2_unit])
    title = np.concatenate([title, _pick(rng, title_p, kind_idx[s2_unit])])
    hours = np.concatenate([hours, rng.choice(np.array([4, 6, 8, 10, 12, 15]), size=len(sel))])
    fixed = np.concatenate([fixed, np.zeros(len(sel), dtype=bool)])
    person = np.concatenate([person, sel])
    manager = np.concatenate([manager, np.zeros(len(sel), dtype=bool)])
    n_emp = len(start)

    # --- Tjenestenummer: SD numbers employments in order of creation, with small gaps.
    order = np.lexsort((np.arange(n_emp), start))
    tj = np.empty(n_emp, dtype=np.int64)
    tj[order] = 10 + np.cumsum(rng.geometric(0.7, n_emp))
    prefix, sort_rank = _persons(rng, birth)
    return Population(
        tj=tj, person=person, unit=unit_idx, title=title, hours=hours, start=start, end=end,
        fixed_term=fixed, open_9999=rng.random(n_emp) < 0.25, manager=manager, status_u=rng.random(n_emp),
        person_prefix=prefix, person_sort=sort_rank, tj_width=5 if tj.max() < 100_000 else 7,
    )


def _persons(rng: np.random.Generator, birth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic CPR numbers (valid date, right century digit, gender parity) and names.

    Returns the ``="CPR";Name;`` prefix of each person's SD rows and the alphabetical rank of the
    name. The serial number is unique per birth date by construction (random offset plus a stride
    coprime to the serial space), so no two synthetic persons share a CPR even at 700k persons.
    """
    n = len(birth)
    by = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    in_2000s = by >= 2000
    space = np.where(in_2000s, 6000, 4000)
    order = np.lexsort((rng.random(n), birth))
    sb = birth[order]
    new_group = np.r_[True, sb[1:] != sb[:-1]]
    group_id = np.cumsum(new_group) - 1
    rank = np.arange(n) - np.flatnonzero(new_group)[group_id]
    offset = rng.integers(0, 4000, size=int(new_group.sum()))
    seq = np.empty(n, dtype=np.int64)
    seq[order] = (offset[group_id] + rank * 7) % space[order]
    serial_tbl = textio.int_str(np.arange(10_000), 4)
    serial = serial_tbl[np.where(in_2000s, 4000, 0) + seq]
    ddmmyy_tbl = DateTable()
    ddmmyy_tbl.table = np.array([s[:2] + s[3:5] + s[8:10] for s in ddmmyy_tbl.table], dtype=object)
    hyphen = np.where(rng.random(n) < 0.9, "-", "")
    cpr = ddmmyy_tbl(birth) + hyphen + serial
    male = (seq % 2) == 1
    fem = np.array(names.FIRST_NAMES_FEMALE, dtype=object)
    mal = np.array(names.FIRST_NAMES_MALE, dtype=object)
    last = np.array(names.LAST_NAMES, dtype=object)
    zf = 1 / np.arange(1, len(fem) + 1) ** 0.5
    zl = 1 / np.arange(1, len(last) + 1) ** 0.8
    f1, f2 = rng.choice(len(fem), size=(2, n), p=zf / zf.sum())
    double_first = (rng.random(n) < 0.12) & (f1 != f2)
    first = np.where(male, mal[f1 % len(mal)], fem[f1])
    second = np.where(male, mal[f2 % len(mal)], fem[f2])
    first = np.where(double_first, first + " " + second, first)
    ln, ln2 = rng.choice(len(last), size=(2, n), p=zl / zl.sum())
    double_last = (rng.random(n) < 0.08) & (ln != ln2)
    surname = np.where(double_last, last[ln2] + " " + last[ln], last[ln])
    # Sort "surname, first name" by the ranks of the leading words (no sorting of 700k strings).
    last_rank = np.argsort(np.argsort(last.astype(str)))[np.where(double_last, ln2, ln)]
    fem_rank = np.argsort(np.argsort(fem.astype(str)))
    mal_rank = np.argsort(np.argsort(mal.astype(str)))
    first_rank = np.where(male, mal_rank[f1 % len(mal)], fem_rank[f1])
    sort_rank = last_rank.astype(np.int64) * 64 + first_rank
    return '="' + cpr + '";' + first + " " + surname + ";", sort_rank


def extract_rows(pop: Population, org: OrgHistory, e: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The employments SD lists on extract ``e``: row index, status code, resolved unit index.

    Listed: employments started by the date (or starting within two months), and those that ended
    within the last year (inactive codes). Status codes follow SPEC §2.5.
    """
    d = as_day(HR_DATES[e])
    inc = np.flatnonzero((pop.start <= d + 61) & (np.isnat(pop.end) | (pop.end >= d - 365)))
    s, en = pop.start[inc], pop.end[inc]
    mgr = pop.manager[inc]
    future = s > d
    ended = ~np.isnat(en) & (en < d)
    n = len(inc)
    u = rng.random(n)
    code = np.where(u < 0.86, 1, np.where(u < 0.95, 0, 2))  # indices into STATUS_CODES
    code[mgr] = 1
    code[future] = 0
    v = rng.random(n)
    inactive = np.where(v < 0.02, 6, np.where(v < 0.025, 3, 4))
    long_service = (np.where(ended, en, s) - s).astype(np.int64) > 12 * 365
    inactive[long_service & (rng.random(n) < 0.35)] = 5
    code = np.where(ended, inactive, code)
    # A few rows deleted in SD (code S) while the end date stays open: inactive, not an error.
    code[~ended & ~future & ~mgr & (pop.status_u[inc] < 0.001)] = 6
    show_end = ~np.isnat(en) & (ended | pop.fixed_term[inc])
    return {"row": inc, "code": code, "show_end": show_end, "unit": org.resolve_idx(pop.unit[inc], e)}


STATUS_CODES = ("0", "1", "3", "7", "8", "9", "S")  # index order used by extract_rows


def write_employees(path: Path, pop: Population, x: dict[str, np.ndarray], org: OrgHistory, cfg: ScaleConfig,
                    day: dt.date) -> None:
    """Write the SD Løn report as SD prints it: report lines, ``="…"`` cells, cp1252, CRLF.

    Lines are assembled from a handful of precomputed pieces (person prefix, dates from a table,
    one combined tail per title × hours × status), which keeps 500k rows at about a second.
    """
    r = x["row"]
    p = pop.person[r]
    order = np.lexsort((pop.tj[r], p, pop.person_sort[p], x["unit"]))
    r, p, unit, code, show_end = r[order], p[order], x["unit"][order], x["code"][order], x["show_end"][order]
    dates = DateTable(suffix=";")
    tj = '="' + textio.int_str(pop.tj[r], pop.tj_width) + '";'
    end = pop.end[r]
    slut = np.where(pop.open_9999[r], "31.12.9999;", ";").astype(object)
    slut[show_end] = dates(end[show_end])
    codes = org.units["code"].to_numpy(dtype=object) + ";"
    # Tail = Stillingskode;Stilling;Beskæftigelsesgrad;status text;status code, for every combination.
    tcode = np.array(['="' + c + '";' + t + ";" for c, t in TITLES], dtype=object)
    grade = np.array([f"{h / 37:.4f}".replace(".", ",") + ";" for h in range(0, 38)], dtype=object)
    status = np.array([STATUS_TEXT[c] + ";" + c for c in STATUS_CODES], dtype=object)
    tail = (tcode[:, None, None] + grade[None, :, None] + status[None, None, :]).ravel()
    ns, ng = len(STATUS_CODES), len(grade)
    tail_idx = (pop.title[r] * ng + pop.hours[r]) * ns + code
    lines = pop.person_prefix[p] + tj + dates(pop.start[r]) + slut + codes[unit] + tail[tail_idx]
    header = ";".join(EMPLOYEE_HEADER)
    # The run time is fixed (the extract date at 06:12), never the clock: output is reproducible.
    preamble = ["Personaleoversigt", f"Kørt {day:%d.%m.%Y} 06:12 af SD Løn",
                f"Institution: {cfg.institution}", ""]
    textio.write_text(path, [*preamble, header, *lines.tolist()], encoding=textio.CP1252, newline="\r\n")


@dataclass
class TeamRoster:
    """Transformation-team memberships over the whole period (one row per membership)."""

    tj: np.ndarray
    andel: np.ndarray
    rolle: np.ndarray
    fra: np.ndarray
    til: np.ndarray  # NaT = open


def build_team(cfg: ScaleConfig, pop: Population, org: OrgHistory, rng: np.random.Generator) -> TeamRoster:
    """Members join in three cohorts so the team grows 2022 → 2025 (see ``ScaleConfig.team_sizes``).

    Most members sit in IT og Digitalisering. Quirks kept on purpose (all valid by SPEC §3.8): a
    member who left the team keeps a row with a past ``Til``; a member whose employment ended is still
    listed with an open ``Til``; one employment per 25 members changes role (two memberships, never
    above 100 % on one day).
    """
    d = [as_day(x) for x in HR_DATES]
    tree0 = org.tree(0)
    ny2_of = dict(zip(tree0["code"], tree0["ny2"], strict=True))
    unit_codes = org.units["code"].to_numpy(dtype=object)
    in_itd = np.array([ny2_of.get(c) == "1ITD" for c in unit_codes])[org.resolve_idx(pop.unit, 0)]
    start, end = pop.start, pop.end
    regular = ~pop.manager & ~pop.fixed_term
    pref = np.where(in_itd, 12.0, 1.0)
    k = cfg.team_sizes
    f = max(1, k[0] // 25)
    c1 = k[0] - f
    cohorts = [(c1, d[0], _T0 - 800), (k[1] - k[0] + f, d[1], d[0] + 1), (k[2] - k[1] + f, d[2], d[1] + 1)]
    chosen = np.zeros(pop.size, dtype=bool)
    emp_parts, fra_parts = [], []
    for size, until, since in cohorts:
        ok = regular & ~chosen & (start <= since - 60) & np.isnat(end)
        idx = rng.choice(np.flatnonzero(ok), size=size, replace=False, p=pref[ok] / pref[ok].sum())
        chosen[idx] = True
        emp_parts.append(idx)
        fra_parts.append(since + _days(rng.uniform(0, (until - 20 - since).astype(np.int64), size)))
    # Members whose employment ends between extract 1 and 2 (the list is not updated: Til stays open).
    ok = regular & ~chosen & (start <= d[0] - 400) & ~np.isnat(end) & (end > d[1] - 300) & (end < d[1] - 30)
    emp_parts.append(rng.choice(np.flatnonzero(ok), size=f, replace=False))
    fra_parts.append(d[0] - _days(rng.uniform(60, 500, f)))
    emp = np.concatenate(emp_parts)
    fra = np.concatenate(fra_parts).astype("datetime64[D]")
    n = len(emp)
    andel = rng.choice(TEAM_SHARES, size=n, p=TEAM_SHARES_P)
    rolle = rng.choice(len(TEAM_ROLES), size=n, p=[0.3, 0.15, 0.25, 0.1, 0.12, 0.08])
    til = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    # Temporary assignments: a known end date, some already passed by the later extracts.
    temp = rng.random(n) < 0.08
    til[temp] = fra[temp] + _days(rng.uniform(200, 900, int(temp.sum())))
    # Role changes before extract 1: the old row ends the day before the new one starts.
    movers = rng.choice(np.arange(c1), size=f, replace=False)
    switch = d[1] - _days(rng.uniform(60, 200, f))
    til[movers] = switch - 1
    andel[movers] = np.minimum(andel[movers], 50)
    return TeamRoster(
        tj=pop.tj[np.concatenate([emp, emp[movers]])],
        andel=np.concatenate([andel, np.full(f, 80)]),
        rolle=np.concatenate([rolle, np.full(f, TEAM_ROLES.index("Forandringsleder"))]),
        fra=np.concatenate([fra, switch]),
        til=np.concatenate([til, np.full(f, np.datetime64("NaT"), dtype="datetime64[D]")]),
    )


def write_team(path: Path, roster: TeamRoster, pop: Population, e: int, listed: np.ndarray) -> int:
    """Write the team list of extract ``e``: members joined by then, ended rows kept for a year.

    Only memberships whose Tjenestenummer is in the same extract's SD report (``listed``: the
    employment rows of :func:`extract_rows`) are written: the demo is a clean landing area, and an
    unknown Tjenestenummer is a quarantine case tested elsewhere.
    """
    d = as_day(HR_DATES[e])
    keep = (roster.fra <= d) & (np.isnat(roster.til) | (roster.til >= d - 365))
    keep &= np.isin(roster.tj, pop.tj[listed])
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((roster.fra[idx], roster.tj[idx]))]
    cols = [
        textio.int_str(roster.tj[idx], pop.tj_width),
        textio.int_str(roster.andel[idx]),
        np.array(TEAM_ROLES, dtype=object)[roster.rolle[idx]],
        textio.date_str(roster.fra[idx]),
        textio.date_str(roster.til[idx]),
    ]
    textio.write_delimited(path, cols, header=TEAM_HEADER, delimiter=";", encoding=textio.CP1252)
    return len(idx)
