"""SPEC §3.9 small cells: the residual suppression rule, the exact alignment check and a linear-algebra audit.

One implementation shared by the dbt Python models (which decide what is suppressed in the marts) and the
publish gate (which re-checks the result as a blocking condition). Everything here is pure Python; pandas
is imported only by :func:`suppress_frame`.

Objective (§3.9): no sum over a non-empty set of fewer than ``min_cell`` respondents (persons, for capacity)
may be a linear combination of the published sums of one wave × dimension (one extract for capacity).

Why the pieces fit together
---------------------------
*Residual blocks.* Every unit's n is pooled over its subtree, so a published unit's sum is the sum of the
residual blocks of the published units in its subtree (a unit's residual block = the respondents whose
nearest published ancestor-or-self is that unit). That map is unitriangular (order the units by depth), so
the published unit sums span exactly the block indicator vectors 1_B. After the tree rule every block has
0 or ≥ min_cell respondents, and the only 0/1 vectors in the span of disjoint block indicators are unions
of blocks — so the tree alone never discloses a small set.

*Alignment.* §3.4 adds two sums over the whole root: T (direktion + chef) and L (leder). A vector of the
row space is then x_r = a_B + α·[r top] + β·[r leader] for r in block B, constant on every
(block, class) *cell*. :func:`alignment_disclosure` searches that family exactly.

*Audit.* :func:`audit_linear` / :func:`audit_vectors` redo the check from scratch with exact rational
linear algebra on the 0/1 matrix of published sums, knowing nothing about blocks or classes; the tests use
it to prove that the rule plus the alignment check meet the objective, and the publish gate can run it.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

CLASSES: tuple[str, str, str] = ("top", "leader", "other")
"""Role classes of §3.4: ``top`` = direktion or chef, ``leader`` = leder, ``other`` = every other role."""

_TOP_ROLES = frozenset({"direktion", "chef"})
_LEADER_ROLES = frozenset({"leder"})

# The alignment search range for the coefficients of T and L; see alignment_disclosure for the proof.
_COEFFICIENTS = range(-2, 3)


def role_class(role: str | None) -> str:
    """Map a canonical §2.3 role (direktion, chef, leder, medarbejder, andet) to its §3.4 class."""
    if role in _TOP_ROLES:
        return "top"
    if role in _LEADER_ROLES:
        return "leader"
    return "other"


# --------------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tree:
    """An org tree in index form: built once and reused for every group that shares it."""

    ids: tuple[str, ...]
    parent: tuple[int, ...]  # -1 for the root
    order: tuple[int, ...]  # every index, sorted by (depth, org_unit_id as text): parents come first
    root: int


def _is_missing(value: object) -> bool:
    """None, NaN, pandas NA/NaT: a missing parent marks the root."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT are the only values unequal to themselves
    except (TypeError, ValueError):  # pandas.NA refuses bool()
        return True


def _build_tree(ids: Sequence[str], parents: Sequence[str | None]) -> _Tree:
    """Index the tree and check it is one tree (§2.4): unique ids, one root, known parents, no cycle."""
    index: dict[str, int] = {}
    for i, uid in enumerate(ids):
        if uid in index:
            raise ValueError(f"org unit {uid!r} appears more than once in one group")
        index[uid] = i
    parent: list[int] = []
    roots: list[int] = []
    children: list[list[int]] = [[] for _ in ids]
    for i, p in enumerate(parents):
        if p is None:
            parent.append(-1)
            roots.append(i)
            continue
        pi = index.get(p)
        if pi is None:
            raise ValueError(f"org unit {ids[i]!r} has parent {p!r}, which is not in the group")
        parent.append(pi)
        children[pi].append(i)
    if len(roots) != 1:
        named = ", ".join(repr(ids[r]) for r in roots[:5]) or "none"
        raise ValueError(f"a group must hold exactly one tree with one root; roots found: {named}")
    depth = [-1] * len(ids)
    depth[roots[0]] = 0
    level = [roots[0]]
    while level:
        nxt = []
        for i in level:
            for c in children[i]:
                depth[c] = depth[i] + 1
                nxt.append(c)
        level = nxt
    unreached = [ids[i] for i, d in enumerate(depth) if d < 0]
    if unreached:
        raise ValueError(f"org units not reachable from the root (a cycle): {', '.join(map(repr, unreached[:5]))}")
    order = sorted(range(len(ids)), key=lambda i: (depth[i], ids[i]))
    return _Tree(tuple(ids), tuple(parent), tuple(order), roots[0])


