"""SPEC §3.4/§3.9: may the leadership-alignment sums of a wave × dimension be published?

The exact disclosure check lives in `maturity.privacy` (shared with the publish gate). This model
only groups the residual-block × role-class counts and records the verdict and a witness.
"""


def model(dbt, session):
    import pandas as pd

    from maturity.privacy import alignment_disclosure

    dbt.config(materialized="table")
    min_cell = int(dbt.config.get("min_cell"))
    cells = dbt.ref("int_alignment_cells").df()
    rows = []
    for (wave_id, dimension_id), group in cells.groupby(["wave_id", "dimension_id"], sort=True):
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
        })
    return pd.DataFrame(rows, columns=["wave_id", "dimension_id", "is_disclosive", "disclosure_witness"])
