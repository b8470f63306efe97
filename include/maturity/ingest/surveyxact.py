"""SurveyXact exports (SPEC §2.2–§2.3): one wave = wave.csv + an export + the mapping in force.

Whatever the variant (xlsx; comma/Windows-1252; semicolon/Windows-1252; TAB/UTF-16 LE), the export
is reduced to the same canonical rows: one per respondent (`raw.survey_respondents`) and one per
non-empty mapped answer cell (`raw.survey_answers`), with the answer classified as valid, don't-know
or invalid against the mapped scale and the value labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from maturity.errors import LandingError
from maturity.ingest.dialect import LandedFile, locate_columns, norm_header, sniff
from maturity.ingest.reader import Batch, read_csv, read_xlsx, temp_name, xlsx_sheets
from maturity.ingest.store import Check, SnapshotLoad, quote, sql_list

USES = ("respondent_id", "org_unit", "role", "current", "target", "importance")
ITEM_USES = ("current", "target", "importance")
ROLES = ("direktion", "chef", "leder", "medarbejder", "andet")
DONT_KNOW = ("ved ikke", "ikke relevant", "ved ikke/ikke relevant", "don't know")
STATO = tuple(f"stato_{i}" for i in range(1, 6))
CSV_EXPORT = ("dataset.csv", "structure.csv", "labels.csv")
STRUCTURE_COLUMNS = {"variable": "variableName"}
STRUCTURE_OPTIONAL = {"question": "questionName", "type": "questionType", "sub": "subType", "text": "questionText",
                      "choice_value": "choiceValue", "choice_text": "choiceText"}
MAPPING_COLUMNS = {"variable": "variable_name", "use": "use"}
MAPPING_OPTIONAL = {"dim": "dimension_id", "min": "scale_min", "max": "scale_max"}
WAVE_COLUMNS = {"id": "wave_id", "label": "label", "closes": "closes_on"}


@dataclass
class Export:
    """Where the three parts of an export live: sheets of one workbook, or three CSV files."""

    format: str
    files: list[LandedFile]


def find_export(folder: Path, landing: Path) -> Export:
    xlsx = sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith("~$"))
    csvs = [folder / name for name in CSV_EXPORT]
    rel = folder.relative_to(landing).as_posix()
    if xlsx and any(p.exists() for p in csvs):
        raise LandingError(rel, "the folder holds both an .xlsx export and CSV export files; keep one")
    if len(xlsx) > 1:
        raise LandingError(rel, f"the folder holds {len(xlsx)} .xlsx exports; keep one")
    if xlsx:
        return Export("xlsx", [LandedFile.read(xlsx[0], landing)])
    missing = [p.name for p in csvs if not p.exists()]
    if len(missing) == 3:
        raise LandingError(rel, "no SurveyXact export found (expected dataset.csv, structure.csv and labels.csv, "
                                "or one .xlsx)")
    if missing:
        raise LandingError(rel, f"the CSV export is incomplete: {', '.join(missing)} missing")
    return Export("csv", [LandedFile.read(p, landing) for p in csvs])


def mapping_file(folder: Path, landing: Path) -> Path:
    override = folder / "mapping.csv"
    default = landing / "surveys" / "mapping.csv"
    if override.is_file():
        return override
    if not default.is_file():
        raise LandingError("surveys/mapping.csv", "the default mapping is missing and the wave has none")
    return default


def wave_files(folder: Path, landing: Path) -> list[Path]:
    """Every file the wave's snapshot depends on (for its fingerprint)."""
    export = find_export(folder, landing)
    return [folder / "wave.csv", mapping_file(folder, landing)] + [f.path for f in export.files]


def asof_extract_sql(closes_on_sql: str) -> str:
    """The HR extract a wave uses: the latest dated ≤ closes_on, else the earliest (SPEC §3)."""
    return f"""(SELECT coalesce(max(extract_date) FILTER (WHERE extract_date <= {closes_on_sql}), min(extract_date))
               FROM (SELECT DISTINCT extract_date FROM raw.org_units))"""