def _suppress(tree: _Tree, n: Sequence[int], min_cell: int) -> list[bool]:
    """The §3.9 rule on an indexed tree; returns is_suppressed per index. See :func:`suppress_tree`."""
    if min_cell < 1:
        raise ValueError(f"min_cell must be at least 1, not {min_cell}")
    size = len(tree.ids)
    parent, ids = tree.parent, tree.ids
    child_total = [0] * size
    for i in range(size):
        if n[i] < 0:
            raise ValueError(f"org unit {ids[i]!r} has a negative n ({n[i]})")
        if parent[i] >= 0:
            child_total[parent[i]] += n[i]
    for i in range(size):
        if n[i] < child_total[i]:
            raise ValueError(
                f"org unit {ids[i]!r} has n = {n[i]} but its children add up to {child_total[i]}: "
                "n must be pooled over the subtree"
            )
    if n[tree.root] < min_cell:
        return [True] * size  # nothing of the group is published (§3.9, last paragraph)

    # Step 1. n is pooled, so a published unit's parent is published too: initially a published unit's
    # nearest published descendants are exactly its published children.
    published = [x >= min_cell for x in n]
    nearest: list[list[int]] = [[] for _ in range(size)]
    residual = list(n)
    for i in range(size):
        p = parent[i]
        if p >= 0 and published[i]:
            nearest[p].append(i)
            residual[p] -= n[i]

    # Step 3, top-down. Suppressing v (a nearest published descendant of u) changes only u's residual:
    # v's subtree is below u, and u sits between v and every other published ancestor. Units already
    # processed are never touched again, and the candidates' own residuals stay fixed while u is processed
    # (they change only when the candidate itself is processed, later). Two heaps keyed (n, id) therefore
    # give the choice "smallest n among residual >= 1, else smallest n" without rescanning.
    for u in tree.order:
        if not published[u] or not 1 <= residual[u] < min_cell:
            continue
        positive: list[tuple[int, str, int]] = []
        zero: list[tuple[int, str, int]] = []
        for c in nearest[u]:
            (positive if residual[c] >= 1 else zero).append((n[c], ids[c], c))
        heapq.heapify(positive)
        heapq.heapify(zero)
        r = residual[u]
        while 1 <= r < min_cell:
            # r + (n of the nearest published descendants) = n[u] >= min_cell, so a candidate exists.
            _, _, v = heapq.heappop(positive if positive else zero)
            published[v] = False
            r += residual[v]  # v's block joins u's block
            for c in nearest[v]:
                heapq.heappush(positive if residual[c] >= 1 else zero, (n[c], ids[c], c))
        residual[u] = r
    return [not p for p in published]


def _unpack_units(units: Iterable[Sequence[Any]]) -> tuple[list[str], list[str | None], list[Any]]:
    ids: list[str] = []
    parents: list[str | None] = []
    rest: list[Any] = []
    for unit in units:
        uid, parent = unit[0], unit[1]
        ids.append(str(uid))
        parents.append(None if _is_missing(parent) else str(parent))
        rest.append(unit[2] if len(unit) > 2 else None)
    return ids, parents, rest


def _as_count(value: Any, uid: str) -> int:
    """A respondent or head count: a missing n means no one (0); a fractional n is a caller bug."""
    if _is_missing(value):
        return 0
    count = int(value)
    if count != value:
        raise ValueError(f"org unit {uid!r} has a non-integer n ({value!r})")
    return count


