"""HR extracts from SD Løn: the organisation tree, the personnel report and the transformation team.

One extract folder (`hr/<YYYY-MM-DD>/`) is one snapshot. The tree must be valid (one root, no cycle,
every parent known) or the whole extract is rejected, because every capacity figure and every
survey roll-up that uses this tree would otherwise be wrong.
"""

from __future__ import annotations

import threading
from pathlib import Path

from maturity.errors import LandingError
from maturity.ingest.dialect import Dialect, LandedFile, locate_columns, sniff
from maturity.ingest.pseudonymise import Pseudonymised, pseudonymise, read_pseudonymised, release
from maturity.ingest.reader import read_csv
from maturity.ingest.store import Check, SnapshotLoad, quote, sql_list

ACTIVE_CODES = ("0", "1", "3")
STATUS_CODES = ("0", "1", "3", "7", "8", "9", "S")
OPEN_END = ("31.12.9999", "9999-12-31", "31-12-9999")

ORG_COLUMNS = {"id": "Afdelingskode", "name": "Afdelingsnavn", "parent": "Overordnet afdelingskode"}
EMP_COLUMNS = {
    "cpr": "CPR-nummer", "name": "Navn (for-/efternavn)", "tjn": "Tjenestenummer", "start": "Startdato",
    "end": "Slutdato", "unit": "Stamafdeling", "code": "Stillingskode", "title": "Stilling",
    "fte": "Beskæftigelsesgrad", "status": "Ansættelsesstatus",
}
TEAM_COLUMNS = {"tjn": "Tjenestenummer", "share": "Andel (%)", "role": "Rolle i teamet", "from": "Fra"}


def _names(codes: list[str], limit: int = 8) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


def load_org_units(load: SnapshotLoad, f: LandedFile, extract_date: str) -> None:
    dialect = sniff(f)
    pos = locate_columns(f, dialect.columns, ORG_COLUMNS, {"level": "Niveau"})
    batch = read_csv(load.con, f, dialect)
    col = {k: f"c{v[0]}" for k, v in pos.items()}
    level = f"unquote({col['level']})" if "level" in col else "NULL"
    accepted = load.load(
        f, batch,
        f"""SELECT DATE {quote(extract_date)} AS extract_date, unquote({col['id']}) AS org_unit_id,
                   redact_cpr(unquote({col['name']})) AS org_unit_name, unquote({col['name']}) AS _raw_name,
                   unquote({col['parent']}) AS parent_org_unit_id, {level} AS level, _line
            FROM {batch.table}""",
        "org_units",
        ["extract_date", "org_unit_id", "org_unit_name", "parent_org_unit_id", "level"],
        row_checks=[Check("missing_org_unit_code", "org_unit_id IS NULL", "Afdelingskode")],
        cell_checks=[Check("cpr_in_free_text", "has_cpr(_raw_name)", "Afdelingsnavn", "_raw_name")],
    )
    validate_tree(load, f, accepted)


def validate_tree(load: SnapshotLoad, f: LandedFile, table: str) -> None:
    """One root, unique codes, every parent known, no cycle — else reject the extract."""
    con = load.con
    dupes = [r[0] for r in con.execute(
        f"SELECT org_unit_id FROM {table} GROUP BY 1 HAVING count(*) > 1 ORDER BY 1").fetchall()]
    if dupes:
        raise LandingError(f.rel, f"the organisation tree lists the code(s) {_names(dupes)} more than once")
    roots = [r[0] for r in con.execute(
        f"SELECT org_unit_id FROM {table} WHERE parent_org_unit_id IS NULL ORDER BY 1").fetchall()]
    if len(roots) != 1:
        problem = "has no root (every unit has a parent)" if not roots else f"has {len(roots)} roots ({_names(roots)})"
        raise LandingError(f.rel, f"the organisation tree {problem}; it must have exactly one")
    orphans = [r[0] for r in con.execute(
        f"""SELECT DISTINCT parent_org_unit_id FROM {table}
            WHERE parent_org_unit_id IS NOT NULL
              AND parent_org_unit_id NOT IN (SELECT org_unit_id FROM {table}) ORDER BY 1""").fetchall()]
    if orphans:
        raise LandingError(f.rel, f"the parent code(s) {_names(orphans)} are not units of the extract")
    unreached = [r[0] for r in con.execute(
        f"""WITH RECURSIVE walk(org_unit_id) AS (
                SELECT org_unit_id FROM {table} WHERE parent_org_unit_id IS NULL
                UNION
                SELECT t.org_unit_id FROM {table} t JOIN walk w ON t.parent_org_unit_id = w.org_unit_id)
            SELECT org_unit_id FROM {table} WHERE org_unit_id NOT IN (SELECT org_unit_id FROM walk)
            ORDER BY 1""").fetchall()]
    if unreached:
        raise LandingError(f.rel, f"the organisation tree has a cycle among the codes {_names(unreached)}")


