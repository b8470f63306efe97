"""SPEC §3.9 residual suppression of the survey figures, per wave × dimension.

A Python model because the rule is iterative (suppressing one unit changes its parent's residual);
the rule itself lives in `maturity.privacy`, which the publish gate runs again as a blocking check.
Incremental by wave like int_unit_scores_pooled, whose `_build_key` it carries (maturity.incremental):
only the waves pooled again are suppressed again; each wave × dimension is decided on its own tree.
"""


def model(dbt, session):
    from maturity.incremental import is_empty, pending_rows
    from maturity.privacy import suppress_frame

    dbt.config(materialized="incremental", unique_key="wave_id", incremental_strategy="delete+insert",
               on_schema_change="append_new_columns")
    min_cell = int(dbt.config.get("min_cell"))
    pooled = pending_rows(dbt, session, dbt.ref("int_unit_scores_pooled"))
    units = pooled.project("wave_id, dimension_id, org_unit_id, parent_org_unit_id, depth, n_respondents as n, "
                           "_build_key")
    if is_empty(units):
        return units.project("*, false as is_suppressed")
    return suppress_frame(units.df(), ["wave_id", "dimension_id"], min_cell)
