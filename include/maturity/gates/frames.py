"""The DuckDB queries that turn tables into the pandas frames the suites validate.

One query per suite, keyed by the suite's name (= its file name in expectations/). A frame is the
table itself (``t.*``, so an unexpected extra column is seen too) plus prepared ``chk_*`` columns for
checks that need other rows or other tables: GX validates one frame at a time, so a cross-table rule
("every employment's unit is in its extract's tree") becomes a boolean column computed here with a
join and an ``expect_column_values_to_be_in_set [true]`` in the suite. Prepared columns are named in the
suite's ``expect_table_columns_to_match_set`` and explained in each expectation's ``notes``.

Raw frames read the working warehouse (schema ``raw``); mart frames read the exported Parquet set
through views named after the tables, so the same SQL would run on the published DuckDB file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pandas as pd

# Tolerance for recomputed figures: the marts are exact double precision (SPEC §3), so any difference
# above rounding noise is a wrong number.
EPS = "1e-9"

RAW_FRAMES: dict[str, str] = {
    "raw_reference": "SELECT d.* FROM raw.dimensions AS d",
    "raw_hr__org_units": """
        WITH RECURSIVE reach(extract_date, org_unit_id) AS (
            SELECT extract_date, org_unit_id FROM raw.org_units WHERE parent_org_unit_id IS NULL
            UNION
            SELECT c.extract_date, c.org_unit_id
            FROM raw.org_units AS c
            JOIN reach AS p ON c.extract_date = p.extract_date AND c.parent_org_unit_id = p.org_unit_id
        )
        SELECT o.*,
               count(*) FILTER (WHERE o.parent_org_unit_id IS NULL)
                   OVER (PARTITION BY o.extract_date) AS chk_roots_in_extract,
               (o.parent_org_unit_id IS NULL OR EXISTS (
                   SELECT 1 FROM raw.org_units AS p
                   WHERE p.extract_date = o.extract_date AND p.org_unit_id = o.parent_org_unit_id))
                   AS chk_parent_known,
               EXISTS (SELECT 1 FROM reach AS r
                       WHERE r.extract_date = o.extract_date AND r.org_unit_id = o.org_unit_id)
                   AS chk_reachable_from_root
        FROM raw.org_units AS o
    """,
    "raw_hr__employments": """
        SELECT e.*,
               EXISTS (SELECT 1 FROM raw.org_units AS o
                       WHERE o.extract_date = e.extract_date AND o.org_unit_id = e.org_unit_id)
                   AS chk_org_unit_in_tree,
               coalesce(e.end_date >= e.start_date, true) AS chk_end_not_before_start
        FROM raw.employments AS e
    """,
    "raw_hr__team_memberships": """
        SELECT t.*,
               EXISTS (SELECT 1 FROM raw.employments AS e
                       WHERE e.extract_date = t.extract_date AND e.employment_key = t.employment_key)
                   AS chk_employment_known,
               coalesce(t.valid_to >= t.valid_from, true) AS chk_period_ordered
        FROM raw.team_memberships AS t
    """,
    "raw_surveys__survey_waves": """
        SELECT w.*,
               EXISTS (SELECT 1 FROM raw.org_units AS o WHERE o.extract_date = w.hr_extract_date)
                   AS chk_hr_extract_known
        FROM raw.survey_waves AS w
    """,
    "raw_surveys__survey_mapping": """
        WITH scales AS (
            SELECT wave_id, dimension_id, count(DISTINCT (scale_min, scale_max)) AS n_scales
            FROM raw.survey_mapping WHERE use IN ('current', 'target') GROUP BY ALL
        )
        SELECT m.*,
               (m.use NOT IN ('current', 'target', 'importance') OR EXISTS (
                   SELECT 1 FROM raw.dimensions AS d WHERE d.dimension_id = m.dimension_id))
                   AS chk_dimension_known,
               (m.use NOT IN ('current', 'target', 'importance') OR coalesce(m.scale_min < m.scale_max, false))
                   AS chk_scale_valid,
               (m.use NOT IN ('current', 'target') OR s.n_scales = 1) AS chk_scale_shared,
               count(*) FILTER (WHERE m.use = 'org_unit') OVER (PARTITION BY m.wave_id) AS chk_org_unit_variables,
               count(*) FILTER (WHERE m.use = 'role') OVER (PARTITION BY m.wave_id) AS chk_role_variables,
               count(*) FILTER (WHERE m.use = 'respondent_id') OVER (PARTITION BY m.wave_id)
                   AS chk_respondent_id_variables
        FROM raw.survey_mapping AS m
        LEFT JOIN scales AS s ON s.wave_id = m.wave_id AND s.dimension_id = m.dimension_id
    """,
    "raw_surveys__survey_structure": "SELECT s.* FROM raw.survey_structure AS s",
    "raw_surveys__survey_labels": "SELECT l.* FROM raw.survey_labels AS l",
    "raw_surveys__survey_respondents": """
        SELECT r.*,
               EXISTS (SELECT 1 FROM raw.survey_waves AS w
                       JOIN raw.org_units AS o ON o.extract_date = w.hr_extract_date
                       WHERE w.wave_id = r.wave_id AND o.org_unit_id = r.org_unit_id) AS chk_org_unit_in_tree
        FROM raw.survey_respondents AS r
    """,
    "raw_surveys__survey_answers": """
        SELECT a.*,
               m.scale_min AS chk_scale_min,
               m.scale_max AS chk_scale_max,
               m.variable_name IS NOT NULL AND a.aspect = m.use
                   AND a.dimension_id IS NOT DISTINCT FROM m.dimension_id AS chk_matches_mapping,
               (a.answer_status = 'valid') = (a.value IS NOT NULL) AS chk_value_iff_valid,
               EXISTS (SELECT 1 FROM raw.survey_respondents AS r
                       WHERE r.wave_id = a.wave_id AND r.respondent_id = a.respondent_id AND r.is_answered)
                   AS chk_respondent_answered
        FROM raw.survey_answers AS a
        LEFT JOIN raw.survey_mapping AS m ON m.wave_id = a.wave_id AND m.variable_name = a.variable_name
    """,
    "raw_projects": """
        SELECT p.* REPLACE (array_to_string(p.dimension_ids, ';') AS dimension_ids),
               coalesce(len(p.dimension_ids) > 0
                        AND list_has_all((SELECT list(dimension_id) FROM raw.dimensions), p.dimension_ids), false)
                   AS chk_dimensions_known,
               EXISTS (SELECT 1 FROM raw.org_units AS o WHERE o.org_unit_id = p.owner_org_unit_id)
                   AS chk_owner_known,
               coalesce(p.end_date >= p.start_date, true) AS chk_end_not_before_start
        FROM raw.projects AS p
    """,
    "raw_system__quarantine": "SELECT q.* FROM raw.quarantine AS q",
    "raw_system__manifest": """
        SELECT m.*, m.rows_read = m.rows_loaded + m.rows_quarantined AS chk_reconciled
        FROM raw.manifest AS m
    """,
    "raw_system__snapshots": "SELECT s.* FROM raw.snapshots AS s",
}

# Views over the Parquet set used by the mart frames below.
_ROOTS = """
    SELECT s.* FROM fct_maturity_scores AS s
    JOIN dim_waves AS w ON w.wave_id = s.wave_id
    JOIN dim_org_units AS o ON o.extract_date = w.hr_extract_date AND o.org_unit_id = s.org_unit_id
    WHERE o.parent_org_unit_id IS NULL