def prepare_employees(f: LandedFile, key: bytes) -> tuple[Dialect, dict[str, list[int]], Pseudonymised]:
    """The DuckDB-free part of loading employees.csv: dialect, columns and the pseudonymised Arrow table."""
    dialect = sniff(f, header_contains="Tjenestenummer")
    pos = locate_columns(f, dialect.columns, EMP_COLUMNS, repeated=frozenset({"ansættelsesstatus"}))
    if len(pos["status"]) != 2:
        raise LandingError(f.rel, "the header must have two 'Ansættelsesstatus' columns (status text, status code)")
    return dialect, pos, pseudonymise(f, dialect, key, cpr=pos["cpr"][0], employment=pos["tjn"][0],
                                      drop=(pos["name"][0],))


class Prefetch:
    """Prepares the employees.csv of the next HR extract to load in a background thread, while DuckDB loads the
    current one (the Arrow tokenising and the HMACs overlap DuckDB's work; DuckDB releases the GIL).

    Only pseudonymised Arrow data is kept, and only until its extract is loaded or the source's ingest ends
    (:meth:`close`). The thread never touches DuckDB and never forks (the HMACs run in it). If it fails, the
    extract is prepared again when it loads, so a problem is raised exactly where and as it always was.
    """

    def __init__(self, landing: Path, key: bytes) -> None:
        self.landing, self.key = landing, key
        self.order: list[Path] = []  # the extract folders that will be loaded, in order (set by the ingest)
        self._jobs: dict[Path, tuple[threading.Thread, dict]] = {}

    def start_next(self, folder: Path) -> None:
        """Start preparing the extract loaded after `folder` (if any)."""
        if folder in self.order and self.order.index(folder) + 1 < len(self.order):
            self.start(self.order[self.order.index(folder) + 1])

    def start(self, folder: Path) -> None:
        path = folder / "employees.csv"
        if path in self._jobs or not path.is_file():
            return
        out: dict = {}

        def work() -> None:
            try:
                f = LandedFile.read(path, self.landing)
                out["result"] = (f, prepare_employees(f, self.key))
            except BaseException as exc:  # noqa: BLE001 - handed to the loading thread
                out["error"] = exc

        thread = threading.Thread(target=work, name="maturity-hr-prefetch", daemon=True)
        self._jobs[path] = (thread, out)
        thread.start()

    def take(self, f: LandedFile) -> tuple[Dialect, dict[str, list[int]], Pseudonymised] | None:
        """The prepared employees of `f` (None if not prefetched, or the file changed since)."""
        job = self._jobs.pop(f.path, None)
        if job is None:
            return None
        thread, out = job
        thread.join()
        if "error" in out:
            return None  # prepared again in the loading thread, which raises the problem where it always did
        done, prepared = out["result"]
        return prepared if done.data == f.data else None

    def close(self) -> None:
        for thread, _ in self._jobs.values():
            thread.join()
        self._jobs.clear()


def load_employees(load: SnapshotLoad, f: LandedFile, extract_date: str, key: bytes,
                   prefetch: Prefetch | None = None) -> None:
    dialect, pos, prepared = (prefetch and prefetch.take(f)) or prepare_employees(f, key)
    if prefetch is not None:
        prefetch.start_next(f.path.parent)  # the next extract's Python work overlaps this one's DuckDB work
    batch = read_pseudonymised(load.con, prepared)
    c = {k: f"c{v[0]}" for k, v in pos.items()}
    status_text, status_code = (f"c{i}" for i in pos["status"])
    danish = "true" if dialect.danish_numbers else "false"
    parsed = f"""
        SELECT DATE {quote(extract_date)} AS extract_date, {c['cpr']} AS person_key, _cpr_invalid,
               {c['tjn']} AS employment_key,
               _n_same_employment AS _n_same_key,  -- counted while pseudonymising (no window over the file)
               parse_date({c['start']}, false) AS start_date, unquote({c['start']}) AS _raw_start,
               CASE WHEN unquote({c['end']}) IN {sql_list(OPEN_END)} THEN NULL ELSE parse_date({c['end']}, false) END
                   AS end_date,
               unquote({c['end']}) AS _raw_end,
               unquote({c['unit']}) AS org_unit_id, unquote({c['code']}) AS position_code,
               redact_cpr(unquote({c['title']})) AS position_title, unquote({c['title']}) AS _raw_title,
               parse_num({c['fte']}, {danish}) AS fte, unquote({c['fte']}) AS _raw_fte,
               unquote({status_text}) AS status_text, upper(unquote({status_code})) AS status_code, _line
        FROM {batch.table}"""
    tree = f"(SELECT org_unit_id FROM raw.org_units WHERE extract_date = DATE {quote(extract_date)})"
    try:
        load.load(
            f, batch, parsed, "employments",
            ["extract_date", "person_key", "employment_key", "start_date", "end_date", "org_unit_id", "position_code",
             "position_title", "fte", "status_text", "status_code"],
            row_checks=[
                Check("invalid_cpr", "_cpr_invalid", "CPR-nummer", "'[redacted]'", "not a 10-digit CPR number"),
                Check("missing_employment_number", "employment_key IS NULL", "Tjenestenummer"),
                Check("duplicate_employment", "_n_same_key > 1", "Tjenestenummer", "NULL",
                      "the Tjenestenummer occurs more than once in the extract"),
                Check("invalid_date", "start_date IS NULL", "Startdato", "_raw_start"),
                Check("invalid_date",
                      f"_raw_end IS NOT NULL AND _raw_end NOT IN {sql_list(OPEN_END)} AND end_date IS NULL",
                      "Slutdato", "_raw_end"),
                Check("invalid_number", "fte IS NULL", "Beskæftigelsesgrad", "_raw_fte"),
                Check("fte_out_of_range", "fte <= 0 OR fte > 1", "Beskæftigelsesgrad", "_raw_fte",
                      "Beskæftigelsesgrad must be in (0, 1]"),
                Check("invalid_status_code", f"status_code IS NULL OR status_code NOT IN {sql_list(STATUS_CODES)}",
                      "Ansættelsesstatus", "status_code"),
                Check("unknown_org_unit", f"org_unit_id IS NULL OR org_unit_id NOT IN {tree}", "Stamafdeling",
                      "org_unit_id", "the Stamafdeling is not a unit of this extract's organisation tree"),
            ],
            cell_checks=[Check("cpr_in_free_text", "has_cpr(_raw_title)", "Stilling", "_raw_title")],
        )
    finally:
        release(load.con, batch)  # the Arrow view of the pseudonymised file


