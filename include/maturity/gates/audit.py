"""The SPEC §3.9 privacy audit of a Parquet set about to be published: a blocking part of the mart gate.

For every wave × dimension the linear system of published sums is rebuilt from scratch — the counted
respondents (who sits in which unit, with which role) from the working warehouse, the published unit
rows and alignment row from the Parquet files — and handed to :func:`maturity.privacy.audit_linear`,
which knows nothing about how suppression was decided. Capacity is audited the same way per HR
extract, with the placed persons as the respondents. A blocking finding (a set of 1..min_cell − 1
respondents or persons, or a small suppressed unit, whose sum is determined by the published sums)
fails the gate.

A row counts as published unless it is marked suppressed *and* all its figures are null: a row with
figures is treated as published whatever its flag says.

The audit also checks its own premise: every published n (n_respondents, headcount) must equal the
number of counted respondents (persons) in the unit's subtree. If the Parquet set and the warehouse
disagree, the audit would be auditing something other than what is published, so that is blocking too.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from maturity import privacy
from maturity.gates.reuse import ResultStore
from maturity.privacy import audit_linear, role_class

SCORE_FIGURES = ("n_respondents", "current_mean", "current_sd", "consensus_rwg", "target_mean", "gap_mean",
                 "maturity_index", "target_index", "gap_index", "maturity_band")
ALIGNMENT_FIGURES = ("n_top", "n_leader", "top_mean", "leader_mean", "alignment_gap")
CAPACITY_FIGURES = ("headcount", "fte", "transformation_fte", "dedicated_fte", "dedicated_share")

MAX_EXAMPLES = 5


def _published(figures: Iterable[str]) -> str:
    """SQL: the row is published (not marked suppressed, or carrying any figure)."""
    return "(NOT coalesce(is_suppressed, false) OR " + " OR ".join(f"{c} IS NOT NULL" for c in figures) + ")"


@dataclass
class AuditOutcome:
    """What one part of the audit found; `blocking` and `premise` block the gate."""

    scope: str  # "survey" (scores + alignment) or "capacity"
    tables: str
    groups: int = 0
    blocking: list[dict[str, Any]] = field(default_factory=list)
    non_blocking: list[dict[str, Any]] = field(default_factory=list)
    premise: list[dict[str, Any]] = field(default_factory=list)


def _ancestors(parents: Mapping[str, str | None]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for unit in parents:
        chain, seen, node = [], set(), unit
        while node is not None and node in parents and node not in seen:
            chain.append(node)
            seen.add(node)
            node = parents[node]
        out[unit] = chain
    return out


def _subtree_counts(unit_counts: Mapping[str, int], ancestors: Mapping[str, list[str]]) -> dict[str, int]:
    """Respondents (or persons) per unit's subtree: each unit's count added to it and its ancestors.

    From the count per unit (DuckDB counts them), so the walk up the tree is once per unit, not once per
    respondent (kl: 0.6 million respondents in ~16,000 units)."""
    counts: dict[str, int] = defaultdict(int)
    for unit, n in unit_counts.items():
        for a in ancestors.get(unit, [unit]):
            counts[a] += n
    return counts


@dataclass
class _Members:
    """Who is counted in each group, as the audit reads it from the warehouse.

    `digests` and `units` (respondents per unit) come from one aggregate per table; the ordered lists
    `audit_linear` needs are read only for a group the cache does not have (`members`): at kl that skips
    reading 1.9 million rows into Python after a new wave, when 24 of 31 groups are reused.
    """

    wh: duckdb.DuckDBPyConnection
    table: str
    group_columns: tuple[str, ...]  # as selected (SQL expressions)
    member: str  # the member's id, which orders the members within a group
    columns: tuple[str, str]  # unit, and what is classified (role), or a constant
    digests: dict[tuple, str] = field(default_factory=dict)
    units: dict[tuple, dict[str, int]] = field(default_factory=dict)

    def load(self) -> None:
        """One pass: per group and unit the count and the sum of the members' hashes; a group's digest is
        its count and hash sum over its units. It covers the members' ids, units and roles, so it fixes the
        ordered lists `members` returns."""
        groups = ", ".join(self.group_columns)
        unit, klass = self.columns
        sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
        for *group, value, n, total in self.wh.execute(
                f"SELECT {groups}, {unit}, count(*), sum(hash({self.member}, {unit}, {klass})::HUGEINT) "
                f"FROM {self.table} GROUP BY ALL").fetchall():
            self.units.setdefault(tuple(group), {})[str(value)] = n
            sums[tuple(group)][0] += n
            sums[tuple(group)][1] += int(total)
        self.digests = {group: f"{n}:{total}" for group, (n, total) in sums.items()}

    def members(self, group: tuple) -> tuple[list[str], list[Any]]:
        """The group's members in `member` order: their units and their role (or the constant)."""
        unit, klass = self.columns
        where = " AND ".join(f"{c} = ?" for c in self.group_columns)
        rows = self.wh.execute(f"SELECT {unit}, {klass} FROM {self.table} WHERE {where} ORDER BY {self.member}",
                               list(group)).fetchall()
        return [str(u) for u, _ in rows], [k for _, k in rows]


