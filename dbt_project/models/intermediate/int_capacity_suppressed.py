"""SPEC §3.8/§3.9 residual suppression of transformation capacity, per extract, with n = headcount."""


def model(dbt, session):
    from maturity.privacy import suppress_frame

    dbt.config(materialized="table")
    min_cell = int(dbt.config.get("min_cell"))
    pooled = dbt.ref("int_capacity_pooled").df()
    units = pooled[["extract_date", "org_unit_id", "parent_org_unit_id", "depth", "headcount"]]
    return suppress_frame(units.rename(columns={"headcount": "n"}), ["extract_date"], min_cell)
