"""projects/<date>/portfolio.xlsx (sheet Portefølje) or portfolio.csv: the transformation portfolio."""

from __future__ import annotations

from maturity.errors import LandingError
from maturity.ingest.dialect import LandedFile, locate_columns, sniff
from maturity.ingest.reader import read_csv, read_xlsx, xlsx_sheets
from maturity.ingest.store import Check, SnapshotLoad, quote

SHEET = "Portefølje"
STATUSES = ("Idé", "Planlagt", "I gang", "Afsluttet", "Stoppet")
COLUMNS = {
    "id": "Projekt-ID", "name": "Projektnavn", "owner": "Ejer (afdelingskode)", "status": "Status",
    "start": "Startdato", "end": "Slutdato", "budget": "Budget (kr.)", "spent": "Forbrug (kr.)",
    "masterplan": "Masterplan", "budget_process": "Budgetproces", "dims": "Dimensioner",
}


def load_portfolio(load: SnapshotLoad, f: LandedFile, extract_date: str) -> None:
    if f.path.suffix.lower() == ".xlsx":
        sheets = xlsx_sheets(f)
        sheet = next((s for s in sheets if s.strip().casefold() == SHEET.casefold()), None)
        if sheet is None:
            raise LandingError(f.rel, f"the workbook has no sheet '{SHEET}' (sheets: {', '.join(sheets)})")
        batch, header = read_xlsx(load.con, f, sheet)
        excel, danish = "true", "false"
    else:
        dialect = sniff(f)
        header = dialect.columns
        batch = read_csv(load.con, f, dialect)
        excel, danish = "false", "true" if dialect.danish_numbers else "false"
    load.result(f)
    pos = locate_columns(f, header, COLUMNS)
    c = {k: f"c{v[0]}" for k, v in pos.items()}
    # Status matching ignores case and accents of the first letter variants people type ("Ide", "i gang").
    status = f"""CASE strip_accents(lower(unquote({c['status']})))
                    {' '.join(f"WHEN {quote(s.lower().replace('é', 'e'))} THEN {quote(s)}" for s in STATUSES)} END"""

    def flag(col: str) -> str:
        return f"CASE lower(unquote({col})) WHEN 'ja' THEN true WHEN 'nej' THEN false END"

    split = f"regexp_split_to_array(coalesce(unquote({c['dims']}), ''), '[;,]')"
    ids = f"list_filter(list_transform({split}, x -> lower(trim(x))), x -> x <> '')"
    dims = f"list_filter({ids}, (x, i) -> list_position({ids}, x) = i)"  # first occurrence, order kept
    parsed = f"""
        SELECT DATE {quote(extract_date)} AS extract_date, unquote({c['id']}) AS project_id,
               count(*) OVER (PARTITION BY unquote({c['id']})) AS _n_same,
               row_number() OVER (PARTITION BY unquote({c['id']}) ORDER BY _line) AS _nth,
               redact_cpr(unquote({c['name']})) AS project_name, unquote({c['name']}) AS _raw_name,
               unquote({c['owner']}) AS owner_org_unit_id, {status} AS status, unquote({c['status']}) AS _raw_status,
               parse_date({c['start']}, {excel}) AS start_date, unquote({c['start']}) AS _raw_start,
               parse_date({c['end']}, {excel}) AS end_date, unquote({c['end']}) AS _raw_end,
               coalesce(parse_num({c['budget']}, {danish}), CASE WHEN unquote({c['budget']}) IS NULL THEN 0 END)
                   AS budget_dkk, unquote({c['budget']}) AS _raw_budget,
               coalesce(parse_num({c['spent']}, {danish}), CASE WHEN unquote({c['spent']}) IS NULL THEN 0 END)
                   AS spent_dkk, unquote({c['spent']}) AS _raw_spent,
               {flag(c['masterplan'])} AS is_masterplan, unquote({c['masterplan']}) AS _raw_masterplan,
               {flag(c['budget_process'])} AS is_budget_process, unquote({c['budget_process']}) AS _raw_bp,
               {dims} AS _all_dims, _line
        FROM {batch.table}"""
    dims_known = [r[0] for r in load.con.execute("SELECT dimension_id FROM raw.dimensions").fetchall()]
    known = "[" + ", ".join(quote(d) for d in dims_known) + "]::VARCHAR[]"
    parsed = f"""SELECT *, list_filter(_all_dims, x -> list_contains({known}, x)) AS dimension_ids,
                        list_filter(_all_dims, x -> NOT list_contains({known}, x)) AS _unknown_dims
                 FROM ({parsed})"""
    load.load(
        f, batch, parsed, "projects",
        ["extract_date", "project_id", "project_name", "owner_org_unit_id", "status", "start_date", "end_date",
         "budget_dkk", "spent_dkk", "is_masterplan", "is_budget_process", "dimension_ids"],
        row_checks=[
            Check("missing_project_id", "project_id IS NULL", "Projekt-ID"),
            Check("duplicate_project", "_nth > 1", "Projekt-ID", "project_id",
                  "the Projekt-ID occurs more than once; the first row is kept"),
            Check("invalid_status", "status IS NULL", "Status", "_raw_status",
                  "Status must be one of " + ", ".join(STATUSES)),
            Check("invalid_date", "_raw_start IS NOT NULL AND start_date IS NULL", "Startdato", "_raw_start"),
            Check("invalid_date", "_raw_end IS NOT NULL AND end_date IS NULL", "Slutdato", "_raw_end"),
            Check("invalid_number", "budget_dkk IS NULL", "Budget (kr.)", "_raw_budget"),
            Check("negative_amount", "budget_dkk < 0", "Budget (kr.)", "_raw_budget", "a budget cannot be negative"),
            Check("invalid_number", "spent_dkk IS NULL", "Forbrug (kr.)", "_raw_spent"),
            Check("negative_amount", "spent_dkk < 0", "Forbrug (kr.)", "_raw_spent", "spending cannot be negative"),
            Check("invalid_flag", "_raw_masterplan IS NOT NULL AND is_masterplan IS NULL", "Masterplan",
                  "_raw_masterplan", "expected Ja or Nej"),
            Check("invalid_flag", "_raw_bp IS NOT NULL AND is_budget_process IS NULL", "Budgetproces", "_raw_bp",
                  "expected Ja or Nej"),
        ],
        cell_checks=[
            Check("unknown_dimension", "len(_unknown_dims) > 0", "Dimensioner", "array_to_string(_unknown_dims, ';')",
                  "dimension id(s) not in reference/dimensions.csv; left out of the budget split"),
            Check("cpr_in_free_text", "has_cpr(_raw_name)", "Projektnavn", "_raw_name"),
        ],
    )
