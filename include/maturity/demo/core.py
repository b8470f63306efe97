"""``generate``: write a complete synthetic landing area (SPEC §2 layout) for ``maturity demo``.

The CLI and the tests call exactly this function. It prints nothing (the CLI prints the summary) and
reads no clock, so the same seed and scale give byte-identical files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maturity.demo import hr, projects, survey, surveyxact, textio
from maturity.demo.model import (
    DIMENSIONS,
    HR_DATES,
    PROJECT_DATES,
    SCALES,
    WAVES,
    hr_index_for,
    rng_for,
)
from maturity.demo.org import NIVEAU, OrgHistory, build_org_history

ORG_HEADER = ("Afdelingskode", "Afdelingsnavn", "Overordnet afdelingskode", "Niveau")
MAPPING_HEADER = ("variable_name", "use", "dimension_id", "scale_min", "scale_max")

# Random-stream numbers: each component draws from its own stream, so changing one never shifts another.
_S_ORG, _S_POP, _S_EXTRACT, _S_TEAM, _S_EFFECTS, _S_WAVE, _S_PROJECTS = range(1, 8)


@dataclass
class DemoSummary:
    """What ``generate`` wrote.

    ``counts``: ``employments`` (rows of the latest HR extract), ``respondents`` (rows over all
    waves), ``projects`` (latest portfolio), ``org_units`` (latest tree), plus per-file details.
    """

    out: Path
    scale: str
    seed: int
    files: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        c = self.counts

        def num(key: str) -> str:
            return f"{c.get(key, 0):,}".replace(",", ".")  # Danish thousands separator

        return (
            f"Demo landing area ({self.scale}, seed {self.seed}) written to {self.out}: "
            f"{len(self.files)} files; "
            f"{num('org_units')} org units, {num('employments')} employments in the latest HR extract, "
            f"{num('respondents')} survey respondents in {len(WAVES)} waves, {num('projects')} projects."
        )


def generate(
    out: Path, scale: str = "haderslev", seed: int = 42, progress: Callable[[str], None] | None = None
) -> DemoSummary:
    """Write the synthetic landing area under ``out`` and return what was written.

    ``scale`` is ``haderslev`` (one kommune, ~5,000 employments, ~300 respondents per wave) or ``kl``
    (a KL-wide benchmark set, ~100x). Existing files that the demo writes are overwritten; other
    files under ``out`` are left alone.
    """
    if scale not in SCALES:
        raise ValueError(f"Unknown demo scale {scale!r}: choose one of {', '.join(sorted(SCALES))}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"The demo seed must be an integer, got {seed!r}.")
    seed = int(seed) % 2**63
    cfg = SCALES[scale]
    out = Path(out)
    say = progress or (lambda _msg: None)
    summary = DemoSummary(out=out, scale=scale, seed=seed)
    written: list[Path] = []

    # --- reference
    path = out / "reference" / "dimensions.csv"
    cols = [
        np.array([d.dimension_id for d in DIMENSIONS], dtype=object),
        np.array([d.name_da for d in DIMENSIONS], dtype=object),
        np.array([d.name_en for d in DIMENSIONS], dtype=object),
        textio.int_str(np.array([d.weight for d in DIMENSIONS])),
        textio.int_str(np.arange(1, len(DIMENSIONS) + 1)),
    ]
    textio.write_delimited(path, cols, header=("dimension_id", "name_da", "name_en", "weight", "sort_order"),
                           delimiter=",", encoding=textio.UTF8, newline="\n")
    written.append(path)

    # --- HR extracts
    say("HR: organisation tree and employments")
    org = build_org_history(cfg, rng_for(seed, _S_ORG))
    pop = hr.build_population(cfg, org, rng_for(seed, _S_POP))
    team = hr.build_team(cfg, pop, org, rng_for(seed, _S_TEAM))
    for e, day in enumerate(HR_DATES):
        say(f"HR extract {day.isoformat()}")
        folder = out / "hr" / day.isoformat()
        n_units = _write_org_units(folder / "org_units.csv", org, e)
        rows = hr.extract_rows(pop, org, e, rng_for(seed, _S_EXTRACT, e))
        hr.write_employees(folder / "employees.csv", pop, rows, org, cfg, day)
        n_team = hr.write_team(folder / "transformation_team.csv", team, pop, e, rows["row"])
        written += [folder / "org_units.csv", folder / "employees.csv", folder / "transformation_team.csv"]
        summary.counts[f"org_units_{day.isoformat()}"] = n_units
        summary.counts[f"employments_{day.isoformat()}"] = len(rows["row"])
        summary.counts[f"team_{day.isoformat()}"] = n_team
        summary.counts["org_units"] = n_units
        summary.counts["employments"] = len(rows["row"])

    # --- surveys
    default_vars = survey.questionnaire(WAVES[0])
    path = out / "surveys" / "mapping.csv"
    _write_mapping(path, default_vars)
    written.append(path)
    effects = survey.unit_effects(org, rng_for(seed, _S_EFFECTS))
    total = 0
    for w, wave in enumerate(WAVES):
        say(f"Survey wave {wave.wave_id} ({wave.variant})")
        folder = out / "surveys" / wave.wave_id
        tree_idx = hr_index_for(wave.closes_on)
        data = survey.simulate_wave(wave, w, cfg, org, tree_idx, rng_for(seed, _S_WAVE, w), effects)
        path = folder / "wave.csv"
        textio.write_text(path, ["wave_id,label,closes_on", f"{wave.wave_id},{wave.label},{wave.closes_on}"],
                          encoding=textio.UTF8, newline="\n")
        written.append(path)
        written += surveyxact.write_wave(folder, data)
        if survey.mapping_rows(data.variables) != survey.mapping_rows(default_vars):
            path = folder / "mapping.csv"
            _write_mapping(path, data.variables)
            written.append(path)
        summary.counts[f"respondents_{wave.wave_id}"] = len(data.resp_id)
        summary.counts[f"answered_{wave.wave_id}"] = data.counts["answered"]
        total += len(data.resp_id)
    summary.counts["respondents"] = total

    # --- projects
    say("Project portfolio")
    portfolio = projects.build_portfolio(cfg, org, rng_for(seed, _S_PROJECTS))
    for e, day in enumerate(PROJECT_DATES):
        path = out / "projects" / day.isoformat() / "portfolio.xlsx"
        n = projects.write_portfolio(path, portfolio, org, e)
        written.append(path)
        summary.counts[f"projects_{day.isoformat()}"] = n
        summary.counts["projects"] = n

    summary.files = sorted(p.relative_to(out).as_posix() for p in written)
    return summary


def _write_org_units(path: Path, org: OrgHistory, e: int) -> int:
    """SD's organisation structure for extract ``e``: ``;``, Windows-1252, CRLF."""
    tree = org.tree(e)
    cols = [
        tree["code"].to_numpy(dtype=object),
        tree["name"].to_numpy(dtype=object),
        tree["parent"].fillna("").to_numpy(dtype=object),
        tree["level"].map(NIVEAU).to_numpy(dtype=object),
    ]
    textio.write_delimited(path, cols, header=ORG_HEADER, delimiter=";", encoding=textio.CP1252)
    return len(tree)


def _write_mapping(path: Path, variables: list[survey.Variable]) -> None:
    """A mapping file in the sample's format (UTF-8, comma, LF)."""
    rows = survey.mapping_rows(variables)
    cols = [np.array([r[i] for r in rows], dtype=object) for i in range(len(MAPPING_HEADER))]
    textio.write_delimited(path, cols, header=MAPPING_HEADER, delimiter=",", encoding=textio.UTF8,
                           newline="\n")
