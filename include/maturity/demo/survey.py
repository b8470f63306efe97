"""The questionnaire, the mapping files and the simulated answers of each survey wave (SPEC §2.2-§2.3).

Answers come from a small latent model (see :mod:`maturity.demo.model`): a respondent's current level
for a dimension = the dimension's level in that wave + forvaltning, afdeling and enhed effects (so
units differ and respondents within a unit are correlated) + a top-management optimism that fades
over the waves + personal noise; targets sit above the current level and stay roughly stable.
Don't-know codes (~4 %), invalid codes (~0.3 %), partial and missing answers, never-distributed and
dropped-out respondents and a few unknown org-unit codes are mixed in as in real SurveyXact exports.
All draws are vectorised over respondents × items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from maturity.demo import names
from maturity.demo.model import (
    DIMENSIONS,
    ROLE_COUNTS,
    T3_EXTRA_ITEM_DIMENSION,
    TWO_ITEM_DIMENSION,
    ScaleConfig,
    Wave,
)
from maturity.demo.org import OrgHistory

ROLE_LABELS = ("Direktion", "Chef", "Leder", "Medarbejder", "Andet")  # codes 1..5
ROLE_KEYS = ("direktion", "chef", "leder", "medarbejder", "andet")
AGE_LABELS = ("Under 30 år", "30-39 år", "40-49 år", "50-59 år", "60 år eller derover")
SCALE5_LABELS = ("I meget lav grad", "I lav grad", "I nogen grad", "I høj grad", "I meget høj grad")
STATO_TEXTS = ("Ny", "Distribueret", "Nogle svar", "Gennemført", "Frafaldet")

#: How the "don't know" label is spelled per wave: every spelling SPEC §2.3 folds to don't-know.
DONT_KNOW_LABEL = {"T0": "Ved ikke", "T1": "Ved ikke/ikke relevant", "T2": "Ved\u00a0ikke ", "T3": "Ved ikke"}

#: Forvaltning effects on the current level (IT og Digitalisering ahead, Social og Sundhed behind).
FORV_EFFECT = {"1ITD": 0.45, "1KDO": 0.15, "1BES": 0.05, "1TEM": 0.0, "1BOF": -0.15, "1KUF": -0.10,
               "1SOS": -0.30}

ORG_VAR_DEFAULT = "afd"
ORG_VAR_T3 = "orgenhed"  # T3's export renamed the org-unit variable; its mapping override says so


@dataclass(frozen=True)
class Variable:
    """One SurveyXact variable: its structure row, value labels and (optional) mapping row."""

    name: str
    question: str
    qtype: str
    subtype: str
    text: str
    use: str | None = None  # mapping use; None = not in the mapping (dropped by ingest)
    dimension: str | None = None
    scale: tuple[int, int] | None = None
    labels: tuple[tuple[int, str], ...] = ()
    choice: tuple[int, str] | None = None  # choiceValue/choiceText (stato rows)
    item_offset: float = 0.0  # small level difference between items of one dimension


@dataclass
class WaveData:
    """One wave's questionnaire and dataset (values: int matrix, -1 = empty cell)."""

    wave: Wave
    variables: list[Variable]
    resp_id: np.ndarray
    org_code: np.ndarray  # object array of str (what the respondent's row holds)
    values: np.ndarray  # int64 (n_respondents, n_variables); string variables hold -1 here
    comments: np.ndarray  # object array of str
    counts: dict[str, int] = field(default_factory=dict)


