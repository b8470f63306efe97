"""Incremental Python models: the dbt Python models' half of dbt_project/macros/incremental_builds.sql.

A Python model has no Jinja, so it cannot call the macros its SQL parents use. It is incremental like
its parent instead: it carries the parent's `_build_key` and computes again only the rows whose key it
does not hold yet. Its code is part of maturity.transform.code_fingerprint.
"""

from __future__ import annotations

from typing import Any


def pending_rows(dbt: Any, session: Any, parent: Any) -> Any:
    """The parent relation's rows this model has to compute (all of them on a first or a full build).

    On an incremental build, first deletes this model's rows whose key the parent no longer has (a wave
    or extract gone from the landing area, or computed again; rows from before keys existed): what the
    SQL models' post-hook does.
    """
    if not dbt.is_incremental:
        return parent
    if "_build_key" not in session.table(str(dbt.this)).columns:  # built before keys: everything again
        session.execute(f"delete from {dbt.this}")
        return parent
    current = [key for (key,) in parent.unique("_build_key").fetchall()]
    session.execute(f"delete from {dbt.this} where _build_key is null or not list_contains(?, _build_key)",
                    [current])
    return parent.filter(f"_build_key not in (select distinct _build_key from {dbt.this})")


def is_empty(relation: Any) -> bool:
    """No rows to compute: return a typed empty relation then, not an empty frame (whose columns have no
    types, so the table's would change)."""
    return not relation.limit(1).fetchall()
