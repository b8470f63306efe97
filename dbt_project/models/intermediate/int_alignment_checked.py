"""SPEC §3.4/§3.9: may the leadership-alignment sums of a wave × dimension be published?

The exact disclosure check lives in `maturity.privacy` (shared with the publish gate). This model
only groups the residual-block × role-class counts and records the verdict and a witness.
Incremental by wave like int_alignment_cells, whose `_build_key` it carries (maturity.incremental).
"""


def model(dbt, session):
    import pandas as pd

    from maturity.incremental import is_empty, pending_rows
    from maturity.privacy import alignment_disclosure

    dbt.config(materialized="incremental", unique_key="wave_id", incremental_strategy="delete+insert",
               on_schema_change="append_new_columns")
    min_cell = int(dbt.config.get("min_cell"))
    pending = pending_rows(dbt, session, dbt.ref("int_alignment_cells"))
    if is_empty(pending):
        return pending.project("wave_id, dimension_id, false as is_disclosive, "
                               "cast(null as varchar) as disclosure_witness, _build_key")
    cells = pending.df()
    rows = []
    for (wave_id, dimension_id, build_key), group in cells.groupby(["wave_id", "dimension_id", "_build_key"],
                                                                   sort=True):
        # Respondents in no published block (only when the root is suppressed) have no block sum: key None.
        blocks: dict[str | None, dict[str, int]] = {}
        for block, role_class, n in group[["block_org_unit_id", "role_class", "n_respondents"]].itertuples(
            index=False
        ):
            key = None if block is None or block != block else str(block)
            blocks.setdefault(key, {"top": 0, "leader": 0, "other": 0})[role_class] += int(n)
        witness = alignment_disclosure(blocks, min_cell)
        rows.append({
            "wave_id": wave_id,
            "dimension_id": dimension_id,
            "is_disclosive": witness is not None,
            "disclosure_witness": None if witness is None else str(sorted(witness, key=str)),
            "_build_key": build_key,
        })
    return pd.DataFrame(rows, columns=["wave_id", "dimension_id", "is_disclosive", "disclosure_witness",
                                       "_build_key"])
