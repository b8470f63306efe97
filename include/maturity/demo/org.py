"""The SD organisation tree at each HR extract date, with a realistic reorganisation in between.

One table holds the union of all units ever seen, with the extract indices in which each unit exists
and its parent per extract. The tree changes between extracts (SPEC §3: a wave uses the tree as of its
closing date, so a tree that never changed would not test that rule):

* 2024: a new afdeling "Digital Velfærd" with new enheder under Social og Sundhed; "Borgerservice"
  moves from Kommunaldirektørens Område to IT og Digitalisering; a few new enheder; a few enheder
  close (merged into a sibling).
* 2025: a few new enheder, a few closures, a few enheder moved to another afdeling of the same
  forvaltning.

Codes follow SD's short text style: ``0HAD`` root, ``1XXX`` forvaltninger, ``2XXX`` afdelinger,
``3Xnn`` enheder (letter + two alphanumerics, so no code is all digits and no leading zero is at risk
in any reader). A unit that does not exist at an extract has a ``fallback`` (the unit it was split
from, or merged into), which is how employments and respondents are moved by a reorganisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from maturity.demo import names
from maturity.demo.model import HR_DATES, ScaleConfig

NIVEAU = {"root": "NY3-niveau", "ny2": "NY2-niveau", "ny1": "NY1-niveau", "enhed": "Afdelings-niveau"}

#: (code, name) of the forvaltninger; ITD is the IT og Digitalisering stab directly under the root.
FORVALTNINGER: tuple[tuple[str, str], ...] = (
    ("1KDO", "Kommunaldirektørens Område"),
    ("1ITD", "IT og Digitalisering"),
    ("1BOF", "Børn og Familie"),
    ("1SOS", "Social og Sundhed"),
    ("1TEM", "Teknik og Miljø"),
    ("1KUF", "Kultur og Fritid"),
    ("1BES", "Beskæftigelse"),
)

#: (forvaltning, afdeling code, name, kind, enheder at haderslev scale, enhed name pattern)
AFDELINGER: tuple[tuple[str, str, str, str, int, str], ...] = (
    ("1KDO", "2OEK", "Økonomi", "adm", 3, "Team {topic}"),
    ("1KDO", "2HRP", "HR og Personale", "adm", 3, "Team {topic}"),
    ("1KDO", "2DIR", "Direktionssekretariatet", "adm", 0, ""),
    ("1KDO", "2BSV", "Borgerservice", "adm", 4, "Borgerservice {place}"),
    ("1KDO", "2JUR", "Politik og Jura", "adm", 0, ""),
    ("1ITD", "2ITO", "IT-drift", "it", 3, "Team {topic}"),
    ("1ITD", "2DUD", "Digital Udvikling", "it", 2, "Team {topic}"),
    ("1ITD", "2DAN", "Data og Analyse", "it", 0, ""),
    ("1BOF", "2DTN", "Dagtilbud Nord", "dagtilbud", 12, "Børnehuset {place}"),
    ("1BOF", "2DTS", "Dagtilbud Syd", "dagtilbud", 12, "Børnehuset {place}"),
    ("1BOF", "2DTO", "Dagtilbud Øst", "dagtilbud", 10, "Børnehuset {place}"),
    ("1BOF", "2DTV", "Dagtilbud Vest", "dagtilbud", 10, "Børnehuset {place}"),
    ("1BOF", "2SKN", "Skoler Nord", "skole", 8, "{place} Skole"),
    ("1BOF", "2SKS", "Skoler Syd", "skole", 8, "{place} Skole"),
    ("1BOF", "2FAR", "Familie og Rådgivning", "social", 5, "Team {topic}"),
    ("1BOF", "2PPR", "PPR", "social", 2, "PPR {district}"),
    ("1BOF", "2SUP", "Sundhedsplejen", "sundhed", 2, "Sundhedsplejen {district}"),
    ("1BOF", "2TAN", "Tandplejen", "sundhed", 3, "Tandklinik {place}"),
    ("1SOS", "2HPN", "Hjemmepleje Nord", "hjemmepleje", 6, "Hjemmeplejen {place}"),
    ("1SOS", "2HPS", "Hjemmepleje Syd", "hjemmepleje", 6, "Hjemmeplejen {place}"),
    ("1SOS", "2PLC", "Plejecentre", "pleje", 12, "Plejecenter {place}"),
    ("1SOS", "2SYG", "Sygepleje", "sundhed", 4, "Sygeplejen {district}"),
    ("1SOS", "2TRR", "Træning og Rehabilitering", "sundhed", 3, "Træningscenter {place}"),
    ("1SOS", "2SPS", "Socialpsykiatri", "social", 5, "Bostedet {place}"),
    ("1SOS", "2HAN", "Handicap", "social", 6, "Bofællesskabet {place}"),
    ("1SOS", "2MYV", "Myndighed Voksen", "adm", 3, "Team {topic}"),
    ("1SOS", "2SOF", "Sundhed og Forebyggelse", "sundhed", 2, "Sundhedscenter {place}"),
    ("1TEM", "2PLB", "Plan og Byg", "teknik", 3, "Team {topic}"),
    ("1TEM", "2VEP", "Vej og Park", "teknik", 4, "Materielgården {place}"),
    ("1TEM", "2NAM", "Natur og Miljø", "teknik", 2, "Team {topic}"),
    ("1TEM", "2EJD", "Ejendomme", "teknik", 3, "Ejendomsservice {district}"),
    ("1TEM", "2BOT", "Beredskab og Trafik", "teknik", 2, "Brandstation {place}"),
    ("1KUF", "2BIB", "Biblioteker", "kultur", 6, "{place} Bibliotek"),
    ("1KUF", "2KUE", "Kultur og Events", "kultur", 2, "Team {topic}"),
    ("1KUF", "2FRI", "Fritid og Idræt", "kultur", 3, "{place} Idrætscenter"),
    ("1KUF", "2MUS", "Musikskolen", "kultur", 0, ""),
    ("1BES", "2JOB", "Jobcenter", "besk", 5, "Jobcenter team {topic}"),
    ("1BES", "2YDE", "Ydelse", "adm", 3, "Team {topic}"),
    ("1BES", "2INT", "Integration", "besk", 2, "Team {topic}"),
    ("1BES", "2UNU", "Unge og Uddannelse", "besk", 3, "Ungeteam {district}"),
)

#: Average staff of one enhed by kind (an afdeling without enheder counts three times).
KIND_SIZE: dict[str, float] = {
    "dagtilbud": 16, "skole": 48, "pleje": 50, "hjemmepleje": 42, "sundhed": 18, "social": 22,
    "adm": 9, "it": 11, "teknik": 12, "kultur": 9, "besk": 13,
}

MOVED_AFDELING = ("2BSV", "1ITD")  # Borgerservice moves to IT og Digitalisering in 2024
NEW_AFDELING = ("2DIV", "Digital Velfærd", "1SOS", "2SOF")  # code, name, parent, fallback
NEW_AFDELING_ENHEDER = ("Velfærdsteknologi", "Skærmbesøg", "Digital Træning")

_ALNUM = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), dtype=object)
_LETTERS = _ALNUM[:26]


@dataclass
class OrgHistory:
    """All units ever seen, with presence and parent per HR extract (see module docstring)."""

    units: pd.DataFrame  # one row per code; columns documented in build_org_history

    def present(self, e: int) -> np.ndarray:
        """Boolean mask of the units that exist in extract ``e``."""
        return (self.units["first"].to_numpy() <= e) & (self.units["last"].to_numpy() >= e)

    def tree(self, e: int) -> pd.DataFrame:
        """The tree of extract ``e``: code, name, parent, level, niveau, kind, ny2, ny1, depth."""
        u = self.units.loc[self.present(e)].copy()
        u["parent"] = u[f"parent{e}"]
        parent_of = dict(zip(u["code"], u["parent"], strict=True))
        level_of = dict(zip(u["code"], u["level"], strict=True))
        # Ancestors at forvaltning (ny2) and afdeling (ny1) level, walked up at most three steps.
        ny2 = pd.Series(np.where(u["level"] == "ny2", u["code"], ""), index=u.index, dtype=object)
        ny1 = pd.Series(np.where(u["level"] == "ny1", u["code"], ""), index=u.index, dtype=object)
        cur = u["parent"].copy()
        depth = np.zeros(len(u), dtype=np.int64)
        for _ in range(4):
            has = cur.fillna("") != ""
            depth += has.to_numpy()
            lv = cur.map(level_of)
            ny2 = ny2.where(~((lv == "ny2") & (ny2 == "")), cur)
            ny1 = ny1.where(~((lv == "ny1") & (ny1 == "")), cur)
            cur = cur.map(parent_of)
        u["ny2"] = ny2
        u["ny1"] = ny1
        u["depth"] = depth
        # SD lists a unit right after its parent: order by the creation sequence along the path.
        seq = dict(zip(u["code"], u["seq"], strict=True))
        key = (
            u["ny2"].map(seq).fillna(-1).astype(np.int64) * 10**12
            + u["ny1"].map(seq).fillna(-1).astype(np.int64).clip(lower=0) * 10**6
            + np.where(u["level"] == "enhed", u["seq"], 0)
        )
        key = np.where(u["level"] == "root", -1, key)
        u = u.assign(_key=key).sort_values(["_key", "seq"], kind="stable").drop(columns="_key")
        return u.reset_index(drop=True)

    def resolve_idx(self, idx: np.ndarray, e: int) -> np.ndarray:
        """Map unit row indices to units that exist in extract ``e`` by following ``fallback`` links.

        Integer-indexed so that 500,000 employments resolve in milliseconds.
        """
        u = self.units
        first = u["first"].to_numpy()
        last = u["last"].to_numpy()
        row_of = {c: i for i, c in enumerate(u["code"])}
        fb = np.array([row_of.get(c, i) if isinstance(c, str) else i for i, c in enumerate(u["fallback"])])
        out = np.asarray(idx, dtype=np.int64)
        for _ in range(5):
            missing = (first[out] > e) | (last[out] < e)
            if not missing.any():
                return out
            out = np.where(missing, fb[out], out)
        raise AssertionError(f"cannot resolve units at extract {e}")

    def resolve(self, codes: np.ndarray, e: int) -> np.ndarray:
        """Like :meth:`resolve_idx`, for unit codes."""
        row_of = {c: i for i, c in enumerate(self.units["code"])}
        idx = np.array([row_of[c] for c in codes], dtype=np.int64)
        return self.units["code"].to_numpy(dtype=object)[self.resolve_idx(idx, e)]


def _random_codes(
    rng: np.random.Generator, n: int, prefix: str, taken: set[str], letters_only: bool
) -> list[str]:
    """Draw ``n`` unique SD-style codes ``prefix + 3 chars`` not in ``taken`` (and add them to it)."""
    if letters_only:
        space = 26**3
        idx = rng.permutation(space)
        c1, c2, c3 = _LETTERS[idx // 676], _LETTERS[(idx // 26) % 26], _LETTERS[idx % 26]
    else:
        space = 26 * 36 * 36
        idx = rng.permutation(space)
        c1, c2, c3 = _LETTERS[idx // 1296], _ALNUM[(idx // 36) % 36], _ALNUM[idx % 36]
    cand = (prefix + c1 + c2 + c3).tolist()
    out: list[str] = []
    for c in cand:  # walks only until n fresh codes are found (n <= a few thousand)
        if c not in taken:
            out.append(c)
            taken.add(c)
            if len(out) == n:
                break
    return out


def _enhed_names(pattern: str, kind: str, start: int, n: int) -> list[str]:
    """Names for ``n`` enheder of one pattern; the counter ``start`` keeps names unique.

    Place and district names are counted per pattern over the whole tree (so two afdelinger never
    both have "Børnehuset Vojens"), team topics per afdeling; a second round gets a number suffix.
    """
    vocab = names.PLACES
    if "{topic}" in pattern:
        vocab = names.TEAM_TOPICS[kind]
    elif "{district}" in pattern:
        vocab = names.DISTRICTS
    idx = np.arange(start, start + n)
    word = np.array(vocab, dtype=object)[idx % len(vocab)]
    rounds = idx // len(vocab)
    head, _, rest = pattern.partition("{")
    base = head + word + rest.partition("}")[2]
    base = np.where(rounds > 0, base + " " + (rounds + 1).astype(str).astype(object), base)
    return list(base)


def _counter_key(pattern: str, afd: str) -> str:
    """Team topics restart per afdeling; place and district names are unique per pattern."""
    return afd if "{topic}" in pattern else pattern


def build_org_history(cfg: ScaleConfig, rng: np.random.Generator) -> OrgHistory:
    """Build the union tree with the reorganisations described in the module docstring.

    Columns: code, name, level, kind, seq (creation order), first/last (extract indices),
    parent0..parent2 (parent per extract), fallback (unit to use where this one does not exist).
    """
    n_ext = len(HR_DATES)
    rows: list[dict[str, object]] = []
    taken: set[str] = {cfg.root_code, *(f[0] for f in FORVALTNINGER), *(a[1] for a in AFDELINGER),
                       NEW_AFDELING[0]}

    def add(code: str, name: str, level: str, kind: str, parent: str | None, first: int = 0,
            fallback: str | None = None) -> None:
        rows.append({"code": code, "name": name, "level": level, "kind": kind, "seq": len(rows),
                     "first": first, "last": n_ext - 1, "fallback": fallback,
                     **{f"parent{e}": parent for e in range(n_ext)}})

    add(cfg.root_code, cfg.root_name, "root", "adm", None)
    for code, name in FORVALTNINGER:
        add(code, name, "ny2", "adm", cfg.root_code)

    copies = cfg.afdeling_copies
    extra_afd = _random_codes(rng, len(AFDELINGER) * (copies - 1), "2", taken, True)
    kind_counter: dict[str, int] = {}
    enhed_specs: list[tuple[str, str, str]] = []  # (afdeling code, name pattern, kind)
    afd_codes: dict[str, list[str]] = {}
    for k in range(copies):
        for forv, code, name, kind, n_enh, pattern in AFDELINGER:
            acode = code if k == 0 else extra_afd.pop()
            aname = name if copies == 1 else f"{name} (område {k + 1})"
            add(acode, aname, "ny1", kind, forv)
            afd_codes.setdefault(code, []).append(acode)
            for _ in range(n_enh * cfg.enhed_factor):
                enhed_specs.append((acode, pattern, kind))

    # Enheder: codes drawn in one go (with spares for the units created later), names per pattern.
    enh_codes = _random_codes(rng, len(enhed_specs) + 20 * copies * cfg.enhed_factor + 200, "3", taken, False)
    enh_iter = iter(enh_codes)
    spec_df = pd.DataFrame(enhed_specs, columns=["afd", "pattern", "kind"])
    for (afd, pattern, kind), grp in spec_df.groupby(["afd", "pattern", "kind"], sort=False):
        key = _counter_key(pattern, afd)
        start = kind_counter.get(key, 0)
        kind_counter[key] = start + len(grp)
        for nm in _enhed_names(pattern, kind, start, len(grp)):
            add(next(enh_iter), nm, "enhed", kind, afd)

    # --- 2024 (extract 1): new afdeling with enheder, one afdeling moved, new and closed enheder.
    new_code, new_name, new_parent, new_fb = NEW_AFDELING
    extra_new = _random_codes(rng, copies - 1, "2", taken, True)
    for k in range(copies):
        acode = new_code if k == 0 else extra_new[k - 1]
        fb = afd_codes[new_fb][k]
        add(acode, new_name if copies == 1 else f"{new_name} (område {k + 1})", "ny1", "sundhed",
            new_parent, first=1, fallback=fb)
        for j in range(len(NEW_AFDELING_ENHEDER) * cfg.enhed_factor):
            base = NEW_AFDELING_ENHEDER[j % len(NEW_AFDELING_ENHEDER)]
            nm = base if j < len(NEW_AFDELING_ENHEDER) else f"{base} {j // len(NEW_AFDELING_ENHEDER) + 1}"
            add(next(enh_iter), nm, "enhed", "sundhed", acode, first=1, fallback=acode)
    units = pd.DataFrame(rows)
    moved_code, moved_to = MOVED_AFDELING
    moved = units["code"].isin(afd_codes[moved_code])
    for e in range(1, n_ext):
        units.loc[moved, f"parent{e}"] = moved_to

    base_enh = units.index[(units["level"] == "enhed") & (units["first"] == 0)].to_numpy()
    n_enh = len(base_enh)
    n_new = max(2, round(0.01 * n_enh))
    n_gone = max(1, round(0.005 * n_enh))
    # Afdelinger with at least three enheder can lose one to a merger and still have a sibling.
    sib_count = units.loc[base_enh, "parent0"].value_counts().sort_index()
    big_afd = sib_count[sib_count >= 3].index.to_numpy()
    big_afd = big_afd[~np.isin(big_afd, afd_codes[moved_code])]
    chosen_afd = rng.choice(big_afd, size=2 * n_gone, replace=len(big_afd) < 2 * n_gone)
    by_afd = units.loc[base_enh].groupby("parent0")["code"].apply(list)
    gone: list[tuple[str, str, int]] = []  # (closed code, merged into, last extract)
    used: set[str] = set()
    for i, afd in enumerate(chosen_afd):
        sibs = [c for c in by_afd[afd] if c not in used]
        if len(sibs) < 2:
            continue
        pick = sibs[int(rng.integers(1, len(sibs)))]
        used.update({pick, sibs[0]})
        gone.append((pick, sibs[0], 0 if i < n_gone else 1))
    for code, into, last in gone:
        m = units["code"] == code
        units.loc[m, "last"] = last
        units.loc[m, "fallback"] = into

    afd_with_enh = sib_count.index.to_numpy()
    pattern_of = spec_df.drop_duplicates("afd").set_index("afd")["pattern"]
    kind_of = dict(zip(units["code"], units["kind"], strict=True))
    new_rows: list[dict[str, object]] = []
    for e in (1, 2):
        for p in rng.choice(afd_with_enh, size=n_new, replace=len(afd_with_enh) < n_new):
            pat = str(pattern_of[p])
            key = _counter_key(pat, p)
            start = kind_counter.get(key, 0)
            kind_counter[key] = start + 1
            new_rows.append({
                "code": next(enh_iter), "name": _enhed_names(pat, kind_of[p], start, 1)[0],
                "level": "enhed", "kind": kind_of[p], "seq": 0, "first": e, "last": n_ext - 1,
                "fallback": p, **{f"parent{x}": p for x in range(n_ext)},
            })
    units = pd.concat([units, pd.DataFrame(new_rows)], ignore_index=True)

    # --- 2025 (extract 2): a few enheder move to another afdeling of the same forvaltning.
    old_afd = (units["level"] == "ny1") & (units["first"] == 0)
    forv_of_afd = dict(zip(units.loc[old_afd, "code"], units.loc[old_afd, "parent0"], strict=True))
    stable = units.index[(units["level"] == "enhed") & (units["first"] == 0) & (units["last"] == n_ext - 1)
                         & ~units["code"].isin(used)].to_numpy()
    n_move = max(1, round(0.005 * n_enh))
    for idx in rng.choice(stable, size=n_move, replace=False):
        cur = units.at[idx, "parent2"]
        options = sorted(a for a, f in forv_of_afd.items() if f == forv_of_afd[cur] and a != cur)
        if options:
            units.at[idx, "parent2"] = options[int(rng.integers(len(options)))]

    units["seq"] = np.arange(len(units))
    return OrgHistory(units.reset_index(drop=True))