def suppress_tree(units: Iterable[tuple[str, str | None, int]], min_cell: int) -> dict[str, bool]:
    """Apply the §3.9 residual rule to ONE tree and group (one wave × dimension, or one extract).

    ``units`` holds (org_unit_id, parent_org_unit_id, n) for every unit of the tree, the root's parent being
    None; n is pooled over the subtree (a unit's own direct respondents plus its descendants'). Returns
    org_unit_id → is_suppressed. Ids are compared as text, so ties and the processing order follow
    ``org_unit_id`` as text. A missing n counts as 0.

    The rule, read literally:

    1. A unit is published iff n ≥ min_cell. If the root is not, nothing in the group is published.
    2. The residual of a published unit = its n minus the n of its nearest published descendants, i.e. the
       number of respondents whose nearest published ancestor-or-self is the unit (never negative).
    3. Published units are processed once each, top-down by (depth, org_unit_id). While the unit's
       residual is in [1, min_cell − 1], suppress among its nearest published descendants with residual
       ≥ 1 the one with the smallest n (ties: lowest id) — if none has residual ≥ 1 (fallback), the one
       with the smallest n (ties: lowest id) — and recompute: the suppressed unit's nearest published
       descendants become the unit's, and its residual is added to the unit's.

    Reading of "recompute": one pass is enough. A suppression changes only the residual of the unit
    being processed (the suppressed unit's nearest published ancestor is unique), never one of a unit
    already processed, and a unit is suppressed only while an ancestor is processed, i.e. before its own
    turn. So at the end every published residual is 0 or ≥ min_cell, which makes the published unit sums
    span only unions of blocks of size 0 or ≥ min_cell (see the module docstring).

    Consequence of the literal fallback worth knowing: a unit suppressed with residual 0 can stay
    recoverable (its sum is the sum of published units below it) when the loop then goes on elsewhere.
    It holds ≥ min_cell respondents, so the objective is still met; :func:`audit_linear` reports it as a
    non-blocking finding.
    """
    ids, parents, counts = _unpack_units(units)
    if not ids:
        return {}
    tree = _build_tree(ids, parents)
    flags = _suppress(tree, [_as_count(c, uid) for uid, c in zip(ids, counts, strict=True)], min_cell)
    return dict(zip(ids, flags, strict=True))


def residual_blocks(units: Iterable[Sequence[Any]], published: Collection[str]) -> dict[str, str | None]:
    """For every unit, the published unit whose residual block it belongs to (None if there is none).

    The block of a unit is its nearest published ancestor-or-self: its direct respondents are counted in
    that unit's residual. ``units`` are (org_unit_id, parent_org_unit_id, ...) tuples of one tree; further
    tuple items (such as n) are ignored.
    """
    ids, parents, _ = _unpack_units(units)
    tree = _build_tree(ids, parents)
    pub = {str(p) for p in published}
    block: list[str | None] = [None] * len(ids)
    for i in tree.order:
        if ids[i] in pub:
            block[i] = ids[i]
        elif tree.parent[i] >= 0:
            block[i] = block[tree.parent[i]]
    return dict(zip(ids, block, strict=True))