def _finding(group: dict[str, Any], finding: Any, units: list[str]) -> dict[str, Any]:
    """A finding as an example row: where, what kind, how many, in which units (never who)."""
    out = {**group, "kind": finding.kind, "size": finding.size,
           "units": ",".join(sorted({units[i] for i in finding.respondents}))}
    if finding.kind == "suppressed_unit":
        out["unit"] = finding.unit
    return out


class AuditCache:
    """The findings of earlier audits, by a digest of everything a group's audit reads.

    `audit_linear` is a pure function of a group's respondents (unit and class, in order), tree, published
    units, alignment flag and min_cell, so a group whose inputs are those of an earlier audit has that
    audit's findings. The respondents enter the key as _Members' digest (their count and the sum of the
    64-bit hashes of each one's id, unit and role, as the raw gate's reuse digests), the rest as they are.
    When one new wave lands, only its wave × dimension groups are new; the earlier waves and unchanged HR
    extracts are not solved again (at the kl scale the linear algebra is ~8 s of the mart gate). Each group
    is stored (reuse.ResultStore) with a digest of the audit's code: changed code audits every group again.
    Only the groups of the latest audit are kept.
    """

    def __init__(self, path: Path | None) -> None:
        self.code = hashlib.sha256(Path(privacy.__file__).read_bytes() + Path(__file__).read_bytes()).hexdigest()
        self._store = ResultStore(path) if path is not None else None
        self.reused = 0

    @staticmethod
    def key(group: Mapping[str, Any], members: str, parents: Mapping[str, str | None],
            published: set[str], alignment: bool, min_cell: int) -> str:
        """`members`: _Members' digest of the group's respondents (ids, units, roles)."""
        h = hashlib.sha256()
        for part in (json.dumps(group, sort_keys=True, default=str), members,
                     "\x1f".join(f"{u}\x1e{'' if p is None else p}" for u, p in parents.items()),
                     "\x1f".join(sorted(published)), str(alignment), str(min_cell)):
            h.update(part.encode())
            h.update(b"\x1d")
        return h.hexdigest()

    def get(self, key: str) -> dict[str, list[dict[str, Any]]] | None:
        found = self._store.get(key, self.code) if self._store is not None else None
        if isinstance(found, dict) and isinstance(found.get("blocking"), list) \
                and isinstance(found.get("non_blocking"), list):
            self.reused += 1
            return found
        return None

    def put(self, key: str, findings: dict[str, list[dict[str, Any]]]) -> None:
        if self._store is not None:
            self._store.put(key, self.code, findings)

    def save(self) -> None:
        if self._store is not None:
            self._store.save()


def _audit_group(outcome: AuditOutcome, group: dict[str, Any], members: Callable[[], tuple[list[str], list[str]]],
                 digest: str, parents: dict[str, str | None], published: set[str], alignment: bool, min_cell: int,
                 cache: AuditCache | None = None) -> None:
    """Audit one group; `members()` reads its respondents' units and classes (only when not cached)."""
    outcome.groups += 1
    key = cache.key(group, digest, parents, published, alignment, min_cell) if cache is not None else ""
    found = cache.get(key) if cache is not None else None
    if found is None:
        found = {"blocking": [], "non_blocking": []}
        units, classes = members()
        try:
            findings = audit_linear(units, classes, parents, published, alignment_published=alignment,
                                    min_cell=min_cell)
        except ValueError as exc:  # a published unit or a respondent outside the tree: cannot be audited
            found["blocking"].append({**group, "kind": "unauditable", "detail": str(exc)})
        else:
            for f in findings:
                found["blocking" if f.blocking else "non_blocking"].append(_finding(group, f, units))
        if cache is not None:
            cache.put(key, found)
    outcome.blocking += [dict(f) for f in found["blocking"]]
    outcome.non_blocking += [dict(f) for f in found["non_blocking"]]


