"""The raw schema, the quarantine and the manifest: where every landed row ends up.

Each snapshot (a wave, an HR extract date, a projects extract date, the reference data) is loaded in
one DuckDB transaction that first deletes the snapshot's previous rows. A failure rolls the whole
snapshot back, so earlier loaded data is never half-replaced.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import duckdb

from maturity.errors import MaturityError
from maturity.ingest.dialect import LandedFile
from maturity.ingest.reader import Batch

LINEAGE = "_file VARCHAR NOT NULL, _line BIGINT, _load_id VARCHAR NOT NULL"

# Raw tables: canonical names and types; personal identifiers only as keyed pseudonyms.
RAW_TABLES: dict[str, str] = {
    "dimensions": "dimension_id VARCHAR, name_da VARCHAR, name_en VARCHAR, weight DOUBLE, sort_order INTEGER",
    "survey_waves": "wave_id VARCHAR, label VARCHAR, closes_on DATE, hr_extract_date DATE, export_format VARCHAR",
    "survey_mapping": "wave_id VARCHAR, variable_name VARCHAR, use VARCHAR, dimension_id VARCHAR, "
    "scale_min DOUBLE, scale_max DOUBLE, is_wave_override BOOLEAN",
    "survey_structure": "wave_id VARCHAR, question_name VARCHAR, variable_name VARCHAR, question_type VARCHAR, "
    "sub_type VARCHAR, question_text VARCHAR, choice_value VARCHAR, choice_text VARCHAR",
    "survey_labels": "wave_id VARCHAR, variable_name VARCHAR, value VARCHAR, value_label VARCHAR",
    "survey_respondents": "wave_id VARCHAR, respondent_id VARCHAR, org_unit_id VARCHAR, role_code VARCHAR, "
    "role_label VARCHAR, role VARCHAR, stato_1 INTEGER, stato_2 INTEGER, stato_3 INTEGER, stato_4 INTEGER, "
    "stato_5 INTEGER, is_distributed BOOLEAN, is_answered BOOLEAN, is_completed BOOLEAN",
    "survey_answers": "wave_id VARCHAR, respondent_id VARCHAR, variable_name VARCHAR, dimension_id VARCHAR, "
    "aspect VARCHAR, raw_value VARCHAR, value DOUBLE, answer_status VARCHAR",
    "org_units": "extract_date DATE, org_unit_id VARCHAR, org_unit_name VARCHAR, parent_org_unit_id VARCHAR, "
    "level VARCHAR",
    "employments": "extract_date DATE, person_key VARCHAR, employment_key VARCHAR, start_date DATE, "
    "end_date DATE, org_unit_id VARCHAR, position_code VARCHAR, position_title VARCHAR, fte DOUBLE, "
    "status_text VARCHAR, status_code VARCHAR",
    "team_memberships": "extract_date DATE, employment_key VARCHAR, share_pct DOUBLE, team_role VARCHAR, "
    "valid_from DATE, valid_to DATE",
    "projects": "extract_date DATE, project_id VARCHAR, project_name VARCHAR, owner_org_unit_id VARCHAR, "
    "status VARCHAR, start_date DATE, end_date DATE, budget_dkk DOUBLE, spent_dkk DOUBLE, "
    "is_masterplan BOOLEAN, is_budget_process BOOLEAN, dimension_ids VARCHAR[]",
}

#: Which raw tables each source owns, and the column that names the snapshot.
SOURCE_TABLES: dict[str, tuple[str, list[str]]] = {
    "reference": ("'reference'", ["dimensions"]),
    "surveys": ("wave_id", ["survey_waves", "survey_mapping", "survey_structure", "survey_labels",
                            "survey_respondents", "survey_answers"]),
    "hr": ("CAST(extract_date AS VARCHAR)", ["org_units", "employments", "team_memberships"]),
    "projects": ("CAST(extract_date AS VARCHAR)", ["projects"]),
}

SYSTEM_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS raw.snapshots (
    source VARCHAR NOT NULL, snapshot_key VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL, PRIMARY KEY (source, snapshot_key));
CREATE TABLE IF NOT EXISTS raw.manifest (
    source VARCHAR NOT NULL, snapshot_key VARCHAR NOT NULL, file_path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL, rows_read BIGINT NOT NULL, rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL, cells_quarantined BIGINT NOT NULL, load_id VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS raw.quarantine (
    load_id VARCHAR NOT NULL, source VARCHAR NOT NULL, snapshot_key VARCHAR NOT NULL, file_path VARCHAR NOT NULL,
    line BIGINT, level VARCHAR NOT NULL, reason VARCHAR NOT NULL, column_name VARCHAR, value VARCHAR,
    detail VARCHAR);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SYSTEM_DDL)
    for name, columns in RAW_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS raw.{name} ({columns}, {LINEAGE})")


def grouped_hex(digest: str) -> str:
    """A hex digest in groups of 8 (`1a2b3c4d 5e6f…`), as the warehouse stores file hashes.

    A plain hex digest regularly contains ten digits in a row with a valid date in front — the shape
    of a CPR number — and the warehouse promises that no CPR-shaped string exists anywhere in it.
    `replace(sha256, ' ', '')` gives the usual `sha256sum` form.
    """
    return " ".join(digest[i:i + 8] for i in range(0, len(digest), 8))


def quote(value: str | None) -> str:
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """A SQL list literal `('a', 'b')` for IN clauses."""
    return "(" + ", ".join(quote(v) for v in values) + ")"


@dataclass(frozen=True)
class Check:
    """A data problem. `condition` is SQL over the parsed row; TRUE means the problem is present.

    Row checks quarantine the whole row (the first failing check names the reason); cell checks log
    the problem while the row still loads (SPEC §2.8).
    """

    reason: str
    condition: str
    column: str | None = None
    value: str = "NULL"
    detail: str = ""


@dataclass
class FileResult:
    file: LandedFile
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    cells_quarantined: int = 0


@dataclass
class SnapshotLoad:
    """One snapshot being (re)loaded inside an open transaction."""

    con: duckdb.DuckDBPyConnection
    source: str
    snapshot_key: str
    load_id: str
    files: dict[str, FileResult] = field(default_factory=dict)
    _n: itertools.count = field(default_factory=lambda: itertools.count(1))

    def result(self, f: LandedFile) -> FileResult:
        return self.files.setdefault(f.rel, FileResult(f))

    def quarantine(self, f: LandedFile, level: str, reason: str, select_sql: str) -> int:
        """Insert quarantine entries from `select_sql` yielding (line, column_name, value, detail)."""
        added = self.con.execute(  # an INSERT answers with the number of rows it inserted
            f"""
            INSERT INTO raw.quarantine
            SELECT {quote(self.load_id)}, {quote(self.source)}, {quote(self.snapshot_key)}, {quote(f.rel)},
                   q.line, {quote(level)}, {quote(reason)}, q.column_name,
                   left(redact_cpr(CAST(q.value AS VARCHAR)), 500), q.detail
            FROM ({select_sql}) AS q(line, column_name, value, detail)
            """
        ).fetchone()[0]
        res = self.result(f)
        if level == "row":
            res.rows_quarantined += added
        else:
            res.cells_quarantined += added
        return added

    def _count_quarantine(self, f: LandedFile, level: str) -> int:
        return self.con.execute(
            "SELECT count(*) FROM raw.quarantine WHERE load_id = ? AND file_path = ? AND level = ?",
            [self.load_id, f.rel, level],
        ).fetchone()[0]

    def quarantine_rejects(self, f: LandedFile, batch: Batch) -> None:
        for reject in batch.rejects:
            self.quarantine(
                f, "row", "malformed_row",
                f"SELECT {reject.line}, NULL, {quote(reject.text)}, {quote(reject.problem)}",
            )
        self.result(f).rows_read += batch.rows_read

    def load(
        self,
        f: LandedFile,
        batch: Batch,
        parsed_sql: str,
        target: str,
        columns: list[str],
        row_checks: list[Check] = (),  # type: ignore[assignment]
        cell_checks: list[Check] = (),  # type: ignore[assignment]
    ) -> str:
        """Parse `batch` with `parsed_sql` (must select `_line`), quarantine bad rows, insert the rest.

        Returns the name of the temp table of accepted rows, so callers can derive more tables
        (e.g. survey answers) from exactly the rows that were loaded.
        """
        n = next(self._n)
        checked = f"checked_{target}_{n}"
        fail = " ".join(f"WHEN {c.condition} THEN {i}" for i, c in enumerate(row_checks))
        fail_expr = f"CASE {fail} END" if row_checks else "CAST(NULL AS INTEGER)"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {checked} AS SELECT *, {fail_expr} AS _fail FROM ({parsed_sql})"
        )
        before = self._count_quarantine(f, "row")
        self.quarantine_rejects(f, batch)
        for i, c in enumerate(row_checks):
            self.quarantine(
                f, "row", c.reason,
                f"SELECT _line, {quote(c.column)}, {c.value}, {quote(c.detail)} FROM {checked} WHERE _fail = {i}",
            )
        # The accepted rows are what is left of the checked table once the failed rows are deleted (few, as a
        # rule): no copy of the whole table.
        accepted = f"accepted_{target}_{n}"
        self.con.execute(f"DELETE FROM {checked} WHERE _fail IS NOT NULL")
        self.con.execute(f"DROP TABLE IF EXISTS {accepted}")
        self.con.execute(f"ALTER TABLE {checked} RENAME TO {accepted}")
        for c in cell_checks:
            self.quarantine(
                f, "cell", c.reason,
                f"SELECT _line, {quote(c.column)}, {c.value}, {quote(c.detail)} FROM {accepted} WHERE {c.condition}",
            )
        self.con.execute(
            f"INSERT INTO raw.{target} ({', '.join(columns)}, _file, _line, _load_id) "
            f"SELECT {', '.join(columns)}, {quote(f.rel)}, _line, {quote(self.load_id)} FROM {accepted}"
        )
        loaded = self.con.execute(f"SELECT count(*) FROM {accepted}").fetchone()[0]
        self.result(f).rows_loaded += loaded
        quarantined = self._count_quarantine(f, "row") - before
        if loaded + quarantined != batch.rows_read:  # checked against the tables, not assumed
            raise MaturityError(
                f"{f.rel}: reconciliation failed: read {batch.rows_read} rows but loaded {loaded} "
                f"and quarantined {quarantined}."
            )
        return accepted

    def write_manifest(self) -> None:
        for res in self.files.values():
            if res.rows_read != res.rows_loaded + res.rows_quarantined:
                raise MaturityError(
                    f"{res.file.rel}: reconciliation failed: read {res.rows_read} rows but loaded "
                    f"{res.rows_loaded} and quarantined {res.rows_quarantined}."
                )
            self.con.execute(
                "INSERT INTO raw.manifest VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
                [self.source, self.snapshot_key, res.file.rel, grouped_hex(res.file.sha256), res.file.size,
                 res.rows_read, res.rows_loaded, res.rows_quarantined, res.cells_quarantined, self.load_id],
            )


def delete_snapshot(con: duckdb.DuckDBPyConnection, source: str, snapshot_key: str) -> None:
    key_expr, tables = SOURCE_TABLES[source]
    for table in tables:
        con.execute(f"DELETE FROM raw.{table} WHERE {key_expr} = ?", [snapshot_key])
    for table in ("quarantine", "manifest", "snapshots"):
        con.execute(f"DELETE FROM raw.{table} WHERE source = ? AND snapshot_key = ?", [source, snapshot_key])