def load_wave_csv(load: SnapshotLoad, f: LandedFile, wave_id: str) -> tuple[str, str]:
    dialect = sniff(f)
    pos = locate_columns(f, dialect.columns, WAVE_COLUMNS)
    batch = read_csv(load.con, f, dialect)
    c = {k: f"c{v[0]}" for k, v in pos.items()}
    accepted = load.load(
        f, batch,
        f"""SELECT unquote({c['id']}) AS wave_id, redact_cpr(unquote({c['label']})) AS label,
                   unquote({c['label']}) AS _raw_label, parse_date({c['closes']}, false) AS closes_on,
                   unquote({c['closes']}) AS _raw_closes, NULL::DATE AS hr_extract_date, 'pending' AS export_format,
                   _line FROM {batch.table}""",
        "survey_waves", ["wave_id", "label", "closes_on", "hr_extract_date", "export_format"],
        row_checks=[Check("invalid_date", "closes_on IS NULL", "closes_on", "_raw_closes")],
        cell_checks=[Check("cpr_in_free_text", "has_cpr(_raw_label)", "label", "_raw_label")],
    )
    rows = load.con.execute(f"SELECT wave_id, CAST(closes_on AS VARCHAR) FROM {accepted}").fetchall()
    if len(rows) != 1:
        raise LandingError(f.rel, f"expected exactly one wave row with a valid closes_on date, found {len(rows)}")
    found, closes_on = rows[0]
    if found != wave_id:
        raise LandingError(f.rel, f"wave_id '{found}' does not match its folder name '{wave_id}'")
    clash = load.con.execute(
        "SELECT wave_id FROM raw.survey_waves WHERE closes_on = CAST(? AS DATE) AND wave_id <> ?",
        [closes_on, wave_id]).fetchone()
    if clash:
        raise LandingError(f.rel, f"closes_on {closes_on} is also the closes_on of wave {clash[0]}; "
                                  "each wave needs its own date")
    return found, closes_on


def load_mapping(load: SnapshotLoad, f: LandedFile, wave_id: str, is_override: bool) -> str:
    dialect = sniff(f)
    pos = locate_columns(f, dialect.columns, MAPPING_COLUMNS, MAPPING_OPTIONAL)
    batch = read_csv(load.con, f, dialect)
    c = {k: f"c{pos[k][0]}" if k in pos else "NULL" for k in ("variable", "use", "dim", "min", "max")}
    danish = "true" if dialect.danish_numbers else "false"
    accepted = load.load(
        f, batch,
        f"""SELECT {quote(wave_id)} AS wave_id, unquote({c['variable']}) AS variable_name,
                   lower(unquote({c['use']})) AS use, lower(unquote({c['dim']})) AS dimension_id,
                   parse_num({c['min']}, {danish}) AS scale_min, parse_num({c['max']}, {danish}) AS scale_max,
                   {str(is_override).lower()} AS is_wave_override, _line FROM {batch.table}""",
        "survey_mapping",
        ["wave_id", "variable_name", "use", "dimension_id", "scale_min", "scale_max", "is_wave_override"],
    )
    validate_mapping(load, f, accepted)
    return accepted