def _premise(outcome: AuditOutcome, group: dict[str, Any], published_n: Mapping[str, Any],
             counts: Mapping[str, int], what: str) -> None:
    for unit, n in published_n.items():
        if n is not None and int(n) != counts.get(unit, 0):
            outcome.premise.append({**group, "kind": "premise", "unit": unit, "published": int(n),
                                    "counted": counts.get(unit, 0),
                                    "detail": f"published {what} {int(n)} but the warehouse counts "
                                              f"{counts.get(unit, 0)} in the subtree"})


def audit_survey(pub: duckdb.DuckDBPyConnection, wh: duckdb.DuckDBPyConnection, min_cell: int,
                 cache: AuditCache | None = None) -> AuditOutcome:
    """Scores and alignment, per wave × dimension (SPEC §3.9)."""
    outcome = AuditOutcome("survey", "fct_maturity_scores + fct_leadership_alignment")
    respondents = _Members(wh, "intermediate.int_respondent_dimensions_scored", ("wave_id", "dimension_id"),
                           "respondent_id", ("org_unit_id", "role"))
    respondents.load()

    def classified(wave: str, dim: str) -> tuple[list[str], list[str]]:
        units, roles = respondents.members((wave, dim))
        return units, [role_class(r) for r in roles]

    trees: dict[str, dict[str, str | None]] = defaultdict(dict)
    for wave, unit, parent in wh.execute(
            "SELECT w.wave_id, o.org_unit_id, o.parent_org_unit_id FROM marts.dim_org_units AS o "
            "JOIN marts.dim_waves AS w ON o.extract_date = w.hr_extract_date "
            "ORDER BY w.wave_id, o.org_unit_id").fetchall():
        trees[wave][str(unit)] = None if parent is None else str(parent)
    published: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for wave, dim, unit, n in pub.execute(
            f"SELECT wave_id, dimension_id, org_unit_id, n_respondents FROM fct_maturity_scores "
            f"WHERE {_published(SCORE_FIGURES)}").fetchall():
        published[(wave, dim)][str(unit)] = n
    alignment = {(w, d) for w, d in pub.execute(
        f"SELECT wave_id, dimension_id FROM fct_leadership_alignment WHERE {_published(ALIGNMENT_FIGURES)}"
    ).fetchall()}
    ancestors = {wave: _ancestors(parents) for wave, parents in trees.items()}
    for wave, dim in sorted(set(respondents.digests) | set(published) | alignment):
        group = {"wave_id": wave, "dimension_id": dim}
        parents = trees.get(wave, {})
        _audit_group(outcome, group, partial(classified, wave, dim), respondents.digests.get((wave, dim), "0:None"),
                     parents, set(published.get((wave, dim), {})), (wave, dim) in alignment, min_cell, cache)
        _premise(outcome, group, published.get((wave, dim), {}),
                 _subtree_counts(respondents.units.get((wave, dim), {}), ancestors.get(wave, {})), "n_respondents")
    return outcome


def audit_capacity(pub: duckdb.DuckDBPyConnection, wh: duckdb.DuckDBPyConnection, min_cell: int,
                   cache: AuditCache | None = None) -> AuditOutcome:
    """Transformation capacity, per HR extract, with n = headcount (SPEC §3.8, §3.9)."""
    outcome = AuditOutcome("capacity", "fct_transformation_capacity")
    persons = _Members(wh, "intermediate.int_persons_placed", ("CAST(extract_date AS VARCHAR)",), "person_key",
                       ("placed_org_unit_id", "'other'"))
    persons.load()
    trees: dict[str, dict[str, str | None]] = defaultdict(dict)
    for extract, unit, parent in wh.execute(
            "SELECT CAST(extract_date AS VARCHAR), org_unit_id, parent_org_unit_id FROM marts.dim_org_units "
            "ORDER BY extract_date, org_unit_id").fetchall():
        trees[extract][str(unit)] = None if parent is None else str(parent)
    published: dict[str, dict[str, Any]] = defaultdict(dict)
    for extract, unit, n in pub.execute(
            f"SELECT CAST(extract_date AS VARCHAR), org_unit_id, headcount FROM fct_transformation_capacity "
            f"WHERE {_published(CAPACITY_FIGURES)}").fetchall():
        published[extract][str(unit)] = n
    for extract in sorted({g for (g,) in persons.digests} | set(published)):
        group = {"extract_date": extract}
        parents = trees.get(extract, {})
        _audit_group(outcome, group, partial(persons.members, (extract,)), persons.digests.get((extract,), "0:None"),
                     parents, set(published.get(extract, {})), False, min_cell, cache)
        _premise(outcome, group, published.get(extract, {}),
                 _subtree_counts(persons.units.get((extract,), {}), _ancestors(parents)), "headcount")
    return outcome