def questionnaire(wave: Wave) -> list[Variable]:
    """The variables of a wave in export order (T3 renames the org variable and adds an item)."""
    dk = DONT_KNOW_LABEL[wave.wave_id]
    role_labels = tuple((i + 1, lbl) for i, lbl in enumerate(ROLE_LABELS))
    if wave.wave_id == "T2":  # a label with a trailing space, as typed into SurveyXact
        role_labels = tuple((c, lbl + " " if lbl == "Leder" else lbl) for c, lbl in role_labels)
    scale5 = (*((i + 1, t) for i, t in enumerate(SCALE5_LABELS)), (6, dk))
    scale10 = ((1, "Slet ikke vigtigt"), (10, "Afgørende vigtigt"), (11, dk))
    org_var = ORG_VAR_T3 if wave.wave_id == "T3" else ORG_VAR_DEFAULT
    out = [
        Variable("resp", "resp", "Open", "Numeric", "Respondent-id", "respondent_id"),
        Variable(org_var, org_var, "Closed", "Single", "Afdeling (SD-afdelingskode) ", "org_unit"),
        Variable("rolle", "rolle", "Closed", "Single", "Hvad er din rolle i organisationen?", "role",
                 labels=role_labels),
        Variable("alder", "alder", "Closed", "Single", "Hvor gammel er du?",
                 labels=tuple((i + 1, t) for i, t in enumerate(AGE_LABELS))),
    ]
    for dim in DIMENSIONS:
        items: list[tuple[str, float]] = [("", 0.0)]
        if dim.dimension_id == TWO_ITEM_DIMENSION:
            items = [(" – datakvalitet og deling", 0.15), (" – informationssikkerhed", -0.15)]
        for i, (sub, off) in enumerate(items, start=1):
            q = f"{dim.prefix}_{i}"
            out.append(Variable(f"{q}_1", q, "Closed", "Single",
                                f"{dim.name_da}{sub}\nHvor står I i dag? ", "current", dim.dimension_id,
                                (1, 5), scale5, item_offset=off))
            out.append(Variable(f"{q}_2", q, "Closed", "Single",
                                f"{dim.name_da}{sub}\nHvor bør I stå om to år?  ", "target", dim.dimension_id,
                                (1, 5), scale5, item_offset=off))
        if wave.wave_id == "T3" and dim.dimension_id == T3_EXTRA_ITEM_DIMENSION:
            q = f"{dim.prefix}_{len(items) + 1}"
            out.append(Variable(f"{q}_1", q, "Closed", "Single",
                                f"{dim.name_da} – cloud og integrationer\nHvor står I i dag? ", "current",
                                dim.dimension_id, (1, 5), scale5, item_offset=-0.2))
        if dim.importance is not None:
            out.append(Variable(f"{dim.prefix}_imp", f"{dim.prefix}_imp", "Closed", "Single",
                                f"Hvor vigtigt er området «{dim.name_da}» for jer?\n(1 = slet ikke vigtigt, "
                                "10 = afgørende vigtigt)", "importance", dim.dimension_id, (1, 10), scale10))
    out.append(Variable("kommentar", "kommentar", "Open", "String",
                        "Har du kommentarer til undersøgelsen? Skriv dem her ", None))
    for i, txt in enumerate(STATO_TEXTS, start=1):
        out.append(Variable(f"stato_{i}", "statoverall", "Closed", "Multiple", "Samlet status", None,
                            labels=((0, "Ikke valgt"), (1, "Valgt")), choice=(i, txt)))
    return out


def mapping_rows(variables: list[Variable]) -> list[tuple[str, str, str, str, str]]:
    """Mapping rows (variable_name, use, dimension_id, scale_min, scale_max) for ``variables``."""
    rows = []
    for v in variables:
        if v.use is None:
            continue
        lo, hi = (str(v.scale[0]), str(v.scale[1])) if v.scale else ("", "")
        rows.append((v.name, v.use, v.dimension or "", lo, hi))
    return rows


def _assign(rng: np.random.Generator, units: np.ndarray, n: int) -> np.ndarray:
    """Spread ``n`` respondents over ``units``: every unit once while there are enough, rest random."""
    if n <= 0 or len(units) == 0:
        return np.empty(0, dtype=units.dtype)
    if n < len(units):
        return rng.choice(units, size=n, replace=False)
    return np.concatenate([units, rng.choice(units, size=n - len(units), replace=True)])


def unit_effects(org: OrgHistory, seed_rng: np.random.Generator) -> tuple[dict[str, float], np.ndarray]:
    """Stable per-unit effects (by code, shared by all waves) and forvaltning × dimension effects."""
    codes = org.units["code"].to_numpy(dtype=object)
    levels = org.units["level"].to_numpy()
    sd = np.select([levels == "ny1", levels == "enhed"], [0.15, 0.22], 0.0)
    eff = seed_rng.normal(0, 1, len(codes)) * sd
    fd = seed_rng.normal(0, 0.12, (len(FORV_EFFECT), len(DIMENSIONS)))
    return dict(zip(codes, eff, strict=True)), fd


