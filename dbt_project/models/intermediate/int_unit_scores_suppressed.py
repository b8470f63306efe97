"""SPEC §3.9 residual suppression of the survey figures, per wave × dimension.

A Python model because the rule is iterative (suppressing one unit changes its parent's residual);
the rule itself lives in `maturity.privacy`, which the publish gate runs again as a blocking check.
"""


def model(dbt, session):
    from maturity.privacy import suppress_frame

    dbt.config(materialized="table")
    min_cell = int(dbt.config.get("min_cell"))
    pooled = dbt.ref("int_unit_scores_pooled").df()
    units = pooled[["wave_id", "dimension_id", "org_unit_id", "parent_org_unit_id", "depth", "n_respondents"]]
    units = units.rename(columns={"n_respondents": "n"})
    return suppress_frame(units, ["wave_id", "dimension_id"], min_cell)
