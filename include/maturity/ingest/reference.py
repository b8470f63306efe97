"""reference/dimensions.csv: the maturity dimensions, their weights and their order (SPEC §2.1)."""

from __future__ import annotations

from maturity.ingest.dialect import LandedFile, locate_columns, sniff
from maturity.ingest.reader import read_csv
from maturity.ingest.store import Check, SnapshotLoad

COLUMNS = {"id": "dimension_id", "da": "name_da", "en": "name_en", "sort": "sort_order"}


def load_dimensions(load: SnapshotLoad, f: LandedFile) -> None:
    dialect = sniff(f)
    pos = locate_columns(f, dialect.columns, COLUMNS, {"weight": "weight"})
    batch = read_csv(load.con, f, dialect)
    c = {k: f"c{v[0]}" for k, v in pos.items()}
    danish = "true" if dialect.danish_numbers else "false"
    weight = f"parse_num({c['weight']}, {danish})" if "weight" in c else "NULL"
    raw_weight = f"unquote({c['weight']})" if "weight" in c else "NULL"
    parsed = f"""
        SELECT lower(unquote({c['id']})) AS dimension_id,
               count(*) OVER (PARTITION BY lower(unquote({c['id']}))) AS _n_same,
               row_number() OVER (PARTITION BY lower(unquote({c['id']})) ORDER BY _line) AS _nth,
               redact_cpr(unquote({c['da']})) AS name_da, redact_cpr(unquote({c['en']})) AS name_en,
               unquote({c['da']}) || ' ' || coalesce(unquote({c['en']}), '') AS _raw_names,
               coalesce({weight}, CASE WHEN {raw_weight} IS NULL THEN 1.0 END) AS weight, {raw_weight} AS _raw_weight,
               TRY_CAST(unquote({c['sort']}) AS INTEGER) AS sort_order, unquote({c['sort']}) AS _raw_sort, _line
        FROM {batch.table}"""
    load.load(
        f, batch, parsed, "dimensions", ["dimension_id", "name_da", "name_en", "weight", "sort_order"],
        row_checks=[
            Check("invalid_dimension_id", "dimension_id IS NULL OR NOT regexp_full_match(dimension_id, '[a-z0-9_-]+')",
                  "dimension_id", "dimension_id", "dimension_id must be a slug (a-z, 0-9, _ and -)"),
            Check("duplicate_dimension", "_nth > 1", "dimension_id", "dimension_id",
                  "the dimension_id occurs more than once; the first row is kept"),
            Check("invalid_number", "weight IS NULL", "weight", "_raw_weight"),
            Check("weight_out_of_range", "weight <= 0", "weight", "_raw_weight", "weight must be > 0"),
            Check("invalid_number", "sort_order IS NULL", "sort_order", "_raw_sort"),
        ],
        cell_checks=[Check("cpr_in_free_text", "has_cpr(_raw_names)", "name_da/name_en", "_raw_names")],
    )