def suppress_frame(df: pd.DataFrame, group_cols: list[str], min_cell: int) -> pd.DataFrame:
    """Apply :func:`suppress_tree` per group of a frame of aggregated unit rows.

    ``df`` has ``group_cols`` + ``org_unit_id``, ``parent_org_unit_id`` (null for the root) and ``n``;
    other columns pass through. Returns a copy with a boolean ``is_suppressed`` column, same rows, same
    order, same index. Each group must hold exactly one whole tree. Groups that share the same tree
    (same units, same parents, same row order) reuse one indexed tree, so the cost per group is a few
    linear passes plus one heap per unit whose residual needs fixing.
    """
    import numpy as np
    import pandas as pd

    missing = [c for c in [*group_cols, "org_unit_id", "parent_org_unit_id", "n"] if c not in df.columns]
    if missing:
        raise ValueError(f"suppress_frame needs the columns {missing}")
    out = df.copy()
    if df.empty:
        out["is_suppressed"] = pd.Series(dtype=bool)
        return out
    ids = [str(x) for x in df["org_unit_id"].tolist()]
    parents = [None if _is_missing(p) else str(p) for p in df["parent_org_unit_id"].tolist()]
    counts = [_as_count(c, uid) for uid, c in zip(ids, df["n"].tolist(), strict=True)]
    # Group positions via ngroup (robust to null keys), each group's rows kept in frame order.
    codes = df.groupby(group_cols, sort=False, dropna=False).ngroup().to_numpy() if group_cols else np.zeros(len(df))
    by_code = np.argsort(codes, kind="stable")
    groups = np.split(by_code, np.flatnonzero(np.diff(codes[by_code])) + 1)
    flags = np.zeros(len(df), dtype=bool)
    trees: dict[tuple[tuple[str, ...], tuple[str | None, ...]], _Tree] = {}
    for positions in groups:
        pos = positions.tolist()
        key = (tuple(ids[i] for i in pos), tuple(parents[i] for i in pos))
        tree = trees.get(key)
        if tree is None:
            tree = trees[key] = _build_tree(key[0], key[1])
        flags[positions] = _suppress(tree, [counts[i] for i in pos], min_cell)
    out["is_suppressed"] = flags
    return out


# --------------------------------------------------------------------------------------------------
# The exact alignment check
# --------------------------------------------------------------------------------------------------


def _cell_counts(block: Hashable, counts: Mapping[str, int]) -> tuple[int, int, int]:
    unknown = set(counts) - set(CLASSES)
    if unknown:
        raise ValueError(f"block {block!r}: unknown role classes {sorted(unknown)} (expected {CLASSES})")
    top, leader, other = (int(counts.get(c, 0)) for c in CLASSES)
    if min(top, leader, other) < 0:
        raise ValueError(f"block {block!r}: negative cell count")
    return top, leader, other


def _block_options(
    counts: tuple[int, int, int], alpha: int, beta: int, free: bool
) -> list[tuple[int, tuple[str, ...]]]:
    """The distinct ways block B can take part in X for fixed (α, β): (size, classes of the cells in X).

    Cell values are a_B + (α, β, 0)[class]; every non-empty cell must be 0 or 1. a_B is one of
    −offset or 1 − offset of some non-empty cell (any valid a_B makes that cell 0 or 1). The block of
    respondents in no published block has no a_B of its own (``free`` False: a_B = 0).
    """
    offsets = (alpha, beta, 0)
    nonempty = [k for k in range(3) if counts[k] > 0]
    if not nonempty:
        return [(0, ())]
    candidates = {a for k in nonempty for a in (-offsets[k], 1 - offsets[k])} if free else {0}
    options: dict[tuple[str, ...], int] = {}
    for a in candidates:
        values = [a + offsets[k] for k in nonempty]
        if all(v in (0, 1) for v in values):
            chosen = tuple(CLASSES[k] for k, v in zip(nonempty, values, strict=True) if v == 1)
            options[chosen] = sum(counts[CLASSES.index(c)] for c in chosen)
    return [(s, chosen) for chosen, s in options.items()]