def validate_mapping(load: SnapshotLoad, f: LandedFile, table: str) -> None:
    """A mapping that cannot be applied rejects the wave: every figure of the wave depends on it."""
    con = load.con
    bad = con.execute(f"SELECT _line, use FROM {table} WHERE use IS NULL OR use NOT IN {sql_list(USES)} "
                      "OR variable_name IS NULL ORDER BY _line LIMIT 1").fetchone()
    if bad:
        raise LandingError(f.rel, f"line {bad[0]}: use '{bad[1]}' is not one of {', '.join(USES)} "
                                  "(or the variable_name is empty)")
    dup = con.execute(f"SELECT variable_name FROM {table} GROUP BY 1 HAVING count(*) > 1 LIMIT 1").fetchone()
    if dup:
        raise LandingError(f.rel, f"the variable '{dup[0]}' is mapped more than once")
    for use, most in (("org_unit", "exactly one"), ("role", "exactly one"), ("respondent_id", "at most one")):
        n = con.execute(f"SELECT count(*) FROM {table} WHERE use = ?", [use]).fetchone()[0]
        if n > 1 or (n == 0 and most == "exactly one"):
            raise LandingError(f.rel, f"the mapping needs {most} '{use}' variable, it has {n}")
    if not con.execute(f"SELECT count(*) FROM {table} WHERE use = 'current'").fetchone()[0]:
        raise LandingError(f.rel, "the mapping has no 'current' item, so no dimension can be measured")
    bad = con.execute(
        f"""SELECT variable_name, dimension_id FROM {table} WHERE use IN {sql_list(ITEM_USES)}
            AND (dimension_id IS NULL OR dimension_id NOT IN (SELECT dimension_id FROM raw.dimensions))
            ORDER BY _line LIMIT 1""").fetchone()
    if bad:
        raise LandingError(f.rel, f"the item '{bad[0]}' names the dimension '{bad[1]}', "
                                  "which is not in reference/dimensions.csv")
    bad = con.execute(
        f"""SELECT variable_name FROM {table} WHERE use IN {sql_list(ITEM_USES)}
            AND (scale_min IS NULL OR scale_max IS NULL OR scale_min >= scale_max) ORDER BY _line LIMIT 1""").fetchone()
    if bad:
        raise LandingError(f.rel, f"the item '{bad[0]}' needs numeric scale_min < scale_max")
    bad = con.execute(
        f"""SELECT dimension_id, CASE WHEN use = 'importance' THEN 'importance' ELSE 'current/target' END AS kind
            FROM {table} WHERE use IN {sql_list(ITEM_USES)} GROUP BY ALL
            HAVING count(DISTINCT (scale_min, scale_max)) > 1 LIMIT 1""").fetchone()
    if bad:
        raise LandingError(f.rel, f"the {bad[1]} items of dimension '{bad[0]}' do not share one scale")


def _csv_part(load: SnapshotLoad, f: LandedFile, has_header: bool) -> tuple[Batch, tuple[str, ...]]:
    dialect = sniff(f, has_header=has_header)
    return read_csv(load.con, f, dialect), dialect.columns


def read_export(load: SnapshotLoad, export: Export) -> dict[str, tuple[LandedFile, Batch, tuple[str, ...]]]:
    """The three parts as batches. Several `Dataset…` sheets are joined side by side, row by row."""
    if export.format == "csv":
        dataset, structure, labels = export.files
        return {"dataset": (dataset, *_csv_part(load, dataset, True)),
                "structure": (structure, *_csv_part(load, structure, True)),
                "labels": (labels, *_csv_part(load, labels, False))}
    f = export.files[0]
    sheets = xlsx_sheets(f)
    folded = {s.strip().casefold(): s for s in sheets}
    data_sheets = [s for s in sheets if s.strip().casefold().startswith("dataset")]
    if not data_sheets:
        raise LandingError(f.rel, f"the workbook has no 'Dataset' sheet (sheets: {', '.join(sheets)})")
    for needed in ("structure", "labels"):
        if needed not in folded:
            raise LandingError(f.rel, f"the workbook has no '{needed.capitalize()}' sheet")
    batch, header = read_xlsx(load.con, f, data_sheets[0])
    for extra in data_sheets[1:]:
        more, more_header = read_xlsx(load.con, f, extra)
        if more.rows_loaded != batch.rows_loaded:
            raise LandingError(f.rel, f"sheet '{extra}' has {more.rows_loaded} rows but '{data_sheets[0]}' has "
                                      f"{batch.rows_loaded}; split Dataset sheets must have the same rows")
        seen = {norm_header(h) for h in header if h}
        keep = [i for i, h in enumerate(more_header) if h and norm_header(h) not in seen]
        joined = temp_name("dataset")
        cols = ", ".join(f"b.c{i} AS c{batch.ncols + k}" for k, i in enumerate(keep))
        load.con.execute(
            f"""CREATE TEMP TABLE {joined} AS SELECT a.* EXCLUDE (_line), {cols + ',' if cols else ''} a._line
                FROM (SELECT * FROM {batch.table} ORDER BY _line) a
                POSITIONAL JOIN (SELECT * FROM {more.table} ORDER BY _line) b""")
        header = header + tuple(more_header[i] for i in keep)
        batch = Batch(joined, batch.ncols + len(keep), batch.rows_loaded, batch.rejects)
    structure, s_header = read_xlsx(load.con, f, folded["structure"])
    labels, _ = read_xlsx(load.con, f, folded["labels"], has_header=False)
    return {"dataset": (f, batch, header), "structure": (f, structure, s_header),
            "labels": (f, labels, tuple(f"column{i + 1}" for i in range(labels.ncols)))}