def load_team(load: SnapshotLoad, f: LandedFile, extract_date: str, key: bytes) -> None:
    dialect = sniff(f)
    pos = locate_columns(f, dialect.columns, TEAM_COLUMNS, {"to": "Til"})
    batch = read_pseudonymised(load.con, pseudonymise(f, dialect, key, employment=pos["tjn"][0]))
    c = {k: f"c{v[0]}" for k, v in pos.items()}
    to = f"unquote({c['to']})" if "to" in c else "NULL"
    danish = "true" if dialect.danish_numbers else "false"
    parsed = f"""
        SELECT DATE {quote(extract_date)} AS extract_date, {c['tjn']} AS employment_key,
               parse_num({c['share']}, {danish}) AS share_pct, unquote({c['share']}) AS _raw_share,
               redact_cpr(unquote({c['role']})) AS team_role, unquote({c['role']}) AS _raw_role,
               parse_date({c['from']}, false) AS valid_from, unquote({c['from']}) AS _raw_from,
               parse_date({to}, false) AS valid_to, {to} AS _raw_to, _line
        FROM {batch.table}"""
    employments = f"(SELECT employment_key FROM raw.employments WHERE extract_date = DATE {quote(extract_date)})"
    try:
        load.load(
            f, batch, parsed, "team_memberships",
            ["extract_date", "employment_key", "share_pct", "team_role", "valid_from", "valid_to"],
            row_checks=[
                Check("missing_employment_number", "employment_key IS NULL", "Tjenestenummer"),
                Check("invalid_number", "share_pct IS NULL", "Andel (%)", "_raw_share"),
                Check("share_out_of_range", "share_pct < 0 OR share_pct > 100", "Andel (%)", "_raw_share",
                      "Andel (%) must be between 0 and 100"),
                Check("invalid_date", "_raw_from IS NOT NULL AND valid_from IS NULL", "Fra", "_raw_from"),
                Check("invalid_date", "_raw_to IS NOT NULL AND valid_to IS NULL", "Til", "_raw_to"),
                Check("unknown_employment", f"employment_key NOT IN {employments}", "Tjenestenummer", "NULL",
                      "the Tjenestenummer matches no employment of this extract"),
            ],
            cell_checks=[Check("cpr_in_free_text", "has_cpr(_raw_role)", "Rolle i teamet", "_raw_role")],
        )
    finally:
        release(load.con, batch)  # the Arrow view of the pseudonymised file


def load_extract(load: SnapshotLoad, folder: Path, landing: Path, extract_date: str, key: bytes,
                 prefetch: Prefetch | None = None) -> None:
    """Load `hr/<date>/`: org_units.csv and employees.csv are required, the team file optional."""
    for required in ("org_units.csv", "employees.csv"):
        if not (folder / required).is_file():
            rel = (folder / required).relative_to(landing).as_posix()
            raise LandingError(rel, "the file is missing from the HR extract")
    load_org_units(load, LandedFile.read(folder / "org_units.csv", landing), extract_date)
    load_employees(load, LandedFile.read(folder / "employees.csv", landing), extract_date, key, prefetch)
    if (folder / "transformation_team.csv").is_file():
        load_team(load, LandedFile.read(folder / "transformation_team.csv", landing), extract_date, key)