def alignment_disclosure(
    cells: Mapping[str | None, Mapping[str, int]], min_cell: int
) -> frozenset[tuple[str | None, str]] | None:
    """Does publishing the two alignment group sums (§3.4) next to the unit sums disclose a small set?

    ``cells`` maps a residual block (the id of its published unit) to the counted respondents per class:
    {"top": n, "leader": n, "other": n} (missing classes count 0). The key None collects respondents in
    no published block; it only occurs when the root itself is suppressed. Returns None when no set X of
    1..min_cell − 1 respondents is a linear combination of the published sums, else a witness: the
    (block, class) cells of a smallest such X.

    The published sums span x = Σ_B a_B·1_B + α·T + β·L, so x_r = a_B + α·[top] + β·[leader] on block B
    and x_r = α·[top] + β·[leader] outside every block. X is disclosed iff 1_X is such an x for some real
    a_B, α, β. Because a cell's members share one value, X is a union of cells, and the question is only
    which 0/1 patterns v over the non-empty cells are reachable.

    Why integer α, β in −2..2 suffice (for real coefficients too): a pattern v is reachable iff some
    (α, β) makes every block consistent — a_B exists iff all differences of cell offsets in B equal the
    differences of their values. Those conditions are linear equations of three shapes only:
    α = v_top − v_other (a block with top and other cells, or the outside block where a = 0 pins
    α = v_top), β = v_leader − v_other, and α − β = v_top − v_leader; every right-hand side is in
    {−1, 0, 1}. Any consistent system of them has a solution with α, β integers in [−2, 2]: a pinned
    coefficient lies in [−1, 1], one fixed through α − β = d from a pinned one lies in [−2, 2], and free
    coefficients can be set to 0 (or β = 0, α = d). With integer α, β, every a_B of a non-empty block
    is an integer (a_B + offset ∈ {0, 1}), so enumerating a_B ∈ {−offset, 1 − offset} finds every
    pattern. Coefficient 2 does occur (α = 1 pinned plus α − β = −1 forces β = 2), but such a pattern
    never involves a cell that pins β, so taking β = α instead and emptying the leader cells of the
    blocks that forced α − β = −1 gives a smaller, still non-empty disclosed set: −1..1 would already
    find a smallest X. −2..2 follows the spec's hint and costs only 16 more passes.

    For each (α, β) the blocks are folded one by one into the set of reachable totals below min_cell
    (sizes only add, so a total that reaches min_cell can be dropped), keeping one witness per total.
    With α = β = 0 the search covers plain unions of blocks too, so a block of 1..min_cell − 1
    respondents (a broken tree rule) is reported as well.
    """
    if min_cell < 1:
        raise ValueError(f"min_cell must be at least 1, not {min_cell}")
    blocks = [(b, _cell_counts(b, c)) for b, c in cells.items()]
    best: tuple[int, Any] | None = None
    for alpha in _COEFFICIENTS:
        for beta in _COEFFICIENTS:
            # reach: total → witness as a linked list ((block, classes), rest); () for the empty set.
            reach: dict[int, Any] = {0: ()}
            for block, counts in blocks:
                options = _block_options(counts, alpha, beta, free=block is not None)
                if options == [(0, ())]:
                    continue
                nxt: dict[int, Any] = {}
                for total, witness in reach.items():
                    for s, chosen in options:
                        t = total + s
                        if t < min_cell and t not in nxt:
                            nxt[t] = ((block, chosen), witness) if chosen else witness
                reach = nxt
                if not reach:
                    break
            small = [t for t in reach if t >= 1]
            if small:
                t = min(small)
                if best is None or t < best[0]:
                    best = (t, reach[t])
    if best is None:
        return None
    found: set[tuple[str | None, str]] = set()
    node = best[1]
    while node:
        (block, chosen), node = node
        found.update((block, c) for c in chosen)
    return frozenset(found)


def alignment_publishable(
    cells: Mapping[str | None, Mapping[str, int]], n_top: int, n_leader: int, min_cell: int
) -> bool:
    """§3.4: the alignment row is published iff both groups have ≥ min_cell and the exact check passes."""
    return n_top >= min_cell and n_leader >= min_cell and alignment_disclosure(cells, min_cell) is None