def load_structure(load: SnapshotLoad, wave_id: str, f: LandedFile, batch: Batch, header: tuple[str, ...]) -> None:
    pos = locate_columns(f, header, STRUCTURE_COLUMNS, STRUCTURE_OPTIONAL)
    c = {k: f"unquote(c{pos[k][0]})" if k in pos else "NULL" for k in ("variable", *STRUCTURE_OPTIONAL)}
    load.load(
        f, batch,
        f"""SELECT {quote(wave_id)} AS wave_id, {c['question']} AS question_name, {c['variable']} AS variable_name,
                   {c['type']} AS question_type, {c['sub']} AS sub_type, redact_cpr({c['text']}) AS question_text,
                   {c['choice_value']} AS choice_value, redact_cpr({c['choice_text']}) AS choice_text,
                   concat_ws(' ', {c['text']}, {c['choice_text']}) AS _raw_text, _line FROM {batch.table}""",
        "survey_structure",
        ["wave_id", "question_name", "variable_name", "question_type", "sub_type", "question_text",
         "choice_value", "choice_text"],
        row_checks=[Check("missing_variable_name", "variable_name IS NULL", "variableName")],
        cell_checks=[Check("cpr_in_free_text", "has_cpr(_raw_text)", "questionText", "_raw_text")],
    )


def load_labels(load: SnapshotLoad, wave_id: str, f: LandedFile, batch: Batch) -> None:
    if batch.ncols < 3:
        raise LandingError(f.rel, "the labels need three columns: variableName, value, valueLabel")
    load.load(
        f, batch,
        f"""SELECT {quote(wave_id)} AS wave_id, unquote(c0) AS variable_name, unquote(c1) AS value,
                   row_number() OVER (PARTITION BY lower(unquote(c0)), unquote(c1) ORDER BY _line) AS _nth,
                   redact_cpr(trim(c2)) AS value_label, c2 AS _raw_label, _line FROM {batch.table}""",
        "survey_labels", ["wave_id", "variable_name", "value", "value_label"],
        row_checks=[Check("incomplete_label", "variable_name IS NULL OR value IS NULL", "variableName/value"),
                    # A second label for the same code would duplicate the respondents and answers joined to it.
                    Check("duplicate_label", "_nth > 1", "variableName/value", "variable_name || '=' || value",
                          "the variable has this value more than once; the first label is kept")],
        cell_checks=[Check("cpr_in_free_text", "has_cpr(_raw_label)", "valueLabel", "_raw_label")],
    )


