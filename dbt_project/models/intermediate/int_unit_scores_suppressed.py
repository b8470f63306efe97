"""SPEC §3.9 residual suppression of the survey figures, per wave × dimension.

A Python model because the rule is iterative (suppressing one unit changes its parent's residual);
the rule itself lives in `maturity.privacy`, which the publish gate runs again as a blocking check.
Incremental by wave like int_unit_scores_pooled, whose `_build_key` it carries: only the waves pooled
again are suppressed again (each wave × dimension is decided on its own tree), and a wave no longer
pooled is deleted here (what the SQL models' post-hook does; a Python model has no Jinja for one).
"""


def model(dbt, session):
    from maturity.privacy import suppress_frame

    dbt.config(materialized="incremental", unique_key="wave_id", incremental_strategy="delete+insert",
               on_schema_change="append_new_columns")
    min_cell = int(dbt.config.get("min_cell"))
    pooled = dbt.ref("int_unit_scores_pooled")
    if dbt.is_incremental and "_build_key" in session.table(str(dbt.this)).columns:
        current = [key for (key,) in pooled.unique("_build_key").fetchall()]
        session.execute(f"delete from {dbt.this} where not list_contains(?, _build_key)", [current])
        pooled = pooled.filter(f"_build_key not in (select distinct _build_key from {dbt.this})")
    units = pooled.project("wave_id, dimension_id, org_unit_id, parent_org_unit_id, depth, n_respondents as n, "
                           "_build_key")
    if not units.limit(1).fetchall():
        # Nothing to suppress again: an empty relation keeps the column types (an empty frame would not).
        return units.project("*, false as is_suppressed")
    return suppress_frame(units.df(), ["wave_id", "dimension_id"], min_cell)