"""
_WAVE_TREE = """
    SELECT w.wave_id, o.org_unit_id, o.parent_org_unit_id
    FROM dim_waves AS w JOIN dim_org_units AS o ON o.extract_date = w.hr_extract_date
"""


def _band(col: str) -> str:
    return (f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} <= 25 THEN 'basis' "
            f"WHEN {col} <= 50 THEN 'gennemsnitlig' WHEN {col} <= 75 THEN 'moderat_avanceret' ELSE 'avanceret' END")


def _close(a: str, b: str) -> str:
    """a equals b up to rounding, or both are null."""
    return f"coalesce(abs(({a}) - ({b})) <= {EPS}, ({a}) IS NULL AND ({b}) IS NULL)"


MART_FRAMES: dict[str, str] = {
    "mart_dim_dimensions": "SELECT d.* FROM dim_dimensions AS d",
    "mart_dim_waves": """
        SELECT w.*,
               EXISTS (SELECT 1 FROM dim_org_units AS o WHERE o.extract_date = w.hr_extract_date)
                   AS chk_hr_extract_published,
               (w.previous_wave_id IS NULL AND w.wave_number = 1) OR EXISTS (
                   SELECT 1 FROM dim_waves AS p
                   WHERE p.wave_id = w.previous_wave_id AND p.closes_on < w.closes_on
                     AND p.wave_number = w.wave_number - 1) AS chk_previous_wave_consistent
        FROM dim_waves AS w
    """,
    "mart_dim_org_units": """
        SELECT o.*,
               count(*) FILTER (WHERE o.parent_org_unit_id IS NULL)
                   OVER (PARTITION BY o.extract_date) AS chk_roots_in_extract,
               CASE WHEN o.parent_org_unit_id IS NULL THEN coalesce(o.depth = 0, false)
                    ELSE coalesce(o.depth = (SELECT max(p.depth) + 1 FROM dim_org_units AS p
                                             WHERE p.extract_date = o.extract_date
                                               AND p.org_unit_id = o.parent_org_unit_id), false)
               END AS chk_depth_consistent
        FROM dim_org_units AS o
    """,
    "mart_fct_maturity_scores": f"""
        WITH tree AS ({_WAVE_TREE}),
        units AS (SELECT wave_id, count(*) AS n_units FROM tree GROUP BY wave_id),
        roots AS (SELECT wave_id, org_unit_id FROM tree WHERE parent_org_unit_id IS NULL)
        SELECT s.*,
               EXISTS (SELECT 1 FROM tree AS t WHERE t.wave_id = s.wave_id AND t.org_unit_id = s.org_unit_id)
                   AS chk_unit_in_wave_tree,
               EXISTS (SELECT 1 FROM dim_dimensions AS d WHERE d.dimension_id = s.dimension_id)
                   AS chk_dimension_known,
               coalesce(bool_or(EXISTS (SELECT 1 FROM roots AS r
                                        WHERE r.wave_id = s.wave_id AND r.org_unit_id = s.org_unit_id))
                        OVER (PARTITION BY s.wave_id, s.dimension_id), false) AS chk_group_has_root_row,
               coalesce(count(*) OVER (PARTITION BY s.wave_id, s.dimension_id)
                        = (SELECT u.n_units FROM units AS u WHERE u.wave_id = s.wave_id), false)
                   AS chk_group_covers_tree,
               NOT coalesce(s.is_suppressed, false) OR (
                   s.n_respondents IS NULL AND s.current_mean IS NULL AND s.current_sd IS NULL
                   AND s.consensus_rwg IS NULL AND s.target_mean IS NULL AND s.gap_mean IS NULL
                   AND s.maturity_index IS NULL AND s.target_index IS NULL AND s.gap_index IS NULL
                   AND s.maturity_band IS NULL) AS chk_null_when_suppressed,
               coalesce(s.is_suppressed, false) OR (
                   s.n_respondents IS NOT NULL AND s.current_mean IS NOT NULL
                   AND s.maturity_index IS NOT NULL AND s.maturity_band IS NOT NULL) AS chk_complete_when_published,
               s.maturity_band IS NOT DISTINCT FROM {_band('s.maturity_index')} AS chk_band_matches_index,
               {_close('s.maturity_index', '100 * (s.current_mean - s.scale_min) / (s.scale_max - s.scale_min)')}
               AND {_close('s.target_index', '100 * (s.target_mean - s.scale_min) / (s.scale_max - s.scale_min)')}
               AND {_close('s.gap_index', '100 * s.gap_mean / (s.scale_max - s.scale_min)')}
                   AS chk_indices_match_means,
               coalesce(s.current_mean BETWEEN s.scale_min AND s.scale_max, true)
               AND coalesce(s.target_mean BETWEEN s.scale_min AND s.scale_max, true) AS chk_means_in_scale,
               (s.target_mean IS NULL) = (s.gap_mean IS NULL) AS chk_gap_iff_target
        FROM fct_maturity_scores AS s
    """,
    "mart_fct_maturity_overall": f"""
        WITH tree AS ({_WAVE_TREE}),
        agg AS (
            SELECT s.wave_id, s.org_unit_id, count(*) AS n, count(s.maturity_index) AS n_index,
                   sum(d.weight * s.maturity_index) / sum(d.weight) AS overall
            FROM fct_maturity_scores AS s JOIN dim_dimensions AS d ON d.dimension_id = s.dimension_id
            GROUP BY ALL
        )
        SELECT o.*,
               EXISTS (SELECT 1 FROM tree AS t WHERE t.wave_id = o.wave_id AND t.org_unit_id = o.org_unit_id)
                   AS chk_unit_in_wave_tree,
               coalesce(o.n_dimensions = a.n, false) AS chk_dimensions_match_scores,
               CASE WHEN a.n IS NULL THEN false
                    WHEN a.n_index < a.n THEN o.overall_index IS NULL
                    ELSE {_close('o.overall_index', 'a.overall')} END AS chk_index_matches_scores,
               o.overall_band IS NOT DISTINCT FROM {_band('o.overall_index')} AS chk_band_matches_index
        FROM fct_maturity_overall AS o
        LEFT JOIN agg AS a ON a.wave_id = o.wave_id AND a.org_unit_id = o.org_unit_id
    """,
    "mart_fct_gap_priorities": f"""
        WITH roots AS ({_ROOTS})
        SELECT g.*,
               r.wave_id IS NOT NULL AS chk_has_root_score_row,
               NOT coalesce(r.is_suppressed, true) OR (
                   g.gap_index IS NULL AND g.priority_score IS NULL AND g.priority_rank IS NULL
                   AND g.importance_index IS NULL AND g.ipa_quadrant IS NULL AND g.maturity_index IS NULL)
                   AS chk_null_when_root_suppressed,
               {_close('g.gap_index', 'r.gap_index')} AND {_close('g.maturity_index', 'r.maturity_index')}
                   AS chk_matches_root_scores,
               {_close('g.priority_score', 'g.gap_index * g.weight')} AS chk_score_is_gap_times_weight,
               (g.priority_rank IS NULL) = (g.priority_score IS NULL) AS chk_rank_iff_score,
               g.ipa_quadrant IS NULL OR (g.importance_index IS NOT NULL AND g.maturity_index IS NOT NULL)
                   AS chk_quadrant_has_indices,
               EXISTS (SELECT 1 FROM dim_dimensions AS d
                       WHERE d.dimension_id = g.dimension_id AND d.weight IS NOT DISTINCT FROM g.weight)
                   AS chk_weight_matches_dimension
        FROM fct_gap_priorities AS g
        LEFT JOIN roots AS r ON r.wave_id = g.wave_id AND r.dimension_id = g.dimension_id
    """,
    "mart_fct_leadership_alignment": f"""
        WITH roots AS ({_ROOTS})
        SELECT a.*,
               NOT coalesce(a.is_suppressed, false) OR (
                   a.n_top IS NULL AND a.n_leader IS NULL AND a.top_mean IS NULL AND a.leader_mean IS NULL
                   AND a.alignment_gap IS NULL) AS chk_null_when_suppressed,
               coalesce(a.is_suppressed, false) OR (
                   a.n_top IS NOT NULL AND a.n_leader IS NOT NULL AND a.top_mean IS NOT NULL
                   AND a.leader_mean IS NOT NULL AND a.alignment_gap IS NOT NULL) AS chk_complete_when_published,
               coalesce(a.is_suppressed, false) OR NOT coalesce(r.is_suppressed, true) AS chk_root_published,
               coalesce(a.n_top + a.n_leader <= r.n_respondents, a.n_top IS NULL) AS chk_groups_within_root,
               {_close('a.alignment_gap', 'a.top_mean - a.leader_mean')} AS chk_gap_is_difference,
               coalesce(a.top_mean BETWEEN r.scale_min AND r.scale_max, a.top_mean IS NULL)
               AND coalesce(a.leader_mean BETWEEN r.scale_min AND r.scale_max, a.leader_mean IS NULL)
                   AS chk_means_in_scale
        FROM fct_leadership_alignment AS a
        LEFT JOIN roots AS r ON r.wave_id = a.wave_id AND r.dimension_id = a.dimension_id
    """,
    "mart_fct_maturity_trend": f"""
        SELECT t.*,
               s.wave_id IS NOT NULL AS chk_has_score_row,
               t.maturity_index IS NOT DISTINCT FROM s.maturity_index
               AND t.previous_maturity_index IS NOT DISTINCT FROM p.maturity_index AS chk_published_values_only,
               t.previous_wave_id IS NOT DISTINCT FROM w.previous_wave_id AS chk_previous_wave_matches,
               CASE WHEN t.maturity_index IS NULL OR t.previous_maturity_index IS NULL THEN t.delta_index IS NULL
                    ELSE {_close('t.delta_index', 't.maturity_index - t.previous_maturity_index')} END
                   AS chk_delta_is_difference
        FROM fct_maturity_trend AS t
        LEFT JOIN fct_maturity_scores AS s
            ON s.wave_id = t.wave_id AND s.org_unit_id = t.org_unit_id AND s.dimension_id = t.dimension_id
        LEFT JOIN dim_waves AS w ON w.wave_id = t.wave_id
        LEFT JOIN fct_maturity_scores AS p
            ON p.wave_id = t.previous_wave_id AND p.org_unit_id = t.org_unit_id AND p.dimension_id = t.dimension_id
    """,
    "mart_fct_response_rates": f"""
        WITH tree AS ({_WAVE_TREE}),
        units AS (SELECT wave_id, count(*) AS n_units FROM tree GROUP BY wave_id)
        SELECT r.*,
               EXISTS (SELECT 1 FROM tree AS t WHERE t.wave_id = r.wave_id AND t.org_unit_id = r.org_unit_id)
                   AS chk_unit_in_wave_tree,
               coalesce(count(*) OVER (PARTITION BY r.wave_id)
                        = (SELECT u.n_units FROM units AS u WHERE u.wave_id = r.wave_id), false)
                   AS chk_wave_covers_tree,
               coalesce(r.completed <= r.answered, false) AS chk_completed_within_answered,
               coalesce(r.answered <= r.distributed, false) AS chk_answered_within_distributed,
               CASE WHEN coalesce(r.distributed, 0) = 0 THEN r.response_rate IS NULL
                    ELSE {_close('r.response_rate', 'r.answered / r.distributed')} END AS chk_rate_is_ratio
        FROM fct_response_rates AS r
    """,
    "mart_fct_portfolio_coverage": f"""
        WITH roots AS ({_ROOTS})
        SELECT c.*,
               EXISTS (SELECT 1 FROM dim_dimensions AS d WHERE d.dimension_id = c.dimension_id)
                   AS chk_dimension_known,
               coalesce(count(*) OVER (PARTITION BY c.extract_date) = (SELECT count(*) FROM dim_dimensions), false)
                   AS chk_one_row_per_dimension,
               CASE WHEN c.gap_index IS NULL THEN c.is_uncovered IS NULL
                    ELSE coalesce(c.is_uncovered = (c.gap_index >= 25 AND c.n_active_projects = 0), false) END
                   AS chk_uncovered_rule,
               c.gap_index IS NULL OR NOT coalesce(r.is_suppressed, true) AS chk_gap_published_at_root,
               {_close('c.gap_index', 'CASE WHEN r.is_suppressed THEN NULL ELSE r.gap_index END')}
                   AS chk_gap_matches_root,
               CASE WHEN coalesce(c.active_budget_dkk, 0) = 0
                    THEN c.masterplan_budget_share IS NULL AND c.budget_process_share IS NULL
                    ELSE c.masterplan_budget_share IS NOT NULL AND c.budget_process_share IS NOT NULL END
                   AS chk_shares_iff_budget,
               c.wave_id IS NOT DISTINCT FROM (SELECT arg_max(w.wave_id, w.closes_on) FROM dim_waves AS w
                                               WHERE w.closes_on <= c.extract_date) AS chk_latest_closed_wave
        FROM fct_portfolio_coverage AS c
        LEFT JOIN roots AS r ON r.wave_id = c.wave_id AND r.dimension_id = c.dimension_id
    """,
    "mart_fct_transformation_capacity": f"""
        WITH units AS (SELECT extract_date, count(*) AS n_units FROM dim_org_units GROUP BY extract_date)
        SELECT c.*,
               EXISTS (SELECT 1 FROM dim_org_units AS o
                       WHERE o.extract_date = c.extract_date AND o.org_unit_id = c.org_unit_id)
                   AS chk_unit_in_extract_tree,
               coalesce(count(*) OVER (PARTITION BY c.extract_date)
                        = (SELECT u.n_units FROM units AS u WHERE u.extract_date = c.extract_date), false)
                   AS chk_extract_covers_tree,
               NOT coalesce(c.is_suppressed, false) OR (
                   c.headcount IS NULL AND c.fte IS NULL AND c.transformation_fte IS NULL
                   AND c.dedicated_fte IS NULL AND c.dedicated_share IS NULL) AS chk_null_when_suppressed,
               coalesce(c.is_suppressed, false) OR (
                   c.headcount IS NOT NULL AND c.fte IS NOT NULL AND c.transformation_fte IS NOT NULL
                   AND c.dedicated_fte IS NOT NULL) AS chk_complete_when_published,
               coalesce(c.dedicated_fte <= c.transformation_fte + {EPS}, true)
               AND coalesce(c.transformation_fte <= c.fte + {EPS}, true) AS chk_fte_nested,
               CASE WHEN coalesce(c.transformation_fte, 0) = 0 THEN c.dedicated_share IS NULL
                    ELSE {_close('c.dedicated_share', 'c.dedicated_fte / c.transformation_fte')} END
                   AS chk_share_is_ratio
        FROM fct_transformation_capacity AS c
    """,
    "mart_rpt_direktion_scorecard": f"""
    WITH roots AS (
        SELECT w.wave_id, o.org_unit_id FROM dim_waves AS w
        JOIN dim_org_units AS o ON o.extract_date = w.hr_extract_date WHERE o.parent_org_unit_id IS NULL
    )
    SELECT s.*,
           EXISTS (SELECT 1 FROM dim_waves AS w WHERE w.wave_id = s.wave_id AND w.closes_on = s.closes_on)
               AS chk_wave_matches,
           s.overall_band IS NOT DISTINCT FROM {_band('s.overall_index')} AS chk_band_matches_index,
           {_close('s.overall_index', '''(SELECT o.overall_index FROM fct_maturity_overall AS o
                                          JOIN roots AS r ON r.wave_id = o.wave_id AND r.org_unit_id = o.org_unit_id
                                          WHERE o.wave_id = s.wave_id)''')} AS chk_overall_matches_root,
           {_close('s.response_rate', '''(SELECT x.response_rate FROM fct_response_rates AS x
                                          JOIN roots AS r ON r.wave_id = x.wave_id AND r.org_unit_id = x.org_unit_id
                                          WHERE x.wave_id = s.wave_id)''')} AS chk_response_rate_matches_root
    FROM rpt_direktion_scorecard AS s
    """,
}


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df().reset_index(drop=True)


def raw_frame(con: duckdb.DuckDBPyConnection, suite: str) -> pd.DataFrame:
    """The frame of a raw suite, from a connection to the working warehouse."""
    return _frame(con, RAW_FRAMES[suite])


def attach_parquet(con: duckdb.DuckDBPyConnection, parquet_dir: Path, tables: tuple[str, ...]) -> list[str]:
    """Create a view per table over `parquet_dir/<table>.parquet`; return the tables whose file is missing."""
    missing = []
    for table in tables:
        path = Path(parquet_dir) / f"{table}.parquet"
        if not path.is_file():
            missing.append(table)
            continue
        con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{_sql_path(path)}')")
    return missing


def mart_frame(con: duckdb.DuckDBPyConnection, suite: str) -> pd.DataFrame:
    """The frame of a mart suite, from a connection where :func:`attach_parquet` created the views."""
    return _frame(con, MART_FRAMES[suite])


def parquet_row_count(path: Path) -> int | None:
    """Rows of one Parquet file (from its footer), None when the file does not exist."""
    if not path.is_file():
        return None
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT count(*) FROM read_parquet('{_sql_path(path)}')").fetchone()[0]
    finally:
        con.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


# --------------------------------------------------------------------------------------------------
# Frames built where they are validated, one at a time, and (when large) never whole in pandas
# --------------------------------------------------------------------------------------------------

#: A frame of more rows than this is kept as a DuckDB temp table and handed to GX a few columns at a time
#: (each expectation only sees its own columns; row order and index are the table's, so the results are
#: those of the whole frame). Smaller frames are validated whole, in one GX call, as before.
GROUPED_ROWS = 100_000
#: The same bound for the mart gate's frames. Marts are aggregates (at kl the largest, fct_maturity_scores and
#: fct_maturity_trend, hold 152,180 rows of a few columns) validated after dbt, when the process is far below
#: its peak: validated whole, one GX call per suite instead of one per column group (kl mart gate after a new
#: wave 3.76 -> 3.46 s, median of 3, for ~60 MB more; the run's peak stays in the raw gate and the report).
MART_GROUPED_ROWS = 1_000_000
#: DuckDB's own memory per gate connection: what the temp table of a large frame and the joins building it
#: may hold before spilling to disk (compressed; reading a column back costs about what it did in memory).
#: The default, 80 % of RAM, keeps a whole raw table resident in each process. 128MB rather than 256MB: the
#: kl raw gate's peak RSS 1636 -> 1531 MiB at the same speed (13.7 -> 13.2 s); it is the kl run's peak.
MEMORY_LIMIT = "128MB"
THREADS = 2
_TABLE = "maturity_gate_frame"


class Frame:
    """One suite's frame: its columns, its row count, and its data a few columns (or rows) at a time."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sql: str, grouped_rows: int | None = None) -> None:
        self._con = con
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_TABLE} AS {sql}")
        described = con.execute(f"DESCRIBE {_TABLE}").fetchall()
        self.columns: list[str] = [d[0] for d in described]
        self._text = {d[0] for d in described if d[1] == "VARCHAR"}
        self.rows: int = con.execute(f"SELECT count(*) FROM {_TABLE}").fetchone()[0]
        self._whole: pd.DataFrame | None = None
        if self.rows <= (GROUPED_ROWS if grouped_rows is None else grouped_rows):  # small: fetched once, whole
            self._whole = self._fetch_columns(self.columns)
            con.execute(f"DROP TABLE {_TABLE}")
            self._con = None  # type: ignore[assignment]  # needs no connection any more (e.g. in a forked helper)

    @property
    def grouped(self) -> bool:
        return self._whole is None

    def _fetch(self, select: str, where: str = "") -> pd.DataFrame:
        return self._con.execute(f"SELECT {select} FROM {_TABLE} {where}").df().reset_index(drop=True)

    def _fetch_columns(self, columns: list[str]) -> pd.DataFrame:
        """All rows of `columns`, exactly as `.df()` gives them, text columns through Arrow.

        DuckDB's `.df()` builds a Python string per text cell (0.60 s for 1.5 million keys); through Arrow
        pandas gets the same `str` column from the Arrow buffer (0.07 s). Other types keep `.df()`: Arrow
        would turn dates into Python objects. Both reads scan the temp table in its insertion order.
        """
        import pandas as pd

        text = [c for c in columns if c in self._text]
        other = [c for c in columns if c not in self._text]
        parts = []
        if other:
            parts.append(self._fetch(", ".join(_quote(c) for c in other)))
        if text:
            table = self._con.execute(f"SELECT {', '.join(_quote(c) for c in text)} FROM {_TABLE}").to_arrow_table()
            parts.append(table.to_pandas())
        if len(parts) == 1:
            return parts[0][columns] if other else parts[0]
        return pd.concat(parts, axis=1)[columns]

    def select(self, columns: list[str] | None = None) -> pd.DataFrame:
        """All rows of `columns` (None: every column), with the whole frame's index 0..rows-1."""
        if self._whole is not None:
            return self._whole if columns is None else self._whole[columns]
        if columns is None:
            return self._fetch_columns(self.columns)
        if not columns:
            import pandas as pd

            return pd.DataFrame(index=pd.RangeIndex(self.rows))
        return self._fetch_columns(columns)

    def empty(self) -> pd.DataFrame:
        """Every column, no rows (for expectations on the column set)."""
        return self._whole.iloc[:0] if self._whole is not None else self._fetch("*", "LIMIT 0")

    def cells(self, index: list[int], columns: list[str]) -> list[tuple[int, dict[str, object]]]:
        """The rows at `index` (those that exist, in that order) as {column: value} of the pandas frame."""
        if self._whole is not None:
            return [(i, {c: self._whole.at[i, c] for c in columns}) for i in index if i in self._whole.index]
        wanted = sorted({int(i) for i in index if 0 <= int(i) < self.rows})
        if not wanted:
            return []
        picked = self._fetch(", ".join(["rowid AS maturity_gate_row", *(_quote(c) for c in columns)]),
                             f"WHERE rowid IN ({', '.join(map(str, wanted))})").set_index("maturity_gate_row")
        return [(i, {c: picked.at[i, c] for c in columns}) for i in index if i in picked.index]

    def close(self) -> None:
        self._whole = None
        if self._con is not None:
            self._con.execute(f"DROP TABLE IF EXISTS {_TABLE}")
            self._con = None  # type: ignore[assignment]


