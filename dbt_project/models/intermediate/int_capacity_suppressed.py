"""SPEC §3.8/§3.9 residual suppression of transformation capacity, per extract, with n = headcount.

Incremental by extract like int_capacity_pooled, whose `_build_key` it carries (maturity.incremental).
"""


def model(dbt, session):
    from maturity.incremental import is_empty, pending_rows
    from maturity.privacy import suppress_frame

    dbt.config(materialized="incremental", unique_key="extract_date", incremental_strategy="delete+insert",
               on_schema_change="append_new_columns")
    min_cell = int(dbt.config.get("min_cell"))
    pooled = pending_rows(dbt, session, dbt.ref("int_capacity_pooled"))
    units = pooled.project("extract_date, org_unit_id, parent_org_unit_id, depth, headcount as n, _build_key")
    if is_empty(units):
        return units.project("cast(extract_date as timestamp) as extract_date, * exclude (extract_date), "
                             "false as is_suppressed")
    return suppress_frame(units.df(), ["extract_date"], min_cell)