def simulate_wave(
    wave: Wave, w: int, cfg: ScaleConfig, org: OrgHistory, tree_idx: int, rng: np.random.Generator,
    effects: tuple[dict[str, float], np.ndarray],
) -> WaveData:
    """Draw the respondents and answers of wave ``w`` on the tree of HR extract ``tree_idx``."""
    variables = questionnaire(wave)
    tree = org.tree(tree_idx)
    codes = tree["code"].to_numpy(dtype=object)
    level = tree["level"].to_numpy()
    n_children = tree["parent"].value_counts()
    is_leaf = ~tree["code"].isin(n_children.index).to_numpy()

    # --- respondents per role, placed on units of the right level.
    f = cfg.respondent_factor
    counts = {r: max(1, int(round(c * f * (1 + rng.normal(0, 0.03))))) for r, c in ROLE_COUNTS.items()}
    counts["direktion"] = ROLE_COUNTS["direktion"] * f
    idx_by_level = {lv: np.flatnonzero(level == lv) for lv in ("root", "ny2", "ny1", "enhed")}
    parts_u, parts_r = [], []

    def place(role: int, units: np.ndarray, n: int) -> None:
        got = _assign(rng, units, n)
        parts_u.append(got)
        parts_r.append(np.full(len(got), role))

    top = np.concatenate([idx_by_level["root"], idx_by_level["ny2"]])
    place(1, top, counts["direktion"])
    n_chef_ny2 = int(round(0.15 * counts["chef"]))
    place(2, idx_by_level["ny2"], n_chef_ny2)
    place(2, idx_by_level["ny1"], counts["chef"] - n_chef_ny2)
    leaf_ny1 = idx_by_level["ny1"][is_leaf[idx_by_level["ny1"]]]
    n_leader_ny1 = int(round(0.10 * counts["leder"]))
    place(3, np.concatenate([leaf_ny1, idx_by_level["ny1"]]), n_leader_ny1)
    place(3, idx_by_level["enhed"], counts["leder"] - n_leader_ny1)
    everyone = np.arange(len(codes))
    place(4, everyone, counts["medarbejder"])
    place(5, everyone, counts["andet"])
    unit = np.concatenate(parts_u)
    role = np.concatenate(parts_r)
    perm = rng.permutation(len(unit))
    unit, role = unit[perm], role[perm]
    n = len(unit)

    # --- status flags: never distributed, answered (complete / partial), not answered, dropped out.
    new = rng.random(n) < 0.02
    answered = ~new & (rng.random(n) < wave.response_rate)
    partial = answered & (rng.random(n) < 0.08)
    dropped = ~new & ~answered & (rng.random(n) < 0.25)
    stato = np.zeros((n, 5), dtype=np.int64)
    stato[new, 0] = 1
    stato[~new & ~answered & ~dropped, 1] = 1
    stato[partial, 2] = 1
    stato[answered & ~partial, 3] = 1
    stato[dropped, 4] = 1

    # --- latent levels: dimension trajectory + unit effects + optimism of top management + noise.
    unit_eff, forv_dim = effects
    # Effects are looked up per tree row (a few thousand) and then indexed by respondent.
    forv_pos = {c: i for i, c in enumerate(FORV_EFFECT)}
    forv_tree = tree["ny2"].map(forv_pos).fillna(-1).astype(np.int64).to_numpy()
    afd_tree = tree["ny1"].map(unit_eff).fillna(0.0).to_numpy(dtype=float)
    enh_tree = np.where(level == "enhed", tree["code"].map(unit_eff).fillna(0.0).to_numpy(dtype=float), 0.0)
    forv_i = forv_tree[unit]
    forv_e = np.append(np.array(list(FORV_EFFECT.values())), 0.0)[forv_i]
    afd_e = afd_tree[unit]
    enh_e = enh_tree[unit]
    ucode = codes[unit]
    fd = np.where(forv_i[:, None] >= 0, forv_dim[np.maximum(forv_i, 0)], 0.0)
    is_top = role <= 2
    opt = np.where(is_top, wave.top_optimism, np.where(role >= 4, -0.1, 0.0))
    base = np.array([d.base + d.growth * w for d in DIMENSIONS])
    tgt = np.array([d.target + 0.02 * w for d in DIMENSIONS])
    person = rng.normal(0, 0.35, n)
    cur_lat = (base[None, :] + (forv_e + afd_e + enh_e + opt + person)[:, None] + fd
               + rng.normal(0, 0.35, (n, len(DIMENSIONS))))
    tgt_lat = np.maximum(tgt[None, :] + 0.25 * person[:, None] + rng.normal(0, 0.3, (n, len(DIMENSIONS))),
                         cur_lat + 0.2)
    imp_mean = np.array([d.importance if d.importance is not None else 5.0 for d in DIMENSIONS])

    dim_pos = {d.dimension_id: i for i, d in enumerate(DIMENSIONS)}
    values = np.full((n, len(variables)), -1, dtype=np.int64)
    # Partial respondents stop after a random number of dimensions.
    stop_after = np.where(partial, rng.integers(1, len(DIMENSIONS), n), len(DIMENSIONS))
    for j, v in enumerate(variables):  # loop over ~25 variables; each step is vectorised over respondents
        if v.name == "resp":
            continue
        if v.name == "rolle":
            values[:, j] = role
        elif v.name == "alder":
            values[:, j] = np.where(answered, rng.choice(5, size=n, p=[0.05, 0.2, 0.35, 0.3, 0.1]) + 1, -1)
        elif v.name.startswith("stato_"):
            values[:, j] = stato[:, int(v.name[-1]) - 1]
        elif v.use in ("current", "target", "importance"):
            k = dim_pos[v.dimension or ""]
            if v.use == "current":
                raw = np.rint(cur_lat[:, k] + v.item_offset + rng.normal(0, 0.4, n))
            elif v.use == "target":
                raw = np.rint(tgt_lat[:, k] + v.item_offset * 0.5 + rng.normal(0, 0.3, n))
            else:
                gap = tgt_lat[:, k] - cur_lat[:, k]
                raw = np.rint(imp_mean[k] + 0.5 * (gap - 1.5) + rng.normal(0, 1.2, n))
            lo, hi = v.scale or (1, 5)
            val = np.clip(raw, lo, hi).astype(np.int64)
            u = rng.random(n)
            val = np.where(u < 0.04, hi + 1, val)  # "Ved ikke" (code 6 or 11)
            bad = np.array([0, 9]) if hi == 5 else np.array([0, 99])
            val = np.where((u >= 0.04) & (u < 0.043), bad[rng.integers(0, 2, n)], val)
            keep = answered & (k < stop_after) & (rng.random(n) >= 0.01)
            values[:, j] = np.where(keep, val, -1)

    # --- org-unit codes as typed: a few typos and (after the reorganisation) a closed unit's code.
    org_code = ucode.copy()
    known = set(codes)
    closed = org.units.loc[org.units["last"] < tree_idx, "code"].to_numpy(dtype=object)
    n_closed = f if len(closed) else 0
    n_typo = int(rng.integers(1, 3)) * f
    bad_rows = rng.choice(n, size=n_typo + n_closed, replace=False)
    typo_rows, closed_rows = bad_rows[:n_typo], bad_rows[n_typo:]
    org_code[typo_rows] = [_typo(c, known, rng) for c in ucode[typo_rows]]  # 1-2 (x100 at kl) rows
    if n_closed:
        org_code[closed_rows] = closed[rng.integers(0, len(closed), n_closed)]
    if wave.wave_id == "T1":  # codes copied from Excel with a trailing space (valid after trimming)
        rows = rng.choice(np.setdiff1d(np.arange(n), bad_rows), size=2 * f, replace=False)
        org_code[rows] = org_code[rows] + " "
    comments = np.full(n, "", dtype=object)
    has_comment = answered & ~partial & (rng.random(n) < 0.15)
    pool = np.array(names.COMMENTS, dtype=object)
    comments[has_comment] = pool[rng.integers(0, len(pool), int(has_comment.sum()))]
    resp_id = 1_000_000 * (w + 1) + 1000 + np.cumsum(rng.integers(1, 40, n))
    role_count = pd.Series(role).value_counts()
    counts_out = {ROLE_KEYS[int(k) - 1]: int(c) for k, c in role_count.items()}
    counts_out.update({"respondents": n, "answered": int(answered.sum()), "unknown_org": n_typo + n_closed})
    return WaveData(wave, variables, resp_id, org_code, values, comments, counts_out)


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _typo(code: str, known: set[str], rng: np.random.Generator) -> str:
    """A realistic mistyping of an org code (swapped or wrong last character) that is not a real code."""
    for _ in range(50):
        if rng.random() < 0.5 and code[-1] != code[-2]:
            cand = code[:-2] + code[-1] + code[-2]
        else:
            cand = code[:-1] + _ALNUM[int(rng.integers(len(_ALNUM)))]
        if cand not in known and cand != code:
            return cand
    return code + "X"