def load_dataset(
    load: SnapshotLoad, wave_id: str, mapping: str, f: LandedFile, batch: Batch, header: tuple[str, ...],
    mapping_rel: str, tree_date: str,
) -> None:
    con = load.con
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        if name and norm_header(name) not in positions:
            positions[norm_header(name)] = i
        elif name:
            raise LandingError(f.rel, f"the dataset header has the variable '{name}' twice")
    mapped = con.execute(f"SELECT variable_name, use FROM {mapping} ORDER BY _line").fetchall()
    missing = [v for v, _ in mapped if norm_header(v) not in positions]
    if missing:
        raise LandingError(mapping_rel, f"the mapping names the variable(s) {', '.join(missing)}, "
                                        f"which are not in the dataset of wave {wave_id}")

    def col(var: str) -> str:
        return f"c{positions[norm_header(var)]}"

    by_use = {use: [v for v, u in mapped if u == use] for use in USES}
    resp = f"unquote({col(by_use['respondent_id'][0])})" if by_use["respondent_id"] else \
        "CAST(row_number() OVER (ORDER BY _line) AS VARCHAR)"
    org, role = col(by_use["org_unit"][0]), col(by_use["role"][0])
    role_var = by_use["role"][0]
    stato = [s for s in STATO if s in positions]
    stato_cols = ", ".join(
        f"TRY_CAST(unquote({col(s)}) AS INTEGER) AS {s}, unquote({col(s)}) AS _raw_{s}" if s in positions
        else f"NULL::INTEGER AS {s}, NULL AS _raw_{s}" for s in STATO)
    has_stato = "true" if stato else "false"
    items = [v for use in ITEM_USES for v in by_use[use]]
    item_cols = ", ".join(f"unquote({col(v)}) AS item_{k}" for k, v in enumerate(items))
    labels = f"(SELECT value, value_label FROM raw.survey_labels WHERE wave_id = {quote(wave_id)} " \
             f"AND lower(variable_name) = lower({quote(role_var)}))"  # names match case-insensitively (SPEC §2)
    tree = f"(SELECT org_unit_id FROM raw.org_units WHERE extract_date = DATE {quote(tree_date)})"
    parsed = f"""
        WITH base AS (
            SELECT {resp} AS respondent_id, unquote({org}) AS org_unit_id, unquote({role}) AS role_code,
                   {stato_cols}, {item_cols + ',' if item_cols else ''} _line FROM {batch.table})
        SELECT {quote(wave_id)} AS wave_id, base.*,
               row_number() OVER (PARTITION BY respondent_id ORDER BY _line) AS _nth,
               coalesce(l.value_label, base.role_code) AS role_label,
               CASE WHEN fold_label(strip_accents(coalesce(l.value_label, base.role_code))) IN {sql_list(ROLES)}
                    THEN fold_label(strip_accents(coalesce(l.value_label, base.role_code))) ELSE 'andet' END AS role,
               CASE WHEN {has_stato} THEN coalesce(stato_1, 0) <> 1 ELSE true END AS is_distributed,
               CASE WHEN {has_stato} THEN coalesce(stato_3, 0) = 1 OR coalesce(stato_4, 0) = 1 ELSE true END
                   AS is_answered,
               CASE WHEN {has_stato} THEN coalesce(stato_4, 0) = 1 ELSE true END AS is_completed
        FROM base LEFT JOIN {labels} l ON l.value = base.role_code"""
    bad_flag = " OR ".join(f"(_raw_{s} IS NOT NULL AND _raw_{s} NOT IN ('0', '1'))" for s in stato) or "false"
    accepted = load.load(
        f, batch, parsed, "survey_respondents",
        ["wave_id", "respondent_id", "org_unit_id", "role_code", "role_label", "role", *STATO,
         "is_distributed", "is_answered", "is_completed"],
        row_checks=[
            Check("missing_respondent_id", "respondent_id IS NULL", by_use["respondent_id"][0]
                  if by_use["respondent_id"] else None),
            Check("duplicate_respondent", "_nth > 1", by_use["respondent_id"][0] if by_use["respondent_id"] else None,
                  "respondent_id", "the respondent id occurs more than once; the first row is kept"),
            Check("unknown_org_unit", f"org_unit_id IS NULL OR org_unit_id NOT IN {tree}", by_use["org_unit"][0],
                  "org_unit_id", f"not a unit of the HR extract {tree_date} used by this wave"),
        ],
        cell_checks=[Check("invalid_status_flag", bad_flag, "stato_1..stato_5",
                           "concat_ws(',', " + ", ".join(f"_raw_{s}" for s in STATO) + ")",
                           "status flags must be 0 or 1")],
    )
    if items:
        load_answers(load, wave_id, mapping, f, accepted, items)