def alignment_cells(
    respondent_units: Sequence[str],
    respondent_classes: Sequence[str],
    blocks: Mapping[str, str | None],
) -> dict[str | None, dict[str, int]]:
    """Count respondents per (residual block, class), the input of :func:`alignment_disclosure`.

    ``blocks`` is the unit → block map of :func:`residual_blocks`; respondents are given by their direct
    unit and their class (see :func:`role_class`).
    """
    cells: dict[str | None, dict[str, int]] = {}
    for unit, cls in zip(respondent_units, respondent_classes, strict=True):
        if cls not in CLASSES:
            raise ValueError(f"unknown role class {cls!r} (expected {CLASSES})")
        counts = cells.setdefault(blocks[str(unit)], dict.fromkeys(CLASSES, 0))
        counts[cls] += 1
    return cells


# --------------------------------------------------------------------------------------------------
# The linear-algebra audit
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One thing the published sums give away.

    ``kind`` is ``small_set`` (a set of 1..min_cell − 1 respondents whose sum is a linear combination of
    published sums: a breach of the §3.9 objective, always blocking) or ``suppressed_unit`` (a suppressed
    unit's subtree sum is such a combination: blocking when it covers fewer than min_cell respondents;
    with ≥ min_cell it is over-suppression that hides nothing, e.g. after the literal fallback).
    """

    kind: Literal["small_set", "suppressed_unit"]
    respondents: frozenset[int]
    blocking: bool
    unit: str | None = None

    @property
    def size(self) -> int:
        return len(self.respondents)

    def __str__(self) -> str:
        what = f"suppressed unit {self.unit!r}" if self.kind == "suppressed_unit" else "a set"
        return f"{what} of {self.size} respondent(s) is determined by the published sums: {sorted(self.respondents)}"


class _RowSpace:
    """The row space of a 0/1 matrix over the rationals, in reduced row echelon form (exact)."""

    def __init__(self, rows: Iterable[dict[int, int]]) -> None:
        self.basis: dict[int, dict[int, Fraction]] = {}  # pivot column → row with 1 there, 0 at other pivots
        # column → the pivots whose basis row is non-zero there: a new pivot is eliminated from those rows
        # only, not looked up in every row (quadratic in the units: 2.1 s for one kl HR extract).
        self._holders: dict[int, set[int]] = defaultdict(set)
        for row in rows:
            self._insert({c: Fraction(v) for c, v in row.items() if v})

    def reduce(self, vector: dict[int, Fraction]) -> dict[int, Fraction]:
        """The remainder of vector after eliminating every pivot column (empty iff in the row space)."""
        vec = dict(vector)
        for col in sorted(c for c in vec if c in self.basis):
            coef = vec.get(col)
            if not coef:
                continue
            for c, v in self.basis[col].items():
                nv = vec.get(c, 0) - coef * v
                if nv:
                    vec[c] = nv
                else:
                    vec.pop(c, None)
        return vec

    def _insert(self, row: dict[int, Fraction]) -> None:
        # Basis rows are 0 at every other pivot column, so reducing never reintroduces a pivot column.
        row = self.reduce(row)
        if not row:
            return
        pivot = min(row)
        inv = 1 / row[pivot]
        row = {c: v * inv for c, v in row.items()}
        for q in list(self._holders.get(pivot, ())):
            other = self.basis[q]
            coef = other[pivot]
            for c, v in row.items():
                nv = other.get(c, 0) - coef * v
                if nv:
                    other[c] = nv
                    self._holders[c].add(q)
                else:
                    other.pop(c, None)
                    self._holders[c].discard(q)
        self.basis[pivot] = row
        for c in row:
            self._holders[c].add(pivot)

    def contains(self, vector: dict[int, int]) -> bool:
        return not self.reduce({c: Fraction(v) for c, v in vector.items() if v})


def audit_vectors(
    published_vectors: Sequence[Collection[int]],
    min_cell: int,
    protected: Mapping[str, Collection[int]] | None = None,
    max_findings: int = 100,
    stands_for: Sequence[Sequence[int]] | None = None,
) -> list[Finding]:
    """Exact audit of a set of published sums, each given as the set of respondent indices it adds up.

    With ``stands_for``, index i stands for the respondents ``stands_for[i]`` (a group of respondents that
    every sum holds all or none of): sizes count those respondents and findings name them.

    (a) For every ``protected`` vector (a suppressed unit's respondents), report it when its indicator is
        in the row space of A (rows = published vectors). Empty protected sets are skipped.
    (b) Report every set X of 1..min_cell − 1 respondents whose indicator is in the row space (stopping
        after ``max_findings`` findings in all; raise it to get a complete list).

    How (b) stays exact without enumerating respondent subsets: every vector of the row space is λᵀA,
    so it takes one value on all respondents whose columns of A are identical. Those classes (*atoms*;
    for unit + alignment rows they are the block × class cells) partition the respondents, and a 0/1
    vector of the row space is a union of atoms. Atoms in no published vector are always 0. Reduce A
    over its atoms to reduced row echelon form with the largest atoms first: a row-space vector w equals
    Σ w[p]·R_p over the pivot columns p, so a 0/1 w is the sum of the RREF rows of the pivots it
    contains. |X| < min_cell forces those pivots to be small atoms with sizes adding up to < min_cell,
    so enumerating such pivot sets (few, because large atoms are preferred as pivots) and keeping the
    sums that are 0/1 vectors finds every disclosed small set.

    Returns a list of findings; the publication meets the §3.9 objective iff none is ``blocking``.
    """
    if min_cell < 1:
        raise ValueError(f"min_cell must be at least 1, not {min_cell}")

    def weight(i: int) -> int:
        return len(stands_for[i]) if stands_for is not None else 1

    def expand(indices: Iterable[int]) -> frozenset[int]:
        if stands_for is None:
            return frozenset(indices)
        return frozenset(r for i in indices for r in stands_for[i])

    findings: list[Finding] = []
    members: dict[int, list[int]] = defaultdict(list)  # respondent → indices of the rows holding it
    for k, vec in enumerate(published_vectors):
        for r in set(vec):
            members[r].append(k)
    atom_of_signature: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for r, rows in members.items():
        atom_of_signature[tuple(rows)].append(r)
    atoms = sorted(atom_of_signature.values(), key=lambda a: (-sum(map(weight, a)), min(a)))
    atom_index = {r: j for j, atom in enumerate(atoms) for r in atom}
    sizes = [sum(map(weight, a)) for a in atoms]
    matrix_rows: list[dict[int, int]] = [{} for _ in published_vectors]
    for j, atom in enumerate(atoms):
        for k in members[atom[0]]:
            matrix_rows[k][j] = 1
    space = _RowSpace(matrix_rows)

    # (a) suppressed units
    for unit, vec in (protected or {}).items():
        rset = set(vec)
        if not rset:
            continue
        hit: dict[int, int] = defaultdict(int)
        outside = False
        for r in rset:
            j = atom_index.get(r)
            if j is None:  # in no published sum: the vector is not constant on that (zero) atom
                outside = True
                break
            hit[j] += weight(r)
        if outside or any(count != sizes[j] for j, count in hit.items()):
            continue  # not a union of atoms, so not in the row space
        if space.contains(dict.fromkeys(hit, 1)):
            respondents = expand(rset)
            findings.append(Finding("suppressed_unit", respondents, len(respondents) < min_cell, str(unit)))

    # (b) small sets: sums of RREF rows over sets of small pivots
    pivots = sorted(p for p in space.basis if sizes[p] < min_cell)
    rows_int: dict[int, dict[int, int]] = {}
    if pivots:
        scale = 1
        for p in pivots:
            for v in space.basis[p].values():
                scale = math.lcm(scale, v.denominator)
        for p in pivots:
            rows_int[p] = {c: int(v * scale) for c, v in space.basis[p].items()}
        seen: set[frozenset[int]] = set()

        def visit(start: int, budget: int, acc: dict[int, int]) -> None:
            for idx in range(start, len(pivots)):
                if len(findings) >= max_findings:
                    return
                p = pivots[idx]
                if sizes[p] > budget:
                    continue
                total = dict(acc)
                for c, v in rows_int[p].items():
                    nv = total.get(c, 0) + v
                    if nv:
                        total[c] = nv
                    else:
                        total.pop(c)
                if all(v == scale for v in total.values()):
                    size = sum(sizes[c] for c in total)
                    if 1 <= size < min_cell:
                        chosen = frozenset(total)
                        if chosen not in seen:
                            seen.add(chosen)
                            respondents = expand(i for c in chosen for i in atoms[c])
                            findings.append(Finding("small_set", respondents, True))
                visit(idx + 1, budget - sizes[p], total)

        visit(0, min_cell - 1, {})
    return findings


def audit_linear(
    respondent_units: Sequence[str],
    respondent_classes: Sequence[str],
    parents: Mapping[str, str | None],
    published: Collection[str],
    *,
    alignment_published: bool,
    min_cell: int,
    max_findings: int = 100,
) -> list[Finding]:
    """Audit one wave × dimension (or one extract) from respondents, tree and publication decisions.

    Respondent i sits directly in unit ``respondent_units[i]`` and has class ``respondent_classes[i]``
    (top / leader / other, see :func:`role_class`; ignored unless the alignment sums are published).
    ``parents`` maps every unit of the tree to its parent (None for the root), ``published`` is the set
    of published units. The published sums are the subtree sums of the published units plus, when
    ``alignment_published``, the sums over all top and all leader respondents of the root. Every
    suppressed unit with at least one respondent is checked under (a). Returns :func:`audit_vectors`'s
    findings (respondents by index); the publication is safe iff none is ``blocking``.
    """
    units = [str(u) for u in parents]
    tree = _build_tree(units, [None if _is_missing(p) else str(p) for p in parents.values()])
    subtree: dict[str, set[int]] = {u: set() for u in units}
    ancestors: dict[str, list[str]] = {}
    for i in tree.order:
        p = tree.parent[i]
        ancestors[tree.ids[i]] = [tree.ids[i], *(ancestors[tree.ids[p]] if p >= 0 else [])]
    # Respondents of one unit (and, where the alignment sums are published, one class) are in exactly the
    # same published sums, so the audit runs on one index per such group, numbered in order of first
    # appearance, each standing for its respondents (audit_vectors' `stands_for`): the atoms, their order
    # and so the findings are those of the respondent-level audit, without handling 420k respondents of a
    # kl HR extract one by one.
    classes = list(respondent_classes) if alignment_published else None
    group_of: dict[tuple[str, str], int] = {}
    stands_for: list[list[int]] = []
    group_class: list[str] = []
    for r, unit in enumerate(respondent_units):
        key = (str(unit), classes[r] if classes is not None and r < len(classes) else "")
        g = group_of.get(key)
        if g is None:
            chain = ancestors.get(key[0])
            if chain is None:
                raise ValueError(f"respondent {r} sits in unit {unit!r}, which is not in the tree")
            g = group_of[key] = len(stands_for)
            stands_for.append([])
            group_class.append(key[1])
            for u in chain:
                subtree[u].add(g)
        stands_for[g].append(r)
    pub = {str(u) for u in published}
    unknown = pub - set(units)
    if unknown:
        raise ValueError(f"published units not in the tree: {sorted(unknown)[:5]}")
    vectors: list[Collection[int]] = [subtree[u] for u in units if u in pub]
    if classes is not None:
        if len(classes) != len(respondent_units):
            raise ValueError("respondent_units and respondent_classes differ in length")
        vectors.append({g for g, c in enumerate(group_class) if c == "top"})
        vectors.append({g for g, c in enumerate(group_class) if c == "leader"})
    protected = {u: subtree[u] for u in units if u not in pub and subtree[u]}
    return audit_vectors(vectors, min_cell, protected, max_findings, stands_for)
