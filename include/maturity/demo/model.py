"""The storyline of the synthetic municipality: dimensions, dates, scales and their parameters.

All generators read their parameters from here, so that the survey answers, the project portfolio and
the HR extracts tell one consistent story: maturity rises unevenly (data and teknologi fast, kultur
slowly), targets stay put so gaps close, the gaps close fastest where the portfolio has the most active
projects, kultur ends with a large gap and no active project (an "uncovered gap", SPEC §3.7), and top
management starts more optimistic than the leaders and converges on them over the waves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dimension:
    """One maturity dimension and its simulated trajectory (1-5 scale unless noted)."""

    dimension_id: str
    prefix: str  # SurveyXact variable prefix
    name_da: str
    name_en: str
    weight: int
    base: float  # mean current level at T0
    growth: float  # rise of the current level per wave
    target: float  # mean target level (stable)
    importance: float | None  # mean importance on 1-10, None = no importance item
    project_weight: float  # relative share of project dimension tags


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("strategi", "st", "Strategi og ledelse", "Strategy and leadership", 2,
              2.65, 0.16, 4.15, 8.1, 0.12),
    Dimension("data", "da", "Data og informationssikkerhed", "Data and information security", 2,
              2.15, 0.30, 4.25, 8.6, 0.28),
    Dimension("kompetencer", "ko", "Digitale kompetencer", "Digital competencies", 1,
              2.45, 0.12, 4.05, 7.9, 0.11),
    Dimension("borger", "bo", "Borger- og virksomhedsrettet digitalisering",
              "Citizen- and business-facing digitalisation", 2, 2.95, 0.15, 4.30, 7.2, 0.15),
    Dimension("teknologi", "te", "Teknologi og infrastruktur", "Technology and infrastructure", 1,
              2.50, 0.28, 4.10, 6.8, 0.25),
    Dimension("kultur", "ku", "Kultur og forandringsparathed", "Culture and readiness for change", 1,
              2.45, 0.05, 3.95, None, 0.03),
    Dimension("samarbejde", "sa", "Tværgående samarbejde", "Cross-organisational collaboration", 1,
              2.35, 0.10, 4.00, None, 0.06),
)

#: The dimension that must end with no active project in the latest portfolio (uncovered gap).
UNCOVERED_DIMENSION = "kultur"

#: Dimension with two current and two target items in every wave.
TWO_ITEM_DIMENSION = "data"

#: Dimension that gets an extra current item in T3 (declared by the T3 mapping override).
T3_EXTRA_ITEM_DIMENSION = "teknologi"

HR_DATES: tuple[dt.date, ...] = (dt.date(2022, 3, 31), dt.date(2024, 3, 31), dt.date(2025, 3, 31))
PROJECT_DATES: tuple[dt.date, ...] = (dt.date(2023, 5, 31), dt.date(2025, 5, 31))


@dataclass(frozen=True)
class Wave:
    """One survey wave and the SurveyXact export variant it lands in (SPEC §2.2)."""

    wave_id: str
    label: str
    closes_on: dt.date
    variant: str  # xlsx | csv_comma | csv_semicolon | csv_tab_utf16
    response_rate: float  # share of distributed respondents who answer
    top_optimism: float  # extra current level of direktion + chefs (converges to ~0)


WAVES: tuple[Wave, ...] = (
    Wave("T0", "Baseline 2022", dt.date(2022, 4, 30), "xlsx", 0.78, 0.65),
    Wave("T1", "Måling 2023", dt.date(2023, 4, 30), "csv_comma", 0.82, 0.45),
    Wave("T2", "Måling 2024", dt.date(2024, 4, 30), "csv_semicolon", 0.85, 0.22),
    Wave("T3", "Måling 2025", dt.date(2025, 4, 30), "csv_tab_utf16", 0.88, 0.05),
)


def hr_index_for(day: dt.date) -> int:
    """Index of the HR extract a wave or portfolio uses: latest date <= day, else the earliest."""
    idx = [i for i, d in enumerate(HR_DATES) if d <= day]
    return idx[-1] if idx else 0


@dataclass(frozen=True)
class ScaleConfig:
    """Size knobs of one ``--scale``; the haderslev values mirror a ~56,000-inhabitant kommune."""

    name: str
    root_code: str
    root_name: str
    institution: str
    afdeling_copies: int  # each base afdeling appears this many times
    enhed_factor: int  # enheder per afdeling multiplier (per copy)
    employments: int  # target rows per HR extract
    respondent_factor: int  # multiplier of the role counts below
    team_sizes: tuple[int, int, int]  # transformation team rows per HR extract
    project_counts: tuple[int, int]  # projects per portfolio extract


ROLE_COUNTS: dict[str, int] = {"direktion": 8, "chef": 42, "leder": 248, "medarbejder": 4, "andet": 2}

SCALES: dict[str, ScaleConfig] = {
    "haderslev": ScaleConfig(
        "haderslev", "0HAD", "Haderslev Kommune", "Haderslev Kommune (XX)", 1, 1, 5000, 1,
        (25, 32, 38), (120, 150),
    ),
    "kl": ScaleConfig(
        "kl", "0KLB", "KL-benchmark (syntetisk)", "KL-benchmark, syntetisk (KL)", 5, 6, 500_000, 100,
        (2500, 3200, 3800), (12_000, 15_000),
    ),
}


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """An independent, order-free random stream per component (same seed ⇒ same bytes)."""
    return np.random.default_rng([seed, *stream])


def as_day(d: dt.date) -> np.datetime64:
    """A ``datetime.date`` as ``datetime64[D]``."""
    return np.datetime64(d.isoformat(), "D")