def partition_condition(column: str, value: Any, alias: str = "") -> str:
    """SQL: the rows whose `column` is `value` (None: is NULL); `alias` qualifies the column."""
    col = f"{alias}.{_quote(column)}" if alias else _quote(column)
    if value is None:
        return f"{col} IS NULL"
    if isinstance(value, str):
        return f"{col} = '" + value.replace("'", "''") + "'"
    if isinstance(value, dt.date):  # a date or timestamp, as DuckDB gives it back
        return f"{col} = CAST('{value.isoformat()}' AS {'TIMESTAMP' if isinstance(value, dt.datetime) else 'DATE'})"
    return f"{col} = {value!r}"  # a number


def partition_query(sql: str, column: str, value: Any) -> str:
    """A frame query restricted to the rows whose `column` is `value`."""
    return f"SELECT _part.* FROM ({sql}) AS _part WHERE {partition_condition(column, value, '_part')}"


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


class FrameSource:
    """The frame queries of one gate and how to connect to their data, opened in the process that uses them.

    A gate's forked helper inherits the source with no connection open and opens its own (a DuckDB
    connection must not cross a fork), so each process builds only the frames it validates, one at a time.
    """

    def __init__(self, queries: dict[str, str], database: Path | None = None, parquet_dir: Path | None = None,
                 tables: tuple[str, ...] = (), grouped_rows: int | None = None) -> None:
        self.queries = queries
        self._grouped_rows = grouped_rows  # None: GROUPED_ROWS
        self._database = database
        self._parquet_dir = parquet_dir
        self._tables = tables
        self._con: duckdb.DuckDBPyConnection | None = None
        self._spill: str | None = None
        self.row_estimates: dict[str, int] = {}

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if self._database is not None:  # spills to <warehouse>.tmp/, as DuckDB does by default
                con = duckdb.connect(str(self._database), read_only=True)
            else:  # not to ./.tmp of whatever the working directory is
                import tempfile

                self._spill = tempfile.mkdtemp(prefix="maturity_gate_")
                con = duckdb.connect()
                con.execute(f"SET temp_directory = '{_sql_path(Path(self._spill))}'")
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            con.execute(f"SET threads = {THREADS}")
            if self._parquet_dir is not None:
                attach_parquet(con, self._parquet_dir, self._tables)
            self._con = con
        return self._con

    def frame(self, suite: str) -> Frame:
        return Frame(self.connection(), self.queries[suite], self._grouped_rows)

    def estimate_rows(self, tables: dict[str, str]) -> None:
        """Rows of each suite's table (suite → table), for sharing the work; then closes the connection."""
        try:
            con = self.connection()
            for suite, table in tables.items():
                try:
                    self.row_estimates[suite] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                except duckdb.Error:
                    self.row_estimates[suite] = 0
        finally:
            self.close()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._spill is not None:
            import shutil

            shutil.rmtree(self._spill, ignore_errors=True)
            self._spill = None
