"""SPEC §3.9 small cells: hand-computed cases of the residual rule and the alignment check, plus random trees
checked with the independent exact linear-algebra audit (min_cell = 5 unless a case says otherwise)."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from maturity.privacy import (
    CLASSES,
    alignment_cells,
    alignment_disclosure,
    alignment_publishable,
    audit_linear,
    audit_vectors,
    residual_blocks,
    role_class,
    suppress_frame,
    suppress_tree,
)

MIN_CELL = 5
Unit = tuple[str, str | None, int]


def published(units: list[Unit], min_cell: int = MIN_CELL) -> set[str]:
    return {u for u, suppressed in suppress_tree(units, min_cell).items() if not suppressed}


def residuals(units: list[Unit], pub: set[str]) -> dict[str, int]:
    """Residual of each published unit from n: n minus the n of its nearest published descendants."""
    n = {u: c for u, _, c in units}
    blocks = residual_blocks(units, pub)
    parent = {u: p for u, p, _ in units}
    out = {u: n[u] for u in pub}
    for u in pub:
        p = parent[u]
        if p is not None:
            out[blocks[p]] -= n[u]  # u is a nearest published descendant of its parent's block owner
    return out


def respondents_of(direct: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """Expand {unit: [class, ...]} (each entry one respondent sitting directly in unit) to two lists."""
    units = [u for u, classes in direct.items() for _ in classes]
    classes = [c for classes in direct.values() for c in classes]
    return units, classes


def pooled_units(parents: dict[str, str | None], respondent_units: list[str]) -> list[Unit]:
    direct = Counter(respondent_units)
    n = dict.fromkeys(parents, 0)
    for unit, count in direct.items():
        u: str | None = unit
        while u is not None:
            n[u] += count
            u = parents[u]
    return [(u, p, n[u]) for u, p in parents.items()]


# --- the residual rule, by hand -------------------------------------------------------------------


def test_published_at_min_cell_suppressed_below() -> None:
    # R has 5 direct respondents; A exactly min_cell, B one below, C empty. Residual of R: 14 - 5 = 9.
    units = [("R", None, 14), ("A", "R", 5), ("B", "R", 4), ("C", "R", 0)]
    assert published(units) == {"R", "A"}
    assert residuals(units, {"R", "A"}) == {"R": 9, "A": 5}


def test_residual_exactly_zero_suppresses_nothing_more() -> None:
    units = [("R", None, 10), ("A", "R", 5), ("B", "R", 5)]
    assert published(units) == {"R", "A", "B"}
    assert residuals(units, {"R", "A", "B"})["R"] == 0


def test_small_residual_suppresses_the_smallest_child() -> None:
    # R: 2 direct respondents, so residual 2; B (n 5) is smaller than A (n 6). Afterwards R's residual is 7.
    units = [("R", None, 13), ("A", "R", 6), ("B", "R", 5)]
    assert published(units) == {"R", "A"}


def test_ties_on_n_go_to_the_lowest_org_unit_id_as_text() -> None:
    units = [("R", None, 12), ("B", "R", 5), ("A", "R", 5)]
    assert published(units) == {"R", "B"}
    # Text order, not numeric: "10" < "9".
    units = [("R", None, 12), ("9", "R", 5), ("10", "R", 5)]
    assert published(units) == {"R", "9"}


def test_residual_one_or_more_is_preferred_over_a_smaller_n() -> None:
    # A (n 10) has residual 0 (all of it in A1 and A2); B (n 12) has residual 12 and is the one suppressed.
    units = [("R", None, 24), ("A", "R", 10), ("A1", "A", 5), ("A2", "A", 5), ("B", "R", 12)]
    assert published(units) == {"R", "A", "A1", "A2"}


def test_parent_with_own_direct_respondents() -> None:
    # 6 direct respondents at R: residual 6, nothing to do.
    assert published([("R", None, 20), ("A", "R", 7), ("B", "R", 7)]) == {"R", "A", "B"}
    # 1 direct respondent at R: residual 1; A and B tie on n = 7, A (lowest id) goes; residual 8.
    assert published([("R", None, 15), ("A", "R", 7), ("B", "R", 7)]) == {"R", "B"}


def test_suppression_cascades_when_a_child_exposes_its_children() -> None:
    # R: 1 direct, A: 2 direct + A1 (5) + A2 (5) = 12, B: 20. Residual of R = 1, so A (the smaller with
    # residual >= 1) goes: R's residual becomes 3 and its nearest published descendants A1, A2, B. Still
    # below 5, so A1 (smallest n, lowest id) goes too: residual 8.
    units = [("R", None, 33), ("A", "R", 12), ("A1", "A", 5), ("A2", "A", 5), ("B", "R", 20)]
    pub = published(units)
    assert pub == {"R", "A2", "B"}
    assert residuals(units, pub) == {"R": 8, "A2": 5, "B": 20}


def test_deeper_units_are_fixed_after_their_parent() -> None:
    # R's residual is 0; A (2 direct + A1 8) has residual 2 and loses A1 when its turn comes.
    units = [("R", None, 20), ("A", "R", 10), ("A1", "A", 8), ("B", "R", 10)]
    assert published(units) == {"R", "A", "B"}


def test_fallback_when_no_nearest_descendant_has_a_residual() -> None:
    # R: 2 direct; its only published child A has residual 0, so A is suppressed by the fallback. Its
    # children A1, A2 (residual 5 each) become R's; A1 (lowest id) goes: residual 7.
    units = [("R", None, 12), ("A", "R", 10), ("A1", "A", 5), ("A2", "A", 5)]
    assert published(units) == {"R", "A2"}


def test_literal_fallback_can_leave_a_large_suppressed_row_recoverable() -> None:
    # p: 2 direct. a and b (n 10, residual 0) are p's nearest published descendants. Fallback: a (lowest
    # id) goes, exposing c (n 10, residual 0); fallback again: b (n 10, "b" < "c") goes, exposing d and e
    # (residual 5); d goes; residual 7. a's sum then equals c's: recoverable but 10 >= min_cell respondents,
    # so the objective holds and the audit reports it as non-blocking.
    parents = {"p": None, "a": "p", "c": "a", "c1": "c", "c2": "c", "b": "p", "d": "b", "e": "b"}
    resp_units, classes = respondents_of(
        {"p": ["other"] * 2, "c1": ["other"] * 5, "c2": ["other"] * 5, "d": ["other"] * 5, "e": ["other"] * 5}
    )
    units = pooled_units(parents, resp_units)
    pub = published(units)
    assert pub == {"p", "c", "c1", "c2", "e"}
    findings = audit_linear(resp_units, classes, parents, pub, alignment_published=False, min_cell=MIN_CELL)
    assert [(f.kind, f.unit, f.size, f.blocking) for f in findings] == [("suppressed_unit", "a", 10, False)]


def test_root_below_min_cell_suppresses_everything() -> None:
    units = [("R", None, 4), ("A", "R", 4), ("B", "R", 0)]
    assert suppress_tree(units, MIN_CELL) == {"R": True, "A": True, "B": True}
    assert residual_blocks(units, set()) == {"R": None, "A": None, "B": None}


def test_residual_blocks_follow_the_nearest_published_ancestor_or_self() -> None:
    units = [("R", None, 12), ("A", "R", 10), ("A1", "A", 5), ("A2", "A", 5), ("A21", "A2", 1)]
    pub = published(units)
    assert pub == {"R", "A2"}
    assert residual_blocks(units, pub) == {"R": "R", "A": "R", "A1": "R", "A2": "A2", "A21": "A2"}


@pytest.mark.parametrize(
    ("units", "message"),
    [
        ([("R", None, 5), ("S", None, 5)], "exactly one tree"),
        ([("R", None, 5), ("A", "X", 5)], "not in the group"),
        ([("R", None, 5), ("A", "B", 1), ("B", "A", 1)], "not reachable"),
        ([("R", None, 5), ("R", None, 5)], "more than once"),
        ([("R", None, 5), ("A", "R", 6)], "pooled over the subtree"),
    ],
)
def test_broken_input_is_refused(units: list[Unit], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        suppress_tree(units, MIN_CELL)


def test_suppress_frame_groups_keep_rows_order_and_index() -> None:
    rows = [
        # wave W1 × dimension d1: the cascade case; W1 × d2: root below min_cell
        ("W1", "d1", "A1", "A", 5),
        ("W1", "d2", "R", None, 4),
        ("W1", "d1", "R", np.nan, 33),
        ("W1", "d1", "A", "R", 12),
        ("W1", "d2", "A", "R", 4),
        ("W1", "d1", "A2", "A", 5),
        ("W1", "d1", "B", "R", 20),
        ("W1", "d2", "A1", "A", None),
        ("W1", "d2", "A2", "A", 0),
        ("W1", "d2", "B", "R", 0),
    ]
    df = pd.DataFrame(rows, columns=["wave_id", "dimension_id", "org_unit_id", "parent_org_unit_id", "n"])
    df["n"] = df["n"].astype("Int64")
    df.index = [f"row{i}" for i in range(len(df))]
    df["extra"] = range(len(df))
    out = suppress_frame(df, ["wave_id", "dimension_id"], MIN_CELL)
    assert list(out.index) == list(df.index)
    assert list(out["extra"]) == list(df["extra"])
    assert out["is_suppressed"].dtype == bool
    got = {(d, u): s for d, u, s in out[["dimension_id", "org_unit_id", "is_suppressed"]].itertuples(index=False)}
    assert {u for (d, u), s in got.items() if d == "d1" and not s} == {"R", "A2", "B"}
    assert all(s for (d, _), s in got.items() if d == "d2")
    assert "is_suppressed" not in df.columns  # the input frame is left alone


def test_suppress_frame_is_fast_on_a_municipality_sized_tree() -> None:
    rng = np.random.default_rng(7)
    size, groups = 12_000, 30
    parent = np.concatenate([[-1], [rng.integers(0, max(1, i // 3)) for i in range(1, size)]])
    ids = np.array([f"U{i}" for i in range(size)], dtype=object)
    frames = []
    for g in range(groups):
        n = rng.poisson(1.5, size)
        for i in range(size - 1, 0, -1):
            n[parent[i]] += n[i]
        frames.append(
            pd.DataFrame(
                {"dimension_id": f"d{g}", "org_unit_id": ids, "n": n,
                 "parent_org_unit_id": np.concatenate([[None], ids[parent[1:]]])}
            )
        )
    df = pd.concat(frames, ignore_index=True)
    start = time.perf_counter()
    out = suppress_frame(df, ["dimension_id"], MIN_CELL)
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"suppress_frame took {elapsed:.1f} s"
    assert len(out) == size * groups
    assert 0 < out["is_suppressed"].mean() < 1


# --- the alignment check, by hand -----------------------------------------------------------------


def test_role_classes() -> None:
    assert [role_class(r) for r in ("direktion", "chef", "leder", "medarbejder", "andet", None)] == [
        "top", "top", "leader", "other", "other", "other"
    ]


def test_alignment_blocked_when_the_rest_of_one_block_is_small() -> None:
    # One block: 5 top, 5 leader, 2 others. root sum - T - L = the 2 others.
    cells = {"R": {"top": 5, "leader": 5, "other": 2}}
    assert alignment_disclosure(cells, MIN_CELL) == frozenset({("R", "other")})
    assert not alignment_publishable(cells, 5, 5, MIN_CELL)


def test_alignment_blocked_by_a_single_chef_in_a_block() -> None:
    # T + L - (R's block) = A's top + A's leaders = the one chef in A, although n_top 6 and n_leader 5.
    cells = {"R": {"top": 5, "leader": 5, "other": 0}, "A": {"top": 1, "leader": 0, "other": 9}}
    assert alignment_disclosure(cells, MIN_CELL) == frozenset({("A", "top")})
    assert not alignment_publishable(cells, 6, 5, MIN_CELL)
    # The audit on concrete respondents agrees: exactly the chef is determined.
    parents = {"R": None, "A": "R"}
    resp_units, classes = respondents_of({"R": ["top"] * 5 + ["leader"] * 5, "A": ["top"] + ["other"] * 9})
    findings = audit_linear(resp_units, classes, parents, {"R", "A"}, alignment_published=True, min_cell=MIN_CELL)
    assert [f.respondents for f in findings if f.blocking] == [frozenset({10})]


def test_alignment_safe() -> None:
    cells = {"R": {"top": 5, "leader": 5, "other": 5}, "A": {"top": 0, "leader": 0, "other": 7}}
    assert alignment_disclosure(cells, MIN_CELL) is None
    assert alignment_publishable(cells, 5, 5, MIN_CELL)
    parents = {"R": None, "A": "R"}
    resp_units, classes = respondents_of(
        {"R": ["top"] * 5 + ["leader"] * 5 + ["other"] * 5, "A": ["other"] * 7}
    )
    assert audit_linear(resp_units, classes, parents, {"R", "A"}, alignment_published=True, min_cell=MIN_CELL) == []


def test_alignment_needs_both_groups_at_min_cell() -> None:
    # T itself is a published sum over 4 respondents: the exact check sees it too.
    cells = {"R": {"top": 4, "leader": 6, "other": 0}}
    assert alignment_disclosure(cells, MIN_CELL) == frozenset({("R", "top")})
    assert not alignment_publishable(cells, 4, 6, MIN_CELL)
    assert not alignment_publishable({"R": {"top": 6, "leader": 6, "other": 0}}, 6, 4, MIN_CELL)


def test_respondents_outside_every_block_have_no_free_coefficient() -> None:
    # Outside every published block only T and L reach: 6 top respondents are safe, the 2 others are
    # not reachable. The same counts in a published block would give away the 2 others (block - T).
    assert alignment_disclosure({None: {"top": 6, "leader": 0, "other": 2}}, MIN_CELL) is None
    assert alignment_disclosure({"R": {"top": 6, "leader": 0, "other": 2}}, MIN_CELL) == frozenset({("R", "other")})


def test_alignment_cells_count_respondents_per_block_and_class() -> None:
    blocks = {"R": "R", "A": "R", "B": "B"}
    cells = alignment_cells(["R", "A", "B", "B"], ["top", "other", "leader", "leader"], blocks)
    assert cells == {"R": {"top": 1, "leader": 0, "other": 1}, "B": {"top": 0, "leader": 2, "other": 0}}


# --- the audit, by hand ---------------------------------------------------------------------------


def test_audit_finds_a_difference_of_two_published_sums() -> None:
    findings = audit_vectors([set(range(7)), set(range(5))], MIN_CELL)
    assert [(f.kind, f.respondents) for f in findings] == [("small_set", frozenset({5, 6}))]


def test_audit_recovers_a_suppressed_unit_from_its_siblings() -> None:
    # Published R (10) and A (6), with B (4) suppressed and no one directly in R: B = R - A.
    parents = {"R": None, "A": "R", "B": "R"}
    resp_units, classes = respondents_of({"A": ["other"] * 6, "B": ["other"] * 4})
    findings = audit_linear(resp_units, classes, parents, {"R", "A"}, alignment_published=False, min_cell=MIN_CELL)
    assert {(f.kind, f.unit, f.size, f.blocking) for f in findings} == {
        ("suppressed_unit", "B", 4, True),
        ("small_set", None, 4, True),
    }
    # The rule itself would have suppressed A too (residual of R = 4).
    assert published(pooled_units(parents, resp_units)) == {"R"}


# --- random trees, checked by the audit -----------------------------------------------------------


def random_case(
    rng: np.random.Generator,
) -> tuple[dict[str, str | None], list[str], list[str], int]:
    """A random org tree with 50-300 respondents spread unevenly (many small units) and random roles."""
    # Half the cases are small organisations (few blocks), where the alignment sums disclose more often.
    n_units = int(rng.integers(1, 6)) if rng.random() < 0.5 else int(rng.integers(6, 40))
    labels = [str(x) for x in rng.permutation(200)[:n_units]]  # text ids whose text order is not numeric
    parents: dict[str, str | None] = {labels[0]: None}
    for i in range(1, n_units):
        parents[labels[i]] = labels[int(rng.integers(0, i))]
    n_resp = int(rng.integers(50, 301))
    weights = rng.gamma(0.4, size=n_units) + 1e-9
    resp_units = [labels[i] for i in rng.choice(n_units, size=n_resp, p=weights / weights.sum())]
    # The survey targets chefs and leaders (§1), so other roles are often few: that is where T and L bite.
    p_other = rng.uniform(0.0, 0.03) if rng.random() < 0.4 else rng.uniform(0.0, 0.5)
    p_top = rng.uniform(0.05, 0.5) * (1 - p_other)
    roles = rng.choice(
        ["direktion", "chef", "leder", "medarbejder"],
        size=n_resp,
        p=[p_top / 4, 3 * p_top / 4, 1 - p_top - p_other, p_other],
    )
    classes = [role_class(str(r)) for r in roles]
    min_cell = int(rng.choice([3, 5, 5, 5, 7]))
    return parents, resp_units, classes, min_cell


@pytest.mark.parametrize("seed", range(8))
def test_random_trees_meet_the_objective(seed: int) -> None:
    rng = np.random.default_rng(seed)
    disclosures = 0
    for _ in range(25):
        parents, resp_units, classes, min_cell = random_case(rng)
        units = pooled_units(parents, resp_units)
        pub = published(units, min_cell)

        # The tree rule: every published residual is 0 or >= min_cell, counted both ways.
        blocks = residual_blocks(units, pub)
        block_sizes = Counter(blocks[u] for u in resp_units)
        assert all(block_sizes[u] == 0 or block_sizes[u] >= min_cell for u in pub)
        assert residuals(units, pub) == {u: block_sizes[u] for u in pub}
        if not pub:
            assert dict(units)[next(iter(parents))] < min_cell or not resp_units

        # Alignment decided by the DP, publication audited by exact linear algebra.
        cells = alignment_cells(resp_units, classes, blocks)
        n_top, n_leader = classes.count("top"), classes.count("leader")
        align = bool(pub) and alignment_publishable(cells, n_top, n_leader, min_cell)
        findings = audit_linear(resp_units, classes, parents, pub, alignment_published=align, min_cell=min_cell)
        assert not [f for f in findings if f.blocking], [str(f) for f in findings]
        assert all(f.kind == "suppressed_unit" and f.size >= min_cell for f in findings)

        # The DP and the audit agree on whether T and L would disclose, and on the smallest set.
        witness = alignment_disclosure(cells, min_cell)
        full = audit_linear(
            resp_units, classes, parents, pub, alignment_published=True, min_cell=min_cell, max_findings=10**6
        )
        small = {f.respondents for f in full if f.kind == "small_set"}
        assert (witness is None) == (not small)
        if witness is not None:
            disclosures += n_top >= min_cell and n_leader >= min_cell
            chosen = frozenset(r for r, (u, c) in enumerate(zip(resp_units, classes, strict=True))
                               if (blocks[u], c) in witness)
            assert chosen in small
            assert len(chosen) == min(len(s) for s in small)
            assert all(c in CLASSES for _, c in witness)
    assert disclosures > 0  # the exact check blocked rows that the n_top / n_leader test alone would publish


def naive_rule(units: list[Unit], min_cell: int) -> set[str]:
    """§3.9 steps 1-3 recomputed from scratch after every suppression, restarting at the top each time.

    Slow but obviously literal: if it agrees with suppress_tree, then one top-down pass with incremental
    residuals is the same rule (a suppression never disturbs a unit processed before).
    """
    n = {u: c for u, _, c in units}
    parent = {u: p for u, p, _ in units}
    children: dict[str, list[str]] = {u: [] for u in n}
    for u, p in parent.items():
        if p is not None:
            children[p].append(u)

    def depth(u: str) -> int:
        p = parent[u]
        return 0 if p is None else 1 + depth(p)

    pub = {u for u in n if n[u] >= min_cell}
    root = next(u for u, p in parent.items() if p is None)
    if root not in pub:
        return set()

    def nearest(u: str) -> list[str]:
        out: list[str] = []
        stack = list(children[u])
        while stack:
            v = stack.pop()
            if v in pub:
                out.append(v)
            else:
                stack.extend(children[v])
        return out

    def residual(u: str) -> int:
        return n[u] - sum(n[v] for v in nearest(u))

    order = sorted(n, key=lambda u: (depth(u), u))
    while True:
        todo = next((u for u in order if u in pub and 1 <= residual(u) < min_cell), None)
        if todo is None:
            return pub
        below = nearest(todo)
        candidates = [v for v in below if residual(v) >= 1] or below
        pub.discard(min(candidates, key=lambda v: (n[v], v)))


def test_one_pass_equals_the_literal_recompute_everything_rule() -> None:
    rng = np.random.default_rng(2024)
    residual_suppressions = 0
    for _ in range(150):
        parents, resp_units, _, min_cell = random_case(rng)
        units = pooled_units(parents, resp_units)
        expected = naive_rule(units, min_cell)
        assert published(units, min_cell) == expected
        n = {u: c for u, _, c in units}
        residual_suppressions += any(n[u] >= min_cell and u not in expected for u in n)
    assert residual_suppressions > 0  # residual suppression (not only n < min_cell) happened


def test_audit_matches_brute_force_on_tiny_instances() -> None:
    """Every subset of 1..min_cell - 1 respondents, tested by rank, against the atom/pivot enumeration."""
    from itertools import combinations

    rng = np.random.default_rng(11)
    for _ in range(40):
        size = int(rng.integers(4, 11))
        min_cell = int(rng.integers(2, 5))
        rows = [set(np.flatnonzero(rng.random(size) < rng.uniform(0.2, 0.9)).tolist())
                for _ in range(int(rng.integers(1, 6)))]
        matrix = np.array([[1.0 if r in row else 0.0 for r in range(size)] for row in rows])
        rank = np.linalg.matrix_rank(matrix)
        expected = set()
        for k in range(1, min_cell):
            for subset in combinations(range(size), k):
                vec = np.zeros(size)
                vec[list(subset)] = 1.0
                if np.linalg.matrix_rank(np.vstack([matrix, vec])) == rank:
                    expected.add(frozenset(subset))
        got = {f.respondents for f in audit_vectors(rows, min_cell, max_findings=10**6) if f.kind == "small_set"}
        assert got == expected