def load_answers(load: SnapshotLoad, wave_id: str, mapping: str, f: LandedFile, accepted: str,
                 items: list[str]) -> None:
    """Unpivot the mapped item cells and classify each answer against its scale and value labels."""
    con = load.con
    dont_know = sql_list(DONT_KNOW)
    item_map = ", ".join(f"('item_{k}', {quote(v)})" for k, v in enumerate(items))
    # Straight into raw.survey_answers (no temp table of the answers: at kl that copy of ~500,000 cells per
    # wave cost ~0.2 s); the few invalid answers are quarantined from the loaded rows afterwards.
    con.execute(
        f"""
        INSERT INTO raw.survey_answers
        SELECT {quote(wave_id)}, respondent_id, variable_name, dimension_id, aspect, redact_cpr(raw_value),
               CASE WHEN answer_status = 'valid' THEN num END, answer_status,
               {quote(f.rel)}, _line, {quote(load.load_id)}
        FROM (
            WITH cells AS (
                UNPIVOT (SELECT respondent_id, _line, {', '.join(f'item_{k}' for k in range(len(items)))}
                         FROM {accepted})
                ON COLUMNS('^item_') INTO NAME item VALUE raw_value),
            typed AS (
                SELECT c.respondent_id, c._line, m.variable_name, m.dimension_id, m.use AS aspect, c.raw_value,
                       m.scale_min, m.scale_max, TRY_CAST(replace(c.raw_value, ',', '.') AS DOUBLE) AS num,
                       l.value_label
                FROM cells c
                JOIN (VALUES {item_map}) AS im(item, variable_name) USING (item)
                JOIN {mapping} m USING (variable_name)
                LEFT JOIN raw.survey_labels l
                  ON l.wave_id = {quote(wave_id)} AND lower(l.variable_name) = lower(m.variable_name)
                     AND l.value = c.raw_value)
            SELECT *,
                   CASE WHEN num BETWEEN scale_min AND scale_max THEN 'valid'
                        WHEN fold_label(value_label) IN {dont_know} OR fold_label(raw_value) IN {dont_know}
                            THEN 'dont_know'
                        ELSE 'invalid' END AS answer_status
            FROM typed)
        """
    )
    # The quarantined value is the loaded (CPR-redacted) one; redacting it again changes nothing.
    load.quarantine(
        f, "cell", "invalid_answer",
        f"""SELECT a._line, a.variable_name, a.raw_value,
                   'respondent ' || a.respondent_id || ': not in the scale ' || m.scale_min || '–' || m.scale_max
                   || ' and not a don''t-know label'
            FROM raw.survey_answers a JOIN {mapping} m USING (variable_name)
            WHERE a._load_id = {quote(load.load_id)} AND a.wave_id = {quote(wave_id)}
              AND a.answer_status = 'invalid'""",
    )


def load_wave(load: SnapshotLoad, folder: Path, landing: Path) -> None:
    wave_id = folder.name
    wave_file = folder / "wave.csv"
    if not wave_file.is_file():
        raise LandingError(wave_file.relative_to(landing).as_posix(), "the file is missing from the wave folder")
    _, closes_on = load_wave_csv(load, LandedFile.read(wave_file, landing), wave_id)
    asof = asof_extract_sql(quote(closes_on) + "::DATE")
    tree_date = load.con.execute(f"SELECT CAST({asof} AS VARCHAR)").fetchone()[0]
    if tree_date is None:
        raise LandingError(folder.relative_to(landing).as_posix(),
                           "no HR extract has been loaded, so the wave's org units cannot be placed in a tree")
    map_path = mapping_file(folder, landing)
    map_file = LandedFile.read(map_path, landing)
    mapping = load_mapping(load, map_file, wave_id, map_path.parent == folder)
    export = find_export(folder, landing)
    parts = read_export(load, export)
    load_labels(load, wave_id, parts["labels"][0], parts["labels"][1])
    load_structure(load, wave_id, *parts["structure"])
    load_dataset(load, wave_id, mapping, *parts["dataset"], map_file.rel, tree_date)
    fmt = "xlsx" if export.format == "xlsx" else _csv_variant(export.files[0])
    load.con.execute("UPDATE raw.survey_waves SET hr_extract_date = CAST(? AS DATE), export_format = ? "
                     "WHERE wave_id = ?", [tree_date, fmt, wave_id])


def _csv_variant(f: LandedFile) -> str:
    dialect = sniff(f)
    return f"csv ({ {';': 'semicolon', ',': 'comma', chr(9): 'tab'}[dialect.delimiter] }, {dialect.encoding})"
